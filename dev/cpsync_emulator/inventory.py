"""Inventory routes: MSI sources and source items (docs/reference/magento.md#msi-source-items),
legacy stock items (docs/reference/magento.md#legacy-stock-items).

Endpoint names for costs and faults: ``inventory.source_items.save`` / ``.delete`` / ``.search``,
``inventory.sources.get`` / ``.search`` / ``.save``, ``stock_items.get`` / ``.save``. The bulk
source-item routes also cost per item (``record_costs_ms``). ACL resources:
``Magento_InventoryApi::source_item``, ``Magento_InventoryApi::source``,
``Magento_CatalogInventory::cataloginventory``.

What real Magento does and this emulator copies:
- ``POST /V1/inventory/source-items`` answers ``[]``; unknown SKUs are accepted (issue #38154);
  an unknown ``source_code`` fails the whole call (foreign key) with ``Could not save Source Item``;
  an invalid item fails the whole call with ``Validation Failed`` and the errors in ``errors[]``.
- Items of the ``default`` source are mirrored into the legacy stock item of an existing product
  (MSI keeps ``cataloginventory_stock_item`` in step with the default source), so a product GET
  shows the same quantity as the source item.
- ``PUT /V1/products/:sku/stockItems/:itemId`` merges into the product's stock item and answers
  its item id; the ``itemId`` in the URL is ignored (docs/reference/magento.md#legacy-stock-items).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from cpsync_emulator.errors import MagentoError, required_field
from cpsync_emulator.inputs import list_param
from cpsync_emulator.product_data import _default_stock_item, _merge_stock_item
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.search import parse_search_criteria, run_search, snake
from cpsync_emulator.store import CatalogStore, sku_key

__all__ = [
    "DEFAULT_SOURCE",
    "INVENTORY_SECTION",
    "InventoryData",
    "inventory_of",
    "routes",
]

INVENTORY_SECTION = "inventory"
DEFAULT_SOURCE = "default"
SOURCE_ITEM_RESOURCE = "Magento_InventoryApi::source_item"
SOURCE_RESOURCE = "Magento_InventoryApi::source"
STOCK_RESOURCE = "Magento_CatalogInventory::cataloginventory"

SOURCE_ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"
INPUT_DATA_EMPTY = "Input data is empty"
VALIDATION_FAILED = "Validation Failed"
COULD_NOT_SAVE_SOURCE_ITEM = "Could not save Source Item"
COULD_NOT_DELETE_SOURCE_ITEM = "Could not delete Source Items"
FIELD_EMPTY = '"%field" can not be empty.'
FIELD_NOT_NUMERIC = '"%field" should be numeric.'
STATUS_INVALID = '"%field" should be one of the following values: %values.'
STOCK_SKU_NOT_FOUND = 'Product with SKU "%1" does not exist'
SOURCE_NOT_FOUND = 'Source with code "%value" does not exist.'
SOURCE_CODE_INVALID = '"%field" can contain only letters, numbers, "-" and "_".'
_SOURCE_CODE = re.compile(r"^[A-Za-z0-9_-]+$")


def _default_source() -> dict[str, Any]:
    return {
        "source_code": DEFAULT_SOURCE,
        "name": "Default Source",
        "enabled": True,
        "description": "Default Source",
        "latitude": 0,
        "longitude": 0,
        "country_id": "US",
        "postcode": "00000",
    }


class InventoryData:
    """Sources by code, source items by (lower-case SKU, source code); under the store lock."""

    def __init__(self) -> None:
        self.sources: dict[str, dict[str, Any]] = {}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.clear()

    def clear(self) -> None:
        """Only the ``default`` source, which always exists, and no source items."""
        self.sources = {DEFAULT_SOURCE: _default_source()}
        self.items = {}

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources.values()),
            "source_items": list(self.items.values()),
        }

    def load_json(self, data: Any) -> None:
        self.clear()
        for source in data.get("sources", []):
            self.sources[source["source_code"]] = source
        for item in data.get("source_items", []):
            self.items[(sku_key(item["sku"]), item["source_code"])] = item

    def source_items(self, sku: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored items (all, or of one SKU), for assertions."""
        wanted = None if sku is None else sku_key(sku)
        return [
            copy.deepcopy(item)
            for (key, _), item in self.items.items()
            if wanted is None or key == wanted
        ]


def inventory_of(store: CatalogStore) -> InventoryData:
    """The inventory section of a store (registered by the emulator runtime)."""
    section = store.sections[INVENTORY_SECTION]
    assert isinstance(section, InventoryData)
    return section


# Source items -----------------------------------------------------------------------------


def _validate_item(raw: Any) -> tuple[dict[str, Any] | None, list[MagentoError]]:
    """A normalised source item, or the validators' errors (sku, source_code, quantity, status)."""
    data = {snake(str(k)): v for k, v in raw.items()} if isinstance(raw, dict) else {}
    errors: list[MagentoError] = []
    sku = str(data.get("sku") or "").strip()
    code = str(data.get("source_code") or "").strip()
    if not sku:
        errors.append(MagentoError(400, FIELD_EMPTY, {"field": "sku"}))
    if not code:
        errors.append(MagentoError(400, FIELD_EMPTY, {"field": "source_code"}))
    quantity: float | None = None
    try:
        quantity = float(data.get("quantity", 0) or 0)
    except (TypeError, ValueError):
        errors.append(MagentoError(400, FIELD_NOT_NUMERIC, {"field": "quantity"}))
    status = data.get("status", 0)
    if isinstance(status, bool) or str(status).strip() not in ("0", "1"):
        errors.append(MagentoError(400, STATUS_INVALID, {"field": "status", "values": "0, 1"}))
    if errors:
        return None, errors
    return {
        "sku": sku,
        "source_code": code,
        "quantity": quantity,
        "status": int(str(status).strip()),
    }, []


def save_source_items(request: RestRequest) -> list[Any]:
    """``POST /V1/inventory/source-items``: all items or none; ``[]`` on success."""
    raw_items = list_param(request, "sourceItems", INPUT_DATA_EMPTY)
    if not raw_items:
        raise MagentoError(400, INPUT_DATA_EMPTY)
    items: list[dict[str, Any]] = []
    errors: list[MagentoError] = []
    for raw in raw_items:
        item, problems = _validate_item(raw)
        errors.extend(problems)
        if item is not None:
            items.append(item)
    if errors:
        raise MagentoError(400, VALIDATION_FAILED, errors=errors)
    store = request.emulator.store
    with store.lock:
        inventory = inventory_of(store)
        if any(item["source_code"] not in inventory.sources for item in items):
            raise MagentoError(400, COULD_NOT_SAVE_SOURCE_ITEM)
        for item in items:
            inventory.items[(sku_key(item["sku"]), item["source_code"])] = item
            if item["source_code"] == DEFAULT_SOURCE:
                _mirror_to_legacy(store, item)
    for _ in items:
        request.emulator.stats.record_write("source_items.updated")
    return []


def _mirror_to_legacy(store: CatalogStore, item: dict[str, Any]) -> None:
    """MSI keeps the legacy stock item of the default source in step (product GET shows it)."""
    product = store.find_by_sku(item["sku"])
    if product is None:
        return
    extension = product.setdefault("extension_attributes", {})
    stock = extension.get("stock_item") or _default_stock_item(product["id"])
    stock = dict(stock, qty=float(item["quantity"]), is_in_stock=item["status"] == 1)
    extension["stock_item"] = stock


def delete_source_items(request: RestRequest) -> list[Any]:
    """``POST /V1/inventory/source-items-delete``: ``[]``; unknown pairs are ignored."""
    raw_items = list_param(request, "sourceItems", INPUT_DATA_EMPTY)
    if not raw_items:
        raise MagentoError(400, INPUT_DATA_EMPTY)
    keys = []
    for raw in raw_items:
        data = {snake(str(k)): v for k, v in raw.items()} if isinstance(raw, dict) else {}
        sku, code = str(data.get("sku") or "").strip(), str(data.get("source_code") or "").strip()
        if not sku or not code:
            field = "sku" if not sku else "source_code"
            raise MagentoError(
                400, VALIDATION_FAILED, errors=[MagentoError(400, FIELD_EMPTY, {"field": field})]
            )
        keys.append((sku_key(sku), code))
    store = request.emulator.store
    with store.lock:
        inventory = inventory_of(store)
        for key in keys:
            if inventory.items.pop(key, None) is not None:
                request.emulator.stats.record_write("source_items.deleted")
    return []


def search_source_items(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/inventory/source-items?searchCriteria...``."""
    criteria = parse_search_criteria(request.query)
    store = request.emulator.store
    with store.lock:
        items = [copy.deepcopy(item) for item in inventory_of(store).items.values()]
    config = request.emulator.config
    found, total = run_search(
        items,
        criteria,
        lambda item, name: item.get(snake(name)),
        clamp_pages=config.clamp_pages,
        input_limits=config.input_limit_enabled,
    )
    return {"items": found, "search_criteria": criteria.echo(), "total_count": total}


# Sources ----------------------------------------------------------------------------------


def get_source(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/inventory/sources/:sourceCode``; 404 when unknown."""
    code = request.params["sourceCode"]
    with request.emulator.store.lock:
        source = inventory_of(request.emulator.store).sources.get(code)
        if source is None:
            raise MagentoError(404, SOURCE_NOT_FOUND, {"value": code})
        return copy.deepcopy(source)


def search_sources(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/inventory/sources`` (searchCriteria optional here, as in Magento)."""
    pairs = request.query or [("searchCriteria", "")]
    criteria = parse_search_criteria(pairs)
    with request.emulator.store.lock:
        sources = [copy.deepcopy(s) for s in inventory_of(request.emulator.store).sources.values()]
    found, total = run_search(sources, criteria, lambda s, name: s.get(snake(name)))
    return {"items": found, "search_criteria": criteria.echo(), "total_count": total}


def save_source(request: RestRequest) -> list[Any]:
    """``POST /V1/inventory/sources`` and ``PUT /V1/inventory/sources/:sourceCode``: ``[]``."""
    raw = request.body_param("source")
    if not isinstance(raw, dict):
        raise required_field("source")
    data = {snake(str(k)): v for k, v in raw.items()}
    if "sourceCode" in request.params:
        data["source_code"] = request.params["sourceCode"]
    code = str(data.get("source_code") or "").strip()
    errors = [
        MagentoError(400, FIELD_EMPTY, {"field": field})
        for field in ("source_code", "name", "postcode", "country_id")
        if not str(data.get(field) or "").strip()
    ]
    if code and not _SOURCE_CODE.match(code):
        errors.append(MagentoError(400, SOURCE_CODE_INVALID, {"field": "source_code"}))
    if errors:
        raise MagentoError(400, VALIDATION_FAILED, errors=errors)
    with request.emulator.store.lock:
        sources = inventory_of(request.emulator.store).sources
        source = dict(sources.get(code, {}), **data)
        source.setdefault("enabled", True)
        if code == DEFAULT_SOURCE:
            source["enabled"] = True  # the default source cannot be disabled
        sources[code] = source
    return []


# Legacy stock items -----------------------------------------------------------------------


def _stock_product(request: RestRequest) -> dict[str, Any]:
    sku = request.params["productSku"]
    product = request.emulator.store.find_by_sku(sku)
    if product is None:
        raise MagentoError(404, STOCK_SKU_NOT_FOUND, [sku])
    return product


def get_stock_item(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/stockItems/:productSku``: the product's legacy stock item."""
    with request.emulator.store.lock:
        product = _stock_product(request)
        stock = product.get("extension_attributes", {}).get("stock_item")
        return copy.deepcopy(stock or _default_stock_item(product["id"]))


def save_stock_item(request: RestRequest) -> int:
    """``PUT /V1/products/:productSku/stockItems/:itemId``: merge, answer the item id
    (docs/reference/magento.md#legacy-stock-items).

    The default source's source item follows, as MSI's legacy synchronisation does.
    """
    raw = request.body_param("stockItem")
    store = request.emulator.store
    with store.lock:
        product = _stock_product(request)
        extension = product.setdefault("extension_attributes", {})
        current = extension.get("stock_item") or _default_stock_item(product["id"])
        merged = _merge_stock_item(current, raw)
        extension["stock_item"] = merged
        key = (sku_key(product["sku"]), DEFAULT_SOURCE)
        inventory_of(store).items[key] = {
            "sku": product["sku"],
            "source_code": DEFAULT_SOURCE,
            "quantity": float(merged.get("qty") or 0),
            "status": 1 if merged.get("is_in_stock") else 0,
        }
    request.emulator.stats.record_write("stock_items.updated")
    return int(merged["item_id"])


def routes() -> list[Route]:
    """MSI and CatalogInventory routes this emulator serves."""
    items, sources, stock = SOURCE_ITEM_RESOURCE, SOURCE_RESOURCE, STOCK_RESOURCE
    return [
        Route(
            "POST",
            "/V1/inventory/source-items",
            "inventory.source_items.save",
            save_source_items,
            items,
            arrays={"sourceItems": SOURCE_ITEM_TYPE},
            service="Magento\\InventoryApi\\Api\\SourceItemsSaveInterface::execute",
            body=("sourceItems",),
        ),
        Route(
            "POST",
            "/V1/inventory/source-items-delete",
            "inventory.source_items.delete",
            delete_source_items,
            items,
            arrays={"sourceItems": SOURCE_ITEM_TYPE},
            service="Magento\\InventoryApi\\Api\\SourceItemsDeleteInterface::execute",
            body=("sourceItems",),
        ),
        Route(
            "GET",
            "/V1/inventory/source-items",
            "inventory.source_items.search",
            search_source_items,
            items,
        ),
        Route("GET", "/V1/inventory/sources", "inventory.sources.search", search_sources, sources),
        Route(
            "GET", "/V1/inventory/sources/:sourceCode", "inventory.sources.get", get_source, sources
        ),
        Route("POST", "/V1/inventory/sources", "inventory.sources.save", save_source, sources),
        Route(
            "PUT",
            "/V1/inventory/sources/:sourceCode",
            "inventory.sources.save",
            save_source,
            sources,
        ),
        Route("GET", "/V1/stockItems/:productSku", "stock_items.get", get_stock_item, stock),
        Route(
            "PUT",
            "/V1/products/:productSku/stockItems/:itemId",
            "stock_items.save",
            save_stock_item,
            stock,
        ),
    ]
