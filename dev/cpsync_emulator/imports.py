"""Magento's import over REST: ``POST /V1/import/json`` and ``POST /V1/import/csv``.

Module ``Magento_ImportCsvApi`` (``StartImportInterface::execute``, implemented by
``Magento\\ImportCsv\\Model\\StartImport``). The body is ``{"source": {...}}`` with ``entity``,
``behavior``, ``validation_strategy``, ``allowed_error_count`` and either ``items`` (a list of
row objects, JSON route) or ``csv_data`` (base64 of a CSV file, optionally gzip, CSV route).

The answer is a list of strings, as Magento's ``execute()`` returns it:

- ``["Entities Processed: N"]`` when nothing went wrong;
- ``["Maximum error count has been reached or system error is occurred!"]`` when any row
  was invalid. Magento's ``processValidationResult()`` takes its error list by value, so the
  row messages never reach the answer; the valid rows are imported all the same (all of them
  with ``validation-skip-errors``, those before the error limit with
  ``validation-stop-on-errors``). A client must read back what it imported.
- a store that reports the rows (``import_row_errors``, a patched StartImport) adds one line
  per message: ``<message> in row(s): 2, 5`` (row numbers from 1, as the Admin prints them).

Image columns (``base_image``, ``small_image``, ``thumbnail_image``, ``swatch_image``,
``additional_images``) take URLs the emulator downloads into the gallery. As Magento's import
uploader does, a download is stored under the URL's last path segment with ``_`` and 16
random letters and digits before the extension, lower-cased (``front.png`` ->
``/f/r/front_38gcempfkxxr8nmj.png``): ``CatalogImportExport\\Model\\Import\\Uploader::
downloadFileFromUrl`` names its temporary file so, and ``save()`` keeps that name. A name
then longer than 90 characters is refused (``File\\Uploader::getCorrectFileName``), which the
import reports as an image it could not download.

Entities ``catalog_product`` and ``stock_sources`` (import_sources; config ``import_entities``
leaves one out, as a store without its module); another entity answers ``Please enter a
correct entity model.`` (what Magento says for an entity it has no adapter for). Behaviors
``append`` (create or update by SKU) and ``replace`` (delete the SKU, then create it anew with
a new id).

A row becomes a product through the same rules as ``POST /V1/products`` (product_data), so an
imported product and a saved one are the same record. Row validation uses the messages of
``CatalogImportExport\\Model\\Import\\Product::$_messageTemplates``.

Endpoint names: ``import.json``, ``import.csv``; ACL ``Magento_ImportExport::import``. The
``import_api`` config switch leaves the routes out (404, as a store without the module).
"""

from __future__ import annotations

import base64
import binascii
import copy
import csv
import gzip
import io
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from cpsync_emulator import configurable, import_sources
from cpsync_emulator.errors import MagentoError
from cpsync_emulator.media import apply_saved_gallery
from cpsync_emulator.prices import prices_of
from cpsync_emulator.product_data import build_product, format_url_key
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.store import CatalogStore, sku_key, url_key_of

__all__ = ["IMPORT_RESOURCE", "import_rows", "routes"]

IMPORT_RESOURCE = "Magento_ImportExport::import"
TERMINATED = "Maximum error count has been reached or system error is occurred!"
WRONG_ENTITY = "Please enter a correct entity model."
NOT_UPLOADED = "Sorry, but the data is invalid or the file is not uploaded."
STRATEGY_NOT_FOUND = "ImportExport: Import Data validation - Validation strategy not found"
STRATEGIES = ("validation-stop-on-errors", "validation-skip-errors")
BEHAVIORS = ("append", "replace")
#: The entities served: products, and MSI source items (import_sources); advanced_pricing
#: (tier prices only) is not, as nothing cpsync writes is a tier price.
ENTITIES = ("catalog_product", import_sources.ENTITY)

SKU_EMPTY = "SKU is empty"
INVALID_TYPE = "Product Type is invalid or not supported"
INVALID_ATTR_SET = "Invalid value for Attribute Set column (set doesn't exist?)"
INVALID_WEBSITE = "Invalid value in Website column (website does not exist?)"
VALUE_REQUIRED = 'Please make sure attribute "%s" is not empty.'
INVALID_VALUE = "Value for '%s' attribute contains incorrect value"
INVALID_OPTION = (
    "Value for '%s' attribute contains incorrect value, see acceptable values on settings "
    "specified for Admin"
)
INVALID_WEIGHT = "Product weight is invalid"
DUPLICATE_URL_KEY = (
    "Url key: '%s' was already generated for an item with the SKU: '%s'. You need to specify "
    "the unique URL key manually"
)
SUPER_NOT_FOUND = "Product with specified super products SKU not found"

VISIBILITY = {
    "not visible individually": 1,
    "catalog": 2,
    "search": 3,
    "catalog, search": 4,
}
TAX_CLASSES = {"none": 0, "taxable goods": 2}
ATTRIBUTE_SETS = {"default": 4}
TYPES = ("simple", "configurable")


def _source(request: RestRequest) -> dict[str, Any]:
    source = request.body_param("source")
    if not isinstance(source, dict):
        raise MagentoError(400, '"%fieldName" is required', {"fieldName": "source"})
    return source


def _csv_rows(data: Any) -> list[dict[str, str]]:
    """Rows of a base64 (optionally gzip) CSV file.

    Raises:
        ValueError: not base64, not gzip nor UTF-8 text.
    """
    raw = base64.b64decode(str(data), validate=True)
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def import_rows(body: Any) -> int:
    """Rows a request carries (for the per-row cost), 1 when it cannot be read."""
    source = body.get("source") if isinstance(body, dict) else None
    if not isinstance(source, dict):
        return 1
    if isinstance(source.get("items"), list):
        return max(1, len(source["items"]))
    try:
        return max(1, len(_csv_rows(source.get("csv_data", ""))))
    except (ValueError, binascii.Error, OSError):
        return 1


@dataclass
class _Run:
    """One import: what the rows are, which failed and why."""

    request: RestRequest
    behavior: str
    rows: list[dict[str, Any]]
    errors: dict[str, list[int]] = field(default_factory=dict)
    bad_rows: set[int] = field(default_factory=set)
    next_option_id: int | None = None  # configurable option ids, found once per import

    def error(self, row: int, message: str) -> None:
        self.errors.setdefault(message, []).append(row + 1)
        self.bad_rows.add(row)


#: Import column -> special-price row member (the attribute, per ``Import\Product::$_fieldsMap``).
SPECIAL_COLUMNS = {
    "special_price": "price",  # special_price
    "special_price_from_date": "price_from",  # special_from_date
    "special_price_to_date": "price_to",  # special_to_date
}


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value).strip()


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number >= 0 else None


def _pairs(text: str) -> dict[str, str]:
    """``code=value,code=value`` (additional_attributes, one configurable variation)."""
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            code, value = part.split("=", 1)
            pairs[code.strip()] = value.strip()
    return pairs


def _category_path(request: RestRequest, path: str) -> int:
    """The id of a ``Default Category/A/B`` path, creating what is missing (as Magento does)."""
    tree = request.emulator.store.categories
    names = [n for n in path.split("/") if n]
    parent: dict[str, Any] | None = None
    for depth, name in enumerate(names):
        candidates = (
            [c for c in tree.categories.values() if c["level"] == 1]
            if depth == 0
            else tree.children(parent["id"] if parent else 0)
        )
        found = next((c for c in candidates if c["name"] == name), None)
        if found is None:
            if parent is None:
                raise KeyError(path)
            found = tree.new(parent, {"name": name, "is_active": True}, request.emulator.now())
            tree.put(found)
        parent = found
    if parent is None:
        raise KeyError(path)
    return int(parent["id"])


class _Rows:
    """Validate rows and turn each valid one into a REST product body."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.emulator = run.request.emulator
        self.url_keys: dict[str, str] = {}  # url key -> sku, within the file
        self.file_skus = {sku_key(_text(r, "sku")) for r in run.rows if _text(r, "sku")}

    def check(self, index: int, row: dict[str, Any]) -> None:
        """Record every problem of one row (Magento reports them all)."""
        run = self.run
        sku = _text(row, "sku")
        if not sku:
            run.error(index, SKU_EMPTY)
            return
        existing = self.emulator.store.find_by_sku(sku)
        creating = existing is None or run.behavior == "replace"
        kind = _text(row, "product_type") or ("" if creating else existing["type_id"])
        if kind not in TYPES:
            run.error(index, INVALID_TYPE)
        set_code = _text(row, "attribute_set_code")
        if (creating or set_code) and set_code.lower() not in ATTRIBUTE_SETS:
            run.error(index, INVALID_ATTR_SET)
        websites = [w for w in _text(row, "product_websites").split(",") if w.strip()]
        if any(w.strip() != "base" for w in websites):
            run.error(index, INVALID_WEBSITE)
        if creating and not _text(row, "name"):
            run.error(index, VALUE_REQUIRED % "name")
        if creating and kind == "simple" and not _text(row, "price"):
            run.error(index, VALUE_REQUIRED % "price")
        for column in ("price", "special_price", "qty"):
            if _text(row, column) and _number(_text(row, column)) is None:
                run.error(index, INVALID_VALUE % column)
        if _text(row, "weight") and _number(_text(row, "weight")) is None:
            run.error(index, INVALID_WEIGHT)
        visibility = _text(row, "visibility")
        if visibility and visibility.lower() not in VISIBILITY:
            run.error(index, INVALID_OPTION % "visibility")
        for code, value in _pairs(_text(row, "additional_attributes")).items():
            if not self._option_id(code, value):
                run.error(index, INVALID_OPTION % code)
        self._check_url_key(index, row, sku)
        for variation in filter(None, _text(row, "configurable_variations").split("|")):
            child = _pairs(variation).get("sku", "")
            if not child or (
                self.emulator.store.find_by_sku(child) is None
                and sku_key(child) not in self.file_skus
            ):
                run.error(index, SUPER_NOT_FOUND)
                break

    def _check_url_key(self, index: int, row: dict[str, Any], sku: str) -> None:
        url_key = format_url_key(_text(row, "url_key"))
        if not url_key:
            return
        owner = self.url_keys.setdefault(url_key.lower(), sku)
        if sku_key(owner) != sku_key(sku):
            self.run.error(index, DUPLICATE_URL_KEY % (url_key, owner))
            return
        store = self.emulator.store
        for store_id in store.topology.store_ids(store.topology.website_ids):
            owner_id = store.url_key_owner(store_id, url_key)
            product = store.products.get(owner_id) if owner_id is not None else None
            if product is not None and sku_key(product["sku"]) != sku_key(sku):
                self.run.error(index, DUPLICATE_URL_KEY % (url_key, product["sku"]))
                return

    def _option_id(self, code: str, label: str) -> str | None:
        try:
            attribute = self.emulator.attributes.get(code)
        except MagentoError:
            return None
        for option in attribute.get("options", []):
            if str(option.get("label", "")).lower() == label.lower() and option.get("value"):
                return str(option["value"])
        return None

    def body(self, row: dict[str, Any]) -> dict[str, Any]:
        """The ``product`` body a ``POST /V1/products`` would carry for this row."""
        product: dict[str, Any] = {"sku": _text(row, "sku")}
        custom: list[dict[str, Any]] = []
        extension: dict[str, Any] = {}
        if name := _text(row, "name"):
            product["name"] = name
        if kind := _text(row, "product_type"):
            product["type_id"] = kind
        if set_code := _text(row, "attribute_set_code"):
            product["attribute_set_id"] = ATTRIBUTE_SETS[set_code.lower()]
        if online := _text(row, "product_online"):
            product["status"] = 1 if online in ("1", "yes") else 2
        if visibility := _text(row, "visibility"):
            product["visibility"] = VISIBILITY[visibility.lower()]
        for column in ("price", "weight"):
            if value := _text(row, column):
                product[column] = float(value)
        for code in ("description", "short_description", "url_key"):
            if value := _text(row, code):
                custom.append({"attribute_code": code, "value": value})
        if tax := _text(row, "tax_class_name"):
            custom.append({"attribute_code": "tax_class_id", "value": str(self._tax_class(tax))})
        for code, label in _pairs(_text(row, "additional_attributes")).items():
            custom.append({"attribute_code": code, "value": self._option_id(code, label)})
        if custom:
            product["custom_attributes"] = custom
        if _text(row, "qty") or _text(row, "is_in_stock"):
            stock: dict[str, Any] = {}
            if qty := _text(row, "qty"):
                stock["qty"] = float(qty)
            if in_stock := _text(row, "is_in_stock"):
                stock["is_in_stock"] = in_stock == "1"
            extension["stock_item"] = stock
        if categories := _text(row, "categories"):
            ids = [_category_path(self.run.request, p) for p in categories.split(",") if p]
            extension["category_links"] = [
                {"position": 0, "category_id": str(i)} for i in dict.fromkeys(ids)
            ]
        if variations := _text(row, "configurable_variations"):
            extension.update(self._variations(row, variations))
        if extension:
            product["extension_attributes"] = extension
        return product

    def _tax_class(self, name: str) -> int:
        """A tax class id by name; an unknown name gets a new class (Magento's upsert)."""
        return TAX_CLASSES.setdefault(name.lower(), max(TAX_CLASSES.values()) + 1)

    def _variations(self, row: dict[str, Any], text: str) -> dict[str, Any]:
        """Options (in order of first appearance) and child links of a configurable row."""
        labels = _pairs(_text(row, "configurable_variation_labels"))
        values: dict[str, list[str]] = {}
        children: list[int] = []
        for variation in filter(None, text.split("|")):
            pairs = _pairs(variation)
            child = self.emulator.store.find_by_sku(pairs.pop("sku"))
            assert child is not None  # checked, and children come first
            children.append(int(child["id"]))
            for code, label in pairs.items():
                option_id = self._option_id(code, label)
                if option_id is not None and option_id not in values.setdefault(code, []):
                    values[code].append(option_id)
        options = [
            {
                "attribute_id": str(self.emulator.attributes.get(code)["attribute_id"]),
                "label": labels.get(code, code),
                "position": position,
                "values": [{"value_index": int(v)} for v in ids],
            }
            for position, (code, ids) in enumerate(values.items())
        ]
        return {"configurable_product_options": options, "configurable_product_links": children}


IMAGE_ROLES = {
    "base_image": "image",
    "small_image": "small_image",
    "thumbnail_image": "thumbnail",
    "swatch_image": "swatch_image",
}
URL_NOT_ACCESSIBLE = (
    "Imported resource (image) could not be downloaded from external resource due to timeout "
    "or access permissions"
)


DISALLOWED_FILE_TYPE = "Disallowed file type."
#: File\Uploader::getCorrectFileName: "Filename is too long; must be 90 characters or less".
MAX_FILE_NAME = 90
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "gif", "png"})  # the import uploader's own list

_client: httpx.Client | None = None


def _downloader() -> httpx.Client:
    """One keep-alive client for every download (a new connection per image is slow)."""
    global _client
    if _client is None:
        _client = httpx.Client(timeout=10.0, follow_redirects=True)
    return _client


def _random_suffix() -> str:
    """What the import uploader adds to a downloaded file's name (Random::getRandomString(16))."""
    letters = string.ascii_letters + string.digits
    return "".join(secrets.choice(letters) for _ in range(16))


def _images(run: _Run, index: int, row: dict[str, Any]) -> list[dict[str, Any]]:
    """New gallery entries of a row's image URLs, fetched over HTTP (as Magento downloads them).

    The fetch blocks the server's loop for its duration: fine for an emulator, whose image
    hosts are test servers. A URL that cannot be fetched is a row error; the product is still
    written, without that image (as Magento's import does).
    """
    urls = [u.strip() for u in _text(row, "additional_images").split(",") if u.strip()]
    roles: dict[str, list[str]] = {}
    for column, role in IMAGE_ROLES.items():
        if url := _text(row, column):
            roles.setdefault(url, []).append(role)
            if url not in urls:
                urls.insert(0, url)
    entries: list[dict[str, Any]] = []
    for position, url in enumerate(urls, start=1):
        # Magento names the file from the URL path's last segment and keeps only the
        # extensions its uploader allows (Uploader::downloadFileFromUrl, _validateFile).
        name = re.sub(r"[^a-z0-9._-]+", "", urlsplit(url).path.rsplit("/", 1)[-1], flags=re.I)
        extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
        if extension not in IMAGE_EXTENSIONS:
            run.error(index, DISALLOWED_FILE_TYPE)
            continue
        try:
            answer = _downloader().get(url)
            answer.raise_for_status()
        except httpx.HTTPError:
            run.error(index, URL_NOT_ACCESSIBLE)
            continue
        stem = name.rsplit(".", 1)[0]
        name = f"{stem}_{_random_suffix()}.{extension}".lower()
        if len(name) > MAX_FILE_NAME:  # save() refuses it; uploadMediaFiles() catches all
            run.error(index, URL_NOT_ACCESSIBLE)
            continue
        mime = answer.headers.get("content-type", "image/jpeg").split(";")[0].strip()
        entries.append(
            {
                "media_type": "image",
                "label": "",  # no *_image_label column: Magento stores an empty label
                "position": position,
                "disabled": False,
                "types": roles.get(url, []),
                "content": {
                    "base64_encoded_data": base64.b64encode(answer.content).decode("ascii"),
                    "type": mime,
                    "name": name,
                },
            }
        )
    return entries


def _save(run: _Run, rows: _Rows, index: int, row: dict[str, Any]) -> None:
    """Write one valid row as ``POST /V1/products`` would (replace: delete first)."""
    emulator = run.request.emulator
    store = emulator.store
    body = rows.body(row)
    existing = store.find_by_sku(body["sku"])
    replaced = existing if run.behavior == "replace" else None
    if replaced is not None:
        store.delete_product(replaced["id"])
        prices_of(store).forget(replaced["sku"])
        existing = None
    product = build_product(
        body,
        existing,
        product_id=existing["id"] if existing else store.next_id,
        website_ids=store.topology.website_ids,
        now=emulator.now(),
    )
    if store.url_key_conflict(product):  # a url key generated from the name is taken
        run.error(index, DUPLICATE_URL_KEY % (url_key_of(product), product["sku"]))
        if replaced is not None:
            store.put_product(replaced)
        return
    options = product.get("extension_attributes", {}).get("configurable_product_options") or []
    if options and existing is None:
        if run.next_option_id is None:
            run.next_option_id = configurable.next_option_id(run.request)
        for option in options:
            option["id"] = run.next_option_id
            run.next_option_id += 1
    configurable.finish_save(run.request, product)
    images = _images(run, index, row)
    if images:
        kept = [{"id": e["id"]} for e in (existing or {}).get("media_gallery_entries", [])]
        apply_saved_gallery(run.request, product, existing, kept + images)
    store.put_product(product)
    _write_special(store, product["sku"], row)
    emulator.stats.record_write("products.updated" if existing else "products.created")


def _write_special(store: CatalogStore, sku: str, row: dict[str, Any]) -> None:
    """The special-price columns a row fills, at store 0 (an empty one is left as it is)."""
    values = {
        name: float(value) if name == "price" else _import_day(value)
        for column, name in SPECIAL_COLUMNS.items()
        if (value := _text(row, column))
    }
    if values:
        prices_of(store).write(sku, [0], values)


def _import_day(value: str) -> str | None:
    """A special-price date as the import stores it: the day only (`dateAttrCodes`).

    The product import formats `special_from_date` / `special_to_date` without their time
    (docs/reference/magento.md#special-prices), so 23:59:59 comes back as 00:00:00.
    """
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d 00:00:00")
    except ValueError:
        return value


def _start(request: RestRequest, rows: list[dict[str, Any]], source: dict[str, Any]) -> list[str]:
    """Validate, import what may be imported, and answer as StartImport does."""
    entity = str(source.get("entity", ""))
    emulator = request.emulator
    if entity not in ENTITIES or entity not in emulator.config.import_entities:
        return [WRONG_ENTITY]
    behavior = str(source.get("behavior", ""))
    if behavior not in BEHAVIORS:
        return [NOT_UPLOADED]
    run = _Run(request, behavior, rows)
    checker = _Rows(run)
    sources = entity == import_sources.ENTITY
    with emulator.store.lock:
        for index, row in enumerate(rows):
            if not sources:
                checker.check(index, row)
                continue
            for message in import_sources.check_source_row(request, row):
                run.error(index, message)
        strategy = str(source.get("validation_strategy", ""))
        if strategy not in STRATEGIES:
            raise MagentoError(400, STRATEGY_NOT_FOUND)
        try:
            allowed = int(source.get("allowed_error_count") or 0)
        except (TypeError, ValueError):
            allowed = 0
        stop_at = len(rows)
        if strategy == "validation-stop-on-errors" and run.bad_rows:
            # Rows after the error limit is passed are skipped (and never saved).
            errors_seen = 0
            for index in range(len(rows)):
                errors_seen += index in run.bad_rows
                if errors_seen > allowed:
                    stop_at = index
                    break
        valid = [(i, row) for i, row in enumerate(rows[:stop_at]) if i not in run.bad_rows]
        if sources:
            import_sources.save_source_rows(request, [row for _, row in valid], behavior)
        for index, row in [] if sources else valid:
            _save(run, checker, index, copy.deepcopy(row))
    if not run.errors:
        return [f"Entities Processed: {len(rows) if sources else len(checker.file_skus)}"]
    answer = [TERMINATED]
    if emulator.config.import_row_errors:
        answer += [
            f"{message} in row(s): {', '.join(map(str, numbers))}"
            for message, numbers in run.errors.items()
        ]
    return answer


def import_json(request: RestRequest) -> list[str]:
    """``POST /V1/import/json``: rows as objects in ``source.items``."""
    source = _source(request)
    items = source.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return [NOT_UPLOADED]
    return _start(request, items, source)


def import_csv(request: RestRequest) -> list[str]:
    """``POST /V1/import/csv``: a base64 (optionally gzip) CSV file in ``source.csv_data``."""
    source = _source(request)
    try:
        rows = _csv_rows(source.get("csv_data", ""))
    except (ValueError, binascii.Error, OSError):
        return [NOT_UPLOADED]
    return _start(request, rows, source)


def routes() -> list[Route]:
    """The routes of ``Magento/ImportCsvApi/etc/webapi.xml`` (and the JSON route beside it)."""
    return [
        Route(
            "POST",
            "/V1/import/json",
            "import.json",
            import_json,
            IMPORT_RESOURCE,
            count=import_rows,
        ),
        Route(
            "POST", "/V1/import/csv", "import.csv", import_csv, IMPORT_RESOURCE, count=import_rows
        ),
    ]
