"""Counterpoint queries, written once in SQLAlchemy Core: valid T-SQL and valid SQLite.

Every query here is compiled for the `mssql` dialect and parsed as T-SQL in the tests.
Lists of item numbers are passed in chunks of at most 500 (SQL Server allows 2,100 bind
parameters per statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import CompoundSelect, Select, case, func, literal, or_, select, union, union_all

from cpsync.counterpoint.schema import (
    EC_ITEM_DESCR,
    IM_GRID_DIM_1,
    IM_GRID_DIM_2,
    IM_GRID_DIM_3,
    IM_INV,
    IM_INV_CELL,
    IM_ITEM,
    IM_PRC,
)

__all__ = [
    "MAX_IN_LIST",
    "changed_items",
    "grid_cells",
    "grid_values",
    "item_rows",
    "price_1",
    "quantities",
    "sku_owners",
]

MAX_IN_LIST = 500


def changed_items(since_utc: object, since_local: object) -> CompoundSelect[tuple[object, ...]]:
    """Item numbers changed since the bounds: a UNION of selects that each can seek an index.

    One OR across tables would scan IM_ITEM on SQL Server; each branch here filters one
    column of one table. An item changed when its `RS_UTC_DT` moved, or (where that is NULL,
    on rows not touched since replication stamps existed) its `LST_MAINT_DT`; when its
    EC_ITEM_DESCR row moved (Counterpoint does not touch the item then); or when one of its
    grid cells moved (a cell added to a grid).
    """
    item, descr, cell = IM_ITEM.c, EC_ITEM_DESCR.c, IM_INV_CELL.c
    return union(
        select(item.ITEM_NO).where(item.RS_UTC_DT >= since_utc),
        select(item.ITEM_NO).where(item.RS_UTC_DT.is_(None), item.LST_MAINT_DT >= since_local),
        select(descr.ITEM_NO).where(descr.LST_MAINT_DT >= since_local),
        select(cell.ITEM_NO).where(cell.RS_UTC_DT >= since_utc),
    )


def item_rows(
    since_utc: object | None = None,
    since_local: object | None = None,
    keys: Sequence[str] | None = None,
    grid: bool | None = None,
) -> Select[tuple[object, ...]]:
    """Items with their e-commerce HTML description, ordered by item number.

    Args:
        since_utc: With `since_local`, only items changed since then (see `changed_items`).
        since_local: The same bound in the Counterpoint server's local time.
        keys: Only these item numbers.
        grid: True for grid items only, False for the others, None for both.
    """
    item, descr = IM_ITEM, EC_ITEM_DESCR
    stmt = (
        select(
            item.c.ITEM_NO,
            item.c.DESCR,
            item.c.LONG_DESCR,
            item.c.SHORT_DESCR,
            item.c.ADDL_DESCR_1,
            item.c.STAT,
            item.c.TRK_METH,
            item.c.WEIGHT,
            item.c.PRC_1,
            item.c.IS_TXBL,
            item.c.IS_ECOMM_ITEM,
            item.c.URL,
            item.c.GRID_DIM_1_TAG,
            item.c.GRID_DIM_2_TAG,
            item.c.GRID_DIM_3_TAG,
            item.c.RS_UTC_DT,
            item.c.LST_MAINT_DT,
            descr.c.HTML_DESCR,
            descr.c.LST_MAINT_DT.label("DESCR_LST_MAINT_DT"),
        )
        .select_from(item.outerjoin(descr, descr.c.ITEM_NO == item.c.ITEM_NO))
        .order_by(item.c.ITEM_NO)
    )
    if grid is not None:
        is_grid = literal("G") == item.c.TRK_METH
        stmt = stmt.where(is_grid if grid else or_(item.c.TRK_METH.is_(None), ~is_grid))
    if keys is not None:
        stmt = stmt.where(item.c.ITEM_NO.in_(list(keys)))
    if since_utc is not None and since_local is not None:
        stmt = stmt.where(item.c.ITEM_NO.in_(changed_items(since_utc, since_local)))
    return stmt


def grid_values(item_nos: Sequence[str]) -> CompoundSelect[tuple[object, ...]]:
    """The dimension values of grid items: (ITEM_NO, DIM, VALUE, VALUE_UPR, SEQ_NO) rows.

    DIM is 1, 2 or 3; VALUE is the display value (`DIM_n`), VALUE_UPR the upper-case key the
    cells use (`DIM_n_UPR`).
    """
    selects = []
    for n, table in enumerate((IM_GRID_DIM_1, IM_GRID_DIM_2, IM_GRID_DIM_3), start=1):
        selects.append(
            select(
                table.c.ITEM_NO,
                literal(n).label("DIM"),
                table.c[f"DIM_{n}"].label("VALUE"),
                table.c[f"DIM_{n}_UPR"].label("VALUE_UPR"),
                table.c[f"DIM_{n}_SEQ_NO"].label("SEQ_NO"),
            ).where(table.c.ITEM_NO.in_(list(item_nos)))
        )
    return union_all(*selects)


def grid_cells(
    item_nos: Sequence[str],
    locations: Sequence[str],
    quantity: str,
    cells_location: str | None = None,
) -> Select[tuple[object, ...]]:
    """The cells of grid items with their quantity over the counted locations.

    A cell exists when IM_INV_CELL has a row for it at any location, or at `cells_location`
    when that is given; its quantity sums only the counted locations (all when `locations`
    is empty), on hand minus committed for `available`. CHANGED is the newest `RS_UTC_DT`
    of the cell's rows.
    """
    cell = IM_INV_CELL.c
    on_hand = func.coalesce(cell.QTY_ON_HND, literal(Decimal(0)))
    committed = func.coalesce(cell.QTY_COMMIT, literal(Decimal(0)))
    amount = on_hand - committed if quantity == "available" else on_hand
    if locations:
        amount = case((cell.LOC_ID.in_(list(locations)), amount), else_=literal(Decimal(0)))
    stmt = (
        select(
            cell.ITEM_NO,
            cell.DIM_1_UPR,
            cell.DIM_2_UPR,
            cell.DIM_3_UPR,
            func.sum(amount).label("QTY"),
            func.max(cell.RS_UTC_DT).label("CHANGED"),
        )
        .where(cell.ITEM_NO.in_(list(item_nos)))
        .group_by(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
        .order_by(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
    )
    if cells_location is not None:
        at_location = case((cell.LOC_ID == cells_location, 1), else_=0)
        stmt = stmt.having(func.sum(at_location) > 0)
    return stmt


def price_1(item_nos: Sequence[str], location: str | None) -> Select[tuple[object, ...]]:
    """Price-1 rows from IM_PRC: the all-locations row `'*'` and, if set, the price location."""
    locations = ["*"] if location is None else ["*", location]
    return select(IM_PRC.c.ITEM_NO, IM_PRC.c.LOC_ID, IM_PRC.c.PRC_1).where(
        IM_PRC.c.ITEM_NO.in_(list(item_nos)), IM_PRC.c.LOC_ID.in_(locations)
    )


def quantities(
    item_nos: Sequence[str], locations: Sequence[str], quantity: str
) -> Select[tuple[object, ...]]:
    """Quantity per item summed over the counted locations (all when `locations` is empty).

    `available` is on hand minus committed, computed here rather than read from QTY_AVAIL, so
    it is right even where QTY_AVAIL is not maintained; committed can be negative.
    """
    on_hand = func.coalesce(IM_INV.c.QTY_ON_HND, literal(Decimal(0)))
    committed = func.coalesce(IM_INV.c.QTY_COMMIT, literal(Decimal(0)))
    amount = on_hand - committed if quantity == "available" else on_hand
    stmt = (
        select(IM_INV.c.ITEM_NO, func.sum(amount).label("QTY"))
        .where(IM_INV.c.ITEM_NO.in_(list(item_nos)))
        .group_by(IM_INV.c.ITEM_NO)
    )
    if locations:
        stmt = stmt.where(IM_INV.c.LOC_ID.in_(list(locations)))
    return stmt


def sku_owners() -> CompoundSelect[tuple[object, ...]]:
    """Every e-commerce item number, and each grid cell with its dimensions (for collisions).

    Rows are (ITEM_NO, DIM_1_UPR, DIM_2_UPR, DIM_3_UPR); an item's own row has NULL dimensions.
    Only keys are read, so a whole-table read stays cheap.
    """
    item, cell = IM_ITEM.c, IM_INV_CELL.c
    none = [literal(None, cell.DIM_1_UPR.type).label(f"DIM_{n}_UPR") for n in (1, 2, 3)]
    return union_all(
        select(item.ITEM_NO, *none).where(literal("Y") == item.IS_ECOMM_ITEM),
        select(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
        .distinct()
        .select_from(IM_INV_CELL.join(IM_ITEM, item.ITEM_NO == cell.ITEM_NO))
        .where(literal("Y") == item.IS_ECOMM_ITEM, literal("G") == item.TRK_METH),
    )
