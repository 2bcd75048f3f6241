"""A bad-input corpus: one odd Counterpoint record never stops, doubles or loses the others.

Each test adds odd rows to its own copy of the sample database and asserts what an operator
sees: the run finishes, the other products are in Magento, the run log names the bad record.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Connection, create_engine, insert, select, text

from cpsync.counterpoint.schema import EC_CATEG, EC_CATEG_ITEM, IM_INV_CELL, IM_ITEM
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo


def _simple(info: SampleInfo) -> list[str]:
    return sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))


def _clone(conn: Connection, source: str, item_no: str, **values: Any) -> None:
    """Insert a copy of item `source` as `item_no` (an e-commerce, active, simple item)."""
    row = dict(conn.execute(select(IM_ITEM).where(IM_ITEM.c.ITEM_NO == source)).one()._mapping)
    row.update(ITEM_NO=item_no, URL=None, ECOMM_IMG_FILE=None, **values)
    conn.execute(insert(IM_ITEM).values(**row))


def _run(runtime: Runtime, *tasks: str) -> dict[str, Any]:
    results = {name: runtime.task(name).run() for name in tasks}
    runtime.updater.drain(max_wait_seconds=10)
    return results


def _log(runtime: Runtime, task: str) -> dict[str, list[tuple[str, str]]]:
    """Run-log entries by key: [(level, message)]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for e in runtime.state.errors(task=task, limit=1000):
        found.setdefault(e.key, []).append((e.level, e.message))
    return found


WEIRD = ["SL/1", "PCT%1", "HASH#1", "Q?1", "BS\\1", "PIPE|1", "O'NEIL", "..", "DOT..1"]


def test_given_odd_item_rows_when_items_sync_then_each_is_reported_or_synced_on_its_own(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN empty, blank, colliding, NULL-filled, emoji, long and oddly named items
    _, info = sample
    source = _simple(info)[0]
    grid = sorted(set(info.grid_item_nos) & set(info.ecommerce_item_nos))[0]
    with runtime.counterpoint.begin() as conn:
        cell = conn.execute(select(IM_INV_CELL).where(IM_INV_CELL.c.ITEM_NO == grid)).first()
        assert cell is not None
        dims = [d for d in (cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR) if d and d != "*"]
        child = "|".join([grid, *dims])
        for item_no in ["", "   ", "BAD5", "BAD5 ", "case1", "CASE1", child, *WEIRD]:
            _clone(conn, source, item_no)
        _clone(conn, source, "NULLS1", LONG_DESCR=None, SHORT_DESCR=None, WEIGHT=None)
        _clone(conn, source, "EMOJI1", DESCR="Mug \u2615 \U0001f600")
        _clone(conn, source, "LONG1", LONG_DESCR="x" * 5000)
        _clone(conn, source, "PRICEY1", PRC_1=250000)
        _clone(conn, source, "HEAVY1", WEIGHT=20000)
        _clone(conn, source, "BIDI1", DESCR="Mug \u202egnp.exe")
        _clone(conn, source, "CTRL1", DESCR="Mug\x07 bell")
    # WHEN Items runs in full and the queue drains
    result = _run(runtime, "items")["items"]
    catalog = emulator.store.products_by_sku()
    log = _log(runtime, "items")
    # THEN every sample product and every valid odd one is in Magento
    assert set(_simple(info)) <= set(catalog)
    for sku in [*WEIRD, "NULLS1", "EMOJI1", "LONG1"]:
        assert sku in catalog, (sku, log.get(sku))
    # AND the empty and blank item numbers are run-log errors, not dead letters
    assert any("empty" in m for _, m in log[""])
    # AND colliding keys are both reported, and none of them is written
    for group in (["BAD5"], ["case1", "CASE1"], [child, grid]):
        for key in group:
            assert key in log and log[key][0][0] == "error", key
        assert not {sku.casefold() for sku in group} & {s.casefold() for s in catalog}
    assert "'BAD5 '" in log["BAD5"][0][1]
    # AND suspicious values are warnings while the products still sync
    for key, word in [("PRICEY1", "PRICE_MAX"), ("HEAVY1", "WEIGHT_MAX")]:
        assert key in catalog and any(lvl == "warning" and word in m for lvl, m in log[key])
    for key, char in [("BIDI1", "U+202E"), ("CTRL1", "U+0007")]:
        assert key in catalog and any(lvl == "warning" and char in m for lvl, m in log[key])
    assert runtime.queue.dead_letters() == []
    assert result.failed and runtime.state.last_run("items").status == "ok_with_errors"


def test_given_a_blank_item_number_when_prices_run_then_it_is_reported_and_never_retried(
    make_runtime: Any, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo], tmp_path: Path
) -> None:
    # GIVEN a blank item number, with every SKU covered by Price Changes
    folder, info = sample
    runtime = make_runtime(folder, tmp_path, emulator, sync_published_products_only=False)
    with runtime.counterpoint.begin() as conn:
        _clone(conn, _simple(info)[0], "  ")
    # WHEN Items and Price Changes run and the queue drains
    _run(runtime, "items", "prices")
    # THEN the blank key is a run-log error of the price run, and nothing waits or is parked
    assert "" in _log(runtime, "prices")
    assert runtime.queue.depth().visible + runtime.queue.depth().delayed == 0
    assert runtime.queue.dead_letters() == []


def test_given_links_to_impossible_categories_when_synced_then_the_valid_links_still_sync(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN an item linked to a good category, a missing one, its own parent and a cycle
    _, info = sample
    item = _simple(info)[1]
    with runtime.counterpoint.begin() as conn:
        good = conn.execute(select(EC_CATEG.c.CATEG_ID).where(EC_CATEG.c.CATEG_ID != "0")).first()
        assert good is not None
        conn.execute(
            insert(EC_CATEG),
            [
                {"CATEG_ID": "SELF", "PARENT_ID": "SELF", "DESCR": "Self"},
                {"CATEG_ID": "CYC1", "PARENT_ID": "CYC2", "DESCR": "Cycle 1"},
                {"CATEG_ID": "CYC2", "PARENT_ID": "CYC1", "DESCR": "Cycle 2"},
            ],
        )
        conn.execute(EC_CATEG_ITEM.delete().where(EC_CATEG_ITEM.c.ITEM_NO == item))
        conn.execute(
            insert(EC_CATEG_ITEM),
            [{"ITEM_NO": item, "CATEG_ID": c} for c in (good.CATEG_ID, "NOPE", "SELF", "CYC1")],
        )
    # WHEN categories, items and category items sync
    _run(runtime, "categories", "items", "category_items")
    # THEN the product sits in its valid category, each impossible link is reported by item
    product = emulator.store.products_by_sku()[item]
    links = product["extension_attributes"].get("category_links") or []
    assert len(links) == 1
    messages = " ".join(m for _, m in _log(runtime, "items")[item])
    for categ_id in ("NOPE", "SELF", "CYC1"):
        assert categ_id in messages
    assert runtime.queue.dead_letters() == []


def test_given_bad_image_files_when_an_item_syncs_then_its_good_images_still_go_up(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN an item with a good image, a decompression bomb, a truncated JPEG and an empty file
    folder, info = sample
    item = "IMGTEST1"
    with runtime.counterpoint.begin() as conn:
        _clone(conn, _simple(info)[2], item)
    images = folder / "ItemImages"
    good = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(good, "JPEG")
    (images / f"{item}.jpg").write_bytes(good.getvalue())
    Image.new("1", (15000, 15000)).save(images / f"{item}^2.png")
    assert (images / f"{item}^2.png").stat().st_size < 1_000_000
    (images / f"{item}^3.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (images / f"{item}^4.jpg").write_bytes(b"")
    # WHEN Items runs (it looks up a new item's images) and the queue drains
    _run(runtime, "items")
    # THEN the product has its good image, and each bad file is named in the run log
    product = emulator.store.products_by_sku()[item]
    assert len(product.get("media_gallery_entries") or []) == 1
    messages = " ".join(m for ms in _log(runtime, "image_changes").values() for _, m in ms)
    for name in (f"{item}^2.png", f"{item}^3.jpg", f"{item}^4.jpg"):
        assert name in messages


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("DROP TABLE IM_PRC_GRP", "IM_PRC_GRP"),
        ("ALTER TABLE IM_PRC_RUL_BRK DROP COLUMN PRC_METH", "IM_PRC_RUL_BRK.PRC_METH"),
    ],
)
def test_given_a_missing_table_when_run_all_then_later_tasks_still_run_and_exit_says_so(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    change: str,
    named: str,
) -> None:
    # GIVEN a Counterpoint database without the promotional price groups table (or a column
    # Price Changes cannot do without)
    folder, _ = sample
    engine = create_engine(f"sqlite:///{folder}/counterpoint.db")
    with engine.begin() as conn:
        conn.execute(text(change))
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{folder}/counterpoint.db",
        CPSYNC_IMAGES_DIR=str(folder / "ItemImages"),
        CPSYNC_STATE_URL=f"sqlite:///{tmp_path}/state.db",
        CPSYNC_BLOBS_DIR=str(tmp_path / "blobs"),
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
    )
    # WHEN every task runs
    run = subprocess.run(
        [sys.executable, "-m", "cpsync.cli", "run", "--all", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    # THEN one line names the failed task and its table, the exit status is not 0,
    # AND the tasks after it still ran
    assert run.returncode == 1, run.stderr
    failed = [line for line in run.stderr.splitlines() if "prices failed" in line]
    assert len(failed) == 1 and named in failed[0], run.stderr
    assert "Traceback" not in run.stderr

    ran = {r["task"] for r in json.loads(run.stdout)}
    assert {"image_changes", "images"} <= ran and "prices" not in ran
