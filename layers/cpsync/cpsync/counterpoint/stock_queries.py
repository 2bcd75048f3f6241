"""Counterpoint queries of the Inventory and Price Changes tasks (SQLAlchemy Core, valid T-SQL).

Items covered are those that are Magento products: `IS_ECOMM_ITEM = 'Y'` and `STAT = 'A'`.
Grid items (`TRK_METH = 'G'`) are read per cell from IM_INV_CELL, other items from IM_INV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    literal,
    literal_column,
    null,
    or_,
    select,
    union,
)

from cpsync.counterpoint.columns import Catalog, or_null
from cpsync.counterpoint.queries import changed_rows
from cpsync.counterpoint.schema import (
    EC_CTL,
    IM_INV,
    IM_INV_CELL,
    IM_ITEM,
    IM_LOC,
    IM_PRC,
    IM_PRC_GRP,
    IM_PRC_RUL,
    IM_PRC_RUL_BRK,
    PS_STR_CFG_PS,
)

__all__ = [
    "cell_quantity_rows",
    "changed_price_items",
    "changed_stock_items",
    "filter_item_rows",
    "grid_cells",
    "item_column",
    "location_ids",
    "price_groups",
    "price_item_rows",
    "price_rule_breaks",
    "price_rules",
    "quantity_rows",
    "web_items",
    "web_store",
]


def web_items() -> ColumnElement[bool]:
    """Items that are Magento products: e-commerce and active."""
    return and_(literal("Y") == IM_ITEM.c.IS_ECOMM_ITEM, literal("A") == IM_ITEM.c.STAT)


def _is_grid() -> ColumnElement[bool]:
    return literal("G") == IM_ITEM.c.TRK_METH


def _web_items_among(branches: Sequence[Select[Any]]) -> Select[tuple[object, ...]]:
    """The web items among the item numbers the UNION of `branches` yields, in order."""
    changed = union(*branches).subquery("changed")
    return (
        select(IM_ITEM.c.ITEM_NO)
        .select_from(IM_ITEM.join(changed, changed.c.ITEM_NO == IM_ITEM.c.ITEM_NO))
        .where(web_items())
        .order_by(IM_ITEM.c.ITEM_NO)
    )


def changed_stock_items(
    since_utc: datetime, since_local: datetime, catalog: Catalog | None = None
) -> Select[tuple[object, ...]]:
    """Item numbers whose stock rows (or the item itself) changed since the window began.

    A UNION of range seeks (RS_UTC_DT is indexed; LST_MAINT_DT only where it is NULL, on rows
    untouched since replication stamps existed), joined to the web items, so the cost follows
    the number of changed rows, not the size of the tables. The item itself counts because an
    item that just joined e-commerce needs its stock sent. A table without one of the stamps
    is read by the other (`changed_rows`); without `IM_INV_CELL.RS_UTC_DT` a grid cell's
    change is seen through its item's row per location (IM_INV), which holds the cells' totals.
    """
    branches = [
        branch
        for table in (IM_INV, IM_INV_CELL, IM_ITEM)
        for branch in changed_rows(table, since_utc, since_local, catalog)
    ]
    return _web_items_among(branches)


def location_ids() -> Select[tuple[object, ...]]:
    """Every location (IM_LOC): the sources of per-location stock when no list is set."""
    return select(IM_LOC.c.LOC_ID).order_by(IM_LOC.c.LOC_ID)


def quantity_rows(
    item_nos: Sequence[str] | None, locations: Sequence[str]
) -> Select[tuple[object, ...]]:
    """IM_INV rows of non-grid web items (all, or `item_nos`), by item then location."""
    stmt = (
        select(IM_INV.c.ITEM_NO, IM_INV.c.LOC_ID, IM_INV.c.QTY_ON_HND, IM_INV.c.QTY_COMMIT)
        .select_from(IM_INV.join(IM_ITEM, IM_ITEM.c.ITEM_NO == IM_INV.c.ITEM_NO))
        .where(web_items(), or_(IM_ITEM.c.TRK_METH.is_(None), ~_is_grid()))
        .order_by(IM_INV.c.ITEM_NO, IM_INV.c.LOC_ID)
    )
    if item_nos is not None:
        stmt = stmt.where(IM_INV.c.ITEM_NO.in_(list(item_nos)))
    if locations:
        stmt = stmt.where(IM_INV.c.LOC_ID.in_(list(locations)))
    return stmt


def _stocked_at(cell: Any, location: str) -> ColumnElement[bool]:
    """The cell has an IM_INV_CELL row at `location` (the Items task's stocking location)."""
    other = IM_INV_CELL.alias("stocked")
    return exists().where(
        other.c.ITEM_NO == cell.ITEM_NO,
        other.c.DIM_1_UPR == cell.DIM_1_UPR,
        other.c.DIM_2_UPR == cell.DIM_2_UPR,
        other.c.DIM_3_UPR == cell.DIM_3_UPR,
        other.c.LOC_ID == location,
    )


def cell_quantity_rows(
    item_nos: Sequence[str] | None,
    locations: Sequence[str],
    cells_location: str | None = None,
) -> Select[tuple[object, ...]]:
    """IM_INV_CELL rows of grid web items, by item, cell, then location.

    With `cells_location` (CPSYNC_GRID_CELLS_LOCATION), only cells that have a row there: the
    cells the Items task makes children of.
    """
    cell = IM_INV_CELL
    stmt = (
        select(
            cell.c.ITEM_NO,
            cell.c.LOC_ID,
            cell.c.DIM_1_UPR,
            cell.c.DIM_2_UPR,
            cell.c.DIM_3_UPR,
            cell.c.QTY_ON_HND,
            cell.c.QTY_COMMIT,
        )
        .select_from(cell.join(IM_ITEM, IM_ITEM.c.ITEM_NO == cell.c.ITEM_NO))
        .where(web_items(), _is_grid())
        .order_by(
            cell.c.ITEM_NO, cell.c.DIM_1_UPR, cell.c.DIM_2_UPR, cell.c.DIM_3_UPR, cell.c.LOC_ID
        )
    )
    if item_nos is not None:
        stmt = stmt.where(cell.c.ITEM_NO.in_(list(item_nos)))
    if locations:
        stmt = stmt.where(cell.c.LOC_ID.in_(list(locations)))
    if cells_location is not None:
        stmt = stmt.where(_stocked_at(cell.c, cells_location))
    return stmt


# --- prices --------------------------------------------------------------------------------

PRICE_LEVELS = ("PRC_1", "PRC_2", "PRC_3", "PRC_4", "PRC_5", "PRC_6")
#: IM_ITEM columns Price Changes reads for itself; rule filters may add others.
PRICE_ITEM_COLUMNS = ("ITEM_NO", "TRK_METH", "PRC_1")


#: A column name cpsync may put in a query without quoting it (a merchant's own IM_ITEM column).
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$#@]*")


def item_column(name: str) -> ColumnElement[Any]:
    """An IM_ITEM column by name, declared or the merchant's own.

    A merchant's own column (`USR_*`, found in the database's catalog) is named as
    `IM_ITEM.<name>`.

    Raises:
        ValueError: The name is not a plain identifier (it is never put in SQL then).
    """
    if name in IM_ITEM.c:
        return IM_ITEM.c[name]
    if not PLAIN_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain column name")
    return literal_column(f"IM_ITEM.{name}").label(name)


def price_item_rows(
    location: str | None,
    keys: Sequence[str] | None = None,
    item_columns: Sequence[str] = PRICE_ITEM_COLUMNS,
    catalog: Catalog | None = None,
) -> Select[Any]:
    """Every web item with the IM_ITEM columns named (its own and the rule filters') and prices.

    Prices come from the `'*'` IM_PRC row (`ALL_PRC_n`) and, when a price location is set, from
    that location's row (`LOC_PRC_n`); the caller prefers the location row. A price level the
    database lacks (Price-4..6 are assumed, docs/reference/counterpoint.md#base-prices) reads as
    NULL.
    """
    every = IM_PRC.alias("prc_all")
    at_loc = IM_PRC.alias("prc_loc")
    names = list(dict.fromkeys([*PRICE_ITEM_COLUMNS, *item_columns]))
    columns: list[ColumnElement[Any]] = [item_column(name) for name in names]

    def level(alias: Any, name: str, prefix: str) -> ColumnElement[Any]:
        if catalog is None or catalog.has("IM_PRC", name):
            return cast("ColumnElement[Any]", alias.c[name].label(f"{prefix}{name}"))
        return null().label(f"{prefix}{name}")

    columns += [level(every, name, "ALL_") for name in PRICE_LEVELS]
    joined = IM_ITEM.outerjoin(
        every, and_(every.c.ITEM_NO == IM_ITEM.c.ITEM_NO, every.c.LOC_ID == literal("*"))
    )
    if location is not None:
        columns += [level(at_loc, name, "LOC_") for name in PRICE_LEVELS]
        joined = joined.outerjoin(
            at_loc, and_(at_loc.c.ITEM_NO == IM_ITEM.c.ITEM_NO, at_loc.c.LOC_ID == location)
        )
    stmt = cast(
        "Select[Any]",
        select(*columns).select_from(joined).where(web_items()).order_by(IM_ITEM.c.ITEM_NO),
    )
    if keys is not None:
        stmt = stmt.where(IM_ITEM.c.ITEM_NO.in_(list(keys)))
    return stmt


def changed_price_items(
    since_utc: datetime,
    since_local: datetime,
    location: str | None = None,
    catalog: Catalog | None = None,
) -> Select[tuple[object, ...]] | None:
    """Web items whose price rows, item row or grid cells changed since the bounds.

    The price rows are the `'*'` row and `location`'s. Returns None when IM_PRC or IM_ITEM has
    no change stamp at all (then only a full read sees a price change).

    A UNION of range seeks like `changed_stock_items`. The item row counts because Price-1
    may live there (IM_ITEM.PRC_1) and rule filters read its columns; a grid cell because a
    new cell is a new SKU to price (by RS_UTC_DT only: without it the daily full read does).
    """
    prices = changed_rows(IM_PRC, since_utc, since_local, catalog)
    items = changed_rows(IM_ITEM, since_utc, since_local, catalog)
    if not prices or not items:
        return None
    locations = ["*"] if location is None else ["*", location]
    branches = [
        *(branch.where(IM_PRC.c.LOC_ID.in_(locations)) for branch in prices),
        *items,
        *changed_rows(IM_INV_CELL, since_utc, since_local, catalog, local=False),
    ]
    return _web_items_among(branches)


def filter_item_rows(item_columns: Sequence[str]) -> Select[Any]:
    """Every web item's number and the IM_ITEM columns rule filters name (no prices).

    That is what tells which items a promotion's rules match.
    """
    names = list(dict.fromkeys(["ITEM_NO", *item_columns]))
    return cast(
        "Select[Any]",
        select(*(item_column(n) for n in names)).where(web_items()).order_by(IM_ITEM.c.ITEM_NO),
    )


#: Columns of the price-rule tables: required ones, then (name, fallback) of optional ones.
GROUP_COLUMNS = ("GRP_TYP", "GRP_COD", "GRP_SEQ_NO", "ENABLED", "BEG_DAT", "END_DAT")
GROUP_OPTIONAL = {
    "BEG_DT": "a promotion begins at the start of its BEG_DAT",
    "END_DT": "a promotion lasts to the end of its END_DAT",
    "NO_BEG_DAT": "a NULL BEG_DAT means no begin date",
    "NO_END_DAT": "a NULL END_DAT means no end date",
    "CUST_FILT": "no group is limited to some customers",
}
RULE_COLUMNS = ("GRP_TYP", "GRP_COD", "RUL_SEQ_NO", "ITEM_FILT")
RULE_OPTIONAL = {
    "CUST_FILT": "no rule is limited to some customers",
    "SAL_FILT": "no rule is limited to some stores",
    "MIN_QTY": "a rule needs no minimum quantity",
}
BREAK_COLUMNS = ("GRP_TYP", "GRP_COD", "RUL_SEQ_NO", "MIN_QTY", "PRC_METH", "AMT_OR_PCT")
BREAK_OPTIONAL = {"PRC_BASIS": "every break is based on Price-1"}


def _rule_table_select(
    table: Table, names: Sequence[str], optional: Mapping[str, str], catalog: Catalog | None
) -> Select[tuple[object, ...]]:
    columns = [table.c[n] for n in names] + [or_null(table, n, catalog) for n in optional]
    return select(*columns).where(literal("P") == table.c.GRP_TYP)


def price_groups(catalog: Catalog | None = None) -> Select[tuple[object, ...]]:
    """Promotional price groups (GRP_TYP 'P') in Counterpoint's order."""
    grp = IM_PRC_GRP
    return _rule_table_select(grp, GROUP_COLUMNS, GROUP_OPTIONAL, catalog).order_by(
        grp.c.GRP_SEQ_NO, grp.c.GRP_COD
    )


def price_rules(catalog: Catalog | None = None) -> Select[tuple[object, ...]]:
    """Rules of promotional groups, in group and rule order."""
    rul = IM_PRC_RUL
    return _rule_table_select(rul, RULE_COLUMNS, RULE_OPTIONAL, catalog).order_by(
        rul.c.GRP_COD, rul.c.RUL_SEQ_NO
    )


def price_rule_breaks(catalog: Catalog | None = None) -> Select[tuple[object, ...]]:
    """Quantity breaks of promotional rules."""
    brk = IM_PRC_RUL_BRK
    return _rule_table_select(brk, BREAK_COLUMNS, BREAK_OPTIONAL, catalog).order_by(
        brk.c.GRP_COD, brk.c.RUL_SEQ_NO, brk.c.MIN_QTY
    )


def web_store(with_locations: bool = True) -> Select[tuple[object, ...]]:
    """The e-commerce store (EC_CTL.STR_ID) with its stocking and pricing locations.

    The locations come from PS_STR_CFG_PS; they are NULL without `with_locations`, for a
    database where that table is not as expected.
    """
    ctl, cfg = EC_CTL.c, PS_STR_CFG_PS.c
    if not with_locations:
        return select(ctl.STR_ID, null().label("STK_LOC_ID"), null().label("PRC_LOC_ID"))
    return select(ctl.STR_ID, cfg.STK_LOC_ID, cfg.PRC_LOC_ID).select_from(
        EC_CTL.outerjoin(PS_STR_CFG_PS, cfg.STR_ID == ctl.STR_ID)
    )


def grid_cells(
    item_nos: Sequence[str], cells_location: str | None = None
) -> Select[tuple[object, ...]]:
    """The cells of grid items: the distinct dimension values of their IM_INV_CELL rows.

    At any location or, with `cells_location`, at that one (as the Items task decides
    children).
    """
    cell = IM_INV_CELL.c
    stmt = (
        select(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
        .where(cell.ITEM_NO.in_(list(item_nos)))
        .distinct()
        .order_by(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
    )
    if cells_location is not None:
        stmt = stmt.where(cell.LOC_ID == cells_location)
    return stmt
