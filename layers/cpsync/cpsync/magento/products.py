"""The product writer: one product save per product, never one request per field.

Changes of kind `product` carry either a simple product (ProductState) or a grid item
(ConfigurableState, payload `type = "configurable"`), which `magento.configurable` applies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from cpsync.errors import DataError
from cpsync.magento.categories import new_product_categories, remember_links
from cpsync.magento.client import MagentoClient
from cpsync.magento.configurable import ConfigurableSaver, OptionValues
from cpsync.magento.product_fields import VISIBILITY_CATALOG_SEARCH, owned_fields
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, ConfigurableState, Kind, ProductState
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.bulk import BulkRunner

__all__ = ["ProductWriter", "build_product_payload", "plan_product_save"]


def build_product_payload(
    state: ProductState,
    create: bool,
    attribute_set_id: int = 4,
    category_ids: Sequence[int] = (),
) -> dict[str, Any]:
    """The `product` object of a save request.

    An update sends only what the Items task owns (so price, stock and category links, owned
    by their own tasks, are never overwritten); a create sends a complete product with price,
    stock and its Magento `category_ids` as `category_links`. Fields that are None are left as
    they are in Magento.
    """
    product = owned_fields(state)
    if create:
        qty = max(state.qty, Decimal(0))
        product.update(
            {
                "attribute_set_id": attribute_set_id,
                "type_id": "simple",
                "visibility": VISIBILITY_CATALOG_SEARCH,
                "price": float(state.price) if state.price is not None else None,
                "extension_attributes": {"stock_item": {"qty": float(qty), "is_in_stock": qty > 0}},
            }
        )
        if category_ids:
            product["extension_attributes"]["category_links"] = [
                {"position": 0, "category_id": str(i)} for i in category_ids
            ]
    return product


def plan_product_save(
    state: ProductState,
    create: bool,
    attribute_set_id: int = 4,
    category_ids: Sequence[int] = (),
) -> dict[str, Any] | None:
    """The `product` body to save, or None when there is nothing to send.

    `category_ids` are the Magento categories a new product is created in.

    Raises:
        DataError: a new product has no price.
    """
    if create and not state.enabled:
        return None  # never create a product only to disable it
    if create and state.price is None:
        raise DataError(f"item {state.sku}: no Price-1, and a new product needs a price")
    return build_product_payload(state, create, attribute_set_id, category_ids)


class ProductWriter(Writer):
    """Saves products; finds which exist with one search per 50 SKUs first.

    Args:
        client: The Magento client.
        state: Where known Magento product ids are kept.
        attribute_set_id: Attribute set for new products.
    """

    kind: ClassVar[Kind] = "product"

    def __init__(
        self,
        client: MagentoClient,
        state: StatePort,
        attribute_set_id: int = 4,
        concurrency: int = 4,
        bulk: BulkRunner | None = None,
        on_created: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(concurrency)
        self.client = client
        self.state = state
        self.attribute_set_id = attribute_set_id
        self.bulk = bulk  # async bulk for batches of at least bulk.min_batch (off when None)
        # One pool of save slots for simple products and grid children alike.
        self.slots = threading.BoundedSemaphore(concurrency)
        self.configurable = ConfigurableSaver(
            client, state, OptionValues(client, state), attribute_set_id, concurrency, self.slots
        )
        # Called with the SKU of each product created, e.g. to upload its images at once.
        self.on_created = on_created

    def _existing(self, skus: list[str]) -> dict[str, int]:
        return self.configurable.existing(skus)

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        grids = {
            c.key: ConfigurableState.model_validate(c.payload)
            for c in changes
            if c.payload.get("type") == "configurable"
        }
        simple = [c for c in changes if c.key not in grids]
        states = {c.key: ProductState.model_validate(c.payload) for c in simple}
        # One lookup for the batch: simple SKUs, grid parents and their children.
        family = [s for g in grids.values() if g.enabled for s in (g.sku, *g.child_skus())]
        existing = self._existing([*states, *family]) if states or family else {}
        outcomes: dict[str, Outcome] = {}
        one_by_one: list[Change] = list(changes)
        if self.bulk is not None and len(simple) >= self.bulk.min_batch:
            outcomes = self.bulk.save_products(
                simple, states, existing, self.attribute_set_id, self.state
            )
            one_by_one = [c for c in changes if c.key in grids]
            if self.on_created is not None:
                for key, outcome in outcomes.items():
                    if outcome.applied and key not in existing and states[key].enabled:
                        self.on_created(key)

        creating = [s for key, s in states.items() if key not in existing]
        new_categories = new_product_categories(self.state, creating)

        def save(change: Change) -> None:
            if change.key in grids:
                grid = grids[change.key]
                family = (grid.sku, *grid.child_skus())
                created = grid.enabled and any(s not in existing for s in family)
                self.configurable.apply(grid, existing)
                if created and self.on_created is not None:
                    self.on_created(change.key)  # the parent's and its children's images
                return
            state = states[change.key]
            create = change.key not in existing
            categories = new_categories.get(change.key, [])
            payload = plan_product_save(state, create, self.attribute_set_id, categories)
            if payload is None:
                return
            with self.slots:
                saved = self.client.save_product(payload)
            if create and "id" in saved:
                self.state.put_magento_ids("product", {change.key: int(saved["id"])})
            if create and state.category_ids:
                remember_links(self.state, state.sku, categories)
            if create and self.on_created is not None:
                self.on_created(change.key)

        outcomes.update(self.map_records(one_by_one, save))
        return outcomes
