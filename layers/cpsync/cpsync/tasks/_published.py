"""Stock and prices only for SKUs the Items task has published as products.

Magento accepts MSI source items for SKUs it does not know (they become orphans) and refuses
price rows for them (each a dead letter). A product new to Magento is created complete, with
its price and stock, by the Items task; so the Inventory and Price Changes tasks cover the SKUs
Items has published (its sent fingerprints), and pick up a new product at their next run.
Setting `sync_published_products_only=false` turns this off for stores whose products come
into Magento another way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

from cpsync.ports import StatePort

__all__ = ["published_only"]

T = TypeVar("T")


def published_only(
    rows: Iterable[T],
    sku_of: Callable[[T], str],
    state: StatePort,
    batch: int = 500,
    item_of: Callable[[T], str] | None = None,
) -> Iterator[T]:
    """The rows whose SKU has a published product, looked up `batch` rows at a time.

    A grid cell's product is published with its configurable parent (the Items task sends
    the whole family under the item number), so with `item_of` a row also counts when its
    item number was sent.
    """
    iterator = iter(rows)
    while chunk := list(islice(iterator, batch)):
        keys = [sku_of(r) for r in chunk]
        if item_of is not None:
            keys += [item_of(r) for r in chunk]
        known = state.get_sent("product", keys)
        yield from (
            r for r in chunk if sku_of(r) in known or (item_of is not None and item_of(r) in known)
        )
