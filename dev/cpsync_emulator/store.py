"""In-memory catalog state: products by id, a case-insensitive SKU index, url_key per store.

Products are kept in their wire shape (the JSON a GET returns), so a test can assert on
``handle.store.products_by_sku()`` exactly what a client would read. Handlers run in the
server's event loop while tests read from their own thread, hence one re-entrant lock.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cpsync_emulator.category_data import CategoryTree

__all__ = [
    "ADMIN_VIEW",
    "CatalogStore",
    "StoreSection",
    "StoreView",
    "Topology",
    "sku_key",
    "url_key_of",
]

STATE_FORMAT = "cpsync-emulator-catalog"
STATE_VERSION = 1


@dataclass(frozen=True)
class StoreView:
    """One store scope a request can run in; store 0 is the admin scope (``/rest/all/``)."""

    code: str
    store_id: int
    website_id: int

    @property
    def is_admin(self) -> bool:
        """True for ``/rest/all/``: saves assign new products to every website.

        See docs/reference/magento.md#product-save.
        """
        return self.store_id == 0


ADMIN_VIEW = StoreView(code="admin", store_id=0, website_id=0)


class Topology:
    """One website (id 1) holding every configured store view; ``default`` is its default view."""

    WEBSITE_ID = 1

    def __init__(self, store_codes: list[str]) -> None:
        self.views = {
            code: StoreView(code=code, store_id=index + 1, website_id=self.WEBSITE_ID)
            for index, code in enumerate(store_codes)
        }
        self.default_view = self.views["default"]

    def resolve(self, segment: str) -> StoreView | None:
        """The scope named by the path segment after ``/rest/``, or None if it is no store."""
        if segment == "all":
            return ADMIN_VIEW
        return self.views.get(segment)

    @property
    def website_ids(self) -> list[int]:
        """Every website id ("all websites" for an admin-scope save)."""
        return [self.WEBSITE_ID]

    def store_ids(self, website_ids: list[int]) -> list[int]:
        """Store view ids of the given websites (where a product's URL rewrites live)."""
        return [view.store_id for view in self.views.values() if view.website_id in website_ids]


def sku_key(sku: str) -> str:
    """Index key of a SKU: Magento looks SKUs up trimmed and case-insensitively.

    See docs/reference/magento.md#product-save.
    """
    return sku.strip().lower()


def url_key_of(product: dict[str, Any]) -> str | None:
    """The product's ``url_key`` custom attribute, if any."""
    for attribute in product.get("custom_attributes", []):
        if attribute.get("attribute_code") == "url_key":
            value = attribute.get("value")
            return value if isinstance(value, str) and value else None
    return None


class StoreSection(Protocol):
    """State of one API area beside the products (inventory, prices...): reset and saved with them.

    Sections are guarded by :attr:`CatalogStore.lock` like the products.
    """

    def clear(self) -> None: ...

    def to_json(self) -> Any: ...

    def load_json(self, data: Any) -> None: ...


class CatalogStore:
    """Products and their indexes; every public method is safe to call from any thread."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.lock = threading.RLock()
        self.products: dict[int, dict[str, Any]] = {}
        self._by_sku: dict[str, int] = {}
        self._url_keys: dict[tuple[int, str], int] = {}
        self._next_id = 1
        # The category tree (docs/reference/magento.md#categories); its product links live in the
        # products themselves.
        self.categories = CategoryTree()
        self.sections: dict[str, StoreSection] = {}

    def add_section(self, name: str, section: StoreSection) -> None:
        """Register an area's state so reset, save and load cover it."""
        with self.lock:
            self.sections[name] = section

    # Reads -------------------------------------------------------------------------------

    def find_by_sku(self, sku: str) -> dict[str, Any] | None:
        """The stored product (not a copy) for a SKU, case-insensitive and trimmed."""
        with self.lock:
            product_id = self._by_sku.get(sku_key(sku))
            return None if product_id is None else self.products[product_id]

    def iter_products(self) -> Iterator[dict[str, Any]]:
        """Stored products in id order (a snapshot list, safe against concurrent saves)."""
        with self.lock:
            items = [self.products[pid] for pid in sorted(self.products)]
        return iter(items)

    def url_key_owner(self, store_id: int, url_key: str) -> int | None:
        """Id of the product holding ``url_key`` in a store view, if any."""
        with self.lock:
            return self._url_keys.get((store_id, url_key))

    def url_key_conflict(self, product: dict[str, Any]) -> bool:
        """True if another product already uses this product's url_key in one of its stores."""
        url_key = url_key_of(product)
        if url_key is None:
            return False
        with self.lock:
            for store_id in self._store_ids(product):
                owner = self._url_keys.get((store_id, url_key))
                if owner is not None and owner != product["id"]:
                    return True
        return False

    def products_by_sku(self) -> dict[str, dict[str, Any]]:
        """Every product as ``{sku: product JSON}`` (deep copies), for test assertions."""
        with self.lock:
            return {p["sku"]: copy.deepcopy(p) for p in self.iter_products()}

    # Writes ------------------------------------------------------------------------------

    @property
    def next_id(self) -> int:
        """The id the next new product gets; :meth:`put_product` moves it on (never reused)."""
        with self.lock:
            return self._next_id

    def put_product(self, product: dict[str, Any]) -> None:
        """Insert or replace a product by id and refresh its SKU and url_key index entries."""
        with self.lock:
            old = self.products.get(product["id"])
            if old is not None:
                self._unindex(old)
            self.products[product["id"]] = product
            self._index(product)
            self._next_id = max(self._next_id, product["id"] + 1)

    def delete_product(self, product_id: int) -> None:
        """Remove a product and its index entries."""
        with self.lock:
            product = self.products.pop(product_id)
            self._unindex(product)

    def clear(self) -> None:
        """Empty the catalog (``POST /__emulator/reset``); ids start again at 1."""
        with self.lock:
            self.products.clear()
            self._by_sku.clear()
            self._url_keys.clear()
            self._next_id = 1
            self.categories.clear()
            for section in self.sections.values():
                section.clear()

    # Persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The whole catalog as one JSON document."""
        with self.lock:
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "next_id": self._next_id,
                "products": [copy.deepcopy(p) for p in self.iter_products()],
                "categories": self.categories.to_json(),
                "sections": {name: s.to_json() for name, s in self.sections.items()},
            }

    def load_json(self, data: dict[str, Any]) -> None:
        """Replace the catalog with a document written by :meth:`to_json`.

        Raises:
            ValueError: the document is not an emulator catalog of a known version.
        """
        if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise ValueError("not an emulator catalog file of a supported version")
        with self.lock:
            self.clear()
            for product in data.get("products", []):
                self.put_product(product)
            self._next_id = max(self._next_id, int(data.get("next_id", 1)))
            self.categories.load_json(data.get("categories"))
            for name, section_data in (data.get("sections") or {}).items():
                if name in self.sections:
                    self.sections[name].load_json(section_data)

    def save(self, path: Path) -> None:
        """Write the catalog atomically (temp file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=False), encoding="utf-8")
        temp.replace(path)

    def load(self, path: Path) -> None:
        """Read a catalog file written by :meth:`save`."""
        self.load_json(json.loads(path.read_text(encoding="utf-8")))

    # Indexes -----------------------------------------------------------------------------

    def _store_ids(self, product: dict[str, Any]) -> list[int]:
        website_ids = product.get("extension_attributes", {}).get("website_ids", [])
        return self.topology.store_ids(website_ids)

    def _index(self, product: dict[str, Any]) -> None:
        self._by_sku[sku_key(product["sku"])] = product["id"]
        url_key = url_key_of(product)
        if url_key is not None:
            for store_id in self._store_ids(product):
                self._url_keys[(store_id, url_key)] = product["id"]

    def _unindex(self, product: dict[str, Any]) -> None:
        if self._by_sku.get(sku_key(product["sku"])) == product["id"]:
            del self._by_sku[sku_key(product["sku"])]
        url_key = url_key_of(product)
        if url_key is not None:
            for store_id in self._store_ids(product):
                if self._url_keys.get((store_id, url_key)) == product["id"]:
                    del self._url_keys[(store_id, url_key)]
