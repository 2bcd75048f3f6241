"""Configurable products: options and child links (docs/reference/magento.md#configurable-products).

A parent keeps both in its wire shape, as GET returns them:
``extension_attributes.configurable_product_options`` (``[{id, attribute_id, label, position,
values: [{value_index}], product_id}]``) and ``extension_attributes.configurable_product_links``
(child ids). Both may be set by the dedicated routes below or sent in a product save
(:func:`finish_save`).

Routes (``Magento/ConfigurableProduct/etc/webapi.xml``), ACL ``Magento_Catalog::products``:
``POST .../:sku/options`` -> option id as a JSON string; ``GET .../:sku/options/all``;
``GET|DELETE .../:sku/options/:id``; ``POST .../:sku/child`` ``{"childSku"}`` -> ``true``;
``GET .../:sku/children``; ``DELETE .../:sku/children/:childSku`` -> ``true``.

Errors are docs/reference/magento.md#configurable-products's (``LinkManagement``); the option
validation texts and "Something went wrong while saving option." for a second option on one
attribute are ``OptionRepository``'s, read from the 2.4 code (not quoted in the reference). Adding a
child also adds the child's value to the option's values, as ``addChild`` rebuilds the option data
from the attribute.
"""

from __future__ import annotations

import copy
from typing import Any

from cpsync_emulator.attributes import ATTRIBUTE_NOT_FOUND
from cpsync_emulator.errors import MagentoError, product_not_found
from cpsync_emulator.routing import RestRequest, Route

__all__ = [
    "ALREADY_ATTACHED",
    "CHILD_LACKS_ATTRIBUTE",
    "NOT_CONFIGURABLE",
    "NO_OPTIONS",
    "OPTION_NOT_FOUND",
    "finish_save",
    "next_option_id",
    "routes",
]

ALREADY_ATTACHED = "The product is already attached."
NO_OPTIONS = "The parent product doesn't have configurable product options."
CHILD_LACKS_ATTRIBUTE = (
    'The child product doesn\'t have the "%1" attribute value. Verify the value and try again.'
)
NOT_CONFIGURABLE = 'The product with the "%1" SKU isn\'t a configurable product.'
OPTION_NOT_FOUND = "The option that was requested doesn't exist. Verify the entity and try again."
OPTION_SAVE_FAILED = "Something went wrong while saving option."
INPUT_EXCEPTIONS = "One or more input exceptions have occurred."
TYPE_CONFIGURABLE = "configurable"
_RESOURCE = "Magento_Catalog::products"
_OPTIONS = "configurable_product_options"
_LINKS = "configurable_product_links"


def _parent(request: RestRequest) -> dict[str, Any]:
    product = request.emulator.store.find_by_sku(request.params["sku"])
    if product is None:
        raise product_not_found()
    return product


def _attribute_value(product: dict[str, Any], code: str) -> Any:
    for attribute in product.get("custom_attributes", []):
        if attribute.get("attribute_code") == code:
            return attribute.get("value")
    return None


def next_option_id(request: RestRequest) -> int:
    """The next free configurable option id (a scan of the catalog)."""
    return _next_option_id(request)


def _next_option_id(request: RestRequest) -> int:
    highest = 0
    for product in request.emulator.store.iter_products():
        for option in product.get("extension_attributes", {}).get(_OPTIONS, []):
            highest = max(highest, int(option["id"]))
    return highest + 1


def _validate_option(raw: Any) -> dict[str, Any]:
    data = raw if isinstance(raw, dict) else {}
    problems: list[MagentoError] = []
    if not data.get("attribute_id"):
        problems.append(MagentoError(400, "Option attribute ID is not specified."))
    if not data.get("label"):
        problems.append(MagentoError(400, "Option label is not specified."))
    values = data.get("values")
    if not values or not isinstance(values, list):
        problems.append(MagentoError(400, "Option values are not specified."))
    elif any(not isinstance(v, dict) or v.get("value_index") is None for v in values):
        problems.append(MagentoError(400, "Value index is not specified for an option."))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise MagentoError(400, INPUT_EXCEPTIONS, errors=problems)
    return data


def _option(data: dict[str, Any], option_id: int, product_id: int) -> dict[str, Any]:
    return {
        "id": option_id,
        "attribute_id": str(data["attribute_id"]),
        "label": str(data["label"]),
        "position": int(data.get("position") or 0),
        "values": [{"value_index": int(v["value_index"])} for v in data["values"]],
        "product_id": product_id,
    }


def _make_configurable(product: dict[str, Any]) -> dict[str, Any]:
    extension = product.setdefault("extension_attributes", {})
    extension.setdefault(_OPTIONS, [])
    extension.setdefault(_LINKS, [])
    product["type_id"] = TYPE_CONFIGURABLE
    return extension


def save_option(request: RestRequest) -> str:
    """``POST /V1/configurable-products/:sku/options``: one option per attribute."""
    data = _validate_option(request.body_param("option"))
    emulator = request.emulator
    if emulator.attributes.by_id(data["attribute_id"]) is None:
        raise MagentoError(404, ATTRIBUTE_NOT_FOUND, [str(data["attribute_id"])])
    with emulator.store.lock:
        parent = copy.deepcopy(_parent(request))
        extension = _make_configurable(parent)  # Magento turns the product configurable
        if any(o["attribute_id"] == str(data["attribute_id"]) for o in extension[_OPTIONS]):
            raise MagentoError(400, OPTION_SAVE_FAILED)
        option_id = _next_option_id(request)
        extension[_OPTIONS].append(_option(data, option_id, parent["id"]))
        parent["updated_at"] = emulator.now()
        emulator.store.put_product(parent)
    emulator.stats.record_write("configurable_options.created")
    return str(option_id)


def list_options(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/configurable-products/:sku/options/all``."""
    parent = _parent(request)
    return copy.deepcopy(parent.get("extension_attributes", {}).get(_OPTIONS, []))


def _find_option(parent: dict[str, Any], option_id: str) -> dict[str, Any]:
    for option in parent.get("extension_attributes", {}).get(_OPTIONS, []):
        if str(option["id"]) == option_id:
            return option
    raise MagentoError(404, OPTION_NOT_FOUND)


def get_option(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/configurable-products/:sku/options/:id``."""
    return copy.deepcopy(_find_option(_parent(request), request.params["id"]))


def delete_option(request: RestRequest) -> bool:
    """``DELETE /V1/configurable-products/:sku/options/:id`` -> ``true``."""
    emulator = request.emulator
    with emulator.store.lock:
        parent = copy.deepcopy(_parent(request))
        option = _find_option(parent, request.params["id"])
        parent["extension_attributes"][_OPTIONS].remove(option)
        emulator.store.put_product(parent)
    emulator.stats.record_write("configurable_options.deleted")
    return True


def add_child(request: RestRequest) -> bool:
    """``POST /V1/configurable-products/:sku/child`` ``{"childSku"}`` -> ``true``.

    See docs/reference/magento.md#configurable-products.
    """
    child_sku = request.body_param("childSku")
    emulator = request.emulator
    with emulator.store.lock:
        parent = copy.deepcopy(_parent(request))
        child = emulator.store.find_by_sku(str(child_sku or ""))
        if child is None:
            raise product_not_found()
        extension = parent.get("extension_attributes", {})
        if child["id"] in extension.get(_LINKS, []):
            raise MagentoError(400, ALREADY_ATTACHED)
        options = extension.get(_OPTIONS) or []
        if not options:
            raise MagentoError(400, NO_OPTIONS)
        values: list[tuple[dict[str, Any], int]] = []
        for option in options:
            attribute = emulator.attributes.by_id(option["attribute_id"]) or {}
            code = str(attribute.get("attribute_code", ""))
            value = _attribute_value(child, code)
            if not value:
                raise MagentoError(400, CHILD_LACKS_ATTRIBUTE, [code])
            values.append((option, int(str(value))))
        for option, value_index in values:
            if all(v["value_index"] != value_index for v in option["values"]):
                option["values"].append({"value_index": value_index})
        extension[_LINKS].append(child["id"])
        parent["updated_at"] = emulator.now()
        emulator.store.put_product(parent)
    emulator.stats.record_write("configurable_links.created")
    return True


def _children(request: RestRequest, parent: dict[str, Any]) -> list[dict[str, Any]]:
    ids = parent.get("extension_attributes", {}).get(_LINKS, [])
    products = request.emulator.store.products
    return [products[i] for i in ids if i in products]


def list_children(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/configurable-products/:sku/children``: ``[]`` for a non-configurable."""
    parent = _parent(request)
    if parent.get("type_id") != TYPE_CONFIGURABLE:
        return []
    return [copy.deepcopy(child) for child in _children(request, parent)]


def remove_child(request: RestRequest) -> bool:
    """``DELETE /V1/configurable-products/:sku/children/:childSku`` -> ``true``.

    See docs/reference/magento.md#configurable-products.
    """
    emulator = request.emulator
    with emulator.store.lock:
        parent = copy.deepcopy(_parent(request))
        if parent.get("type_id") != TYPE_CONFIGURABLE:
            raise MagentoError(400, NOT_CONFIGURABLE, [parent["sku"]])
        wanted = request.params["childSku"].strip().lower()
        linked = [c for c in _children(request, parent) if c["sku"].lower() == wanted]
        if not linked:
            raise MagentoError(404, OPTION_NOT_FOUND)
        parent["extension_attributes"][_LINKS].remove(linked[0]["id"])
        parent["updated_at"] = emulator.now()
        emulator.store.put_product(parent)
    emulator.stats.record_write("configurable_links.deleted")
    return True


def finish_save(request: RestRequest, product: dict[str, Any]) -> None:
    """Normalise options and links sent in a product save body
    (docs/reference/magento.md#configurable-products: both may be sent).

    Options get ids and string attribute ids; links must name existing products. A product
    saved as ``configurable`` always carries both lists, as GET shows them.

    Raises:
        MagentoError: an option is invalid or names an unknown attribute; a link names no product.
    """
    extension = product.get("extension_attributes", {})
    if product.get("type_id") == TYPE_CONFIGURABLE:
        extension = _make_configurable(product)
    if _OPTIONS in extension:
        # The catalog-wide scan for a free id only when an option comes without one (an
        # import assigns ids itself: a scan per parent would make a large import quadratic).
        next_id: int | None = None
        given = 0
        options = []
        for raw in extension[_OPTIONS]:
            data = _validate_option(raw)
            if request.emulator.attributes.by_id(data["attribute_id"]) is None:
                raise MagentoError(404, ATTRIBUTE_NOT_FOUND, [str(data["attribute_id"])])
            if data.get("id"):
                option_id = int(data["id"])
                given = max(given, option_id)
            else:
                if next_id is None:
                    next_id = max(_next_option_id(request), given + 1)
                option_id = next_id
            if next_id is not None:
                next_id = max(next_id, option_id + 1)
            options.append(_option(data, option_id, product["id"]))
        extension[_OPTIONS] = options
    if _LINKS in extension:
        products = request.emulator.store.products
        links = []
        for raw in extension[_LINKS]:
            try:
                child_id = int(raw)
            except (TypeError, ValueError):
                raise MagentoError(400, "Invalid product data: %1", [f"bad link {raw!r}"]) from None
            if child_id not in products:
                raise product_not_found()
            links.append(child_id)
        extension[_LINKS] = list(dict.fromkeys(links))


def routes() -> list[Route]:
    """The configurable-product routes of docs/reference/magento.md#configurable-products that
    cpsync uses."""
    base = "/V1/configurable-products/:sku"
    acl = _RESOURCE
    return [
        Route("POST", f"{base}/options", "configurable.options.save", save_option, acl),
        Route("GET", f"{base}/options/all", "configurable.options.list", list_options, acl),
        Route("GET", f"{base}/options/:id", "configurable.options.get", get_option, acl),
        Route("DELETE", f"{base}/options/:id", "configurable.options.delete", delete_option, acl),
        Route("POST", f"{base}/child", "configurable.child.add", add_child, acl),
        Route("GET", f"{base}/children", "configurable.children.list", list_children, acl),
        Route(
            "DELETE", f"{base}/children/:childSku", "configurable.child.remove", remove_child, acl
        ),
    ]
