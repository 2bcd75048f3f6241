"""The product bodies of a grid item: its children (simple products) and its configurable parent.

Pure functions of the desired state: `ConfigurableSaver` sends them, and `cpsync verify`
compares a child in Magento with what the body would set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cpsync.magento.inventory import SourceItem
from cpsync.magento.product_fields import (
    STATUS_DISABLED,
    STATUS_ENABLED,
    VISIBILITY_CATALOG_SEARCH,
    VISIBILITY_NOT_INDIVIDUALLY,
    CreateRules,
    add_special_price,
    carried_records,
    custom_attributes,
    owned_fields,
    stock_item_of,
)
from cpsync.model import ConfigurableState, GridChild

__all__ = ["build_child_payload", "build_parent_payload", "child_carried"]


def build_child_payload(
    child: GridChild,
    create: bool,
    option_ids: dict[str, int],
    attribute_set_id: int = 4,
    tax_class_id: int | None = None,
    rules: CreateRules | None = None,
) -> dict[str, Any]:
    """The `product` body of one grid child: a simple product not visible individually.

    `option_ids` maps attribute code to this child's option id. A create carries price,
    special price and stock (`child_carried` says which records it applies whole); an update
    only what the Items task owns.
    """
    product: dict[str, Any] = {
        "sku": child.sku,
        "status": STATUS_ENABLED if child.enabled else STATUS_DISABLED,
    }
    if child.name is not None:
        product["name"] = child.name
        product["visibility"] = VISIBILITY_NOT_INDIVIDUALLY
    if child.weight is not None:
        product["weight"] = float(child.weight)
    pairs: list[tuple[str, Any]] = [("url_key", child.url_key)]
    pairs += [(code, str(option_id)) for code, option_id in sorted(option_ids.items())]
    if tax_class_id is not None:
        pairs.append(("tax_class_id", str(tax_class_id)))
    if custom := custom_attributes(pairs):
        product["custom_attributes"] = custom
    if create:
        rules = rules or CreateRules()
        stock_item, _, _ = stock_item_of(child.stock_record, child.qty, rules.stock_mode)
        record = child.price_record
        price = record.price if record is not None else child.price
        product.update(
            {
                "attribute_set_id": attribute_set_id,
                "type_id": "simple",
                "price": float(price) if price is not None else None,
                "extension_attributes": {"stock_item": stock_item},
            }
        )
        add_special_price(product, record, rules)
    return product


def child_carried(child: GridChild, rules: CreateRules) -> dict[str, str]:
    """Kind -> fingerprint of the price and stock records a child's create applies whole.

    Stock at other MSI sources than the default one is not: `child_source_items` follow.
    """
    _, stock_set, _ = stock_item_of(child.stock_record, child.qty, rules.stock_mode)
    return carried_records(child.price_record, child.stock_record, stock_set, rules)


def child_source_items(child: GridChild, rules: CreateRules) -> list[SourceItem]:
    """The MSI source items that must follow a child's create (none when it carries them)."""
    return stock_item_of(child.stock_record, child.qty, rules.stock_mode)[2]


def build_parent_payload(
    state: ConfigurableState,
    create: bool,
    attribute_set_id: int = 4,
    options: list[dict[str, Any]] | None = None,
    child_ids: list[int] | None = None,
    category_ids: Sequence[int] = (),
) -> dict[str, Any]:
    """The `product` body of a configurable parent.

    A create carries the options, child links and Magento category ids, so the parent
    appears complete in one save (children are never linked to categories); the parent is in
    stock when a child is (Magento shows the children's stock).
    """
    product = owned_fields(state)
    if create:
        in_stock = any(c.qty > 0 for c in state.children)
        product.update(
            {
                "attribute_set_id": attribute_set_id,
                "type_id": "configurable",
                "visibility": VISIBILITY_CATALOG_SEARCH,
                "extension_attributes": {
                    "stock_item": {"is_in_stock": in_stock},
                    "configurable_product_options": options or [],
                    "configurable_product_links": child_ids or [],
                },
            }
        )
        if category_ids:
            product["extension_attributes"]["category_links"] = [
                {"position": 0, "category_id": str(i)} for i in category_ids
            ]
    return product
