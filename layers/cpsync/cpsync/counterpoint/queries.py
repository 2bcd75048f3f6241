"""Counterpoint queries, written once in SQLAlchemy Core: valid T-SQL and valid SQLite.

Every query here is compiled for the `mssql` dialect and parsed as T-SQL in the tests.
Lists of item numbers are passed in chunks of at most 500 (SQL Server allows 2,100 bind
parameters per statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Select, and_, func, literal, or_, select

from cpsync.counterpoint.schema import EC_ITEM_DESCR, IM_INV, IM_ITEM, IM_PRC

__all__ = ["MAX_IN_LIST", "item_rows", "price_1", "quantities"]

MAX_IN_LIST = 500


def item_rows(
    since_utc: object | None = None,
    since_local: object | None = None,
    keys: Sequence[str] | None = None,
    grid: bool = False,
) -> Select[tuple[object, ...]]:
    """Items with their e-commerce HTML description, ordered by item number.

    Changed rows are those whose `RS_UTC_DT` moved, or (where it is NULL, on rows not touched
    since replication stamps existed) whose `LST_MAINT_DT` moved, or whose EC_ITEM_DESCR row
    moved: Counterpoint does not touch the item when only its description changes.
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
            item.c.IS_ECOMM_ITEM,
            item.c.URL,
            item.c.RS_UTC_DT,
            item.c.LST_MAINT_DT,
            descr.c.HTML_DESCR,
        )
        .select_from(item.outerjoin(descr, descr.c.ITEM_NO == item.c.ITEM_NO))
        .order_by(item.c.ITEM_NO)
    )
    is_grid = literal("G") == item.c.TRK_METH
    stmt = stmt.where(is_grid if grid else or_(item.c.TRK_METH.is_(None), ~is_grid))
    if keys is not None:
        stmt = stmt.where(item.c.ITEM_NO.in_(list(keys)))
    if since_utc is not None and since_local is not None:
        stmt = stmt.where(
            or_(
                since_utc <= item.c.RS_UTC_DT,
                and_(item.c.RS_UTC_DT.is_(None), since_local <= item.c.LST_MAINT_DT),
                since_local <= descr.c.LST_MAINT_DT,
            )
        )
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
