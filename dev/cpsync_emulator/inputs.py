"""Input checks the dispatcher applies to every route: array limits
(docs/reference/magento.md#input-limits-and-hosting) and async inputs
(docs/reference/magento.md#async-bulk).

An endpoint gets them without code of its own; ``Route.arrays``, ``Route.array_limit`` and
``Route.body`` refine them (see ``dev/cpsync_emulator/README.md``).
"""

from __future__ import annotations

import re
from typing import Any

from cpsync_emulator.errors import ARRAY_ITEMS_MAX, MagentoError, required_field
from cpsync_emulator.routing import RestPath, RestRequest, Route
from cpsync_emulator.schema import check_service_input

__all__ = [
    "INPUT_ARRAY_LIMIT",
    "NESTED_ENTITY_TYPES",
    "check_array_limits",
    "check_async_inputs",
    "list_param",
]

#: Items per array parameter when input limits are on (synchronous routes,
#: docs/reference/magento.md#input-limits-and-hosting).
INPUT_ARRAY_LIMIT = 20

#: Entity types of nested arrays Magento validates, by member name (for the limit message).
NESTED_ENTITY_TYPES: dict[str, str] = {
    "product_links": "\\Magento\\Catalog\\Api\\Data\\ProductLinkInterface",
    "tier_prices": "\\Magento\\Catalog\\Api\\Data\\ProductTierPriceInterface",
    "options": "\\Magento\\Catalog\\Api\\Data\\ProductCustomOptionInterface",
    "media_gallery_entries": (
        "\\Magento\\Catalog\\Api\\Data\\ProductAttributeMediaGalleryEntryInterface"
    ),
    "category_links": "\\Magento\\Catalog\\Api\\Data\\CategoryLinkInterface",
}


def check_array_limits(route: Route, body: Any, limit: int | None = None) -> None:
    """Refuse more items than the input limit in an array of entities
    (docs/reference/magento.md#input-limits-and-hosting, #error-catalogue).

    Magento checks every array of objects while it converts the input, at any depth, except
    ``custom_attributes`` (converted apart). Top-level parameters declared in ``Route.arrays``
    are named by their entity type, nested ones by :data:`NESTED_ENTITY_TYPES`, others by the
    route's endpoint; an endpoint gets the limit without declaring anything.

    Raises:
        MagentoError: 400 ``Maximum items of type "%type" is %max``.
    """
    maximum = limit if limit is not None else (route.array_limit or INPUT_ARRAY_LIMIT)
    if not isinstance(body, dict):
        return
    for name, value in body.items():
        declared = next((t for p, t in route.arrays.items() if _loose(p) == _loose(name)), None)
        if declared is None and route.records and _loose(route.records) == _loose(name):
            continue  # the handler checks its own records parameter, naming the entity type
        _check_value(value, name, declared, route.endpoint, maximum)


def _check_value(value: Any, name: str, declared: str | None, fallback: str, maximum: int) -> None:
    if isinstance(value, dict):
        for key, member in value.items():
            if _loose(key) != "customattributes":
                _check_value(member, key, None, fallback, maximum)
        return
    if not isinstance(value, list):
        return
    entities = [item for item in value if isinstance(item, dict)]
    if len(value) > maximum and (declared is not None or len(entities) == len(value)):
        entity = declared or NESTED_ENTITY_TYPES.get(_snake_name(name), fallback)
        raise MagentoError(400, ARRAY_ITEMS_MAX, {"type": entity, "max": maximum})
    for item in entities:
        _check_value(item, name, None, fallback, maximum)


def _snake_name(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def check_async_inputs(
    route: Route, path: RestPath, body: Any, unsupported_status: int = 500
) -> None:
    """Resolve every async item's input before accepting any (issue #36881).

    Each item goes through the input processor (:mod:`cpsync_emulator.schema`) as a synchronous
    request would.

    Raises:
        MagentoError: 400 ``"%fieldName" is required`` naming the first missing parameter;
            the input processor's errors.
    """
    items = body if path.mode == "async/bulk" and isinstance(body, list) else [body]
    for item in items:
        if not isinstance(item, dict):
            continue  # rejected item by item in the 202 answer
        present = {_loose(key) for key in item}
        for name in route.body:
            if _loose(name) not in present:
                raise required_field(name)
        check_service_input(route.endpoint, item, unsupported_status)


def _loose(name: str) -> str:
    return name.replace("_", "").lower()


def list_param(request: RestRequest, name: str, message: str) -> list[Any]:
    """The body parameter ``name`` as a list (the dispatcher applies the input limit).

    Raises:
        MagentoError: 400 when it is missing (required field) or not a list (``message``).
    """
    value = request.body_param(name)
    if isinstance(value, dict) and all(str(k).isdigit() for k in value):
        value = list(value.values())  # PHP-style arrays with numeric keys
    if not isinstance(value, list):
        raise MagentoError(400, message)
    return value
