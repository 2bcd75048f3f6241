"""Counterpoint queries of the Inventory and Price Changes tasks (SQLAlchemy Core, valid T-SQL).

Items covered are those that are Magento products: `IS_ECOMM_ITEM = 'Y'` and `STAT = 'A'`.
Grid items (`TRK_METH = 'G'`) are read per cell from IM_INV_CELL, other items from IM_INV.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    literal,
    or_,
    select,
    union,
)

from cpsync.counterpoint.schema import (
    IM_INV,
    IM_INV_CELL,
    IM_ITEM,
    IM_LOC,
    IM_PRC,
    IM_PRC_GRP,
    IM_PRC_RUL,
    IM_PRC_RUL_BRK,
)

__all__ = [
    "cell_quantity_rows",
    "changed_stock_items",
    "grid_cells",
    "location_ids",
    "price_groups",
    "price_item_rows",
    "price_rule_breaks",
    "price_rules",
    "quantity_rows",
    "web_items",
]


def web_items() -> ColumnElement[bool]:
    """Items that are Magento products: e-commerce and active."""
    return and_(literal("Y") == IM_ITEM.c.IS_ECOMM_ITEM, literal("A") == IM_ITEM.c.STAT)


def _is_grid() -> ColumnElement[bool]:
    return literal("G") == IM_ITEM.c.TRK_METH


def _changed_item_nos(
    table: Table, since_utc: datetime, since_local: datetime
) -> list[Select[tuple[object, ...]]]:
    """Two seeks per table: on the indexed RS_UTC_DT, and LST_MAINT_DT where RS_UTC_DT is NULL."""
    columns = table.c
    return [
        select(columns.ITEM_NO).where(since_utc <= columns.RS_UTC_DT),
        select(columns.ITEM_NO).where(
            columns.RS_UTC_DT.is_(None), since_local <= columns.LST_MAINT_DT
        ),
    ]


def changed_stock_items(since_utc: datetime, since_local: datetime) -> Select[tuple[object, ...]]:
    """Item numbers whose stock rows (or the item itself) changed since the window began.

    A UNION of range seeks (RS_UTC_DT is indexed; LST_MAINT_DT only where it is NULL, on rows
    untouched since replication stamps existed), joined to the web items, so the cost follows
    the number of changed rows, not the size of the tables. The item itself counts because an
    item that just joined e-commerce needs its stock sent.
    """
    branches = [
        branch
        for table in (IM_INV, IM_INV_CELL, IM_ITEM)
        for branch in _changed_item_nos(table, since_utc, since_local)
    ]
    changed = union(*branches).subquery("changed")
    return (
        select(IM_ITEM.c.ITEM_NO)
        .select_from(IM_ITEM.join(changed, changed.c.ITEM_NO == IM_ITEM.c.ITEM_NO))
        .where(web_items())
        .order_by(IM_ITEM.c.ITEM_NO)
    )


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


def price_item_rows(location: str | None, keys: Sequence[str] | None = None) -> Select[Any]:
    """Every web item with all its IM_ITEM columns (rule filters may name any) and its prices.

    Prices come from the `'*'` IM_PRC row (`ALL_PRC_n`) and, when a price location is set, from
    that location's row (`LOC_PRC_n`); the caller prefers the location row.
    """
    every = IM_PRC.alias("prc_all")
    at_loc = IM_PRC.alias("prc_loc")
    columns: list[ColumnElement[object]] = list(IM_ITEM.c)
    columns += [every.c[name].label(f"ALL_{name}") for name in PRICE_LEVELS]
    joined = IM_ITEM.outerjoin(
        every, and_(every.c.ITEM_NO == IM_ITEM.c.ITEM_NO, every.c.LOC_ID == literal("*"))
    )
    if location is not None:
        columns += [at_loc.c[name].label(f"LOC_{name}") for name in PRICE_LEVELS]
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


def price_groups() -> Select[tuple[object, ...]]:
    """Promotional price groups (GRP_TYP 'P') in Counterpoint's order."""
    grp = IM_PRC_GRP
    return (
        select(grp).where(literal("P") == grp.c.GRP_TYP).order_by(grp.c.GRP_SEQ_NO, grp.c.GRP_COD)
    )


def price_rules() -> Select[tuple[object, ...]]:
    """Rules of promotional groups, in group and rule order."""
    rul = IM_PRC_RUL
    return (
        select(rul).where(literal("P") == rul.c.GRP_TYP).order_by(rul.c.GRP_COD, rul.c.RUL_SEQ_NO)
    )


def price_rule_breaks() -> Select[tuple[object, ...]]:
    """Quantity breaks of promotional rules."""
    brk = IM_PRC_RUL_BRK
    return (
        select(brk)
        .where(literal("P") == brk.c.GRP_TYP)
        .order_by(brk.c.GRP_COD, brk.c.RUL_SEQ_NO, brk.c.MIN_QTY)
    )


def grid_cells(
    item_nos: Sequence[str], cells_location: str | None = None
) -> Select[tuple[object, ...]]:
    """The cells of grid items (distinct dimension values of their IM_INV_CELL rows), at any
    location or, with `cells_location`, at that one (as the Items task decides children)."""
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
