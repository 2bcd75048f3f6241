"""Counterpoint queries for e-commerce categories (EC_CATEG) and their items (EC_CATEG_ITEM).

SQLAlchemy Core, compiled for SQL Server in tests/unit/test_tsql.py. EC_CATEG is a small
adjacency list (`PARENT_ID -> CATEG_ID`, root `'0'`), read whole. EC_CATEG_ITEM carries only
`LST_MAINT_DT` (local server time, no `RS_UTC_DT`,
docs/reference/counterpoint.md#e-commerce-categories and #change-tracking): an insert or update of a
link dates the item, a delete leaves no trace, so deletions need a full read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    false,
    literal,
    select,
    union,
)

from cpsync.counterpoint.columns import Catalog, or_null
from cpsync.counterpoint.queries import MAX_IN_LIST, changed_rows
from cpsync.counterpoint.schema import EC_CATEG, EC_CATEG_ITEM, IM_ITEM

__all__ = [
    "ROOT_CATEG_ID",
    "categories_of_items",
    "category_item_rows",
    "category_rows",
    "item_categories",
]

#: Counterpoint's root row: never synced, its children are the top-level categories.
ROOT_CATEG_ID = "0"


def category_rows(
    keys: Sequence[str] | None = None, catalog: Catalog | None = None
) -> Select[tuple[object, ...]]:
    """EC_CATEG rows (all, or `keys`), ordered by CATEG_ID; the root row is included.

    PARENT_ID (absent from NCR's sample, docs/reference/counterpoint.md#e-commerce-categories),
    HTML_DESCR and DISP_SEQ_NO read as NULL where the database lacks them.
    """
    c = EC_CATEG.c
    optional = [or_null(EC_CATEG, n, catalog) for n in ("PARENT_ID", "HTML_DESCR", "DISP_SEQ_NO")]
    stmt = select(c.CATEG_ID, c.DESCR, *optional).order_by(c.CATEG_ID)
    if keys is not None:
        stmt = stmt.where(c.CATEG_ID.in_(list(keys)))
    return stmt


def _linkable() -> ColumnElement[bool]:
    """Items that are (or will be) Magento products: e-commerce and active."""
    return and_(literal("Y") == IM_ITEM.c.IS_ECOMM_ITEM, literal("A") == IM_ITEM.c.STAT)


def category_item_rows(
    since_local: object | None = None,
    keys: Sequence[str] | None = None,
    since_utc: object | None = None,
    catalog: Catalog | None = None,
) -> Select[tuple[object, ...]]:
    """(ITEM_NO, CATEG_ID) of linkable items, ordered by item: all, changed, or for `keys`.

    A changed run takes *every* row of each item that has at least one row maintained at or
    after `since_local`, so the item's whole set travels, not just the new row; with
    `since_utc` also of each item whose IM_ITEM row moved (an item back on e-commerce).
    Without `EC_CATEG_ITEM.LST_MAINT_DT` only the items themselves date a change (the periodic
    full read finds the rest).
    """
    link, item = EC_CATEG_ITEM.c, IM_ITEM.c
    stmt = (
        select(link.ITEM_NO, link.CATEG_ID)
        .select_from(EC_CATEG_ITEM.join(IM_ITEM, item.ITEM_NO == link.ITEM_NO))
        .where(_linkable())
        .order_by(link.ITEM_NO, link.CATEG_ID)
    )
    if keys is not None:
        stmt = stmt.where(link.ITEM_NO.in_(list(keys)))
    if since_local is not None:
        changed = _changed_link_items(since_local, since_utc, catalog)
        stmt = stmt.where(
            link.ITEM_NO.in_(select(changed.c.ITEM_NO)) if changed is not None else false()
        )
    return stmt


def _changed_link_items(
    since_local: object, since_utc: object | None, catalog: Catalog | None
) -> Subquery | None:
    """Item numbers whose links or item row moved since the bounds.

    A UNION of selects that each filter one stamp of one table: one OR across the two tables
    would scan the whole join on SQL Server, and SQLite too.
    """
    branches: list[Select[tuple[object, ...]]] = []
    if catalog is None or catalog.has("EC_CATEG_ITEM", "LST_MAINT_DT"):
        recent = EC_CATEG_ITEM.c
        branches.append(select(recent.ITEM_NO).where(since_local <= recent.LST_MAINT_DT))
    if since_utc is not None:
        branches += changed_rows(IM_ITEM, since_utc, since_local, catalog)
    if not branches:
        return None
    return union(*branches).subquery("changed")


def item_categories(item_nos: Sequence[str]) -> Select[tuple[object, ...]]:
    """EC_CATEG_ITEM rows of some items (at most MAX_IN_LIST at a time)."""
    link = EC_CATEG_ITEM.c
    return (
        select(link.ITEM_NO, link.CATEG_ID)
        .where(link.ITEM_NO.in_(list(item_nos)))
        .order_by(link.ITEM_NO, link.CATEG_ID)
    )


def categories_of_items(conn: Connection, item_nos: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The EC_CATEG_ITEM category ids of each item (for products created complete)."""
    pending = list(dict.fromkeys(item_nos))
    found: dict[str, list[str]] = {}
    for start in range(0, len(pending), MAX_IN_LIST):
        for row in conn.execute(item_categories(pending[start : start + MAX_IN_LIST])):
            found.setdefault(str(row.ITEM_NO), []).append(str(row.CATEG_ID))
    return {item: tuple(ids) for item, ids in found.items()}
