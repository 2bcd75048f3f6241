"""Scheduled runs read what changed: nothing when nothing did, exactly the edited records after
an edit, everything on `--full`; and a SKU clash a new record brings is still refused.

Detection only (no Magento): a copy of the sample database, real SQLite state, Changes taken
where the queue would take them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, update

from cpsync.counterpoint.queries import sku_owners
from cpsync.counterpoint.schema import EC_CATEG_ITEM, IM_INV, IM_INV_CELL, IM_ITEM
from cpsync.documents import SKU_CLASHES
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_sample.common import to_local
from cpsync_sample.generate import SampleInfo

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture
def detect(sample: tuple[Path, SampleInfo], tmp_path: Path) -> Iterator[Runtime]:
    """A Runtime over the sample whose tasks have all run once in full, an hour after NOW."""
    folder, _ = sample
    settings = load_settings(
        counterpoint_url=f"sqlite:///{folder}/counterpoint.db",
        images_dir=folder / "ItemImages",
        state_url=f"sqlite:///{tmp_path}/state.db",
        blobs_dir=tmp_path / "blobs",
    )
    runtime = Runtime(settings)
    runtime.context.clock = lambda: LATER
    for name in ("items", "categories", "category_items", "inventory"):
        runtime.task(name).run(full=True)
    runtime.context.clock = lambda: LATER + timedelta(minutes=10)
    yield runtime
    runtime.close()


def _run(runtime: Runtime, name: str, **kw: Any) -> tuple[Any, list[Change]]:
    """One run of task `name`; its result and the Changes it queued."""
    queued: list[Change] = []
    result = runtime.task(name).run(emit=queued.extend, **kw)
    return result, queued


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _stamp(minutes: int) -> dict[str, datetime]:
    """RS_UTC_DT and LST_MAINT_DT of an edit `minutes` after the fixture's full runs."""
    utc = (LATER + timedelta(minutes=minutes)).replace(tzinfo=None)
    return {"RS_UTC_DT": utc, "LST_MAINT_DT": to_local(utc)}


def _simple(info: SampleInfo) -> list[str]:
    return sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))


@pytest.mark.parametrize("name", ["items", "category_items", "inventory"])
def test_given_nothing_changed_when_a_task_runs_again_then_it_reads_and_queues_nothing(
    detect: Runtime, name: str
) -> None:
    # GIVEN every task ran in full, and nothing changed since
    statements = _statements(detect.counterpoint)
    # WHEN the task runs on its schedule
    result, queued = _run(detect, name)
    # THEN it read no record past its change query, and queued nothing
    assert (result.mode, result.read, queued) == ("changed", 0, [])
    # AND Items did not read every SKU claim in Counterpoint to find that out
    assert str(sku_owners().compile(detect.counterpoint)) not in statements


def test_given_some_items_edited_when_items_run_then_exactly_those_are_queued(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN three e-commerce items renamed after the last run
    edited = _simple(sample[1])[:3]
    with detect.counterpoint.begin() as conn:
        conn.execute(
            update(IM_ITEM)
            .where(IM_ITEM.c.ITEM_NO.in_(edited))
            .values(DESCR=IM_ITEM.c.DESCR + " v2", **_stamp(5))
        )
    # WHEN Items runs
    result, queued = _run(detect, "items")
    # THEN it read those three and queued exactly them, renamed
    assert result.read == 3
    assert sorted(c.key for c in queued) == edited
    assert all(c.payload["name"].endswith(" v2") for c in queued)


def test_given_links_and_stock_edited_when_their_tasks_run_then_exactly_those_are_queued(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN two items linked to one more category, and two items' stock changed
    linked, stocked = _simple(sample[1])[:2], _simple(sample[1])[2:4]
    with detect.counterpoint.begin() as conn:
        categ = conn.execute(
            select(EC_CATEG_ITEM.c.CATEG_ID).where(EC_CATEG_ITEM.c.ITEM_NO.notin_(linked))
        ).first()
        assert categ is not None
        at = _stamp(5)["LST_MAINT_DT"]
        conn.execute(
            insert(EC_CATEG_ITEM),
            [{"ITEM_NO": i, "CATEG_ID": categ.CATEG_ID, "LST_MAINT_DT": at} for i in linked],
        )
        conn.execute(
            update(IM_INV)
            .where(IM_INV.c.ITEM_NO.in_(stocked))
            .values(QTY_ON_HND=IM_INV.c.QTY_ON_HND + 7, **_stamp(5))
        )
    # WHEN Category Items and Inventory run
    links, links_queued = _run(detect, "category_items")
    stock, stock_queued = _run(detect, "inventory")
    # THEN each read and queued exactly the items edited for it
    assert (links.read, sorted(c.key for c in links_queued)) == (2, linked)
    assert all(categ.CATEG_ID in c.payload["category_ids"] for c in links_queued)
    assert (stock.read, sorted(c.key for c in stock_queued)) == (2, stocked)


@pytest.mark.parametrize("name", ["items", "category_items", "inventory"])
def test_given_nothing_changed_when_a_task_runs_full_then_it_compares_every_record(
    detect: Runtime, name: str
) -> None:
    # GIVEN a changed run that read nothing
    changed, _ = _run(detect, name)
    # WHEN the task runs with --full
    full, queued = _run(detect, name, full=True)
    # THEN it read every record again, and queued nothing (nothing differs)
    assert (changed.read, full.mode, queued) == (0, "full", [])
    assert full.read > 0


def _clone(conn: Any, source: str, item_no: str) -> None:
    row = dict(conn.execute(select(IM_ITEM).where(IM_ITEM.c.ITEM_NO == source)).one()._mapping)
    row.update(ITEM_NO=item_no, URL=None, ECOMM_IMG_FILE=None, **_stamp(5))
    conn.execute(insert(IM_ITEM).values(**row))


def test_given_new_items_claiming_known_skus_when_items_run_changed_then_both_sides_are_refused(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN a new item that differs from a sent one only in case, and one named like a cell
    info = sample[1]
    known = next(k for k in _simple(info) if k.lower() != k)
    grid = sorted(set(info.grid_item_nos) & set(info.ecommerce_item_nos))[0]
    with detect.counterpoint.begin() as conn:
        cell = conn.execute(select(IM_INV_CELL).where(IM_INV_CELL.c.ITEM_NO == grid)).first()
        assert cell is not None
        dims = [d for d in (cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR) if d and d != "*"]
        child = "|".join([grid, *dims])
        _clone(conn, known, known.lower())
        _clone(conn, known, child)
        # the grid item and the first item change too, so the run reads both sides
        conn.execute(
            update(IM_ITEM).where(IM_ITEM.c.ITEM_NO.in_([known, grid])).values(**_stamp(5))
        )
    # WHEN Items runs on its schedule (a changed run)
    result, queued = _run(detect, "items")
    # THEN neither side of either clash is queued, and each is named in the run log
    assert result.mode == "changed"
    assert not {known, known.lower(), child, grid} & {c.key for c in queued}
    logged = {e.key for e in result.failed}
    assert {known, known.lower(), child, grid} <= logged
    # AND the other tasks learn the clashes from state
    stored = SKU_CLASHES.get(detect.state, ["all"])["all"].owners
    assert known.casefold() in stored and child.casefold() in stored


def test_given_a_new_item_claiming_an_unchanged_items_sku_when_items_run_then_both_are_refused(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN a new item differing only in case from a sent item that did not change
    known = next(k for k in _simple(sample[1]) if k.lower() != k)
    with detect.counterpoint.begin() as conn:
        _clone(conn, known, known.lower())
    # WHEN Items runs on its schedule, then Inventory
    result, queued = _run(detect, "items")
    # THEN the new item is refused, naming the sent one
    assert known.lower() in {e.key for e in result.failed}
    assert queued == []
    message = next(e.message for e in result.failed if e.key == known.lower())
    assert repr(known) in message


def test_given_a_deleted_item_and_a_backdated_edit_when_the_daily_full_read_is_due_then_found(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN one item deleted and one renamed with a stamp older than the watermark (clock skew)
    gone, skewed = _simple(sample[1])[:2]
    with detect.counterpoint.begin() as conn:
        conn.execute(EC_CATEG_ITEM.delete().where(EC_CATEG_ITEM.c.ITEM_NO == gone))
        conn.execute(IM_INV.delete().where(IM_INV.c.ITEM_NO == gone))
        conn.execute(IM_ITEM.delete().where(IM_ITEM.c.ITEM_NO == gone))
        conn.execute(
            update(IM_ITEM)
            .where(IM_ITEM.c.ITEM_NO == skewed)
            .values(DESCR="Renamed late", **_stamp(-120))
        )
    # WHEN Items runs on its schedule, then again once the last full read is a day old
    missed, missed_queued = _run(detect, "items")
    detect.context.clock = lambda: LATER + timedelta(days=1, minutes=1)
    daily, queued = _run(detect, "items")
    # THEN the changed run saw neither, and the daily full read found both
    assert (missed.mode, missed_queued) == ("changed", [])
    assert daily.mode == "full"
    by_key = {c.key: c.payload for c in queued}
    assert set(by_key) == {gone, skewed}
    assert by_key[gone]["enabled"] is False
    assert by_key[skewed]["name"] == "Renamed late"


def test_given_an_unread_item_named_like_a_changed_grids_cell_when_items_run_then_grid_refused(
    detect: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN an item named like a grid cell's SKU whose stamp the watermark does not reach,
    # and the grid item itself edited after the last run
    info = sample[1]
    grid = sorted(set(info.grid_item_nos) & set(info.ecommerce_item_nos))[0]
    with detect.counterpoint.begin() as conn:
        cell = conn.execute(select(IM_INV_CELL).where(IM_INV_CELL.c.ITEM_NO == grid)).first()
        assert cell is not None
        dims = [d for d in (cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR) if d and d != "*"]
        child = "|".join([grid, *dims])
        _clone(conn, _simple(info)[0], child)
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == child).values(**_stamp(-600)))
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == grid).values(**_stamp(5)))
    # WHEN Items runs on its schedule
    result, queued = _run(detect, "items")
    # THEN it read only the grid item, and refused it, naming the item that claims its cell
    assert result.read == 1 and queued == []
    message = next(e.message for e in result.failed if e.key == grid)
    assert repr(child) in message
