"""Counterpoint queries of the image tasks: which items may have images, and their grid cells.

Images are files, not rows, so the queries only say which items exist (with their custom
image file name) and which grid children each grid item has.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, literal, select

from cpsync.counterpoint.columns import Catalog, or_null
from cpsync.counterpoint.schema import IM_INV_CELL, IM_ITEM

__all__ = ["grid_cells", "image_items"]


def image_items(
    keys: Sequence[str] | None = None, catalog: Catalog | None = None
) -> Select[tuple[object, ...]]:
    """E-commerce items with their `ECOMM_IMG_FILE` and tracking method, by item number.

    `ECOMM_IMG_FILE` is NULL where the column does not exist: the default `<ITEM_NO>.jpg`
    naming.
    """
    item = IM_ITEM
    stmt = (
        select(item.c.ITEM_NO, or_null(item, "ECOMM_IMG_FILE", catalog), item.c.TRK_METH)
        .where(literal("Y") == item.c.IS_ECOMM_ITEM)
        .order_by(item.c.ITEM_NO)
    )
    if keys is not None:
        stmt = stmt.where(item.c.ITEM_NO.in_(list(keys)))
    return stmt


def grid_cells(item_nos: Sequence[str]) -> Select[tuple[object, ...]]:
    """The distinct grid cells (upper-case dimension values) of these items, at any location."""
    cell = IM_INV_CELL
    return (
        select(cell.c.ITEM_NO, cell.c.DIM_1_UPR, cell.c.DIM_2_UPR, cell.c.DIM_3_UPR)
        .where(cell.c.ITEM_NO.in_(list(item_nos)))
        .distinct()
        .order_by(cell.c.ITEM_NO, cell.c.DIM_1_UPR, cell.c.DIM_2_UPR, cell.c.DIM_3_UPR)
    )
