"""Counterpoint queries, written once in SQLAlchemy Core: valid T-SQL and valid SQLite.

Every query here is compiled for the `mssql` dialect and parsed as T-SQL in the tests.
Lists of item numbers are passed in chunks of at most 500 (SQL Server allows 2,100 bind
parameters per statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    Table,
    case,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)

from cpsync.counterpoint.columns import Catalog, or_null
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
    "changed_rows",
    "grid_cells",
    "grid_values",
    "item_rows",
    "price_1",
    "quantities",
    "separated_items",
    "sku_owners",
]

MAX_IN_LIST = 500


def changed_rows(
    table: Table,
    since_utc: object,
    since_local: object,
    catalog: Catalog | None = None,
    local: bool = True,
) -> list[Select[tuple[object, ...]]]:
    """Item numbers of `table` rows changed since the bounds, by the stamps the table has.

    `RS_UTC_DT` (UTC, indexed) where it is set, `LST_MAINT_DT` (server-local time) where it is
    NULL, or only the one of the two that exists; no select when the table has neither.
    `local=False` reads `RS_UTC_DT` alone.
    """
    c = table.c

    def has(name: str) -> bool:
        declared = name in c
        return declared and (catalog is None or catalog.has(table.name, name))

    has_utc, has_local = has("RS_UTC_DT"), local and has("LST_MAINT_DT")
    selects = []
    if has_utc:
        selects.append(select(c.ITEM_NO).where(c.RS_UTC_DT >= since_utc))
    if has_local:
        by_local = select(c.ITEM_NO).where(c.LST_MAINT_DT >= since_local)
        selects.append(by_local.where(c.RS_UTC_DT.is_(None)) if has_utc else by_local)
    return selects


def changed_items(
    since_utc: object, since_local: object, catalog: Catalog | None = None
) -> CompoundSelect[tuple[object, ...]]:
    """Item numbers changed since the bounds: a UNION of selects that each can seek an index.

    One OR across tables would scan IM_ITEM on SQL Server; each branch here filters one
    column of one table. An item changed when its `RS_UTC_DT` moved, or (where that is NULL,
    on rows not touched since replication stamps existed) its `LST_MAINT_DT`; when its
    EC_ITEM_DESCR row moved (Counterpoint does not touch the item then); or when one of its
    grid cells moved (a cell added to a grid). Without `IM_INV_CELL.RS_UTC_DT` (not listed
    there in docs/reference/counterpoint.md) the item's stock rows per location (IM_INV) date
    its cells.
    """
    branches = [
        *changed_rows(IM_ITEM, since_utc, since_local, catalog),
        *changed_rows(EC_ITEM_DESCR, since_utc, since_local, catalog),
        *changed_rows(IM_INV_CELL, since_utc, since_local, catalog, local=False),
    ]
    if catalog is not None and not catalog.has("IM_INV_CELL", "RS_UTC_DT"):
        branches += changed_rows(IM_INV, since_utc, since_local, catalog)
    return union(*branches)


#: The IM_ITEM columns the Items task reads; those also in ITEM_OPTIONAL may be missing.
ITEM_COLUMNS = (
    "ITEM_NO",
    "DESCR",
    "LONG_DESCR",
    "SHORT_DESCR",
    "STAT",
    "TRK_METH",
    "WEIGHT",
    "PRC_1",
    "IS_TXBL",
    "IS_ECOMM_ITEM",
    "URL",
    "GRID_DIM_1_TAG",
    "GRID_DIM_2_TAG",
    "GRID_DIM_3_TAG",
    "RS_UTC_DT",
    "LST_MAINT_DT",
)


def item_rows(
    since_utc: object | None = None,
    since_local: object | None = None,
    keys: Sequence[str] | None = None,
    grid: bool | None = None,
    catalog: Catalog | None = None,
) -> Select[Any]:
    """Items with their e-commerce HTML description, ordered by item number.

    Args:
        since_utc: With `since_local`, only items changed since then (see `changed_items`).
        since_local: The same bound in the Counterpoint server's local time.
        keys: Only these item numbers.
        grid: True for grid items only, False for the others, None for both.
        catalog: The columns that exist; a missing one reads as NULL (None: all declared).
    """
    item, descr = IM_ITEM, EC_ITEM_DESCR
    descr_stamp = (
        descr.c.LST_MAINT_DT
        if catalog is None or catalog.has("EC_ITEM_DESCR", "LST_MAINT_DT")
        else null()
    )
    stmt = (
        select(
            *(or_null(item, name, catalog) for name in ITEM_COLUMNS),
            descr.c.HTML_DESCR,
            descr_stamp.label("DESCR_LST_MAINT_DT"),
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
        stmt = stmt.where(item.c.ITEM_NO.in_(changed_items(since_utc, since_local, catalog)))
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
    catalog: Catalog | None = None,
) -> Select[tuple[object, ...]]:
    """The cells of grid items with their quantity over the counted locations.

    A cell exists when IM_INV_CELL has a row for it at any location, or at `cells_location`
    when that is given; its quantity sums only the counted locations (all when `locations`
    is empty), on hand minus committed for `available`. CHANGED is the newest `RS_UTC_DT`
    of the cell's rows (NULL where the column does not exist).
    """
    cell = IM_INV_CELL.c
    stamp = or_null(IM_INV_CELL, "RS_UTC_DT", catalog)
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
            (func.max(stamp) if stamp is cell.RS_UTC_DT else null()).label("CHANGED"),
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


def sku_owners(folded: Sequence[str] | None = None) -> CompoundSelect[tuple[object, ...]]:
    """Every e-commerce item number, and each grid cell with its dimensions (for collisions).

    Rows are (ITEM_NO, DIM_1_UPR, DIM_2_UPR, DIM_3_UPR); an item's own row has NULL dimensions.
    Only keys are read, so a whole-table read stays cheap. With `folded` (lower-case item
    numbers without trailing spaces), only the items whose number folds to one of them: the
    fold is compared in the database, so a changed run finds `CASE1` for `case1` whatever the
    collation, and only the rows that match travel.
    """
    item, cell = IM_ITEM.c, IM_INV_CELL.c
    none = [literal(None, cell.DIM_1_UPR.type).label(f"DIM_{n}_UPR") for n in (1, 2, 3)]
    items = select(item.ITEM_NO, *none).where(literal("Y") == item.IS_ECOMM_ITEM)
    cells = (
        select(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR)
        .distinct()
        .select_from(IM_INV_CELL.join(IM_ITEM, item.ITEM_NO == cell.ITEM_NO))
        .where(literal("Y") == item.IS_ECOMM_ITEM, literal("G") == item.TRK_METH)
    )
    if folded is not None:
        # The fold is computed once per item, in one subquery both branches read.
        found = IM_ITEM.alias("found")
        match = select(found.c.ITEM_NO).where(
            func.lower(func.rtrim(found.c.ITEM_NO)).in_(list(folded))
        )
        items, cells = items.where(item.ITEM_NO.in_(match)), cells.where(item.ITEM_NO.in_(match))
    return union_all(items, cells)


def separated_items(separator: str) -> Select[tuple[object, ...]]:
    """E-commerce item numbers that contain `separator`.

    They are the only items whose SKU a grid cell's SKU (`ITEM|DIM...`) can also be. Few rows
    travel; the LIKE is escaped (`_` is a wildcard).
    """
    item = IM_ITEM.c
    return select(item.ITEM_NO).where(
        literal("Y") == item.IS_ECOMM_ITEM, item.ITEM_NO.contains(separator, autoescape=True)
    )
