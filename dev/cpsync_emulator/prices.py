"""Price routes: the "efficient price API" for base and special prices
(docs/reference/magento.md#prices).

Endpoint names for costs and faults: ``prices.base.save``, ``prices.base.get``,
``prices.special.save``, ``prices.special.get``, ``prices.special.delete``; the writes also cost
per row (``record_costs_ms``). ACL resource: ``Magento_Catalog::products``.

The partial-failure contract (docs/reference/magento.md#prices): invalid rows are skipped, valid
rows are saved, the answer is 200 with the list of failures ``{"message", "parameters"}`` where
``parameters`` is a positional list. Dates must be exactly ``YYYY-MM-DD hh:mm:ss`` (a date without
time fails).

Special prices follow Magento Open Source (docs/reference/magento.md#special-prices): each
(SKU, store) holds the three attributes ``special_price``, ``special_from_date`` and
``special_to_date``. A save upserts the price and each date it is given (a date left out keeps
the old one); a delete removes all three at that store, whatever price or dates it is sent; the
read joins a store's price with the dates of every store. With global price scope (Magento's
default, ``price_scope``) a row for a store view is refused. These rows are the only place the
three attributes live: a product save writes them and a product read shows them
(``products.py``), and so does the import. Special failures come rendered
with the row's values, in the store's language. Base prices land on store 0
whatever ``store_id`` says, and show as the product's ``price``.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from cpsync_emulator.errors import MagentoError
from cpsync_emulator.inputs import list_param
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.search import snake
from cpsync_emulator.store import CatalogStore, sku_key

__all__ = [
    "PRICES_SECTION",
    "SPECIAL_ATTRIBUTES",
    "PriceData",
    "prices_of",
    "routes",
    "special_value",
]

PRICES_SECTION = "prices"
PRICES_RESOURCE = "Magento_Catalog::products"
BASE_PRICE_TYPE = "\\Magento\\Catalog\\Api\\Data\\BasePriceInterface"
SPECIAL_PRICE_TYPE = "\\Magento\\Catalog\\Api\\Data\\SpecialPriceInterface"

PRICES_NOT_ARRAY = "Invalid input data format. Expected an array of prices."
SKUS_NOT_ARRAY = "Invalid input data format. Expected an array of SKUs."
INVALID_ATTRIBUTE = "Invalid attribute %fieldName = %fieldValue."
BASE_STORE_NOT_FOUND = "Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId."
_ROW_ID = "Row ID: SKU = %SKU, Store ID: %storeId, Price From: %priceFrom, Price To: %priceTo."
SPECIAL_PRODUCT_NOT_FOUND = (
    "The product that was requested doesn't exist. Verify the product and try again. " + _ROW_ID
)
SPECIAL_STORE_NOT_FOUND = "Requested store is not found. " + _ROW_ID
STORE_NOT_FOUND = "The store that was requested wasn't found. Verify the store and try again."
SPECIAL_NOT_GLOBAL = "Could not change non global Price when price scope is global. " + _ROW_ID
SPECIAL_INVALID_PRICE = "Invalid attribute Price = %price. " + _ROW_ID
SPECIAL_INVALID_DATE = "Invalid attribute %label = %priceTo. " + _ROW_ID
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
INVALID_DATE = "Invalid date"
PRICE_NOT_A_NUMBER = "Please enter a number 0 or greater in this field."
_ROW_KEYS = ("SKU", "storeId", "priceFrom", "priceTo")


#: The product attributes a special-price row is made of, by the row's member names.
SPECIAL_ATTRIBUTES = {
    "price": "special_price",
    "price_from": "special_from_date",
    "price_to": "special_to_date",
}


class PriceData:
    """The special price of every product: the one place the emulator keeps it.

    Open Source has no special-price table: a (lower-case SKU, store id) row is what that store
    holds of the attributes ``special_price`` (``price``), ``special_from_date`` (``price_from``)
    and ``special_to_date`` (``price_to``), each None when the store has no value. The
    special-price API, the product save and read, and the import all use these rows.
    Base prices live on the product itself.
    """

    def __init__(self) -> None:
        self.special: dict[tuple[str, int], dict[str, Any]] = {}

    def clear(self) -> None:
        self.special = {}

    def to_json(self) -> dict[str, Any]:
        return {"special": list(self.special.values())}

    def load_json(self, data: Any) -> None:
        self.clear()
        for row in data.get("special", []):
            self.special[(sku_key(row["sku"]), int(row["store_id"]))] = row

    def special_prices(self) -> list[dict[str, Any]]:
        """Copies of every row that has any of the three values, for assertions."""
        return [copy.deepcopy(row) for row in self.special.values()]

    def save(self, sku: str, store_id: int, row: dict[str, Any]) -> None:
        """Upsert as ``SpecialPrice::update``: the price, and each date only when given."""
        values: dict[str, Any] = {"price": float(row["price"])}
        values |= {name: row[name] for name in ("price_from", "price_to") if row.get(name)}
        self.write(sku, [store_id], values)

    def write(self, sku: str, store_ids: list[int], values: dict[str, Any]) -> None:
        """Set each given member at each store; None removes that store's value."""
        for store_id in store_ids:
            key = (sku_key(sku), store_id)
            empty = {"price": None, "store_id": store_id, "sku": sku}
            held = self.special.setdefault(key, empty | {"price_from": None, "price_to": None})
            held.update(values)
            if all(held[name] is None for name in SPECIAL_ATTRIBUTES):
                del self.special[key]

    def delete(self, sku: str, store_id: int) -> bool:
        """``SpecialPrice::delete``: the price and both dates of that store go; whether any did."""
        return self.special.pop((sku_key(sku), store_id), None) is not None

    def forget(self, sku: str) -> None:
        """A deleted product's values go with it (the EAV rows cascade)."""
        for key in [key for key in self.special if key[0] == sku_key(sku)]:
            del self.special[key]

    def attributes(self, sku: str, store_id: int) -> list[dict[str, Any]]:
        """The three attributes as a product read at ``store_id`` shows them.

        Each attribute on its own: the store's value, else store 0's (EAV's fallback). The
        price reads as its ``decimal(20,6)`` column prints, the dates as ``datetime`` values.
        """
        at_store = self.special.get((sku_key(sku), store_id), {})
        default = self.special.get((sku_key(sku), 0), {})
        shown = []
        for name, code in SPECIAL_ATTRIBUTES.items():
            value = at_store.get(name) if at_store.get(name) is not None else default.get(name)
            if value is not None:
                text = f"{float(value):.6f}" if name == "price" else str(value)
                shown.append({"attribute_code": code, "value": text})
        return shown

    def read(self, sku: str, asked_as: str) -> list[dict[str, Any]]:
        """``SpecialPrice::get`` for one product: each store's price left-joined with the dates
        of *every* store (the join has no store condition), under the SKU as it was asked for."""
        held = [row for (key, _), row in self.special.items() if key == sku_key(sku)]
        starts = [r["price_from"] for r in held if r["price_from"] is not None] or [None]
        ends = [r["price_to"] for r in held if r["price_to"] is not None] or [None]
        return [
            {"price": row["price"], "store_id": row["store_id"], "sku": asked_as,
             "price_from": start, "price_to": end}
            for row in held
            if row["price"] is not None
            for start in starts
            for end in ends
        ]  # fmt: skip


def special_value(name: str, value: Any) -> str | float | None:
    """A special-price attribute as a product save stores it: None (delete) when empty, the
    price as a number, a date as ``Datetime::formatDate`` makes it (``Y-m-d H:i:s``).

    Raises:
        MagentoError: 400 for a price that is not a number >= 0 or a date PHP cannot read.
    """
    if value is None or value == "" or value is False:
        return None
    if name == "price":
        price = _price(value)
        if price is None:
            raise MagentoError(400, PRICE_NOT_A_NUMBER)
        return price
    text = str(value).strip()
    try:
        if text.isdigit():  # a Unix timestamp
            return datetime.fromtimestamp(int(text), tz=UTC).strftime(DATE_FORMAT)
        return datetime.fromisoformat(text).strftime(DATE_FORMAT)
    except (ValueError, OverflowError, OSError):
        raise MagentoError(400, INVALID_DATE) from None


def prices_of(store: CatalogStore) -> PriceData:
    """The prices section of a store (registered by the emulator runtime)."""
    section = store.sections[PRICES_SECTION]
    assert isinstance(section, PriceData)
    return section


def _failure(message: str, *parameters: Any) -> dict[str, Any]:
    return {"message": message, "parameters": [str(p) for p in parameters]}


def _special_failure(
    template: str, row_id: tuple[Any, ...], locale: str, first: tuple[str, Any] | None = None
) -> dict[str, Any]:
    """A failure as ``SpecialPriceStorage::addFailedItemPrice`` makes it: the phrase in the
    store's language, rendered with the row's values (``strtr``: the longest placeholder
    first, null as ''); the parameters are those values in order, null kept."""
    from cpsync_emulator.i18n import LOCALES  # i18n imports this module's templates

    args = dict([first] if first else []) | dict(zip(_ROW_KEYS, row_id, strict=True))
    values = {f"%{k}": None if v is None else str(v) for k, v in args.items()}
    longest_first = sorted(values, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in longest_first))
    text = LOCALES.get(locale, {}).get(template, template)
    message = pattern.sub(lambda m: values[m.group(0)] or "", text)
    return {"message": message, "parameters": list(values.values())}


def _row(raw: Any) -> dict[str, Any]:
    return {snake(str(k)): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def _price(value: Any) -> float | None:
    """A valid price (a number >= 0), or None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _store_ids(store: CatalogStore) -> set[int]:
    return {0, *(view.store_id for view in store.topology.views.values())}


def _strict_date(value: Any) -> bool:
    """PHP's ``date('Y-m-d H:i:s', strtotime($v)) === $v``: exactly that format, a real moment."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.strptime(value, DATE_FORMAT).strftime(DATE_FORMAT) == value
    except ValueError:
        return False


# Base prices ------------------------------------------------------------------------------


def save_base_prices(request: RestRequest) -> list[dict[str, Any]]:
    """``POST /V1/products/base-prices``: valid rows saved, failures listed."""
    rows = list_param(request, "prices", PRICES_NOT_ARRAY)
    store = request.emulator.store
    failures: list[dict[str, Any]] = []
    with store.lock:
        stores = _store_ids(store)
        for raw in rows:
            row = _row(raw)
            sku, price = str(row.get("sku") or ""), _price(row.get("price"))
            store_id = row.get("store_id", 0)
            product = store.find_by_sku(sku) if sku else None
            problems = []
            if product is None:
                problems.append(_failure(INVALID_ATTRIBUTE, "SKU", sku))
            if price is None:
                problems.append(_failure(INVALID_ATTRIBUTE, "Price", row.get("price")))
            if not str(store_id).lstrip("-").isdigit() or int(store_id) not in stores:
                problems.append(_failure(BASE_STORE_NOT_FOUND, sku, store_id))
            failures.extend(problems)
            if problems or product is None or price is None:
                continue
            product["price"] = price  # global price scope: store 0 whatever store_id says
            request.emulator.stats.record_write("base_prices.updated")
    return failures


def get_base_prices(request: RestRequest) -> list[dict[str, Any]]:
    """``POST /V1/products/base-prices-information``: unknown SKUs are left out silently."""
    skus = list_param(request, "skus", SKUS_NOT_ARRAY)
    store = request.emulator.store
    answer = []
    with store.lock:
        for sku in skus:
            product = store.find_by_sku(str(sku))
            if product is not None and product.get("price") is not None:
                answer.append({"price": product["price"], "store_id": 0, "sku": product["sku"]})
    return answer


# Special prices ---------------------------------------------------------------------------


def _special_problems(
    row: dict[str, Any], store: CatalogStore, stores: set[int], request: RestRequest
) -> list[dict[str, Any]]:
    """The failures of one row, in ``SpecialPriceStorage::retrieveValidPrices``' order."""
    config = request.emulator.config
    sku = str(row.get("sku") or "")
    store_id = row.get("store_id")  # left out: null, so no store (and not store 0)
    price_from, price_to = row.get("price_from") or None, row.get("price_to") or None
    row_id = (row.get("sku"), store_id, price_from, price_to)
    known_store = str(store_id).lstrip("-").isdigit() and int(str(store_id)) in stores
    checks: list[tuple[bool, str, tuple[str, Any] | None]] = [
        (not sku or store.find_by_sku(sku) is None, SPECIAL_PRODUCT_NOT_FOUND, None),
        (config.price_scope == "global" and str(store_id) != "0", SPECIAL_NOT_GLOBAL, None),
        (not known_store, SPECIAL_STORE_NOT_FOUND, None),
        (_price(row.get("price")) is None, SPECIAL_INVALID_PRICE, ("price", row.get("price"))),
        (bool(price_from) and not _strict_date(price_from), SPECIAL_INVALID_DATE,
         ("label", "Price From")),
        (bool(price_to) and not _strict_date(price_to), SPECIAL_INVALID_DATE,
         ("label", "Price To")),
    ]  # fmt: skip
    return [
        _special_failure(template, row_id, config.locale, first)
        for failed, template, first in checks
        if failed
    ]


def _copied_to_website(request: RestRequest, rows: list[Any]) -> list[dict[str, Any]]:
    """The rows after ``SpecialPriceStoragePlugin::aroundUpdate`` (2025, REST only): each row of
    a store view is followed by a copy for every other store view of its website.

    Raises:
        MagentoError: 404 when a row names a store that does not exist (``getStore`` throws
            before any check runs).
    """
    topology = request.emulator.store.topology
    copied: list[dict[str, Any]] = []
    for raw in rows:
        row = _row(raw)
        copied.append(row)
        store_id = row.get("store_id")
        if str(store_id or 0) == "0":  # PHP's == 0: null, 0 and "0" are the default store
            continue
        view = next((v for v in topology.views.values() if str(v.store_id) == str(store_id)), None)
        if view is None:
            raise MagentoError(404, STORE_NOT_FOUND)
        siblings = topology.store_ids([view.website_id])
        copied += [row | {"store_id": sid} for sid in siblings if sid != view.store_id]
    return copied


def _checked_special_rows(
    request: RestRequest, store: CatalogStore, rows: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The special-price rows that pass Magento's checks, and the failures of the others.

    Called under the store lock: the checks read the catalog.
    """
    stores = _store_ids(store)
    valid: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for raw in rows:
        row = _row(raw)
        problems = _special_problems(row, store, stores, request)
        failures.extend(problems)
        if not problems:
            valid.append(row)
    return valid, failures


def save_special_prices(request: RestRequest) -> list[dict[str, Any]]:
    """``POST /V1/products/special-price``: upserts the price and the dates it is given."""
    store = request.emulator.store
    sent = list_param(request, "prices", PRICES_NOT_ARRAY)
    with store.lock:
        if request.emulator.config.special_price_website_copy:
            sent = _copied_to_website(request, sent)
        rows, failures = _checked_special_rows(request, store, sent)
        data = prices_of(store)
        for row in rows:
            product = store.find_by_sku(str(row["sku"]))
            assert product is not None
            data.save(product["sku"], int(row["store_id"]), row)
            request.emulator.stats.record_write("special_prices.updated")
    return failures


def get_special_prices(request: RestRequest) -> list[dict[str, Any]]:
    """``POST /V1/products/special-price-information``: every store's row of the known SKUs."""
    skus = list_param(request, "skus", SKUS_NOT_ARRAY)
    store = request.emulator.store
    answer: list[dict[str, Any]] = []
    with store.lock:
        data = prices_of(store)
        asked = {sku_key(str(sku)): str(sku) for sku in reversed(skus)}  # first spelling wins
        for sku in asked.values():
            product = store.find_by_sku(sku)
            if product is not None:
                answer += data.read(product["sku"], sku)
    return answer


def delete_special_prices(request: RestRequest) -> list[dict[str, Any]]:
    """``POST /V1/products/special-price-delete``: by SKU and store only; price and dates go."""
    store = request.emulator.store
    sent = list_param(request, "prices", PRICES_NOT_ARRAY)
    with store.lock:
        rows, failures = _checked_special_rows(request, store, sent)
        data = prices_of(store)
        for row in rows:
            if data.delete(str(row["sku"]), int(row["store_id"])):
                request.emulator.stats.record_write("special_prices.deleted")
    return failures


def routes() -> list[Route]:
    """The price routes of ``Magento/Catalog/etc/webapi.xml`` this emulator serves."""
    acl = PRICES_RESOURCE
    return [
        Route(
            "POST",
            "/V1/products/base-prices",
            "prices.base.save",
            save_base_prices,
            acl,
            arrays={"prices": BASE_PRICE_TYPE},
            service="Magento\\Catalog\\Api\\BasePriceStorageInterface::update",
            body=("prices",),
        ),
        Route(
            "POST",
            "/V1/products/base-prices-information",
            "prices.base.get",
            get_base_prices,
            acl,
        ),
        Route(
            "POST",
            "/V1/products/special-price",
            "prices.special.save",
            save_special_prices,
            acl,
            arrays={"prices": SPECIAL_PRICE_TYPE},
            service="Magento\\Catalog\\Api\\SpecialPriceStorageInterface::update",
            body=("prices",),
        ),
        Route(
            "POST",
            "/V1/products/special-price-information",
            "prices.special.get",
            get_special_prices,
            acl,
        ),
        Route(
            "POST",
            "/V1/products/special-price-delete",
            "prices.special.delete",
            delete_special_prices,
            acl,
            arrays={"prices": SPECIAL_PRICE_TYPE},
            service="Magento\\Catalog\\Api\\SpecialPriceStorageInterface::delete",
            body=("prices",),
        ),
    ]
