"""Magento SKUs of Counterpoint items and grid cells.

Every task that addresses a grid cell (Items, Inventory, Price Changes, Images) builds the
child SKU here, so the product, its stock, its price and its images always meet on one SKU.
"""

from __future__ import annotations

from collections.abc import Sequence

from cpsync.errors import DataError

__all__ = ["MAGENTO_SKU_MAX", "UNUSED_DIMENSION", "child_sku", "record_key", "sku_fold"]

MAGENTO_SKU_MAX = 64
# Counterpoint fills the dimensions a grid does not use with '*'.
UNUSED_DIMENSION = "*"


def child_sku(item_no: str, dimensions: Sequence[str | None], separator: str = "|") -> str:
    """The SKU of one grid cell: `ITEM|DIM1|DIM2|DIM3` without unused dimensions.

    Raises:
        DataError: The SKU would exceed Magento's 64 characters; truncating it could collide
            with another cell's SKU, so the cell is refused with a message naming it.
    """
    values = [d.strip() for d in dimensions if d is not None]
    used = [v for v in values if v not in ("", UNUSED_DIMENSION)]
    sku = separator.join([item_no.strip(), *used])
    if len(sku) > MAGENTO_SKU_MAX:
        raise DataError(
            f"item {item_no}: grid cell SKU {sku!r} has {len(sku)} characters; Magento allows"
            f" {MAGENTO_SKU_MAX}. Shorten the item number or the grid values, or set"
            " CPSYNC_GRID_SKU_SEPARATOR to a shorter separator."
        )
    return sku


def record_key(value: object) -> str:
    """A Counterpoint key as cpsync uses it: text without the trailing spaces CHAR pads with.

    NULL becomes "" (an empty key), never the text "None".
    """
    return "" if value is None else str(value).rstrip()


def sku_fold(sku: str) -> str:
    """What Magento compares SKUs by: case and trailing spaces do not count."""
    return sku.rstrip().casefold()
