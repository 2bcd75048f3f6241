"""Product save rules: validate a ``product`` body, merge it into the stored product
(docs/reference/magento.md#product-save, #product-json).

The stored product is the GET shape. On update only the fields present in the body change:
``status`` and every omitted field keep their value, ``custom_attributes`` merge by code,
``website_ids``/``category_links`` are replaced when sent, ``stock_item`` merges.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from cpsync_emulator.errors import (
    ATTRIBUTE_VALUE_EMPTY,
    CUSTOM_ATTRIBUTE_EMPTY,
    CUSTOM_ATTRIBUTE_NO_CODE,
    CUSTOM_ATTRIBUTE_NO_VALUE,
    INVALID_PRODUCT_DATA,
    SKU_TOO_LONG,
    VALUE_TYPE_INVALID,
    MagentoError,
    required_field,
)
from cpsync_emulator.search import snake

__all__ = [
    "PRODUCT_FIELD_ORDER",
    "SKU_MAX_LENGTH",
    "build_product",
    "format_url_key",
    "product_field",
    "validate_sku",
]

SKU_MAX_LENGTH = 64

#: Top-level members of a product in the order Magento prints them.
PRODUCT_FIELD_ORDER = (
    "id",
    "sku",
    "name",
    "attribute_set_id",
    "price",
    "status",
    "visibility",
    "type_id",
    "created_at",
    "updated_at",
    "weight",
    "extension_attributes",
    "product_links",
    "options",
    "media_gallery_entries",
    "tier_prices",
    "custom_attributes",
)
_INT_FIELDS = ("attribute_set_id", "status", "visibility")
_FLOAT_FIELDS = ("price", "weight")
_LIST_FIELDS = ("product_links", "options", "tier_prices")
_DEFAULTS: dict[str, Any] = {
    "attribute_set_id": 4,
    "status": 1,
    "visibility": 4,
    "type_id": "simple",
}
# Attributes Magento adds to every new product on its own (docs/reference/magento.md#product-json
# sample notes).
_SYSTEM_ATTRIBUTES = {"required_options": "0", "has_options": "0", "tax_class_id": "2"}


def _type_error(value: Any, expected: str) -> MagentoError:
    return MagentoError(400, VALUE_TYPE_INVALID, {"value": str(value), "type": expected})


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise _type_error(value, "int") from None
    if not number.is_integer():
        raise _type_error(value, "int")
    return int(number)


def _to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise _type_error(value, "float") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false")
    return bool(value)


def _snake_keys(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MagentoError(400, INVALID_PRODUCT_DATA, ["The data must be an object."])
    return {snake(str(key)): item for key, item in value.items()}


def validate_sku(value: Any) -> str:
    """The trimmed SKU, or a 400 for an empty or over-long one.

    See docs/reference/magento.md#product-save.
    """
    sku = "" if value is None else str(value).strip()
    if not sku:
        raise MagentoError(400, ATTRIBUTE_VALUE_EMPTY, ["sku"])
    if len(sku) > SKU_MAX_LENGTH:
        raise MagentoError(400, SKU_TOO_LONG, [SKU_MAX_LENGTH])
    return sku


def format_url_key(text: str) -> str:
    """Magento's URL-key filter: transliterate, lowercase, non-alphanumeric runs to ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "-", ascii_text.lower()).strip("-")


def _attribute_value(code: str, value: Any) -> str | list[str]:
    """Custom attribute values come back as strings, lists for multi-valued codes.

    See docs/reference/magento.md#product-json.
    """
    if isinstance(value, list):
        return [str(_attribute_value(code, item)) for item in value]
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise MagentoError(
        400,
        f'Error occurred during "custom_attributes" processing. Attribute "{code}" has invalid '
        'value. The "array" value\'s type is invalid. The "string" type was expected. '
        "Verify and try again.",
    )


def _merge_custom_attributes(current: list[dict[str, Any]], raw: Any) -> list[dict[str, Any]]:
    """Merge sent attributes by code into the current list; a null value removes one."""
    entries = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise _type_error(raw, "\\Magento\\Framework\\Api\\AttributeInterface[]")
    by_code = {attribute["attribute_code"]: attribute for attribute in current}
    for entry in entries:
        if not entry or not isinstance(entry, dict):
            raise MagentoError(400, CUSTOM_ATTRIBUTE_EMPTY)
        data = {snake(str(k)): v for k, v in entry.items()}
        code = data.get("attribute_code")
        if not code:
            raise MagentoError(400, CUSTOM_ATTRIBUTE_NO_CODE)
        if "value" not in data:
            raise MagentoError(400, CUSTOM_ATTRIBUTE_NO_VALUE, [code])
        if data["value"] is None:
            by_code.pop(code, None)
        else:
            by_code[code] = {"attribute_code": code, "value": _attribute_value(code, data["value"])}
    return list(by_code.values())


def _default_stock_item(product_id: int) -> dict[str, Any]:
    """A new product's legacy stock item: nothing in stock until told otherwise.

    See docs/reference/magento.md#legacy-stock-items.
    """
    return {
        "item_id": product_id,
        "product_id": product_id,
        "stock_id": 1,
        "qty": 0.0,
        "is_in_stock": False,
        "is_qty_decimal": False,
        "show_default_notification_message": False,
        "use_config_min_qty": True,
        "min_qty": 0.0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1.0,
        "use_config_max_sale_qty": True,
        "max_sale_qty": 10000.0,
        "use_config_backorders": True,
        "backorders": 0,
        "use_config_notify_stock_qty": True,
        "notify_stock_qty": 1.0,
        "use_config_qty_increments": True,
        "qty_increments": 0.0,
        "use_config_enable_qty_inc": True,
        "enable_qty_increments": False,
        "use_config_manage_stock": True,
        "manage_stock": True,
        "low_stock_date": None,
        "is_decimal_divided": False,
        "stock_status_changed_auto": 0,
    }


def _merge_stock_item(current: dict[str, Any], raw: Any) -> dict[str, Any]:
    merged = dict(current)
    for key, value in _snake_keys(raw).items():
        if key in ("item_id", "product_id", "stock_id"):
            # the existing item is loaded and these are kept
            # (docs/reference/magento.md#legacy-stock-items)
            continue
        if key in ("qty", "min_qty", "min_sale_qty", "max_sale_qty", "notify_stock_qty"):
            merged[key] = _to_float(value)
        elif key in ("is_in_stock", "manage_stock", "is_qty_decimal", "use_config_manage_stock"):
            merged[key] = _to_bool(value)
        else:
            merged[key] = value
    return merged


def _category_links(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise _type_error(raw, "\\Magento\\Catalog\\Api\\Data\\CategoryLinkInterface[]")
    links = []
    for item in raw:
        data = _snake_keys(item)
        if data.get("category_id") in (None, ""):
            raise required_field("category_id")
        links.append(
            {
                "position": _to_int(data.get("position") or 0),
                "category_id": str(data["category_id"]),
            }
        )
    return links


def _merge_extension(current: dict[str, Any], raw: Any, product_id: int) -> dict[str, Any]:
    merged = copy.deepcopy(current)
    for key, value in _snake_keys(raw).items():
        if key == "website_ids":
            if not isinstance(value, list):
                raise _type_error(value, "int[]")
            merged["website_ids"] = [_to_int(item) for item in value]
        elif key == "category_links":
            merged["category_links"] = _category_links(value)
        elif key == "stock_item":
            base = merged.get("stock_item") or _default_stock_item(product_id)
            merged["stock_item"] = _merge_stock_item(base, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _sync_category_ids(product: dict[str, Any], sent_links: bool) -> None:
    """Keep ``category_ids`` (custom attribute) and ``category_links`` telling the same story."""
    extension = product["extension_attributes"]
    attributes = product["custom_attributes"]
    by_code = {a["attribute_code"]: a for a in attributes}
    if sent_links or "category_ids" not in by_code:
        ids = [link["category_id"] for link in extension.get("category_links", [])]
        if ids:
            by_code["category_ids"] = {"attribute_code": "category_ids", "value": ids}
        else:
            by_code.pop("category_ids", None)
    else:
        value = by_code["category_ids"]["value"]
        ids = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
        extension["category_links"] = [{"position": 0, "category_id": i} for i in ids]
    product["custom_attributes"] = list(by_code.values())


def _ordered(product: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: product[key] for key in PRODUCT_FIELD_ORDER if product.get(key) is not None}
    ordered.update({k: v for k, v in product.items() if k not in ordered and v is not None})
    return ordered


def build_product(
    raw: Any,
    existing: dict[str, Any] | None,
    *,
    product_id: int,
    website_ids: list[int],
    now: str,
) -> dict[str, Any]:
    """The product to store after saving ``raw`` over ``existing`` (None = create).

    Args:
        raw: the ``product`` body member (sku already forced for PUT).
        existing: the stored product with the same SKU, if any.
        product_id: id for a new product.
        website_ids: websites of a new product when the body names none
            (docs/reference/magento.md#product-save scope rule).
        now: timestamp ``YYYY-MM-DD HH:MM:SS`` for created_at/updated_at.

    Raises:
        MagentoError: 400 for any validation failure.
    """
    data = _snake_keys(raw)
    sku = validate_sku(data.get("sku"))
    if existing is not None:
        product = copy.deepcopy(existing)
    else:
        product = {"id": product_id, **_DEFAULTS, "created_at": now}
        product["extension_attributes"] = {
            "website_ids": list(website_ids),
            "stock_item": _default_stock_item(product_id),
        }
        product["custom_attributes"] = [
            {"attribute_code": code, "value": value} for code, value in _SYSTEM_ATTRIBUTES.items()
        ]
        for key in (*_LIST_FIELDS, "media_gallery_entries"):
            product[key] = []
    product["sku"] = sku
    _apply_top_level(product, data)
    if not str(product.get("name") or "").strip():
        raise MagentoError(400, ATTRIBUTE_VALUE_EMPTY, ["name"])
    if "custom_attributes" in data and data["custom_attributes"] is not None:
        product["custom_attributes"] = _merge_custom_attributes(
            product["custom_attributes"], data["custom_attributes"]
        )
    sent_links = False
    if isinstance(data.get("extension_attributes"), dict):
        sent_links = any(snake(k) == "category_links" for k in data["extension_attributes"])
        product["extension_attributes"] = _merge_extension(
            product["extension_attributes"], data["extension_attributes"], product["id"]
        )
    _apply_url_key(product, creating=existing is None)
    _sync_category_ids(product, sent_links)
    product["updated_at"] = now
    return _ordered(product)


def _apply_top_level(product: dict[str, Any], data: dict[str, Any]) -> None:
    """Copy typed top-level fields that the body sends (omitted = unchanged)."""
    for key in _INT_FIELDS:
        if data.get(key) is not None:
            product[key] = _to_int(data[key])
    for key in _FLOAT_FIELDS:
        if data.get(key) is not None:
            product[key] = _to_float(data[key])
    if data.get("name") is not None:
        product["name"] = str(data["name"])
    if data.get("type_id") is not None:
        product["type_id"] = str(data["type_id"])
    for key in _LIST_FIELDS:
        if isinstance(data.get(key), list):
            product[key] = copy.deepcopy(data[key])


def _apply_url_key(product: dict[str, Any], *, creating: bool) -> None:
    """Format a sent url_key; generate one from the name on create.

    See docs/reference/magento.md#product-json.
    """
    attributes = product["custom_attributes"]
    current = next((a for a in attributes if a["attribute_code"] == "url_key"), None)
    if current is not None and isinstance(current["value"], str):
        current["value"] = format_url_key(current["value"])
        if current["value"]:
            return
        attributes.remove(current)
    if creating or current is not None:
        generated = format_url_key(str(product.get("name") or ""))
        if generated:
            attributes.append({"attribute_code": "url_key", "value": generated})


def product_field(product: dict[str, Any], name: str) -> Any:
    """A product's value for a search field: top level, ``category_id``, or custom attribute."""
    key = snake(name)
    if key in ("id", "entity_id"):
        return product["id"]
    if key == "category_id":
        links = product.get("extension_attributes", {}).get("category_links", [])
        return [link["category_id"] for link in links]
    if key == "website_id":
        return product.get("extension_attributes", {}).get("website_ids", [])
    if key in PRODUCT_FIELD_ORDER:
        return product.get(key)
    for attribute in product.get("custom_attributes", []):
        if attribute["attribute_code"] == name:
            return attribute["value"]
    return None
