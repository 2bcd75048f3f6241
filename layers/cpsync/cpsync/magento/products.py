"""The product writer: one product save per product, never one request per field.

Changes of kind `product` carry either a simple product (ProductState) or a grid item
(ConfigurableState, payload `type = "configurable"`), which `magento.configurable` applies.

A product's images are part of applying it: after the save, every applied product whose
gallery Image Changes wants and Magento does not hold yet (a new product, or one whose earlier
upload failed or was cut off) gets it from the image writer, inside the same record. A failed
upload fails the product record, which is then retried or parked like any other failure.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from cpsync.errors import DataError
from cpsync.magento.categories import (
    create_in_categories,
    new_product_categories,
    remember_links,
)
from cpsync.magento.client import MagentoClient
from cpsync.magento.configurable import ConfigurableSaver, OptionValues
from cpsync.magento.product_fields import VISIBILITY_CATALOG_SEARCH, owned_fields
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, ConfigurableState, Kind, ProductState
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.bulk import BulkRunner
    from cpsync.magento.importer import ProductImporter
    from cpsync.magento.media import ImageWriter

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
        galleries: ImageWriter | None = None,
        importer: ProductImporter | None = None,
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
        # Brings each applied product's gallery when it is due (None: images are not synced).
        self.galleries = galleries
        self.importer = importer  # Magento's import for large first loads (None: never)

    def _existing(self, skus: list[str]) -> dict[str, int]:
        return self.configurable.existing(skus)

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        # A large first load goes through Magento's import first (magento/importer.py); what
        # Magento does not hold afterwards is saved below, one product at a time.
        imported = self.importer.apply(changes) if self.importer is not None else {}
        if imported:
            rest = [c for c in changes if c.key not in imported]
            outcomes = {**imported, **(self._apply(rest) if rest else {})}
            if self.galleries is not None:
                self._bring_galleries_of(
                    self.galleries, [c for c in changes if c.key in imported], outcomes
                )
            return outcomes
        return self._apply(changes)

    def _bring_galleries_of(
        self, galleries: ImageWriter, changes: Sequence[Change], outcomes: dict[str, Outcome]
    ) -> None:
        grids = {
            c.key: ConfigurableState.model_validate(c.payload)
            for c in changes
            if c.payload.get("type") == "configurable"
        }
        states = {
            c.key: ProductState.model_validate(c.payload) for c in changes if c.key not in grids
        }
        self._bring_galleries(galleries, changes, grids, states, outcomes)

    def _apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
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

        creating = [s for key, s in states.items() if key not in existing]
        new_categories = new_product_categories(self.state, creating)

        def save(change: Change) -> None:
            if change.key in grids:
                grid = grids[change.key]
                self.configurable.apply(grid, existing, force=change.force)
                return
            state = states[change.key]
            create = change.key not in existing
            categories = new_categories.get(change.key, [])
            payload = plan_product_save(state, create, self.attribute_set_id, categories)
            if payload is None:
                return
            with self.slots:
                if create:
                    saved, categories = create_in_categories(self.client, payload, categories)
                else:
                    saved = self.client.save_product(payload)
            if create and "id" in saved:
                self.state.put_magento_ids("product", {change.key: int(saved["id"])})
            if create and state.category_ids:
                remember_links(self.state, state.sku, categories)

        outcomes.update(self.map_records(one_by_one, save))
        if self.galleries is not None:
            self._bring_galleries(self.galleries, changes, grids, states, outcomes)
        return outcomes

    def _bring_galleries(
        self,
        galleries: ImageWriter,
        changes: Sequence[Change],
        grids: dict[str, ConfigurableState],
        states: dict[str, ProductState],
        outcomes: dict[str, Outcome],
    ) -> None:
        """Upload the due galleries of the products just applied; a failure fails the product."""
        skus: dict[str, tuple[str, ...]] = {}
        for change in changes:
            if not outcomes[change.key].applied:
                continue
            grid = grids.get(change.key)
            if grid is not None and grid.enabled:
                skus[change.key] = (grid.sku, *grid.child_skus())
            elif grid is None and states[change.key].enabled:
                skus[change.key] = (change.key,)
        due = galleries.due([s for family in skus.values() for s in family])
        if not due:
            return
        owners = [c for c in changes if any(s in due for s in skus.get(c.key, ()))]

        def bring(change: Change) -> None:
            galleries.bring([due[s] for s in skus[change.key] if s in due])

        for key, outcome in self.map_records(owners, bring).items():
            if not outcome.applied:
                error = f"the product is saved, but its images are not: {outcome.error}"
                outcomes[key] = Outcome(
                    key, False, error, outcome.retryable, retry_after=outcome.retry_after
                )
