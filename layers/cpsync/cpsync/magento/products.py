"""The product writer: one product save per product, never one request per field."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from cpsync.errors import DataError
from cpsync.magento.categories import remember_links
from cpsync.magento.client import MagentoClient
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, ProductState
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.bulk import BulkRunner

__all__ = ["ProductWriter", "build_product_payload", "plan_product_save"]

STATUS_ENABLED = 1
STATUS_DISABLED = 2
VISIBILITY_CATALOG_SEARCH = 4


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
    product: dict[str, Any] = {
        "sku": state.sku,
        "status": STATUS_ENABLED if state.enabled else STATUS_DISABLED,
    }
    if state.name is not None:
        product["name"] = state.name
    if state.weight is not None:
        product["weight"] = float(state.weight)
    attributes = [
        ("description", state.description),
        ("short_description", state.short_description),
        ("url_key", state.url_key),
    ]
    custom = [{"attribute_code": c, "value": v} for c, v in attributes if v is not None]
    if custom:
        product["custom_attributes"] = custom
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
    ) -> None:
        super().__init__(concurrency)
        self.client = client
        self.state = state
        self.attribute_set_id = attribute_set_id
        self.bulk = bulk  # async bulk for batches of at least bulk.min_batch (off when None)

    def _existing(self, skus: list[str]) -> dict[str, int]:
        known = self.state.get_magento_ids("product", skus)
        unknown = [s for s in skus if s not in known]
        if unknown:
            found = self.client.find_products(unknown)
            fresh = {s: int(found[s.lower()]["id"]) for s in unknown if s.lower() in found}
            self.state.put_magento_ids("product", fresh)
            known.update(fresh)
        return known

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        states = {c.key: ProductState.model_validate(c.payload) for c in changes}
        existing = self._existing(list(states))
        if self.bulk is not None and len(changes) >= self.bulk.min_batch:
            return self.bulk.save_products(
                changes, states, existing, self.attribute_set_id, self.state
            )

        def save(change: Change) -> None:
            create = change.key not in existing
            state = states[change.key]
            categories: list[int] = []
            if create and state.category_ids:
                # Categories not in Magento yet are linked later by the Category Items task.
                known = self.state.get_magento_ids("category", state.category_ids)
                categories = [known[c] for c in state.category_ids if c in known]
            payload = plan_product_save(state, create, self.attribute_set_id, categories)
            if payload is None:
                return
            saved = self.client.save_product(payload)
            if create and "id" in saved:
                self.state.put_magento_ids("product", {change.key: int(saved["id"])})
            if create and state.category_ids:
                remember_links(self.state, state.sku, categories)

        return self.map_records(changes, save)
