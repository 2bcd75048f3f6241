"""Tasks adapt to the Counterpoint database they find (issue 12 §2).

Each test changes its own copy of the sample the way a real install differs from it (a column
dropped, a rule written for columns or stores cpsync cannot see) and runs the real tasks into
the emulator over HTTP.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cpsync.counterpoint.columns import Catalog, fallbacks_in_use, read_catalog
from cpsync.errors import ConfigurationError
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # the sample's clock (tests/e2e/conftest.py)


def _sql(folder: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    with sqlite3.connect(folder / "counterpoint.db") as db:
        for statement in statements:
            db.execute(statement, params if "?" in statement else ())


def _drop(folder: Path, table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN (with its index first, which SQLite requires)."""
    with sqlite3.connect(folder / "counterpoint.db") as db:
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql LIKE ?",
            (table, f"%{column}%"),
        ).fetchall():
            db.execute(f'DROP INDEX "{name}"')
        db.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')


def _sync(runtime: Runtime, *tasks: str) -> None:
    for name in tasks:
        runtime.task(name).run()
    runtime.updater.drain(max_wait_seconds=10)


def _log(runtime: Runtime, task: str) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for e in runtime.state.errors(task=task, limit=1000):
        found.setdefault(e.key, []).append((e.level, e.message))
    return found


def _specials(emulator: EmulatorHandle) -> dict[str, float]:
    return {r["sku"]: r["price"] for r in prices_of(emulator.store).special_prices()}


def _grid_quantities(emulator: EmulatorHandle, item: str) -> dict[str, float]:
    items = inventory_of(emulator.store).source_items()
    return {i["sku"]: i["quantity"] for i in items if i["sku"].startswith(item + "|")}


@pytest.fixture
def synced(runtime: Runtime) -> Runtime:
    runtime.context.clock = lambda: NOW
    _sync(runtime, "items")
    return runtime


# --- columns missing ------------------------------------------------------------------------


def test_given_no_rs_utc_dt_on_grid_cells_when_a_cell_changes_then_its_location_stamp_finds_it(
    sample: tuple[Path, SampleInfo], runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a database whose IM_INV_CELL has no RS_UTC_DT (the references never saw it there)
    folder, info = sample
    _drop(folder, "IM_INV_CELL", "RS_UTC_DT")
    runtime.context.clock = lambda: NOW
    _sync(runtime, "items", "inventory")  # first runs: full
    grid = sorted(set(info.grid_item_nos) & set(info.ecommerce_item_nos))[0]
    before = _grid_quantities(emulator, grid)
    # WHEN a cell's quantity changes at WEB and Counterpoint stamps the item's WEB row
    later = NOW + timedelta(minutes=10)
    stamp = (later - timedelta(minutes=1)).replace(tzinfo=None).isoformat(sep=" ")
    _sql(
        folder,
        "UPDATE IM_INV_CELL SET QTY_ON_HND = 77, QTY_COMMIT = 0 WHERE ROWID = "
        f"(SELECT MIN(ROWID) FROM IM_INV_CELL WHERE ITEM_NO = '{grid}' AND LOC_ID = 'WEB')",
        f"UPDATE IM_INV SET RS_UTC_DT = '{stamp}' WHERE ITEM_NO = '{grid}' AND LOC_ID = 'WEB'",
    )
    runtime.context.clock = lambda: later
    items = runtime.task("items").run()
    inventory = runtime.task("inventory").run()
    # THEN both changed runs succeed, read the grid item, and the quantity reaches Magento
    assert items.mode == inventory.mode == "changed"
    assert items.read >= 1 and inventory.read >= 1
    runtime.updater.drain(max_wait_seconds=10)
    after = _grid_quantities(emulator, grid)
    changed = [sku for sku in after if after[sku] != before.get(sku)]
    assert len(changed) == 1 and after[changed[0]] >= 77
    # AND the fallback is named for `cpsync check`
    with runtime.counterpoint.connect() as conn:
        catalog = read_catalog(conn)
    used = {str(n): n.fallback for n in fallbacks_in_use(catalog, TASKS["inventory"].needs)}
    assert "IM_INV_CELL.RS_UTC_DT" in used and "IM_INV" in (used["IM_INV_CELL.RS_UTC_DT"] or "")


def test_given_a_required_column_missing_then_only_that_task_stops_with_one_line(
    sample: tuple[Path, SampleInfo], runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a database without IM_ITEM.DESCR (the product name)
    folder, _ = sample
    _drop(folder, "IM_ITEM", "DESCR")
    runtime.context.clock = lambda: NOW
    # WHEN the Items task runs THEN it stops with one line naming table and column
    with pytest.raises(ConfigurationError) as stopped:
        runtime.task("items").run()
    message = str(stopped.value)
    assert "IM_ITEM.DESCR" in message and "\n" not in message
    # AND the run log says the same
    assert any("IM_ITEM.DESCR" in m for _, m in _log(runtime, "items")[""])
    # AND the tasks that do not need it still run
    assert runtime.task("categories").run().read > 0
    assert runtime.task("image_changes").run().read > 0


def test_given_optional_columns_missing_then_items_and_categories_still_sync(
    sample: tuple[Path, SampleInfo], runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN an older database: no weight, URL or custom image file on items, no tree order
    folder, info = sample
    for table, column in (
        ("IM_ITEM", "WEIGHT"),
        ("IM_ITEM", "URL"),
        ("IM_ITEM", "ECOMM_IMG_FILE"),
        ("EC_CATEG", "DISP_SEQ_NO"),
        ("IM_PRC", "PRC_4"),
    ):
        _drop(folder, table, column)
    runtime.context.clock = lambda: NOW
    # WHEN everything syncs
    results = {name: runtime.task(name).run() for name in ("categories", "items", "prices")}
    runtime.updater.drain(max_wait_seconds=10)
    # THEN every task ran and the products are in Magento
    assert all(r.read > 0 for r in results.values())
    assert set(info.ecommerce_item_nos) <= set(emulator.store.products_by_sku())
    with runtime.counterpoint.connect() as conn:
        catalog = read_catalog(conn)
    assert not catalog.has("IM_ITEM", "WEIGHT") and catalog.has("IM_ITEM", "DESCR")
    assert Catalog.declared().has("IM_ITEM", "WEIGHT")


# --- price rules ----------------------------------------------------------------------------


def _first_group(
    folder: Path, item_filt: str, method: str = "D", sal_filt: str | None = None
) -> None:
    """A promotional group before every other, running now, with one rule and one break."""
    _sql(
        folder,
        "INSERT INTO IM_PRC_GRP (GRP_TYP, GRP_COD, GRP_SEQ_NO, DESCR, BEG_DAT, NO_BEG_DAT, "
        "BEG_DT, END_DAT, NO_END_DAT, END_DT, ENABLED) VALUES ('P', 'FIRST', 0, 'First', "
        "'2026-11-01 00:00:00.000000', 'N', '2026-11-01 00:00:00.000000', "
        "'2026-12-31 00:00:00.000000', 'N', '2026-12-31 23:59:59.000000', 'Y')",
        "INSERT INTO IM_PRC_RUL (GRP_TYP, GRP_COD, RUL_SEQ_NO, ITEM_FILT, SAL_FILT, MIN_QTY) "
        "VALUES ('P', 'FIRST', 1, ?, ?, 0)",
        params=(item_filt, sal_filt),
    )
    _sql(
        folder,
        "INSERT INTO IM_PRC_RUL_BRK (GRP_TYP, GRP_COD, RUL_SEQ_NO, MIN_QTY, PRC_METH, PRC_BASIS,"
        " AMT_OR_PCT) VALUES ('P', 'FIRST', 1, 0, ?, '1', 50)",
        params=(method,),
    )


def test_given_a_rule_on_a_missing_column_then_it_is_reported_and_no_later_rule_wins(
    sample: tuple[Path, SampleInfo], synced: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a first rule for the promoted item that also names a merchant column this
    # database lacks (PROMO-NOW, later, gives that item 20% off)
    folder, info = sample
    item, fixed = info.special["promo_item"], info.special["promo_fixed_item"]
    _first_group(folder, f"(IM_ITEM.ITEM_NO = '{item}') AND (IM_ITEM.USR_BRAND = 'ACME')")
    # WHEN prices sync
    _sync(synced, "prices")
    # THEN the item the rule could match gets no special price (not PROMO-NOW's 32.00),
    # its regular price syncs, and items the rule rules out keep their promotion
    specials = _specials(emulator)
    assert item not in specials
    assert emulator.store.products_by_sku()[item]["price"] == 40.0
    assert specials[fixed] == 9.99
    # AND the rule is reported, naming the column
    log = _log(synced, "prices")
    assert any("IM_ITEM.USR_BRAND" in m for _, m in log["rule FIRST/1"])


def test_given_an_unknown_method_letter_then_it_is_reported_per_rule_and_the_price_syncs(
    sample: tuple[Path, SampleInfo], synced: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN the first rule for the promoted item uses a method letter not configured
    folder, info = sample
    item = info.special["promo_item"]
    _first_group(folder, f"(IM_ITEM.ITEM_NO = '{item}')", method="Z")
    # WHEN prices sync
    _sync(synced, "prices")
    # THEN the SKU's regular price syncs, without a special price from a later rule
    assert emulator.store.products_by_sku()[item]["price"] == 40.0
    assert item not in _specials(emulator)
    log = _log(synced, "prices")
    assert [level for level, m in log["rule FIRST/1"] if "'Z'" in m] == ["warning"]
    assert item not in log  # never an error on the SKU


@pytest.mark.parametrize(("store", "wins"), [("WEB", True), ("MAIN", False)])
def test_given_a_store_filter_then_it_is_evaluated_for_the_web_store(
    sample: tuple[Path, SampleInfo],
    synced: Runtime,
    emulator: EmulatorHandle,
    store: str,
    wins: bool,
) -> None:
    # GIVEN a first rule (50% off the promoted item) for one store only
    folder, info = sample
    item = info.special["promo_item"]
    _first_group(
        folder, f"(IM_ITEM.ITEM_NO = '{item}')", sal_filt=f"(PS_DOC_HDR.STR_ID = '{store}')"
    )
    # WHEN prices sync (EC_CTL.STR_ID is 'WEB', padded as a CHAR column)
    _sync(synced, "prices")
    # THEN the web store's rule wins; another store's rule is skipped and PROMO-NOW applies
    assert _specials(emulator)[item] == (20.0 if wins else 32.0)


def test_given_a_rule_on_the_merchants_own_column_then_it_is_read_and_honoured(
    sample: tuple[Path, SampleInfo], synced: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a merchant column cpsync does not declare (USR_BRAND), set on the promoted item,
    # and a first rule (50% off) on it
    folder, info = sample
    item = info.special["promo_item"]
    _sql(
        folder,
        "ALTER TABLE IM_ITEM ADD COLUMN USR_BRAND VARCHAR(10)",
        f"UPDATE IM_ITEM SET USR_BRAND = 'ACME' WHERE ITEM_NO = '{item}'",
    )
    _first_group(folder, "IM_ITEM.USR_BRAND = 'acme'")
    # WHEN prices sync
    _sync(synced, "prices")
    # THEN the rule applies to that item only; the others keep their own promotions
    specials = _specials(emulator)
    assert specials[item] == 20.0
    assert specials[info.special["promo_fixed_item"]] == 9.99
    assert "rule FIRST/1" not in _log(synced, "prices")
