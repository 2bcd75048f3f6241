"""The Category Items task: per product, the full set of its EC_CATEG_ITEM categories.

Only items that are Magento products are covered (e-commerce and active, and sent by the
Items task, which creates a new product in its categories); a grid item is linked through its
configurable parent, whose SKU is the item number. A changed run reads the
whole set of every item with an EC_CATEG_ITEM row maintained since the watermark (an item
moved between categories has a new row, so the move is seen at once), and of every item whose
IM_ITEM row moved (an item back on e-commerce gets its links back at once); a row deleted in
Counterpoint leaves no date behind, so a full read runs whenever the last one is older than
`category_items_full_every_minutes`, and an item that lost all its rows then gets the empty set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby
from typing import Any, ClassVar

from cpsync.counterpoint import needs
from cpsync.counterpoint.categories import category_item_rows
from cpsync.counterpoint.columns import Need
from cpsync.counterpoint.queries import MAX_IN_LIST
from cpsync.model import CategoryLinksState, Kind
from cpsync.skus import record_key
from cpsync.tasks.base import Task, Window
from cpsync.tasks.categories import CategoryTree, linkable, load_category_tree

__all__ = ["CategoryItemsTask", "ItemCategories"]


@dataclass(frozen=True)
class ItemCategories:
    """One item and every category it sits in."""

    item_no: str
    category_ids: tuple[str, ...]


class CategoryItemsTask(Task):
    """EC_CATEG_ITEM -> the category links of each product."""

    name: ClassVar[str] = "category_items"
    title: ClassVar[str] = "Category Items"
    kind: ClassVar[Kind] = "category_links"
    schedule: ClassVar[str] = "rate(10 minutes)"
    needs: ClassVar[tuple[Need, ...]] = (
        *needs.CATEGORY_LINKS,
        *needs.WEB_ITEM,
        *needs.ITEM_CHANGES,
        *needs.CATEGORY_TREE,
    )
    _tree: CategoryTree | None = None

    def full_every(self) -> timedelta:
        """Deleted rows are only seen by a full read; see the module docstring."""
        return timedelta(minutes=self.settings.category_items_full_every_minutes)

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[ItemCategories]:
        """Each item's EC_CATEG_ITEM rows as one record, changed in `window`, all, or of `keys`.

        A named item with no rows left comes back with no categories, as a full run finds it.
        """
        self._tree = None  # EC_CATEG is read again at every run
        if keys is not None:
            # A named item with no rows left is in no category (as a full run would find).
            for start in range(0, len(keys), MAX_IN_LIST):
                part = keys[start : start + MAX_IN_LIST]
                found = list(self._query(category_item_rows(keys=part, catalog=self.catalog)))
                yield from found
                seen = {row.item_no for row in found}
                yield from (ItemCategories(k, ()) for k in dict.fromkeys(part) if k not in seen)
            return
        if window is None:
            yield from self._query(category_item_rows(catalog=self.catalog))
            return
        yield from self._query(
            category_item_rows(
                since_local=window.since_local, since_utc=window.since_utc, catalog=self.catalog
            )
        )

    def _query(self, stmt: Any) -> Iterator[ItemCategories]:
        with self.ctx.counterpoint.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
            for item_no, rows in groupby(result, key=lambda r: record_key(r.ITEM_NO)):
                yield ItemCategories(item_no, tuple(str(r.CATEG_ID).strip() for r in rows))

    def key_of(self, row: ItemCategories) -> str:
        """The item number: the product's SKU."""
        return row.item_no

    def enrich(self, rows: Sequence[ItemCategories]) -> set[str]:
        """Which of these items the Items task has sent as products (see CategoryLinksState)."""
        if self._tree is None:
            with self.ctx.counterpoint.connect() as conn:
                self._tree = load_category_tree(conn, self.catalog)
        return set(self.ctx.state.get_sent("product", [r.item_no for r in rows]))

    def build(self, row: ItemCategories, extra: set[str]) -> CategoryLinksState:
        """The item's category links, without categories that cannot be placed (reported)."""
        ids = tuple(linkable(self, row.item_no, row.category_ids, self._tree))
        return CategoryLinksState(
            sku=row.item_no, category_ids=ids, is_product=row.item_no in extra
        )

    def gone(self, key: str) -> CategoryLinksState:
        """An item with no category rows left (or no longer a product) is in no category."""
        return CategoryLinksState(sku=key)
