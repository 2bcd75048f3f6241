"""The product writer: one product save per product, never one request per field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from cpsync.errors import DataError
from cpsync.magento.client import MagentoClient
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, ProductState
from cpsync.ports import StatePort

__all__ = ["ProductWriter", "build_product_payload"]

STATUS_ENABLED = 1
STATUS_DISABLED = 2
VISIBILITY_CATALOG_SEARCH = 4


def build_product_payload(
    state: ProductState, create: bool, attribute_set_id: int = 4
) -> dict[str, Any]:
    """The `product` object of a save request.

    An update sends only what the Items task owns (so price and stock, owned by their own
    tasks, are never overwritten); a create sends a complete product with price and stock.
    Fields that are None are left as they are in Magento.
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
    return product


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
        on_created: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(concurrency)
        self.client = client
        self.state = state
        self.attribute_set_id = attribute_set_id
        # Called with the SKU of each product created, e.g. to upload its images at once.
        self.on_created = on_created

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

        def save(change: Change) -> None:
            state = states[change.key]
            create = change.key not in existing
            if create and not state.enabled:
                return  # never create a product only to disable it
            if create and state.price is None:
                raise DataError(f"item {state.sku}: no Price-1, and a new product needs a price")
            saved = self.client.save_product(
                build_product_payload(state, create, self.attribute_set_id)
            )
            if create and "id" in saved:
                self.state.put_magento_ids("product", {change.key: int(saved["id"])})
            if create and self.on_created is not None:
                self.on_created(change.key)

        return self.map_records(changes, save)
