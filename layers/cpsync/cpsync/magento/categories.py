"""Magento categories: typed calls over `MagentoClient.request()` and the two writers.

`CategoryWriter` (kind `category`) keeps the Magento tree in step with EC_CATEG:
- Counterpoint ids map to Magento ids in state (`put_magento_ids("category", ...)`); what was
  last written is kept as a document per category, so an update sends only what changed and
  a parent change is one `move` request.
- Parents go before children inside a batch (by depth); a category whose parent is not in
  Magento yet is retried, never parked: the parent may arrive in a later batch.
- A new category goes up with its `position` (DISP_SEQ_NO). A moved one is placed after the
  sibling that precedes it by position; Magento then numbers it `after.position + 1` and
  shifts later siblings, so the order is right though the numbers may differ from DISP_SEQ_NO.
- A category removed in Counterpoint is deactivated (`is_active` false), never deleted.
- A forced change reads the category from Magento first and writes every field, so
  "queue all" repairs hand edits; a category deleted in Magento is created again.
- A create refused because the URL key is taken under that parent adopts the existing
  category with that key (a store set up by hand, or state lost), instead of failing forever.

`CategoryLinksWriter` (kind `category_links`) sets a product's links to exactly its
Counterpoint set with one request per link that differs: `POST /V1/categories/:id/products`
to add, `DELETE .../products/:sku` to remove. The links a product is known to have (set at
its creation or by the last write) are kept as a document, so nothing else is needed; without
one, or for a forced change ("queue all"/"queue item", which repairs edits made in Magento),
one `GET /V1/products/:sku` reads them first. Adding a link that exists is an upsert and
removing one that is gone answers 400 "doesn't contain", taken as done, so a stale document
cannot cause a wrong write. A product save with `extension_attributes.category_links` would
be one request, but stores differ on whether it replaces or merges the links (and it re-saves
the whole product, Magento's slowest call), so it is used only when a product is created.
Links to categories cpsync does not manage (made by hand in Magento) are never removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from cpsync.errors import RetryableError
from cpsync.magento.client import MagentoClient, search_params
from cpsync.magento.errors import MagentoRecordError
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import (
    CategoryLinksState,
    CategoryState,
    Change,
    ConfigurableState,
    Kind,
    ProductState,
)
from cpsync.ports import StatePort

__all__ = [
    "Category",
    "CategoryApi",
    "CategoryLinksWriter",
    "CategoryNode",
    "CategoryProductLink",
    "CategoryWriter",
    "build_category_payload",
    "create_in_categories",
    "current_category_ids",
    "new_product_categories",
    "remember_links",
]

logger = logging.getLogger(__name__)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CategoryNode(_Loose):
    """A node of `GET /V1/categories` (the tree)."""

    id: int
    parent_id: int = 0
    name: str = ""
    is_active: bool = False
    position: int = 0
    level: int = 0
    product_count: int = 0
    children_data: list[CategoryNode] = Field(default_factory=list)


class Category(_Loose):
    """A category entity (`GET /V1/categories/:id`, the answer of a save)."""

    id: int
    parent_id: int = 0
    name: str = ""
    is_active: bool = False
    position: int = 0
    level: int = 0
    path: str = ""
    custom_attributes: list[dict[str, Any]] = Field(default_factory=list)

    def attribute(self, code: str) -> Any:
        """A custom attribute's value, or None."""
        for entry in self.custom_attributes:
            if entry.get("attribute_code") == code:
                return entry.get("value")
        return None


class CategoryProductLink(_Loose):
    """One product in a category (`GET /V1/categories/:id/products`)."""

    sku: str
    position: int = 0
    category_id: str


class CategoryApi:
    """The category endpoints of `Magento/Catalog/etc/webapi.xml`.

    See docs/reference/magento.md#categories.
    """

    def __init__(self, client: MagentoClient) -> None:
        self.client = client

    def tree(self, root_id: int | None = None, depth: int | None = None) -> CategoryNode:
        """`GET /V1/categories`: the tree from `root_id` (the store root when None)."""
        params: dict[str, str] = {}
        if root_id is not None:
            params["rootCategoryId"] = str(root_id)
        if depth is not None:
            params["depth"] = str(depth)
        body = self.client.request("GET", "categories", endpoint="categories.tree", params=params)
        return CategoryNode.model_validate(body)

    def search(
        self, filters: Sequence[Sequence[tuple[str, str, str]]], page_size: int = 100
    ) -> list[Category]:
        """`GET /V1/categories/list`: every match, paged by total_count."""
        found: list[Category] = []
        page = 1
        while True:
            params = search_params(
                filters, page_size=page_size, current_page=page, sort=[("entity_id", "ASC")]
            )
            body = self.client.request(
                "GET", "categories/list", endpoint="categories.list", params=params
            )
            items = body.get("items") or []
            found += [Category.model_validate(item) for item in items]
            if not items or len(found) >= int(body.get("total_count", 0)):
                return found
            page += 1

    def get(self, category_id: int) -> Category | None:
        """`GET /V1/categories/:id`, None when Magento has no such category."""
        try:
            body = self.client.request(
                "GET", f"categories/{category_id}", endpoint="categories.get"
            )
        except MagentoRecordError as exc:
            if exc.status == 404:
                return None
            raise
        return Category.model_validate(body)

    def create(self, category: dict[str, Any]) -> Category:
        """`POST /V1/categories`."""
        body = self.client.request(
            "POST", "categories", endpoint="categories.save", json={"category": category}
        )
        return Category.model_validate(body)

    def update(self, category_id: int, category: dict[str, Any]) -> Category:
        """`PUT /V1/categories/:id` (the path id wins over the body's)."""
        body = self.client.request(
            "PUT",
            f"categories/{category_id}",
            endpoint="categories.save",
            json={"category": {**category, "id": category_id}},
        )
        return Category.model_validate(body)

    def move(self, category_id: int, parent_id: int, after_id: int | None = None) -> None:
        """`PUT /V1/categories/:id/move`; `after_id` None appends.

        See docs/reference/magento.md#categories, #category-move.
        """
        self.client.request(
            "PUT",
            f"categories/{category_id}/move",
            endpoint="categories.move",
            json={"parentId": parent_id, "afterId": after_id},
        )

    def delete(self, category_id: int) -> None:
        """`DELETE /V1/categories/:id` (cpsync itself never deletes; tests and tools do)."""
        self.client.request("DELETE", f"categories/{category_id}", endpoint="categories.delete")

    def products(self, category_id: int) -> list[CategoryProductLink]:
        """`GET /V1/categories/:id/products`."""
        body = self.client.request(
            "GET", f"categories/{category_id}/products", endpoint="categories.products.get"
        )
        return [CategoryProductLink.model_validate(item) for item in body or []]

    def assign(self, category_id: int, sku: str, position: int = 0) -> None:
        """`POST /V1/categories/:id/products`: link a product (an upsert of its position)."""
        link = {"sku": sku, "position": position, "category_id": str(category_id)}
        self.client.request(
            "POST",
            f"categories/{category_id}/products",
            endpoint="categories.products.save",
            json={"productLink": link},
        )

    def unassign(self, category_id: int, sku: str) -> bool:
        """`DELETE /V1/categories/:id/products/:sku`; False when the link was already gone."""
        try:
            self.client.request(
                "DELETE",
                f"categories/{category_id}/products/{quote(sku, safe='')}",
                endpoint="categories.products.delete",
            )
        except MagentoRecordError as exc:
            if exc.status == 400 and "doesn't contain" in exc.magento_message:
                return False
            if exc.status == 404 and "/" in sku and "route" in exc.magento_message:
                raise MagentoRecordError(
                    404,
                    f"{exc.magento_message} The SKU {sku!r} holds '/', sent as %2F, which "
                    "Apache refuses unless the store sets AllowEncodedSlashes NoDecode",
                    "DELETE",
                    f"categories/{category_id}/products",
                ) from exc
            raise
        return True


def _attributes(state: CategoryState, fields: set[str]) -> list[dict[str, Any]]:
    pairs = [("url_key", state.url_key), ("description", state.description)]
    # An emptied description is sent as "" (a null value is refused by some stores).
    return [
        {"attribute_code": code, "value": "" if value is None else value}
        for code, value in pairs
        if code in fields and (value is not None or code == "description")
    ]


#: What the writer compares between the last write and the desired state.
_FIELDS = ("name", "active", "position", "url_key", "description")


def build_category_payload(
    state: CategoryState, fields: Sequence[str] = _FIELDS, parent_id: int | None = None
) -> dict[str, Any]:
    """The `category` object of a save: only `fields` (and `parent_id` on create)."""
    wanted = set(fields)
    category: dict[str, Any] = {}
    if parent_id is not None:
        category["parent_id"] = parent_id
        category["include_in_menu"] = True
    if "name" in wanted and state.name is not None:
        category["name"] = state.name
    if "active" in wanted:
        category["is_active"] = state.active
    if "position" in wanted and state.position is not None:
        category["position"] = state.position
    attributes = _attributes(state, wanted)
    if attributes:
        category["custom_attributes"] = attributes
    return category


def _doc_of(state: CategoryState, parent: int | None) -> dict[str, Any]:
    doc = {name: getattr(state, name) for name in _FIELDS}
    doc["parent"] = parent
    return doc


class CategoryWriter(Writer):
    """Creates, updates, moves and deactivates categories (see the module docstring).

    Args:
        client: The Magento client.
        state: Where Magento ids and the last written fields are kept.
        root_category_id: The Magento category top-level categories go under.
    """

    kind: ClassVar[Kind] = "category"

    def __init__(
        self,
        client: MagentoClient,
        state: StatePort,
        root_category_id: int = 2,
        concurrency: int = 4,
    ) -> None:
        super().__init__(concurrency)
        self.api = CategoryApi(client)
        self.state = state
        self.root_category_id = root_category_id
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._docs: dict[str, dict[str, Any]] = {}

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Create or update categories level by level, so a parent exists before its children.

        A child whose parent is not in Magento yet is retried later, not parked.
        """
        states = {c.key: CategoryState.model_validate(c.payload) for c in changes}
        wanted = set(states) | {s.parent_id for s in states.values() if s.parent_id}
        self._ids = self.state.get_magento_ids("category", wanted)
        # A forced change ("queue all"/"queue item") reads Magento instead of trusting what
        # was last written, so it repairs edits made by hand (and recreates what was deleted).
        forced = {c.key for c in changes if c.force}
        docs = self.state.get_docs("category", list(states))
        self._docs = {key: doc for key, doc in docs.items() if key not in forced}
        outcomes: dict[str, Outcome] = {}
        for depth in sorted({s.depth for s in states.values()}):
            level = [c for c in changes if states[c.key].depth == depth]
            outcomes.update(self.map_records(level, lambda c: self._one(states[c.key])))
        return outcomes

    def _parent_id(self, state: CategoryState) -> int:
        if state.parent_id is None:
            return self.root_category_id
        with self._lock:
            parent = self._ids.get(state.parent_id)
        if parent is None:
            raise RetryableError(
                f"its parent category {state.parent_id} is not in Magento yet; retrying"
            )
        return parent

    def _remember(self, state: CategoryState, magento_id: int, parent: int | None) -> None:
        with self._lock:
            self._ids[state.categ_id] = magento_id
        self.state.put_magento_ids("category", {state.categ_id: magento_id})
        self.state.put_docs("category", {state.categ_id: _doc_of(state, parent)})

    def _one(self, state: CategoryState) -> None:
        magento_id = self._ids.get(state.categ_id)
        if not state.active:
            if magento_id is not None:
                self._deactivate(state, magento_id)
            return
        parent = self._parent_id(state)
        if magento_id is None:
            self._create(state, parent)
            return
        try:
            self._update(state, magento_id, parent)
        except MagentoRecordError as exc:
            if exc.status != 404:
                raise
            logger.warning(
                "category %s: Magento id %s is gone; creating it again", state.categ_id, magento_id
            )
            self._create(state, parent)

    def _deactivate(self, state: CategoryState, magento_id: int) -> None:
        doc = self._docs.get(state.categ_id)
        if doc is not None and doc.get("active") is False:
            return
        try:
            self.api.update(magento_id, {"is_active": False})
        except MagentoRecordError as exc:
            if exc.status != 404:  # deleted in Magento meanwhile: nothing left to hide
                raise
        self.state.put_docs("category", {state.categ_id: {**(doc or {}), "active": False}})

    def _create(self, state: CategoryState, parent: int) -> None:
        try:
            created = self.api.create(build_category_payload(state, parent_id=parent))
        except MagentoRecordError as exc:
            # Magento says "URL key ... already exists" in the store's language: whether a
            # category with this URL key is already there is asked, not read from the text.
            if exc.status != 400:
                raise
            existing = self._adoptable(state, parent)
            if existing is None:
                raise
            logger.info(
                "category %s: adopting Magento category %s with url_key %s",
                state.categ_id,
                existing,
                state.url_key,
            )
            self._update(state, existing, parent, known={"parent": parent})
            return
        self._remember(state, created.id, parent)

    def _adoptable(self, state: CategoryState, parent: int) -> int | None:
        found = self.api.search(
            [[("parent_id", str(parent), "eq")], [("url_key", str(state.url_key), "eq")]]
        )
        return found[0].id if len(found) == 1 else None

    def _update(
        self,
        state: CategoryState,
        magento_id: int,
        parent: int,
        known: dict[str, Any] | None = None,
    ) -> None:
        doc = known if known is not None else self._docs.get(state.categ_id)
        if doc is None:
            current = self.api.get(magento_id)
            if current is None:
                raise MagentoRecordError(404, "no such category", "GET", f"categories/{magento_id}")
            doc = {
                "parent": current.parent_id,
                "name": current.name,
                "active": current.is_active,
                "position": current.position,
                "url_key": current.attribute("url_key"),
                "description": current.attribute("description") or None,
            }
        moved = doc.get("parent") != parent
        changed = [name for name in _FIELDS if doc.get(name, object()) != getattr(state, name)]
        if moved:
            changed = [name for name in changed if name != "position"]
        if changed:
            self.api.update(magento_id, build_category_payload(state, changed))
        if moved:
            self.api.move(magento_id, parent, self._after(magento_id, parent, state.position))
        self._remember(state, magento_id, parent)

    def _after(self, magento_id: int, parent: int, position: int | None) -> int:
        """The sibling to place a moved category after (0: first)."""
        siblings = self.api.tree(parent, depth=1).children_data
        before = [
            s
            for s in siblings
            if s.id != magento_id and (position is None or s.position <= position)
        ]
        return max(before, key=lambda s: (s.position, s.id)).id if before else 0


class CategoryLinksWriter(Writer):
    """Sets each product's category links to exactly its Counterpoint set (module docstring).

    Args:
        client: The Magento client.
        state: Where the Magento ids of categories are kept.
    """

    kind: ClassVar[Kind] = "category_links"

    def __init__(self, client: MagentoClient, state: StatePort, concurrency: int = 4) -> None:
        super().__init__(concurrency)
        self.client = client
        self.api = CategoryApi(client)
        self.state = state

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Bring each product's links to the categories cpsync manages in step with Counterpoint.

        Links to categories cpsync does not manage (made by hand in Magento) are left alone.
        """
        states = {c.key: CategoryLinksState.model_validate(c.payload) for c in changes}
        managed_keys = set(self.state.get_sent("category"))
        managed_keys |= {i for s in states.values() for i in s.category_ids}
        ids = self.state.get_magento_ids("category", managed_keys)
        managed = set(ids.values())
        docs = self.state.get_docs(self.kind, list(states))

        def one(change: Change) -> None:
            known = None if change.force else docs.get(change.key)
            self._one(states[change.key], ids, managed, known)

        return self.map_records(changes, one)

    def _one(
        self,
        state: CategoryLinksState,
        ids: dict[str, int],
        managed: set[int],
        known: dict[str, Any] | None,
    ) -> None:
        missing = [c for c in state.category_ids if c not in ids]
        if missing:
            raise RetryableError(
                f"categories {', '.join(missing)} are not in Magento yet; retrying"
            )
        sku = state.sku
        if known is not None:
            current = {int(i) for i in known.get("categories", [])}
        else:
            product = self.client.get_product(state.sku)
            if product is None:
                if not state.category_ids:
                    return
                raise RetryableError(
                    f"product {state.sku} is not in Magento yet (the Items task creates it "
                    "with its categories); retrying"
                )
            sku = str(product.get("sku") or state.sku)
            current = current_category_ids(product)
        desired = {ids[c] for c in state.category_ids}
        for category_id in sorted(desired - current):
            self.api.assign(category_id, sku)
        removed = (current - desired) & managed
        for category_id in sorted(removed):
            self.api.unassign(category_id, sku)
        remember_links(self.state, state.sku, (current - removed) | desired)


def new_product_categories(
    state: StatePort, products: Sequence[ProductState | ConfigurableState]
) -> dict[str, list[int]]:
    """Magento ids of the categories of new products, by SKU, with one state read per batch.

    Categories not in Magento yet are left out: the Category Items task links them later.
    """
    wanted = sorted({c for p in products for c in p.category_ids})
    known = state.get_magento_ids("category", wanted) if wanted else {}
    return {p.sku: [known[c] for c in p.category_ids if c in known] for p in products}


def create_in_categories(
    client: MagentoClient, payload: dict[str, Any], category_ids: Sequence[int]
) -> tuple[dict[str, Any], list[int]]:
    """Create a product in its categories; the saved product and the categories it got.

    A category deleted in Magento since cpsync created it keeps its id in state, and Magento
    refuses the whole save when a `category_links` entry names a category that is gone (400
    "The product was unable to be saved"). Then each category is looked up once, and the
    product is created in those that exist: the Category Items task deals with the rest.

    Raises:
        MagentoRecordError: the save was refused and every category still exists (or the
            second save was refused too).
    """
    try:
        return client.save_product(payload), list(category_ids)
    except MagentoRecordError as exc:
        if exc.status != 400 or not category_ids:
            raise
        api = CategoryApi(client)
        present = [i for i in category_ids if api.get(i) is not None]
        if len(present) == len(category_ids):
            raise
        missing = sorted(set(category_ids) - set(present))
        logger.warning(
            "product %s: Magento has no category %s any more (deleted in Magento?); "
            "creating it without",
            payload.get("sku"),
            ", ".join(map(str, missing)),
        )
    extension = dict(payload.get("extension_attributes") or {})
    extension.pop("category_links", None)
    if present:
        extension["category_links"] = [{"position": 0, "category_id": str(i)} for i in present]
    return client.save_product({**payload, "extension_attributes": extension}), present


def remember_links(state: StatePort, sku: str, category_ids: Iterable[int]) -> None:
    """Keep the Magento category ids a product is known to be in (saves a GET next time)."""
    state.put_docs("category_links", {sku: {"categories": sorted(category_ids)}})


def current_category_ids(product: dict[str, Any]) -> set[int]:
    """The product's category ids: `extension_attributes.category_links`, else `category_ids`.

    Stores differ in which of the two a GET fills (and the custom attribute may be a list or
    a comma-separated string), so both are read.
    """
    links = (product.get("extension_attributes") or {}).get("category_links")
    if links is not None:
        return {int(link["category_id"]) for link in links}
    for attribute in product.get("custom_attributes") or []:
        if attribute.get("attribute_code") == "category_ids":
            value = attribute.get("value")
            items = value if isinstance(value, list) else str(value or "").split(",")
            return {int(v) for v in items if str(v).strip()}
    return set()
