"""What a save may name: attribute codes, product types, websites and categories that exist.

The input processor (:mod:`cpsync_emulator.schema`) only checks shapes; a product or category save
then refuses names the store does not have:

- a custom attribute code that is no attribute of the entity: 404 ``The attribute with a "%1"
  attributeCode doesn't exist. Verify the attribute and try again.`` (``AttributeRepository``);
  a category save wraps it in ``Could not save category: %1``;
- a ``type_id`` that is no product type, a website id that does not exist, a ``category_links``
  category that does not exist: 400 ``The product was unable to be saved. Please try again.``,
  what ``ProductRepository::save`` answers when the database refuses the row (the website and
  category links are foreign keys).

The system attribute codes below are those of a stock Magento 2.4 catalog (default attribute
set); the store's own attributes come from ``EmulatorConfig.select_attributes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cpsync_emulator.errors import MagentoError
from cpsync_emulator.search import snake

__all__ = [
    "CATEGORY_ATTRIBUTE_CODES",
    "PRODUCT_ATTRIBUTE_CODES",
    "PRODUCT_SAVE_FAILED",
    "PRODUCT_TYPES",
    "UNKNOWN_ATTRIBUTE",
    "check_category_attributes",
    "check_product_references",
]

UNKNOWN_ATTRIBUTE = (
    'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.'
)
PRODUCT_SAVE_FAILED = "The product was unable to be saved. Please try again."
COULD_NOT_SAVE_CATEGORY = "Could not save category: %1"

PRODUCT_TYPES = frozenset(
    {"simple", "virtual", "configurable", "bundle", "grouped", "downloadable", "giftcard"}
)

PRODUCT_ATTRIBUTE_CODES = frozenset(
    {
        "name", "sku", "description", "short_description", "price", "special_price",
        "special_from_date", "special_to_date", "cost", "weight", "manufacturer", "meta_title",
        "meta_keyword", "meta_description", "image", "small_image", "thumbnail", "swatch_image",
        "media_gallery", "image_label", "small_image_label", "thumbnail_label", "tier_price",
        "news_from_date", "news_to_date", "gallery", "status", "visibility", "url_key",
        "url_path", "category_ids", "custom_design", "custom_design_from", "custom_design_to",
        "custom_layout_update", "custom_layout_update_file", "custom_layout", "page_layout",
        "options_container", "required_options", "has_options", "created_at", "updated_at",
        "country_of_manufacture", "quantity_and_stock_status", "msrp",
        "msrp_display_actual_price_type", "gift_message_available", "tax_class_id",
        "price_type", "sku_type", "weight_type", "price_view", "shipment_type",
        "links_purchased_separately", "samples_title", "links_title", "links_exist",
        "product_has_weight", "special_price_from_date", "minimal_price", "color",
    }
)  # fmt: skip

CATEGORY_ATTRIBUTE_CODES = frozenset(
    {
        "name", "is_active", "url_key", "url_path", "description", "image", "meta_title",
        "meta_keywords", "meta_description", "display_mode", "landing_page", "is_anchor",
        "path", "position", "all_children", "path_in_store", "children", "children_count",
        "level", "custom_use_parent_settings", "custom_apply_to_products", "custom_design",
        "custom_design_from", "custom_design_to", "page_layout", "custom_layout_update",
        "custom_layout_update_file", "available_sort_by", "default_sort_by",
        "include_in_menu", "filter_price_range",
    }
)  # fmt: skip


def _codes(raw: Any) -> list[str]:
    """The attribute codes of a ``custom_attributes`` member (list or code-keyed object)."""
    if isinstance(raw, dict):
        entries: Iterable[Any] = [
            v if isinstance(v, dict) else {"attribute_code": k} for k, v in raw.items()
        ]
    elif isinstance(raw, list):
        entries = raw
    else:
        return []
    codes = []
    for entry in entries:
        if isinstance(entry, dict):
            data = {snake(str(k)): v for k, v in entry.items()}
            if data.get("attribute_code"):
                codes.append(str(data["attribute_code"]))
    return codes


def _member(data: dict[str, Any], name: str) -> Any:
    return next((value for key, value in data.items() if snake(str(key)) == name), None)


def check_product_references(
    raw: dict[str, Any],
    *,
    store_attributes: Iterable[str],
    website_ids: Iterable[int],
    category_ids: Iterable[int],
) -> None:
    """Refuse a product body naming an attribute, type, website or category that does not exist.

    Raises:
        MagentoError: 404 for an unknown attribute code, 400 for the others.
    """
    known = PRODUCT_ATTRIBUTE_CODES | set(store_attributes)
    for code in _codes(_member(raw, "custom_attributes")):
        if code not in known:
            raise MagentoError(404, UNKNOWN_ATTRIBUTE, [code])
    type_id = _member(raw, "type_id")
    if type_id not in (None, "") and str(type_id) not in PRODUCT_TYPES:
        raise MagentoError(400, PRODUCT_SAVE_FAILED)
    extension = _member(raw, "extension_attributes")
    if not isinstance(extension, dict):
        return
    websites = {str(i) for i in website_ids}
    sent = _member(extension, "website_ids")
    if isinstance(sent, list) and any(str(w).strip() not in websites for w in sent):
        raise MagentoError(400, PRODUCT_SAVE_FAILED)
    categories = {str(i) for i in category_ids}
    links = _member(extension, "category_links")
    for link in links if isinstance(links, list) else []:
        category = _member(link, "category_id") if isinstance(link, dict) else None
        if category not in (None, "") and str(category).strip() not in categories:
            raise MagentoError(400, PRODUCT_SAVE_FAILED)


def check_category_attributes(raw: dict[str, Any]) -> None:
    """Refuse a category body naming an attribute code categories do not have.

    Raises:
        MagentoError: 400 ``Could not save category: %1`` with the attribute message.
    """
    for code in _codes(_member(raw, "custom_attributes")):
        if code not in CATEGORY_ATTRIBUTE_CODES:
            detail = UNKNOWN_ATTRIBUTE.replace("%1", code)
            raise MagentoError(400, COULD_NOT_SAVE_CATEGORY, [detail])
