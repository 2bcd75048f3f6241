"""The product fields the Items task owns, shared by simple products and configurable parents.

One place builds them, so a simple product and a grid parent can never disagree on how a
name, a weight or a tax class reaches Magento.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpsync.model import ConfigurableState, ProductState

__all__ = [
    "STATUS_DISABLED",
    "STATUS_ENABLED",
    "VISIBILITY_CATALOG_SEARCH",
    "VISIBILITY_NOT_INDIVIDUALLY",
    "custom_attributes",
    "owned_fields",
]

STATUS_ENABLED = 1
STATUS_DISABLED = 2
VISIBILITY_NOT_INDIVIDUALLY = 1
VISIBILITY_CATALOG_SEARCH = 4


def custom_attributes(pairs: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Magento's `custom_attributes` list; None values are left out (left as they are)."""
    return [{"attribute_code": c, "value": v} for c, v in pairs if v is not None]


def owned_fields(state: ProductState | ConfigurableState) -> dict[str, Any]:
    """sku, status, name, weight and the owned custom attributes; None fields are not sent."""
    product: dict[str, Any] = {
        "sku": state.sku,
        "status": STATUS_ENABLED if state.enabled else STATUS_DISABLED,
    }
    if state.name is not None:
        product["name"] = state.name
    if state.weight is not None:
        product["weight"] = float(state.weight)
    custom = custom_attributes(
        [
            ("description", state.description),
            ("short_description", state.short_description),
            ("url_key", state.url_key),
            ("tax_class_id", None if state.tax_class_id is None else str(state.tax_class_id)),
        ]
    )
    if custom:
        product["custom_attributes"] = custom
    return product
