"""Stock and prices from the sample Counterpoint database end up right in Magento.

Expectations are computed here from the sample database with plain SQL and a short reading of
Counterpoint's rules (the rule filters run as SQL, the way connectors do), never with cpsync's
own pricing or inventory code.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from cpsync.control import price_boundary_due
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.tasks.base import RunResult
from cpsync.tasks.prices import BOUNDARY_OPTION
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # the sample's clock (tests/e2e/conftest.py)
LOCAL_NOW = datetime(2026, 11, 27, 9, 0)  # America/New_York
FMT = "%Y-%m-%d %H:%M:%S"


# --- expectations from the sample, by plain SQL ---------------------------------------------


def _db(folder: Path) -> sqlite3.Connection:
    """The test's own copy of the sample database (SampleInfo.db_path is the shared template)."""
    return sqlite3.connect(folder / "counterpoint.db")


def _web_items(db: sqlite3.Connection) -> dict[str, str]:
    rows = db.execute("SELECT ITEM_NO, TRK_METH FROM IM_ITEM WHERE IS_ECOMM_ITEM='Y' AND STAT='A'")
    return {item: trk or "N" for item, trk in rows}


def expected_stock(folder: Path, per_location: bool = False) -> dict[tuple[str, str], float]:
    """(sku, source) -> quantity on hand minus committed (all locations; summed or not)."""
    db = _db(folder)
    web = _web_items(db)
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for item, loc, on_hand, commit in db.execute(
        "SELECT ITEM_NO, LOC_ID, QTY_ON_HND, QTY_COMMIT FROM IM_INV"
    ):
        if web.get(item) == "N":
            totals[(item, loc if per_location else "default")] += on_hand - commit
    for item, loc, d1, d2, d3, on_hand, commit in db.execute(
        "SELECT ITEM_NO, LOC_ID, DIM_1_UPR, DIM_2_UPR, DIM_3_UPR, QTY_ON_HND, QTY_COMMIT"
        " FROM IM_INV_CELL"
    ):
        if web.get(item) == "G":
            sku = "|".join([item, *[d for d in (d1, d2, d3) if d != "*"]])
            totals[(sku, loc if per_location else "default")] += on_hand - commit
    return dict(totals)


def _promo(
    db: sqlite3.Connection, item: str, price_1: Decimal, moment: datetime, days: bool
) -> Any:
    """The first matching rule of the enabled 'P' groups active at `moment`.

    (price, group, from, to): the dates as Magento gets them, whole days when `days`.
    """
    dates = (
        "DATE(BEG_DT) || ' 00:00:00', DATE(END_DT) || ' 00:00:00'"
        if days
        else "STRFTIME('%Y-%m-%d %H:%M:%S', BEG_DT), STRFTIME('%Y-%m-%d %H:%M:%S', END_DT)"
    )
    groups = db.execute(
        f"SELECT GRP_COD, BEG_DT, END_DT, {dates} FROM IM_PRC_GRP"
        " WHERE GRP_TYP='P' AND ENABLED='Y' ORDER BY GRP_SEQ_NO, GRP_COD"
    ).fetchall()
    for code, beg, end, sent_from, sent_to in groups:
        if not (datetime.fromisoformat(beg) <= moment <= datetime.fromisoformat(end)):
            continue
        rules = db.execute(
            "SELECT RUL_SEQ_NO, ITEM_FILT FROM IM_PRC_RUL WHERE GRP_TYP='P' AND GRP_COD=?"
            " ORDER BY RUL_SEQ_NO",
            (code,),
        ).fetchall()
        for seq, filt in rules:
            hit = db.execute(f"SELECT 1 FROM IM_ITEM WHERE ITEM_NO=? AND {filt}", (item,))
            if hit.fetchone() is None:
                continue
            meth, amount = db.execute(
                "SELECT PRC_METH, AMT_OR_PCT FROM IM_PRC_RUL_BRK WHERE GRP_TYP='P' AND GRP_COD=?"
                " AND RUL_SEQ_NO=? ORDER BY MIN_QTY",
                (code, seq),
            ).fetchone()
            amount = Decimal(str(amount))
            price = {
                "D": price_1 * (100 - amount) / 100,
                "A": price_1 - amount,
                "F": amount,
            }[meth]
            return price.quantize(Decimal("0.01"), ROUND_HALF_UP), code, sent_from, sent_to
    return None


def expected_prices(
    folder: Path, now: datetime = LOCAL_NOW, days: bool = True
) -> tuple[dict[str, float], dict[str, tuple[float, str, str]]]:
    """SKU -> base price, and SKU -> (special price, from, to), for non-grid web items.

    A promotion running now is sent with its dates; with none running, one that starts within
    7 days is sent ahead with its dates. With `days` (Magento Open Source reads the dates as
    whole days) the dates are its first and last day at 00:00:00, and only one starting at
    midnight is sent ahead.
    """
    db = _db(folder)
    base: dict[str, float] = {}
    special: dict[str, tuple[float, str, str]] = {}
    midnight = " AND TIME(BEG_DT) = '00:00:00'" if days else ""
    starts = [
        datetime.fromisoformat(b)
        for (b,) in db.execute(
            f"SELECT BEG_DT FROM IM_PRC_GRP WHERE GRP_TYP='P' AND ENABLED='Y'{midnight}"
        )
    ]
    upcoming = sorted(s for s in starts if now < s <= now + timedelta(days=7))
    for item, trk in _web_items(db).items():
        if trk == "G":
            continue
        (price_1,) = db.execute(
            "SELECT PRC_1 FROM IM_PRC WHERE ITEM_NO=? AND LOC_ID='*'", (item,)
        ).fetchone()
        price_1 = Decimal(str(price_1))
        base[item] = float(price_1)
        found = _promo(db, item, price_1, now, days)
        for start in upcoming if found is None else []:
            found = _promo(db, item, price_1, start, days)
            if found is not None:
                break
        if found is not None:
            price, _, sent_from, sent_to = found
            special[item] = (float(price), sent_from, sent_to)
    return base, special


# --- helpers ------------------------------------------------------------------------------


def _at(runtime: Runtime, moment: datetime) -> Runtime:
    runtime.context.clock = lambda: moment
    return runtime


def _sync(runtime: Runtime, *tasks: str) -> int:
    queued = sum(runtime.task(name).run().queued for name in tasks)
    runtime.updater.drain(max_wait_seconds=10)
    return queued


def _source_items(emulator: EmulatorHandle) -> dict[tuple[str, str], float]:
    items = inventory_of(emulator.store).source_items()
    return {(i["sku"], i["source_code"]): i["quantity"] for i in items}


def _specials(emulator: EmulatorHandle) -> dict[str, tuple[float, str, str]]:
    rows = prices_of(emulator.store).special_prices()
    return {r["sku"]: (r["price"], r["price_from"], r["price_to"]) for r in rows}


def _add_sources(emulator: EmulatorHandle, codes: tuple[str, ...]) -> None:
    from cpsync_emulator.inventory import inventory_of as inv

    with emulator.store.lock:
        for code in codes:
            inv(emulator.store).sources[code] = {
                "source_code": code, "name": code, "enabled": True,
                "country_id": "US", "postcode": "10001",
            }  # fmt: skip


@pytest.fixture
def synced(runtime: Runtime) -> Runtime:
    """Products first (stock and prices are written to products that exist), at the sample's now."""
    _at(runtime, NOW)
    _sync(runtime, "items")
    return runtime


# --- full runs ----------------------------------------------------------------------------


def test_full_inventory_run_leaves_exactly_the_source_items_the_sample_implies(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    # WHEN
    _sync(synced, "inventory")
    # THEN one default-source item per product, quantity = on hand - committed; SKUs Items has
    # not published get none (MSI would keep orphans); configurable parents hold no stock
    products = {s for s, p in emulator.store.products_by_sku().items() if p["type_id"] == "simple"}
    expected = {k: q for k, q in expected_stock(folder).items() if k[0] in products}
    assert {sku for sku, _ in expected} == products
    assert _source_items(emulator) == pytest.approx(expected)
    statuses = {i["sku"]: i["status"] for i in inventory_of(emulator.store).source_items()}
    assert statuses[info.special["out_of_stock_item"]] == 0
    assert all(statuses[sku] == (1 if q > 0 else 0) for (sku, _), q in expected.items())
    # a product's legacy stock item follows its default source item
    item = info.special["negative_commit_item"]
    stock = emulator.store.products_by_sku()[item]["extension_attributes"]["stock_item"]
    assert stock["qty"] == expected[(item, "default")]
    assert synced.queue.dead_letters() == []


def test_per_location_sources_get_one_source_item_per_location(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    folder, info = sample
    _add_sources(emulator, info.location_ids)
    runtime = _at(
        make_runtime(
            folder,
            tmp_path,
            emulator,
            stock_sources="per_location",
            sync_published_products_only=False,  # products come into Magento some other way
        ),
        NOW,
    )
    _sync(runtime, "inventory")  # no Items run: every web SKU, grid cells included
    assert _source_items(emulator) == pytest.approx(expected_stock(folder, per_location=True))


def test_new_products_go_up_with_their_stock_at_every_location_grid_cells_included(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    """A store selling from several locations: a new product, a grid's cells too, is in stock
    where Counterpoint has it as soon as Items put it up, not after the next Inventory run."""
    folder, info = sample
    _add_sources(emulator, info.location_ids)
    runtime = _at(make_runtime(folder, tmp_path, emulator, stock_sources="per_location"), NOW)
    _sync(runtime, "items")  # no Inventory run
    expected = expected_stock(folder, per_location=True)
    catalog = emulator.store.products_by_sku()
    online = {key: q for key, q in expected.items() if key[0] in catalog}
    cells = {key for key in online if "|" in key[0]}
    assert cells and len(online) > len(cells)  # grid cells and simple products both
    assert _source_items(emulator) == pytest.approx(online)
    # and the Inventory task then finds nothing to send for them
    assert runtime.task("inventory").run().queued == len(
        {sku for sku, _ in expected} - set(catalog)
    )


def test_full_price_run_leaves_the_base_and_special_prices_with_dates(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    # WHEN
    _sync(synced, "prices")
    # THEN every product has its Price-1, promotions as special prices with their windows
    base, special = expected_prices(folder)
    catalog = emulator.store.products_by_sku()
    assert {sku: catalog[sku]["price"] for sku in base} == base
    assert _specials(emulator) == special
    # the known cases: 20% off 40.00 and fixed 9.99, from their first to their last day (the
    # running sale began yesterday at 00:00 and ends tomorrow at 23:59:59)
    promo = special[info.special["promo_item"]]
    assert promo == (32.0, "2026-11-26 00:00:00", "2026-11-28 00:00:00")
    assert special[info.special["promo_fixed_item"]][0] == 9.99
    # the sale starting at 12:00 today is not sent ahead: the store would start it at midnight
    assert info.special["promo_later_item"] not in special
    # only published products are priced: nothing for Magento to refuse
    assert synced.queue.dead_letters() == []


def test_a_promotion_starting_at_noon_is_sent_by_the_first_run_after_noon(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    item = info.special["promo_later_item"]
    # GIVEN the 09:00 run, which left the noon sale out and noted that a run is due at noon
    _run_at(synced, NOW)
    assert item not in _specials(emulator)
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T17:00:00+00:00"
    # WHEN a run comes at 12:05 (the sample's clock moved; nothing moved in the database)
    result = _run_at(synced, NOW + timedelta(hours=3, minutes=5))
    # THEN the sale is in Magento for today and tomorrow, its last day, and nothing else moved
    assert result.queued == 1
    assert _specials(emulator)[item] == (25.5, "2026-11-27 00:00:00", "2026-11-28 00:00:00")
    assert (
        _specials(emulator) == expected_prices(folder, LOCAL_NOW + timedelta(hours=3, minutes=5))[1]
    )
    # and the next starts and ends are at midnight: Magento switches them by itself
    assert synced.context.state.get_option(BOUNDARY_OPTION) is None


def test_a_run_that_noon_passes_during_leaves_a_run_due_at_noon(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    item = sample[1].special["promo_later_item"]
    noon = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    # GIVEN a Queue All that starts at 11:59:59 and prices the noon sale's item before noon, and
    # noon passes before it ends (each item is queued before the next is read)
    clock = [noon - timedelta(seconds=1)]
    synced.context.clock = lambda: clock[0]
    task = synced.task("prices")
    task.batch_size = 1  # type: ignore[misc]

    def emit(changes: Sequence[Change]) -> None:
        synced.queue.send(changes)
        if any(c.key == item for c in changes):
            clock[0] = noon + timedelta(seconds=1)

    task.run(force=True, emit=emit)  # Queue All: every item is queued
    synced.updater.drain(max_wait_seconds=10)
    assert item not in _specials(emulator)
    # THEN the noon start is still the run asked for: the check at 12:05 finds it due
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T17:00:00+00:00"
    assert price_boundary_due(synced.context.state, noon + timedelta(minutes=5))
    # and that run puts the sale in Magento
    _run_at(synced, noon + timedelta(minutes=5))
    assert _specials(emulator)[item] == (25.5, "2026-11-27 00:00:00", "2026-11-28 00:00:00")


def test_a_run_at_noon_that_fails_to_queue_leaves_noon_due_for_the_next_check(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    item = sample[1].special["promo_later_item"]
    noon = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    # GIVEN the 09:00 run, which asked for a run at noon
    _run_at(synced, NOW)
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T17:00:00+00:00"

    # WHEN the 12:05 run cannot queue what it found (the queue is unreachable)
    def unreachable(changes: Sequence[Change]) -> None:
        raise RuntimeError("queue unreachable")

    with pytest.raises(RuntimeError):
        _at(synced, noon + timedelta(minutes=5)).task("prices").run(emit=unreachable)
    # THEN noon is still due, so the next check runs again and the sale reaches Magento
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T17:00:00+00:00"
    assert price_boundary_due(synced.context.state, noon + timedelta(minutes=10))
    _run_at(synced, noon + timedelta(minutes=10))
    assert _specials(emulator)[item] == (25.5, "2026-11-27 00:00:00", "2026-11-28 00:00:00")


def test_a_promotion_ending_at_17_59_59_is_sent_to_that_day_and_removed_by_a_run_after_18(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    item = info.special["markdown_item"]
    # GIVEN a promotion for one item that began yesterday at 00:00 and ends today at 17:59:59
    with _db(folder) as db:
        db.execute(
            "INSERT INTO IM_PRC_GRP (GRP_TYP, GRP_COD, GRP_SEQ_NO, DESCR, BEG_DT, NO_BEG_DAT,"
            " END_DT, NO_END_DAT, ENABLED) VALUES ('P', 'DAYTIME', 0, 'Daytime', ?, 'N', ?,"
            " 'N', 'Y')",
            ("2026-11-26 00:00:00", "2026-11-27 17:59:59"),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL (GRP_TYP, GRP_COD, RUL_SEQ_NO, ITEM_FILT)"
            " VALUES ('P', 'DAYTIME', 1, ?)",
            (f"(IM_ITEM.ITEM_NO = '{item}')",),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL_BRK (GRP_TYP, GRP_COD, RUL_SEQ_NO, MIN_QTY, PRC_METH,"
            " PRC_BASIS, AMT_OR_PCT) VALUES ('P', 'DAYTIME', 1, 0, 'F', '1', 3)"
        )
    # WHEN the 09:00 run comes
    _run_at(synced, NOW)
    # THEN Magento has it with today as its last day, and a run is asked for at the noon sale's
    # start (12:00 = 17:00 UTC), the first mid-day boundary
    assert _specials(emulator)[item] == (3.0, "2026-11-26 00:00:00", "2026-11-27 00:00:00")
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T17:00:00+00:00"
    # WHEN runs come at 12:05 and 15:00: THEN the promotion is not sent again (same record)
    _run_at(synced, NOW + timedelta(hours=3, minutes=5))
    saves = emulator.stats()["requests"].get("prices.special.save", 0)
    later = _run_at(synced, NOW + timedelta(hours=6))
    assert later.queued == 0
    assert emulator.stats()["requests"].get("prices.special.save", 0) == saves
    # and the run asked for next is at 18:00 (23:00 UTC), when it ends
    assert synced.context.state.get_option(BOUNDARY_OPTION) == "2026-11-27T23:00:00+00:00"
    # WHEN that run comes at 18:00: THEN the special price is gone from Magento
    gone = _run_at(synced, NOW + timedelta(hours=9))
    assert gone.queued == 1
    assert item not in _specials(emulator)
    assert _specials(emulator) == expected_prices(folder, LOCAL_NOW + timedelta(hours=9))[1]


def test_given_exact_dates_then_promotions_go_to_the_second_and_are_sent_ahead(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    """Adobe Commerce's scheduled updates keep the time: the dates go as Counterpoint has them."""
    folder, info = sample
    runtime = _at(make_runtime(folder, tmp_path, emulator, magento_special_dates="exact"), NOW)
    # WHEN
    _sync(runtime, "items", "prices")
    # THEN
    special = expected_prices(folder, days=False)[1]
    assert _specials(emulator) == special
    promo = special[info.special["promo_item"]]
    assert promo == (32.0, "2026-11-26 00:00:00", "2026-11-28 23:59:59")
    assert special[info.special["promo_later_item"]][:2] == (25.5, "2026-11-27 12:00:00")
    assert runtime.context.state.get_option(BOUNDARY_OPTION) is None


# --- scenarios ----------------------------------------------------------------------------


def test_a_price_rule_enabled_changes_exactly_that_items_special_price(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    _sync(synced, "prices")
    before = _specials(emulator)
    saves = emulator.stats()["requests"].get("prices.special.save", 0)
    # WHEN the disabled flash sale (first in group order, fixed 1.00) is enabled
    with _db(folder) as db:
        db.execute(
            "UPDATE IM_PRC_GRP SET ENABLED='Y' WHERE GRP_COD=?", (info.special["promo_disabled"],)
        )
    queued = _sync(synced, "prices")
    # THEN one change, one special-price request, and only that item's row differs
    item = info.special["promo_item"]
    after = _specials(emulator)
    assert queued == 1
    assert emulator.stats()["requests"]["prices.special.save"] == saves + 1
    assert after[item][0] == 1.0
    assert {k: v for k, v in after.items() if k != item} == {
        k: v for k, v in before.items() if k != item
    }
    assert after == expected_prices(folder)[1]


@pytest.mark.parametrize("mode", ["day", "exact"])
def test_a_promotion_starting_tomorrow_at_six_is_sent_ahead_only_to_the_second(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    mode: str,
) -> None:
    folder, info = sample
    runtime = _at(make_runtime(folder, tmp_path, emulator, magento_special_dates=mode), NOW)
    _sync(runtime, "items", "prices")
    item = info.special["markdown_item"]
    six = datetime(2026, 11, 28, 6, 0)
    # WHEN a new promotion for one item starts tomorrow at 06:00 and lasts two days
    with _db(folder) as db:
        db.execute(
            "INSERT INTO IM_PRC_GRP (GRP_TYP, GRP_COD, GRP_SEQ_NO, DESCR, BEG_DT, NO_BEG_DAT,"
            " END_DT, NO_END_DAT, ENABLED) VALUES ('P', 'TOMORROW', 9, 'Early bird', ?, 'N', ?,"
            " 'N', 'Y')",
            (six.isoformat(" "), (six + timedelta(days=2)).isoformat(" ")),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL (GRP_TYP, GRP_COD, RUL_SEQ_NO, ITEM_FILT)"
            " VALUES ('P', 'TOMORROW', 1, ?)",
            (f"(IM_ITEM.ITEM_NO = '{item}')",),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL_BRK (GRP_TYP, GRP_COD, RUL_SEQ_NO, MIN_QTY, PRC_METH,"
            " PRC_BASIS, AMT_OR_PCT) VALUES ('P', 'TOMORROW', 1, 0, 'D', '1', 10)"
        )
    queued = _sync(runtime, "prices")
    (price_1,) = (
        _db(folder)
        .execute("SELECT PRC_1 FROM IM_PRC WHERE ITEM_NO=? AND LOC_ID='*'", (item,))
        .fetchone()
    )
    expected = float((Decimal(str(price_1)) * Decimal("0.9")).quantize(Decimal("0.01")))
    assert queued == 1
    if mode == "exact":
        # THEN it is in Magento tonight already, effective from 06:00 tomorrow
        assert _specials(emulator)[item] == (expected, "2026-11-28 06:00:00", "2026-11-30 06:00:00")
        return
    # THEN tonight Magento gets it from its first whole day only (the 29th; the running sale
    # ends on the 28th): a store reading whole days would give it from midnight on the 28th
    assert _specials(emulator)[item] == (expected, "2026-11-29 00:00:00", "2026-11-30 00:00:00")
    # WHEN the run at 06:05 comes: THEN it is on from the 28th, its last day is the 30th
    _run_at(runtime, datetime(2026, 11, 28, 11, 5, tzinfo=UTC))
    assert _specials(emulator)[item] == (expected, "2026-11-28 00:00:00", "2026-11-30 00:00:00")


def test_a_quantity_changed_at_one_location_sends_one_source_item_request(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    _sync(synced, "inventory")
    item = info.special["numeric_item"]
    saves = emulator.stats()["requests"]["inventory.source_items.save"]
    # WHEN 5 more arrive at the web location, ten minutes later
    later = NOW + timedelta(minutes=10)
    with _db(folder) as db:
        db.execute(
            "UPDATE IM_INV SET QTY_ON_HND = QTY_ON_HND + 5, RS_UTC_DT = ?"
            " WHERE ITEM_NO = ? AND LOC_ID = ?",
            ((NOW + timedelta(minutes=1)).replace(tzinfo=None).isoformat(" "), item, "WEB"),
        )
    result = _at(synced, later).task("inventory").run()
    synced.updater.drain(max_wait_seconds=10)
    # THEN only the changed rows were read, one change queued, one request for that SKU
    assert result.mode == "changed"
    products = {s for s, p in emulator.store.products_by_sku().items() if p["type_id"] == "simple"}
    expected = {k: q for k, q in expected_stock(folder).items() if k[0] in products}
    assert result.read < len(expected) / 4
    assert result.queued == 1
    assert emulator.stats()["requests"]["inventory.source_items.save"] == saves + 1
    assert _source_items(emulator) == pytest.approx(expected)
    assert _source_items(emulator)[(item, "default")] == expected[(item, "default")]


def test_the_same_sync_twice_writes_nothing_the_second_time(
    synced: Runtime, emulator: EmulatorHandle
) -> None:
    _sync(synced, "inventory", "prices")
    before = emulator.stats()["requests"]
    # WHEN both tasks run again, once incrementally and once in full
    queued = _sync(synced, "inventory", "prices")
    full = synced.task("inventory").run(full=True).queued
    # THEN nothing is queued and Magento sees no request
    assert (queued, full) == (0, 0)
    assert emulator.stats()["requests"] == before


def test_every_nth_inventory_run_is_a_full_reconciliation(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    folder, _ = sample
    runtime = _at(
        make_runtime(
            folder,
            tmp_path,
            emulator,
            stock_full_every_runs=3,
            sync_published_products_only=False,
        ),
        NOW,
    )
    task = runtime.task("inventory")
    reads = [task.run().read for _ in range(4)]
    # first run: a snapshot; then incremental, incremental, full (3rd incremental)
    assert reads[0] == reads[3] > max(reads[1], reads[2])


def test_queue_item_reads_only_the_named_sku_or_item(
    synced: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    grid = info.special["grid_2d_item"]
    stock = synced.task("inventory").run(keys=[f"{grid}|RED|M"], force=True)
    prices = synced.task("prices").run(keys=[info.special["promo_item"], grid], force=True)
    changes = {Change.from_json(m.body).key for m in synced.queue.receive(100)}
    assert (stock.mode, stock.queued) == ("item", 1)
    assert prices.queued == 1 + 12  # the item, and every cell of the 3 x 4 grid
    assert f"{grid}|RED|M" in changes and info.special["promo_item"] in changes


def test_promotions_that_ended_are_removed_from_magento(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, _ = sample
    _sync(synced, "prices")
    assert _specials(emulator)
    deletes = emulator.stats()["requests"].get("prices.special.delete", 0)
    # WHEN the nightly run comes three days later, after every sample promotion ended
    later = NOW + timedelta(days=3)
    _sync(_at(synced, later), "prices")
    # THEN Magento holds exactly what Counterpoint implies then: no special prices
    assert _specials(emulator) == expected_prices(folder, LOCAL_NOW + timedelta(days=3))[1] == {}
    assert emulator.stats()["requests"]["prices.special.delete"] > deletes


def test_a_price_location_uses_its_im_prc_row_where_there_is_one(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    folder, info = sample
    runtime = _at(make_runtime(folder, tmp_path, emulator, price_location="WEB"), NOW)
    _sync(runtime, "items")
    with emulator.store.lock:  # forget the prices products were created with
        for product in emulator.store.products.values():
            product["price"] = 0.0
    # The creates carried the prices, so only a forced run (queue all) sends them again.
    runtime.task("prices").run(force=True)
    runtime.updater.drain(max_wait_seconds=10)
    catalog = emulator.store.products_by_sku()
    db = _db(folder)

    def price_at(item: str, loc: str) -> float:
        row = db.execute(
            "SELECT PRC_1 FROM IM_PRC WHERE ITEM_NO=? AND LOC_ID=?", (item, loc)
        ).fetchone()
        return float(row[0])

    web_item = info.special["web_price_override_item"]
    outlet_item = info.special["outlet_price_override_item"]
    assert catalog[web_item]["price"] == price_at(web_item, "WEB") < price_at(web_item, "*")
    assert catalog[outlet_item]["price"] == price_at(outlet_item, "*")  # OUTLET not ours


def test_grid_cells_follow_the_items_stocking_location(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    folder, info = sample
    grid = info.special["grid_2d_item"]
    with _db(folder) as db:  # one cell is not stocked at the web location
        db.execute(
            "DELETE FROM IM_INV_CELL WHERE ITEM_NO=? AND LOC_ID='WEB' AND DIM_1_UPR='RED'"
            " AND DIM_2_UPR='M'",
            (grid,),
        )
    runtime = _at(make_runtime(folder, tmp_path, emulator, grid_cells_location="WEB"), NOW)
    _sync(runtime, "items", "inventory", "prices")
    products = set(emulator.store.products_by_sku())
    stocked = {sku for sku, _ in _source_items(emulator)}
    # THEN the cell Items leaves out gets neither stock nor price; its siblings get both
    assert f"{grid}|RED|M" not in products | stocked
    assert {f"{grid}|RED|S", f"{grid}|BLUE|M"} <= products & stocked
    assert runtime.queue.dead_letters() == []


# --- what a changed Price Changes run reads ------------------------------------------------


def _run_at(runtime: Runtime, moment: datetime, task: str = "prices") -> RunResult:
    result = _at(runtime, moment).task(task).run()
    runtime.updater.drain(max_wait_seconds=10)
    return result


def _price_calls_since(emulator: EmulatorHandle, before: dict[str, int]) -> dict[str, int]:
    after = emulator.stats()["requests"]
    return {
        k: after[k] - before.get(k, 0)
        for k in after
        if k.startswith("prices.") and after[k] != before.get(k, 0)
    }


def test_an_unchanged_price_run_reads_nothing_and_full_still_reads_everything(
    synced: Runtime, emulator: EmulatorHandle
) -> None:
    first = _run_at(synced, NOW)
    # WHEN it runs again with nothing changed (the first re-reads the one item the sample
    # stamped within the watermark's 5-minute overlap), and then with --full
    overlap = _run_at(synced, NOW + timedelta(minutes=30))
    again = _run_at(synced, NOW + timedelta(hours=1))
    full = synced.task("prices").run(full=True)
    # THEN the changed runs read (nearly) no item, and the full run every one
    assert (first.mode, again.mode, full.mode) == ("full", "changed", "full")
    assert first.read > 50
    assert (overlap.read, overlap.queued) == (1, 0)
    assert (again.read, again.queued) == (0, 0)
    assert (full.read, full.queued) == (first.read, 0)


def test_a_price_1_change_is_read_and_sent_alone(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    _run_at(synced, NOW)
    _run_at(synced, NOW + timedelta(minutes=30))
    item = info.special["promo_item"]
    stamp = (NOW + timedelta(minutes=35)).replace(tzinfo=None).isoformat(" ")
    with _db(folder) as db:
        db.execute(
            "UPDATE IM_PRC SET PRC_1 = 123.45, RS_UTC_DT = ? WHERE ITEM_NO = ? AND LOC_ID = '*'",
            (stamp, item),
        )
    before = emulator.stats()["requests"]
    # WHEN the next run comes ten minutes later
    result = _run_at(synced, NOW + timedelta(minutes=40))
    # THEN that item alone was read and sent: its special price (20% off Price-1) moved with
    # it and kept its dates, so one base-price save and one special save in place, no read
    # of Magento's special prices and no delete
    assert (result.mode, result.read, result.queued) == ("changed", 1, 1)
    assert emulator.store.products_by_sku()[item]["price"] == 123.45
    assert _price_calls_since(emulator, before) == {
        "prices.base.save": 1,
        "prices.special.save": 1,
    }
    assert _specials(emulator) == expected_prices(folder, LOCAL_NOW + timedelta(minutes=40))[1]


@pytest.mark.parametrize(("horizon_days", "mode"), [(0, "day"), (7, "day"), (7, "exact")])
def test_a_promotion_that_starts_or_comes_in_sight_between_runs_is_picked_up(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    horizon_days: int,
    mode: str,
) -> None:
    folder, info = sample
    item = info.special["markdown_item"]
    # GIVEN a promotion for one item starting at 10:00 (plus the horizon), already in the
    # database at the 09:00 run, where it is not in sight yet
    start = LOCAL_NOW + timedelta(days=horizon_days, hours=1)
    with _db(folder) as db:
        db.execute(
            "INSERT INTO IM_PRC_GRP (GRP_TYP, GRP_COD, GRP_SEQ_NO, DESCR, BEG_DT, NO_BEG_DAT,"
            " END_DT, NO_END_DAT, ENABLED) VALUES ('P', 'MIDDAY', 0, 'Midday', ?, 'N', ?,"
            " 'N', 'Y')",
            (start.isoformat(" "), (start + timedelta(days=30)).isoformat(" ")),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL (GRP_TYP, GRP_COD, RUL_SEQ_NO, ITEM_FILT)"
            " VALUES ('P', 'MIDDAY', 1, ?)",
            (f"(IM_ITEM.ITEM_NO = '{item}')",),
        )
        db.execute(
            "INSERT INTO IM_PRC_RUL_BRK (GRP_TYP, GRP_COD, RUL_SEQ_NO, MIN_QTY, PRC_METH,"
            " PRC_BASIS, AMT_OR_PCT) VALUES ('P', 'MIDDAY', 1, 0, 'F', '1', 2)"
        )
    runtime = _at(
        make_runtime(
            folder,
            tmp_path,
            emulator,
            price_promo_horizon_days=horizon_days,
            magento_special_dates=mode,
        ),
        NOW,
    )
    _sync(runtime, "items", "prices")
    _run_at(runtime, NOW + timedelta(minutes=30))  # 09:30: past the sample's recent stamps
    assert _specials(emulator).get(item, (None,))[0] != 2.0
    # WHEN the next run comes at 11:00, nothing having moved in the database
    result = _run_at(runtime, NOW + timedelta(hours=2))
    # THEN that item alone was read, and its promotion is in Magento
    if mode == "day" and horizon_days:
        # (a whole-day store would start one beginning at 10:00 at midnight: not sent ahead)
        assert (result.mode, result.read, result.queued) == ("changed", 1, 0)
        assert item not in _specials(emulator)
        return
    assert (result.mode, result.read, result.queued) == ("changed", 1, 1)
    sent_from = start.strftime("%Y-%m-%d 00:00:00" if mode == "day" else FMT)
    assert _specials(emulator)[item][:2] == (2.0, sent_from)


def test_a_deleted_promotion_makes_the_next_run_read_everything(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, _ = sample
    first = _run_at(synced, NOW)
    with _db(folder) as db:
        (code,) = db.execute(
            "SELECT GRP_COD FROM IM_PRC_GRP WHERE GRP_TYP='P' AND ENABLED='Y' AND GRP_COD"
            " LIKE 'PROMO%' ORDER BY GRP_COD"
        ).fetchone()
        for table in ("IM_PRC_RUL_BRK", "IM_PRC_RUL", "IM_PRC_GRP"):
            db.execute(f"DELETE FROM {table} WHERE GRP_COD = ?", (code,))
    # WHEN the next run comes (a deleted row leaves no stamp to follow)
    result = _run_at(synced, NOW + timedelta(minutes=10))
    # THEN it read every item, and Magento holds what Counterpoint now implies
    assert (result.mode, result.read) == ("changed", first.read)
    assert _specials(emulator) == expected_prices(folder, LOCAL_NOW + timedelta(minutes=10))[1]


def test_a_run_that_died_after_a_promotion_changed_leaves_the_next_run_reading_everything(
    synced: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    first = _run_at(synced, NOW)
    with _db(folder) as db:
        db.execute(
            "UPDATE IM_PRC_GRP SET ENABLED='Y' WHERE GRP_COD=?", (info.special["promo_disabled"],)
        )

    def queue_down(changes: Any) -> None:
        raise RuntimeError("queue unreachable")

    # WHEN the run that sees the change dies before its Changes are queued
    with pytest.raises(RuntimeError):
        _at(synced, NOW + timedelta(minutes=10)).task("prices").run(emit=queue_down)
    result = _run_at(synced, NOW + timedelta(minutes=20))
    # THEN the next run still reads every item, and the enabled sale reaches Magento
    assert (result.mode, result.read) == ("changed", first.read)
    assert _specials(emulator)[info.special["promo_item"]][0] == 1.0
