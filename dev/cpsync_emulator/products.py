"""Product routes: get, search, save (POST/PUT upsert by SKU), delete
(docs/reference/magento.md#products).

Endpoint names for costs and faults: ``products.get``, ``products.search``, ``products.save``
(both POST and PUT) and ``products.delete``. ACL resource: ``Magento_Catalog::products``.
"""

from __future__ import annotations

import copy
from typing import Any

from cpsync_emulator import configurable
from cpsync_emulator.category_data import merge_saved_links
from cpsync_emulator.errors import (
    INVALID_PRODUCT_DATA,
    URL_KEY_EXISTS,
    MagentoError,
    product_not_found,
)
from cpsync_emulator.inventory import DEFAULT_SOURCE, inventory_of
from cpsync_emulator.media import apply_saved_gallery
from cpsync_emulator.prices import SPECIAL_ATTRIBUTES, prices_of, special_value
from cpsync_emulator.product_data import build_product, product_field
from cpsync_emulator.references import check_product_references
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.search import parse_search_criteria, run_search, snake
from cpsync_emulator.store import sku_key

__all__ = ["PRODUCTS_RESOURCE", "routes"]

PRODUCTS_RESOURCE = "Magento_Catalog::products"
_SPECIAL = frozenset(SPECIAL_ATTRIBUTES.values())


def get_product(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/products/:sku``: case-insensitive, 404 when unknown."""
    product = request.emulator.store.find_by_sku(request.params["sku"])
    if product is None:
        raise product_not_found()
    return shown_at_store(request, product)


def search_products(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/products?searchCriteria...``: ``{items, search_criteria, total_count}``."""
    criteria = parse_search_criteria(request.query)
    config = request.emulator.config
    prices, store_id = prices_of(request.emulator.store), request.view.store_id

    def field(product: dict[str, Any], name: str) -> Any:
        if name in _SPECIAL:  # kept with the special prices, not on the product
            shown = prices.attributes(product["sku"], store_id)
            return next((a["value"] for a in shown if a["attribute_code"] == name), None)
        return product_field(product, name)

    items, total = run_search(
        _candidates(request, criteria),
        criteria,
        field,
        clamp_pages=config.clamp_pages,
        input_limits=config.input_limit_enabled,
    )
    return {
        "items": [shown_at_store(request, item) for item in items],
        "search_criteria": criteria.echo(),
        "total_count": total,
    }


def _candidates(request: RestRequest, criteria: Any) -> list[dict[str, Any]]:
    """The products a search must test: by the SKU index when one filter group names SKUs
    only (``eq``/``in``), as MySQL uses its index; else every product. run_search still
    applies every filter, so this only saves time."""
    store = request.emulator.store
    for group in criteria.filter_groups:
        if group and all(f.field == "sku" and f.condition in ("eq", "in") for f in group):
            skus = {
                v.strip()
                for f in group
                for v in (str(f.value).split(",") if f.condition == "in" else [str(f.value)])
                if v.strip()
            }
            found = (store.find_by_sku(sku) for sku in skus)
            return sorted((p for p in found if p is not None), key=lambda p: p["id"])
    return list(store.iter_products())


def save_product(request: RestRequest) -> dict[str, Any]:
    """``POST /V1/products`` and ``PUT /V1/products/:sku``: one upsert by SKU
    (docs/reference/magento.md#product-save).

    On PUT the path SKU overrides the body's (docs/reference/magento.md#request-format). New
    products go to every website when saved through ``/rest/all/``, otherwise to the website of the
    request's store view.
    """
    raw = request.body_param("product")
    if not isinstance(raw, dict):
        raise MagentoError(400, INVALID_PRODUCT_DATA, ["The product must be an object."])
    body = {key: value for key, value in raw.items() if key.lower() != "sku"}
    body["sku"] = request.params["sku"] if "sku" in request.params else raw.get("sku")
    emulator = request.emulator
    store = emulator.store
    with store.lock:
        check_product_references(
            raw,
            store_attributes=emulator.attributes.attributes,
            website_ids=store.topology.website_ids,
            category_ids=store.categories.categories,
        )
        special = _sent_special(raw)
        existing = store.find_by_sku(str(body["sku"] or ""))
        view = request.view
        product = build_product(
            body,
            existing,
            product_id=existing["id"] if existing else store.next_id,
            website_ids=store.topology.website_ids if view.is_admin else [view.website_id],
            now=emulator.now(),
        )
        if existing is not None and emulator.config.category_links_on_save == "merge":
            merge_saved_links(product, existing, raw)
        configurable.finish_save(request, product)
        if store.url_key_conflict(product):
            raise MagentoError(400, URL_KEY_EXISTS)
        gallery = [v for k, v in raw.items() if snake(k) == "media_gallery_entries"]
        if gallery and gallery[0] is not None:
            apply_saved_gallery(request, product, existing, gallery[0])
        _keep_special_price(request, product, special)
        store.put_product(product)
        _align_default_source(request, product, raw)
        shown = shown_at_store(request, product)
    emulator.stats.record_write("products.updated" if existing else "products.created")
    return shown


#: Product types MSI keeps source items for (configurable, bundle and grouped have none).
_SOURCE_ITEM_TYPES = ("simple", "virtual", "downloadable")


def _sent_member(raw: dict[str, Any], *path: str) -> Any:
    """A member of the body by snake_case path (either case sent), or None."""
    value: Any = raw
    for name in path:
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if snake(str(k)) == name), None)
    return value


def _align_default_source(request: RestRequest, product: dict[str, Any], raw: Any) -> None:
    """A saved legacy stock item moves the default source's item, as MSI's
    UpdateSourceItemAtLegacyStockItemSavePlugin does: when it is in stock, has a quantity, or
    the default source item exists already."""
    if _sent_member(raw, "extension_attributes", "stock_item") is None:
        return
    if product.get("type_id") not in _SOURCE_ITEM_TYPES:
        return  # IsSourceItemManagementAllowedForProductType: no source items for these
    stock = product["extension_attributes"]["stock_item"]
    key = (sku_key(product["sku"]), DEFAULT_SOURCE)
    items = inventory_of(request.emulator.store).items
    qty, in_stock = float(stock.get("qty") or 0), bool(stock.get("is_in_stock"))
    if in_stock or qty != 0 or key in items:
        items[key] = {
            "sku": product["sku"],
            "source_code": DEFAULT_SOURCE,
            "quantity": qty,
            "status": 1 if in_stock else 0,
        }


def _sent_special(raw: dict[str, Any]) -> dict[str, str | float | None]:
    """The special-price attributes a save sends, by price-row member, as Magento stores them.

    Raises:
        MagentoError: 400 for a price or date Magento would not store.
    """
    sent = _sent_member(raw, "custom_attributes")
    entries = list(sent.values()) if isinstance(sent, dict) else sent
    if not isinstance(entries, list):
        return {}  # build_product refuses it
    by_code = {
        str(_sent_member(entry, "attribute_code")): _sent_member(entry, "value")
        for entry in entries
        if isinstance(entry, dict)
    }
    return {
        name: special_value(name, by_code[code])
        for name, code in SPECIAL_ATTRIBUTES.items()
        if code in by_code
    }


def _keep_special_price(
    request: RestRequest, product: dict[str, Any], special: dict[str, str | float | None]
) -> None:
    """Move the special-price attributes of a save into the prices section, their one home.

    Each sent attribute is written on its own, as ``AbstractResource::_saveAttributeValue``
    does: null or empty deletes it, an attribute left out keeps its value. The stores follow
    the attribute's scope (``special_stores``).
    """
    custom = product.get("custom_attributes", [])
    product["custom_attributes"] = [a for a in custom if a["attribute_code"] not in _SPECIAL]
    data = prices_of(request.emulator.store)
    for name, value in special.items():
        data.write(product["sku"], special_stores(request, name), {name: value})


def special_stores(request: RestRequest, name: str) -> list[int]:
    """The stores a product save through the request's store writes a special attribute to.

    ``/rest/all/`` and a single-store Magento (``hasSingleStore``) write store 0; else the
    dates (website scope) go to every store view of the request's website, and
    ``special_price`` too with website price scope, but to store 0 with global price scope.
    """
    view, topology = request.view, request.emulator.store.topology
    if view.is_admin or len(topology.views) < 2:
        return [0]
    if name == "price" and request.emulator.config.price_scope == "global":
        return [0]
    return topology.store_ids([view.website_id])


def shown_at_store(request: RestRequest, product: dict[str, Any]) -> dict[str, Any]:
    """A copy of the product as read through the request's store, special price included."""
    shown = copy.deepcopy(product)
    special = prices_of(request.emulator.store).attributes(product["sku"], request.view.store_id)
    if special:
        shown["custom_attributes"] = [*shown.get("custom_attributes", []), *special]
    return shown


def delete_product(request: RestRequest) -> bool:
    """``DELETE /V1/products/:sku`` → ``true``; 404 when unknown."""
    store = request.emulator.store
    with store.lock:
        product = store.find_by_sku(request.params["sku"])
        if product is None:
            raise product_not_found()
        store.delete_product(product["id"])
        prices_of(store).forget(product["sku"])
    request.emulator.stats.record_write("products.deleted")
    return True


def routes() -> list[Route]:
    """The product routes of ``Magento/Catalog/etc/webapi.xml`` this emulator serves."""
    acl = PRODUCTS_RESOURCE
    return [
        Route("GET", "/V1/products/:sku", "products.get", get_product, acl),
        Route("GET", "/V1/products", "products.search", search_products, acl),
        Route("POST", "/V1/products", "products.save", save_product, acl, body=("product",)),
        Route("PUT", "/V1/products/:sku", "products.save", save_product, acl, body=("product",)),
        Route("DELETE", "/V1/products/:sku", "products.delete", delete_product, acl),
    ]
