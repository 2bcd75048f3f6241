"""Images end to end: sample ItemImages folder -> Image Changes / Images -> queue -> emulator.

The expected galleries are computed here from the sample's file names with this test's own
reading of Counterpoint's rules (main = `<stem>.<ext>` or ECOMM_IMG_FILE, extras = `<stem>^*`),
not with cpsync's naming code.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cpsync.runtime import Runtime
from cpsync.tasks.image_changes import check_item_images
from cpsync.tasks.images import queue_images, sync_images_now
from emulator.server import EmulatorHandle
from sample.generate import SampleInfo

MAIN = ["image", "small_image", "thumbnail"]


def _stem(item_no: str) -> str:
    return "".join("_" if ch in '/\\:*?"<>|' else ch for ch in item_no)


def _upload_stem(file_name: str) -> str:
    """How an uploaded file is recognisable in Magento: a safe lower-case stem of the source."""
    return re.sub(r"[^a-z0-9_-]+", "_", file_name.rsplit(".", 1)[0].lower()).strip("_")


def _grid_values(info: SampleInfo, item_no: str) -> set[str]:
    with sqlite3.connect(info.db_path) as db:
        rows = db.execute(
            "SELECT DIM_1_UPR, DIM_2_UPR, DIM_3_UPR FROM IM_INV_CELL WHERE ITEM_NO = ?", (item_no,)
        ).fetchall()
    return {str(v).lower() for row in rows for v in row if v and v != "*"}


def expected_gallery(info: SampleInfo, sku: str) -> list[tuple[str, list[str]]]:
    """(source file, roles) in position order, as Counterpoint's rules imply.

    A grid child (`ITEM|DIM1|DIM2`) gets the `ITEM^<value>` files of its values, the first as
    its main image and swatch; the parent keeps every other file.
    """
    item_no, _, cell = sku.partition("|")
    if info.special["corrupt_image_item"] == item_no:
        return []  # its only image is corrupt: reported, nothing uploaded
    files = info.image_files.get(item_no, ())
    stem = _stem(item_no).lower()
    values = _grid_values(info, item_no)

    def suffix(name: str) -> str:
        return name.rsplit(".", 1)[0].split("^", 1)[1].lower()

    carets = sorted(f for f in files if f.lower().startswith(stem + "^"))
    if cell:
        chosen = [f for value in cell.lower().split("|") for f in carets if suffix(f) == value]
        chosen = list(dict.fromkeys(chosen))
        return [(f, [*MAIN, "swatch_image"] if n == 0 else []) for n, f in enumerate(chosen)]
    plain = sorted(f for f in files if f.rsplit(".", 1)[0].lower() == stem)
    carets = [f for f in carets if suffix(f) not in values]
    custom = [f for f in files if f not in plain and "^" not in f]
    main = custom[:1] or plain[:1]
    extras = ([] if custom else plain[1:]) + carets
    return [(f, MAIN) for f in main] + [(f, []) for f in extras]


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
    yield rt, sample[1], sample[0] / "ItemImages"
    rt.close()


def test_after_a_full_sync_magento_has_exactly_the_galleries_the_folder_implies(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    _, info, _ = synced
    got = actual(emulator)
    assert got, "the Items task created products"
    for sku, entries in got.items():
        want = [(_upload_stem(f), roles) for f, roles in expected_gallery(info, sku)]
        assert entries == want, sku
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
    assert replaced == Counter({"media.list": 1, "media.delete": 1, "media.create": 1})
    main = emulator.store.find_by_sku(item)["media_gallery_entries"]
    main_entry = next(e for e in main if e["types"] == MAIN)
    arrived = emulator.emulator.media.get(main_entry["file"])
    assert Image.open(io.BytesIO(arrived.data)).getpixel((5, 5))[:3] < (10, 10, 10)

    # added: one create
    added = step(lambda: _new_jpeg(folder / "MUG_12^4.jpg", (9, 9, 200)))
    assert added == Counter({"media.list": 1, "media.create": 1})
    assert [s for s, _ in actual(emulator)[item]][-1] == "mug_12_4"

    # renamed, same content and place: the entry stays, nothing is uploaded again
    renamed = step(lambda: (folder / "MUG_12^4.jpg").rename(folder / "MUG_12^5.jpg"))
    assert renamed == Counter({"media.list": 1})

    # deleted: one delete
    deleted = step(lambda: (folder / "MUG_12^5.jpg").unlink())
    assert deleted == Counter({"media.list": 1, "media.delete": 1})
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
    outcomes = sync_images_now(rt.state, rt.image_writer, [item])
    assert outcomes[item].applied
    after = actual(emulator)[item]
    assert sorted(after) == sorted([*before, ("hand-made.jpg", [])])
    ids = [e["id"] for e in store.find_by_sku(item)["media_gallery_entries"]]
    assert 99_002 in ids and 99_001 not in ids


def test_grid_colour_images_go_to_the_children_as_swatches(
    synced: tuple[Runtime, SampleInfo, Path], emulator: EmulatorHandle
) -> None:
    rt, info, _ = synced
    item = info.special["grid_2d_item"]
    with sqlite3.connect(info.db_path) as db:
        cells = db.execute(
            "SELECT DISTINCT DIM_1_UPR, DIM_2_UPR FROM IM_INV_CELL WHERE ITEM_NO = ?", (item,)
        ).fetchall()
    children = {f"{item}|{c}|{s}": c for c, s in cells}
    # the grids writer's part, done by hand: parent and children exist in Magento
    rt.magento.save_product({"sku": item, "name": "Tee", "price": 1, "type_id": "configurable"})
    for sku in children:
        rt.magento.save_product({"sku": sku, "name": sku, "price": 1, "visibility": 1})
    rt.state.put_magento_ids("product", {item: 1})
    check_item_images(rt.context, item)
    rt.updater.drain(max_wait_seconds=5)
    got = actual(emulator)
    colours = {f.rsplit("^", 1)[1].rsplit(".", 1)[0] for f in info.image_files[item] if "^" in f}
    for sku, colour in children.items():
        want = [(_upload_stem(f"{item}^{colour}.jpg"), [*MAIN, "swatch_image"])]
        assert got[sku] == (want if colour in colours else []), sku
    parent = [(_upload_stem(f), roles) for f, roles in expected_gallery(info, item)]
    assert got[item] == [
        p for p in parent if p[0].rsplit("_", 1)[-1] not in {c.lower() for c in colours}
    ]


def test_with_lost_answers_and_server_errors_every_image_lands_exactly_once(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN a store that applies some uploads but drops the answer (the client retries the
    # POST, which makes a second entry) and fails other media requests now and then
    folder, info = sample
    emulator.set_faults(
        "media.create:drop:0.15:applied",
        "media.create:503:0.05",
        "media.list:500:0.05",
        "media.delete:429:0.05",
        seed=11,
    )
    rt = make_runtime(folder, tmp_path, emulator)
    try:
        # WHEN everything is synced and the queue drained
        sync(rt, "image_changes", "items", "images")
        emulator.set_faults()
        sync(rt, "images")
        # THEN no image is missing and none is doubled
        faults = emulator.stats()["faults"]
        assert faults.get("media.create:drop", 0) > 0, faults
        assert emulator.stats()["writes"].get("media.deleted", 0) > 0  # the doubles went
        assert rt.queue.dead_letters() == []
        for sku, entries in actual(emulator).items():
            want = [(_upload_stem(f), roles) for f, roles in expected_gallery(info, sku)]
            assert entries == want, sku
    finally:
        rt.close()


def test_pending_galleries_go_up_with_images_once_their_products_are_online(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    folder, info = sample
    rt = make_runtime(folder, tmp_path, emulator)
    try:
        # GIVEN images found before their products existed
        found = rt.task("image_changes").run()
        assert found.queued == 0 and rt.state.get_docs("image_pending")
        # ... and products created by someone who does not upload images with them
        rt.writers["product"].on_created = None  # type: ignore[attr-defined]
        sync(rt, "items")
        assert not any(entries for entries in actual(emulator).values())
        # WHEN the Images task runs
        result = sync(rt, "images")["images"]
        # THEN every pending gallery of a product now online is queued, applied and forgotten
        assert result.queued > 30
        for sku, entries in actual(emulator).items():
            want = [(_upload_stem(f), roles) for f, roles in expected_gallery(info, sku)]
            assert entries == want, sku
        pending = rt.state.get_docs("image_pending")
        assert not set(pending) & set(actual(emulator))
        assert sync(rt, "images")["images"].queued == 0
    finally:
        rt.close()
