"""Images end to end: sample ItemImages folder -> Image Changes / Images -> queue -> emulator.

The expected galleries are computed here from the sample's file names with this test's own
reading of Counterpoint's rules (main = `<stem>.<ext>` or ECOMM_IMG_FILE, extras = `<stem>^*`),
not with cpsync's naming code.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cpsync.documents import IMAGE_DESIRED
from cpsync.errors import ConfigurationError
from cpsync.magento.media import ImageWriter
from cpsync.model import Change
from cpsync.ports import ChangeResult
from cpsync.runtime import Runtime
from cpsync.tasks.image_changes import check_item_images
from cpsync.tasks.images import queue_images
from cpsync.updater import apply_changes
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

MAIN = ["image", "small_image", "thumbnail"]


def _stem(item_no: str) -> str:
    return "".join("_" if ch in '/\\:*?"<>|' else ch for ch in item_no)


def _upload_stem(file_name: str) -> str:
    """How an uploaded file is recognisable in Magento: a safe lower-case stem of the source."""
    return re.sub(r"[^a-z0-9_-]+", "_", file_name.rsplit(".", 1)[0].lower()).strip("_")


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[0].partition("^")[2].lower()


def expected_galleries(info: SampleInfo) -> dict[str, list[tuple[str, list[str]]]]:
    """SKU -> (source file, roles) in position order, as Counterpoint's rules imply.

    Main image: ECOMM_IMG_FILE if the item has one, else the first `<stem>.<ext>`; extras: the
    other `<stem>.<ext>` files (without ECOMM_IMG_FILE) and the `<stem>^*` files; a `^<value>`
    file of a grid value goes to each child (cell) with that value as image and swatch.
    """
    with sqlite3.connect(info.db_path) as db:
        rows = db.execute(
            "SELECT DISTINCT ITEM_NO, DIM_1_UPR, DIM_2_UPR, DIM_3_UPR FROM IM_INV_CELL"
        ).fetchall()
    cells: dict[str, list[list[str]]] = {}
    for item_no, *dims in rows:
        cells.setdefault(item_no, []).append([d for d in dims if d and d != "*"])
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for item_no, files in info.image_files.items():
        if info.special["corrupt_image_item"] == item_no:
            continue  # its only image is corrupt: reported, nothing uploaded
        stem = _stem(item_no).lower()
        values = {v.lower() for cell in cells.get(item_no, []) for v in cell}
        plain = sorted(f for f in files if f.rsplit(".", 1)[0].lower() == stem)
        carets = sorted(f for f in files if f.lower().startswith(stem + "^"))
        custom = [f for f in files if f not in plain and f not in carets]
        colour = [f for f in carets if _suffix(f) in values]
        main = custom[:1] or plain[:1]
        extras = ([] if custom else plain[1:]) + [f for f in carets if f not in colour]
        out[item_no] = [(f, MAIN) for f in main] + [(f, []) for f in extras]
        for cell in cells.get(item_no, []):
            mine = [f for f in colour if _suffix(f) in {v.lower() for v in cell}]
            roles = [[*MAIN, "swatch_image"]] + [[]] * len(mine)
            out["|".join([item_no, *cell])] = [(f, r) for f, r in zip(mine, roles, strict=False)]
    return out


def expected_uploads(info: SampleInfo) -> dict[str, list[tuple[str, list[str]]]]:
    return {
        sku: [(_upload_stem(f), roles) for f, roles in files]
        for sku, files in expected_galleries(info).items()
    }


def actual(emulator: EmulatorHandle) -> dict[str, list[tuple[str, list[str]]]]:
    """SKU -> (uploaded file stem without the content tag, roles) in position order."""
    out = {}
    for sku, product in emulator.store.products_by_sku().items():
        entries = sorted(product.get("media_gallery_entries", []), key=lambda e: e["position"])
        out[sku] = [
            (re.sub(r"-cp[0-9a-f]{12}(_\d+)?\.\w+$", "", e["file"].rsplit("/", 1)[1]), e["types"])
            for e in entries
        ]
    return out


def sync(rt: Runtime, *tasks: str) -> dict[str, Any]:
    results = {name: rt.task(name).run() for name in tasks}
    rt.updater.drain(max_wait_seconds=5)
    return results


def sync_images_now(rt: Runtime, writer: ImageWriter, item: str) -> dict[str, ChangeResult]:
    """The sync interface's "sync now": the Images task for one item, applied at once."""
    found: list[Change] = []
    rt.task("images").run(keys=[item], force=True, emit=found.extend)
    results = apply_changes(found, rt.state, {writer.kind: writer})
    return {c.key: r for c, r in zip(found, results, strict=True)}


def media_requests(emulator: EmulatorHandle) -> Counter[str]:
    requests = emulator.stats()["requests"]
    return Counter({k: v for k, v in requests.items() if k.startswith("media.")})


@pytest.fixture
def synced(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> tuple[Runtime, SampleInfo, Path]:
    """Image Changes, Items (creating products with their images), Images, drained."""
    rt = make_runtime(sample[0], tmp_path, emulator)
    results = sync(rt, "image_changes", "items", "images")
    rt.results = results  # type: ignore[attr-defined]
    return rt, sample[1], sample[0] / "ItemImages"


def test_after_a_full_sync_magento_has_exactly_the_galleries_the_folder_implies(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    _, info, _ = synced
    got = actual(emulator)
    assert got, "the Items task created products"
    want = expected_uploads(info)
    for sku, entries in got.items():
        assert entries == want.get(sku, []), sku
    grid = info.special["grid_2d_item"]
    assert any(entries for sku, entries in got.items() if sku.startswith(grid + "|"))
    assert got[info.special["custom_image_item"]][0][0] == "catalog-hero-01"
    assert len(got[info.special["slash_item"]]) == 3


def test_a_corrupt_file_is_reported_by_name_and_the_others_still_go(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, _ = synced
    errors = rt.results["image_changes"].errors  # type: ignore[attr-defined]
    corrupt = info.special["corrupt_image"]
    assert [e.key for e in errors] == [info.special["corrupt_image_item"]]
    assert corrupt in errors[0].message and "corrupt" in errors[0].message
    assert rt.state.errors(task="image_changes")[0].message == errors[0].message
    with_images = [s for s, entries in actual(emulator).items() if entries]
    assert len(with_images) > 30


def test_bytes_arrive_oriented_shrunk_or_untouched(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    _, info, folder = synced

    def arrived(item_no: str) -> Any:
        [entry] = emulator.store.find_by_sku(item_no)["media_gallery_entries"][:1]
        return emulator.emulator.media.get(entry["file"])

    sideways = arrived(info.special["sideways_image_item"])
    assert (sideways.width, sideways.height) == (80, 120)
    big = arrived(info.special["big_image_item"])
    assert (folder / info.special["big_image"]).stat().st_size > 2_000_000
    assert big.size <= 2_000_000 and big.width < 1024
    png = arrived(info.special["png_image_item"])
    assert png.mime == "image/png"
    source = (folder / info.special["png_image"]).read_bytes()
    assert png.sha256 == hashlib.sha256(source).hexdigest()


def test_ten_runs_with_the_same_files_leave_one_entry_per_image(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, _, _ = synced
    before = actual(emulator)
    creates = media_requests(emulator)["media.create"]
    for _ in range(10):
        results = sync(rt, "image_changes", "images")
        assert results["image_changes"].queued == 0
    assert actual(emulator) == before
    assert media_requests(emulator)["media.create"] == creates
    # a full, forced reconciliation compares with Magento and still changes nothing
    queue_images(rt.context, list(before))
    rt.updater.drain(max_wait_seconds=5)
    assert actual(emulator) == before
    assert media_requests(emulator)["media.create"] == creates


def _new_jpeg(path: Path, colour: tuple[int, int, int]) -> None:
    Image.new("RGB", (40, 30), colour).save(path, "JPEG")
    os.utime(path, None)


def test_replaced_added_renamed_and_deleted_images_make_exactly_the_right_requests(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, folder = synced
    item = info.special["slash_item"]  # MUG/12: MUG_12.jpg, MUG_12^2.jpg, MUG_12^3.jpg
    task = rt.task("image_changes")

    def step(change: Callable[[], None]) -> Counter[str]:
        before = media_requests(emulator)
        change()
        task.run()
        rt.updater.drain(max_wait_seconds=5)
        return media_requests(emulator) - before

    # replaced: delete-then-add, and only the moved file is hashed
    replaced = step(lambda: _new_jpeg(folder / "MUG_12.jpg", (1, 2, 3)))
    assert task.hashed == 1  # type: ignore[attr-defined]
    # (no gallery read: state knows the entries cpsync owns there)
    assert replaced == Counter({"media.delete": 1, "media.create": 1})
    main = emulator.store.find_by_sku(item)["media_gallery_entries"]
    main_entry = next(e for e in main if e["types"] == MAIN)
    arrived = emulator.emulator.media.get(main_entry["file"])
    assert Image.open(io.BytesIO(arrived.data)).getpixel((5, 5))[:3] < (10, 10, 10)

    # added: one create
    added = step(lambda: _new_jpeg(folder / "MUG_12^4.jpg", (9, 9, 200)))
    assert added == Counter({"media.create": 1})
    assert [s for s, _ in actual(emulator)[item]][-1] == "mug_12_4"

    # renamed, same content and place: the entry stays, nothing is uploaded again
    renamed = step(lambda: (folder / "MUG_12^4.jpg").rename(folder / "MUG_12^5.jpg"))
    assert renamed == Counter()

    # deleted: one delete
    deleted = step(lambda: (folder / "MUG_12^5.jpg").unlink())
    assert deleted == Counter({"media.delete": 1})
    assert len(actual(emulator)[item]) == 3


def test_entries_deleted_by_hand_or_duplicated_are_reconciled_and_hand_made_ones_kept(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, _ = synced
    item = info.special["slash_item"]
    before = actual(emulator)[item]
    store = emulator.store
    with store.lock:
        entries = store.find_by_sku(item)["media_gallery_entries"]
        entries.pop(1)  # deleted by hand in the admin
        entries.append(dict(entries[0], id=99_001))  # a retried POST whose answer was lost
        entries.append(dict(entries[0], id=99_002, file="/h/a/hand-made.jpg", types=[]))
    rt.state.delete_docs("image_entries", [item])  # and the state write was lost too
    outcomes = sync_images_now(rt, rt.image_writer, item)
    assert outcomes[item].done
    after = actual(emulator)[item]
    assert sorted(after) == sorted([*before, ("hand-made.jpg", [])])
    ids = [e["id"] for e in store.find_by_sku(item)["media_gallery_entries"]]
    assert 99_002 in ids and 99_001 not in ids


def test_a_new_colour_image_goes_to_exactly_the_children_of_that_colour(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, folder = synced
    item = info.special["grid_2d_item"]  # TSHIRT-GRID: colours RED, YELLOW, BLUE; sizes S-XL
    got = actual(emulator)
    yellow = [s for s in got if s.startswith(f"{item}|YELLOW|")]
    assert yellow and all(
        got[s] == [(_upload_stem(f"{item}^YELLOW.jpg"), [*MAIN, "swatch_image"])] for s in yellow
    )
    assert all("yellow" not in stem for stem, _ in got[item])  # not on the parent
    before = media_requests(emulator)
    # WHEN the yellow picture is replaced and the item is checked for new images
    _new_jpeg(folder / f"{item}^YELLOW.jpg", (250, 250, 0))
    result = check_item_images(rt.context, item)
    rt.updater.drain(max_wait_seconds=5)
    # THEN each yellow child has its image replaced, and nothing else moved
    assert result.queued == len(yellow)
    # (no gallery read: state knows the entries cpsync owns there)
    assert media_requests(emulator) - before == Counter(
        {"media.delete": len(yellow), "media.create": len(yellow)}
    )
    after = actual(emulator)
    assert {s: e for s, e in after.items() if s not in yellow} == {
        s: e for s, e in got.items() if s not in yellow
    }


def test_with_lost_answers_and_server_errors_every_image_lands_exactly_once(
    sample: tuple[Path, SampleInfo], emulator: EmulatorHandle, runtime: Runtime
) -> None:
    # GIVEN products created without their images (so every image goes up as an upload)
    info = sample[1]
    rt = runtime
    rt.writers["product"].galleries = None  # type: ignore[attr-defined]
    sync(rt, "image_changes", "items")
    # ... and a store that applies some uploads but drops the answer (the client retries the
    # POST, which makes a second entry) and fails other media requests now and then
    emulator.set_faults(
        "media.create:drop:0.15:applied",
        "media.create:503:0.05",
        "media.list:500:0.05",
        "media.delete:429:0.05",
        seed=11,
    )
    # WHEN the images are synced and the queue drained
    sync(rt, "images")
    emulator.set_faults()
    sync(rt, "images")
    # THEN no image is missing and none is doubled
    faults = emulator.stats()["faults"]
    assert faults.get("media.create:drop", 0) > 0, faults
    assert emulator.stats()["writes"].get("media.deleted", 0) > 0  # the doubles went
    assert rt.queue.dead_letters() == []
    want = expected_uploads(info)
    for sku, entries in actual(emulator).items():
        assert entries == want.get(sku, []), sku


def test_pending_galleries_go_up_with_images_once_their_products_are_online(
    sample: tuple[Path, SampleInfo], emulator: EmulatorHandle, runtime: Runtime
) -> None:
    info = sample[1]
    rt = runtime
    # GIVEN images found before their products existed
    found = rt.task("image_changes").run()
    assert found.queued == 0 and rt.state.get_docs("image_pending")
    # ... and products created by someone who does not upload images with them
    rt.writers["product"].galleries = None  # type: ignore[attr-defined]
    sync(rt, "items")
    assert not any(entries for entries in actual(emulator).values())
    # WHEN the Images task runs
    result = sync(rt, "images")["images"]
    # THEN every pending gallery of a product now online is queued, applied and forgotten
    assert result.queued > 30
    want = expected_uploads(info)
    for sku, entries in actual(emulator).items():
        assert entries == want.get(sku, []), sku
    pending = rt.state.get_docs("image_pending")
    assert not set(pending) & set(actual(emulator))
    assert sync(rt, "images")["images"].queued == 0


def test_sync_now_and_the_updater_at_once_upload_each_image_once(
    sample: tuple[Path, SampleInfo], emulator: EmulatorHandle, runtime: Runtime
) -> None:
    # GIVEN a product online without its images, and two writers of its gallery (the page's
    # "sync now" and the updater draining the queue) that both list the gallery at once
    info = sample[1]
    rt = runtime
    item = info.special["slash_item"]
    rt.task("image_changes").run()
    rt.writers["product"].galleries = None  # type: ignore[attr-defined]
    sync(rt, "items")
    assert actual(emulator)[item] == []
    both_listed = threading.Barrier(2, timeout=1.0)
    writers = [
        ImageWriter(rt.magento, rt.state, rt.blobs),
        ImageWriter(rt.magento, rt.state, rt.blobs),
    ]
    for writer in writers:
        real_list = writer.api.list

        def list_together(sku: str, real_list: Any = real_list) -> Any:
            gallery = real_list(sku)
            # Broken: the other writer waits for this gallery's lock and lists later.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_listed.wait()
            return gallery

        writer.api.list = list_together  # type: ignore[method-assign]
    outcomes: list[Any] = []

    # WHEN both write the gallery at the same moment
    def write(writer: ImageWriter) -> None:
        outcomes.append(sync_images_now(rt, writer, item))

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # THEN both report success and each image is in the gallery once
    assert [o[item].done for o in outcomes] == [True, True]
    assert actual(emulator)[item] == expected_uploads(info)[item]


def test_an_unmounted_or_emptied_image_share_changes_no_gallery(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, _, folder = synced
    before = actual(emulator)
    assert sum(len(entries) for entries in before.values()) > 30
    task = rt.task("image_changes")
    # GIVEN the share is gone (not mounted: the path does not exist)
    folder.rename(folder.with_name("ItemImages.away"))
    # WHEN Image Changes runs, THEN it stops with a reason naming the folder ...
    with pytest.raises(ConfigurationError, match=f"{re.escape(str(folder))} cannot be read"):
        task.run()
    # GIVEN the mount point is there but empty
    folder.mkdir()
    with pytest.raises(ConfigurationError, match="is empty, but held"):
        task.run()
    rt.updater.drain(max_wait_seconds=2)
    # ... and Magento's galleries are as they were
    assert actual(emulator) == before
    # An operator who really removed every image says so with a full run
    result = task.run(full=True)
    rt.updater.drain(max_wait_seconds=5)
    assert result.queued > 30
    assert not any(actual(emulator).values())


def test_checking_one_item_prepares_only_that_items_moved_files(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, folder = synced
    item = info.special["slash_item"]  # MUG/12: MUG_12.jpg, MUG_12^2.jpg, MUG_12^3.jpg
    task = rt.task("image_changes")
    # WHEN an item whose files did not move is checked, THEN no file is prepared again
    assert task.run(keys=[item]).queued == 0
    assert task.hashed == 0  # type: ignore[attr-defined]
    # WHEN one of its files is replaced, THEN that file alone is prepared and queued
    _new_jpeg(folder / "MUG_12^2.jpg", (200, 9, 9))
    assert task.run(keys=[item]).queued == 1
    assert task.hashed == 1  # type: ignore[attr-defined]


def test_a_new_item_goes_up_with_its_images_before_image_changes_ever_ran(
    sample: tuple[Path, SampleInfo], emulator: EmulatorHandle, runtime: Runtime
) -> None:
    info = sample[1]
    rt = runtime
    # WHEN only Items runs (Image Changes is scheduled for midnight and has not run yet)
    sync(rt, "items")
    # THEN every new product already has the gallery its files imply
    want = expected_uploads(info)
    got = actual(emulator)
    assert sum(len(entries) for entries in got.values()) > 30
    for sku, entries in got.items():
        assert entries == want.get(sku, []), sku
    # ... and the next Image Changes run finds nothing new to prepare or send
    task = rt.task("image_changes")
    assert task.run().queued == 0


def test_new_products_carry_their_images_in_their_create_and_no_gallery_is_read(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    # GIVEN a full first sync (the fixture), THEN every image went up inside a product create
    assert sum(len(entries) for entries in actual(emulator).values()) > 30
    assert media_requests(emulator) == Counter()


def test_a_gallery_past_the_request_size_limit_is_uploaded_after_the_create_and_ends_complete(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN a store that takes requests of at most 64 KiB
    rt = make_runtime(sample[0], tmp_path, emulator, magento_max_request_bytes=64 * 1024)
    # WHEN the first sync runs
    sync(rt, "image_changes", "items", "images")
    # THEN the images that did not fit were uploaded after their create, without a gallery read
    requests = media_requests(emulator)
    assert requests["media.create"] > 0
    assert requests["media.list"] == 0
    # AND every gallery is complete, each image once
    got, want = actual(emulator), expected_uploads(sample[1])
    for sku, entries in got.items():
        assert entries == want.get(sku, []), sku
    assert rt.queue.dead_letters() == []


def test_an_image_magento_refuses_in_a_create_is_named_and_stops_no_other_product(
    sample: tuple[Path, SampleInfo], emulator: EmulatorHandle, runtime: Runtime
) -> None:
    info, rt = sample[1], runtime
    item = info.special["slash_item"]
    rt.task("image_changes").run()
    # GIVEN one of an item's prepared images is bytes Magento cannot read
    gallery = IMAGE_DESIRED.get(rt.state, [item])[item].image_state()
    bad, good = gallery.images[-1], gallery.images[0]
    (tmp_blob := Path(rt.settings.blobs_dir) / bad.digest[:2] / bad.digest).write_bytes(b"nope")
    assert tmp_blob.read_bytes() == b"nope"
    # WHEN Items creates the products
    sync(rt, "items")
    # THEN that product is in Magento with its other images, and its record is parked with a
    # reason naming the product and the image file
    got = actual(emulator)
    assert [stem for stem, _ in got[item]] == [
        _upload_stem(e.file) for e in gallery.images if e is not bad
    ]
    assert _upload_stem(good.file) in [stem for stem, _ in got[item]]
    [letter] = rt.queue.dead_letters()
    assert f"product {item}" in letter.reason and bad.file in letter.reason
    assert "base64" in letter.reason
    # AND every other product has its whole gallery
    want = expected_uploads(info)
    for sku, entries in got.items():
        if sku != item:
            assert entries == want.get(sku, []), sku


def _settle(db_path: Path) -> None:
    """Counterpoint rows of the sample dated a day back: nothing changed near the runs."""
    with sqlite3.connect(db_path) as db:
        for table in ("IM_ITEM", "EC_ITEM_DESCR", "IM_INV_CELL", "IM_INV"):
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for column in {"RS_UTC_DT", "LST_MAINT_DT"} & columns:
                db.execute(f"UPDATE {table} SET {column} = datetime({column}, '-1 day')")


def test_a_changed_run_compares_only_the_galleries_whose_files_or_items_moved(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, folder = synced
    _settle(folder.parent / "counterpoint.db")
    item = info.special["slash_item"]  # MUG/12: MUG_12.jpg, MUG_12^2.jpg, MUG_12^3.jpg
    task = rt.task("image_changes")
    every = task.run(full=True).read
    assert every > 30

    # GIVEN nothing moved WHEN Image Changes runs THEN no gallery is compared or queued
    unchanged = task.run()
    assert (unchanged.read, unchanged.queued, task.hashed) == (0, 0, 0)  # type: ignore[attr-defined]

    # GIVEN one file replaced THEN only its item's gallery is compared, and it is queued
    _new_jpeg(folder / "MUG_12^2.jpg", (200, 9, 9))
    replaced = task.run()
    assert (replaced.read, replaced.queued) == (1, 1)

    # GIVEN a new file for the item THEN it is found
    _new_jpeg(folder / "MUG_12^6.jpg", (9, 200, 9))
    added = task.run()
    assert (added.read, added.queued) == (1, 1)
    rt.updater.drain(max_wait_seconds=5)
    assert [s for s, _ in actual(emulator)[item]][-1] == "mug_12_6"

    # GIVEN the item changed in Counterpoint (no file moved) THEN its gallery is compared
    with sqlite3.connect(folder.parent / "counterpoint.db") as db:
        db.execute(
            "UPDATE IM_ITEM SET RS_UTC_DT = ? WHERE ITEM_NO = ?", ("2026-11-27 14:30:00", item)
        )
    assert task.run().read == 1

    # AND --full still compares every gallery (nothing to send)
    full = task.run(full=True)
    assert (full.read, full.queued) == (every, 0)


def test_a_deleted_file_is_noticed_even_when_the_run_that_saw_it_go_failed(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, folder = synced
    _settle(folder.parent / "counterpoint.db")
    item = info.special["slash_item"]
    task = rt.task("image_changes")
    assert task.run().queued == 0
    (folder / "MUG_12^3.jpg").unlink()
    _new_jpeg(folder / "MUG_12^2.jpg", (1, 200, 200))

    # GIVEN a run that sees both and then cannot queue (the queue is down)
    def down(changes: object) -> None:
        raise OSError("queue unreachable")

    with pytest.raises(OSError, match="queue unreachable"):
        task.run(emit=down)
    # WHEN the next run comes THEN the deletion and the replaced file are still found
    again = task.run()
    assert (again.read, again.queued) == (1, 1)
    rt.updater.drain(max_wait_seconds=5)
    assert [s for s, _ in actual(emulator)[item]] == ["mug_12", "mug_12_2"]
    # AND once that run finished, the next one compares nothing
    assert task.run().read == 0
