"""The category tree of the emulated store, and the rules that keep it consistent
(docs/reference/magento.md#categories).

A fresh Magento has the hidden root catalog (id 1, level 0) and the store's root, the default
category (id 2, level 1). Categories are kept in an internal shape and rendered as the tree
node, list item or entity Magento answers with. Product links are not kept here: they live in
each product's ``extension_attributes.category_links`` (the single source of truth), so a
product GET and a category product list can never disagree.

Derived from code (``CategoryRepository``, ``CategoryManagement::move``, ``ResourceModel\\
Category::changeParent``), as the reference describes:

- ``path`` and ``level`` come from the parent; a sent ``level`` is ignored (issue #13211);
- a save of an existing category does not move it: ``parent_id`` in the body is ignored, a move
  goes through ``PUT /V1/categories/:id/move``;
- move: if the new parent has children and ``afterId`` is null or numerically greater than the
  last (active, by id) child id, ``afterId`` becomes that id; the category gets
  ``position(afterId) + 1`` (or 1 without ``afterId``), later siblings shift up by one, and the
  old siblings behind it close the gap;
- ``url_path`` is the parent's ``url_path`` plus the ``url_key``; two categories with the same
  ``url_path`` clash (``URL key for specified store already exists.``).
"""

from __future__ import annotations

import copy
from typing import Any

from cpsync_emulator.product_data import format_url_key

__all__ = [
    "DEFAULT_CATEGORY_ID",
    "ROOT_CATEGORY_ID",
    "CategoryTree",
    "category_field",
    "category_links_of",
    "merge_saved_links",
    "set_category_links",
]

ROOT_CATEGORY_ID = 1
DEFAULT_CATEGORY_ID = 2
_SYSTEM_IDS = (ROOT_CATEGORY_ID, DEFAULT_CATEGORY_ID)


def category_links_of(product: dict[str, Any]) -> list[dict[str, Any]]:
    """A product's ``category_links`` (``[{"position", "category_id"}]``, ids as strings)."""
    links: list[dict[str, Any]] = product.get("extension_attributes", {}).get("category_links", [])
    return links


def set_category_links(product: dict[str, Any], links: list[dict[str, Any]]) -> None:
    """Replace a product's links and keep its ``category_ids`` attribute telling the same story."""
    product.setdefault("extension_attributes", {})["category_links"] = links
    attributes = [
        a for a in product.get("custom_attributes", []) if a["attribute_code"] != "category_ids"
    ]
    if links:
        ids = [link["category_id"] for link in links]
        attributes.append({"attribute_code": "category_ids", "value": ids})
    product["custom_attributes"] = attributes


def merge_saved_links(product: dict[str, Any], existing: dict[str, Any], raw: Any) -> None:
    """The merging stores' save: links sent in a save are added to (not replace) the old ones.

    Derived from ``Category\\Link\\SaveHandler`` as some versions behave (sent links merged
    with the product's current ``category_ids``); an empty list still removes every link.
    """
    extension = raw.get("extension_attributes") if isinstance(raw, dict) else None
    if not isinstance(extension, dict) or "category_links" not in extension:
        return
    sent = category_links_of(product)
    if not sent:
        return
    merged = {link["category_id"]: link for link in category_links_of(existing)}
    merged.update({link["category_id"]: link for link in sent})
    set_category_links(product, list(merged.values()))


def _attribute(category: dict[str, Any], code: str) -> Any:
    for attribute in category["custom_attributes"]:
        if attribute["attribute_code"] == code:
            return attribute["value"]
    return None


def _set_attribute(category: dict[str, Any], code: str, value: Any) -> None:
    attributes = [a for a in category["custom_attributes"] if a["attribute_code"] != code]
    if value is not None:
        attributes.append({"attribute_code": code, "value": value})
    category["custom_attributes"] = attributes


def category_field(category: dict[str, Any], name: str) -> Any:
    """A category's value for a ``/V1/categories/list`` search field."""
    key = name if name != "entity_id" else "id"
    if key in category:
        return category[key]
    return _attribute(category, name)


class CategoryTree:
    """Categories by id. Not locked itself: callers hold the catalog store's lock."""

    def __init__(self) -> None:
        self.categories: dict[int, dict[str, Any]] = {}
        self.next_id = 3
        self.clear()

    # Reads -------------------------------------------------------------------------------

    def get(self, category_id: int) -> dict[str, Any] | None:
        """The stored category (not a copy), or None."""
        return self.categories.get(category_id)

    def children(self, category_id: int) -> list[dict[str, Any]]:
        """Direct children ordered as Magento shows them: by position, then id."""
        found = [c for c in self.categories.values() if c["parent_id"] == category_id]
        return sorted(found, key=lambda c: (c["position"], c["id"]))

    def descendants(self, category_id: int) -> list[dict[str, Any]]:
        """Every category below ``category_id`` (not itself)."""
        prefix = self.categories[category_id]["path"] + "/"
        return [c for c in self.categories.values() if c["path"].startswith(prefix)]

    def is_descendant(self, candidate: int, ancestor: int) -> bool:
        """True if ``candidate`` is ``ancestor`` or lies below it (compared by path segments)."""
        path = self.categories[candidate]["path"].split("/")
        return str(ancestor) in path

    def url_path_owner(self, url_path: str) -> int | None:
        """Id of the category using ``url_path``, if any."""
        for category in self.categories.values():
            if _attribute(category, "url_path") == url_path:
                return int(category["id"])
        return None

    def url_clash(self, moved: list[dict[str, Any]]) -> bool:
        """True if one of ``moved`` now shares its url_path with another category."""
        ids = {c["id"] for c in moved}
        taken = {_attribute(c, "url_path") for c in self.categories.values() if c["id"] not in ids}
        paths = [_attribute(c, "url_path") for c in moved if _attribute(c, "url_path")]
        return len(paths) != len(set(paths)) or any(p in taken for p in paths)

    # Shapes ------------------------------------------------------------------------------

    def entity(self, category: dict[str, Any]) -> dict[str, Any]:
        """``GET /V1/categories/:id`` shape (CategoryRepositoryTest ``testGet``)."""
        body = copy.deepcopy(category)
        body["children"] = ",".join(str(c["id"]) for c in self.children(category["id"]))
        order = (
            "id",
            "parent_id",
            "name",
            "is_active",
            "position",
            "level",
            "children",
            "created_at",
            "updated_at",
            "path",
            "available_sort_by",
            "include_in_menu",
            "custom_attributes",
        )
        return {key: body[key] for key in order}

    def node(
        self, category: dict[str, Any], depth: int | None, product_counts: dict[int, int]
    ) -> dict[str, Any]:
        """``GET /V1/categories`` tree node; ``depth`` levels of children (None = all)."""
        children: list[dict[str, Any]] = []
        if depth is None or depth > 0:
            below = None if depth is None else depth - 1
            children = [self.node(c, below, product_counts) for c in self.children(category["id"])]
        return {
            "id": category["id"],
            "parent_id": category["parent_id"],
            "name": category["name"],
            "is_active": category["is_active"],
            "position": category["position"],
            "level": category["level"],
            "product_count": product_counts.get(category["id"], 0),
            "children_data": children,
        }

    # Writes ------------------------------------------------------------------------------

    def clear(self) -> None:
        """A fresh store: the root catalog and the default category only."""
        now = "1970-01-01 00:00:00"
        self.categories = {}
        self.next_id = 3
        for category_id, parent, name, path in (
            (ROOT_CATEGORY_ID, 0, "Root Catalog", "1"),
            (DEFAULT_CATEGORY_ID, ROOT_CATEGORY_ID, "Default Category", "1/2"),
        ):
            self.categories[category_id] = {
                "id": category_id,
                "parent_id": parent,
                "name": name,
                "is_active": True,
                "position": 0 if category_id == ROOT_CATEGORY_ID else 1,
                "level": category_id - 1,
                "created_at": now,
                "updated_at": now,
                "path": path,
                "available_sort_by": [],
                "include_in_menu": True,
                "custom_attributes": [],
            }

    def new(self, parent: dict[str, Any], fields: dict[str, Any], now: str) -> dict[str, Any]:
        """Build (not store) a new category under ``parent`` with the next id."""
        category_id = self.next_id
        siblings = self.children(parent["id"])
        position = fields.get("position")
        if position is None:
            position = max((c["position"] for c in siblings), default=0) + 1
        return {
            "id": category_id,
            "parent_id": parent["id"],
            "name": fields["name"],
            "is_active": bool(fields.get("is_active", False)),
            "position": int(position),
            "level": parent["level"] + 1,
            "created_at": now,
            "updated_at": now,
            "path": f"{parent['path']}/{category_id}",
            "available_sort_by": list(fields.get("available_sort_by") or []),
            "include_in_menu": bool(fields.get("include_in_menu", True)),
            "custom_attributes": [],
        }

    def url_path_for(self, category: dict[str, Any], parent: dict[str, Any]) -> str | None:
        """The url_path the category gets under ``parent`` (None for system categories)."""
        url_key = _attribute(category, "url_key")
        if not url_key:
            return None
        parent_path = _attribute(parent, "url_path")
        return f"{parent_path}/{url_key}" if parent_path else str(url_key)

    def apply_url(self, category: dict[str, Any], parent: dict[str, Any]) -> str | None:
        """Format the url_key (or make it from the name), set url_path; return a clashing path."""
        url_key = _attribute(category, "url_key")
        url_key = format_url_key(str(url_key)) if url_key else ""
        _set_attribute(category, "url_key", url_key or format_url_key(category["name"]) or None)
        url_path = self.url_path_for(category, parent)
        _set_attribute(category, "url_path", url_path)
        owner = None if url_path is None else self.url_path_owner(url_path)
        return url_path if owner is not None and owner != category["id"] else None

    def put(self, category: dict[str, Any]) -> None:
        """Store a category (new or replaced)."""
        self.categories[category["id"]] = category
        self.next_id = max(self.next_id, category["id"] + 1)

    def refresh_descendants(self, category: dict[str, Any]) -> None:
        """Recompute path, level and url_path below a category that moved or was renamed."""
        for child in self.children(category["id"]):
            child["path"] = f"{category['path']}/{child['id']}"
            child["level"] = category["level"] + 1
            _set_attribute(child, "url_path", self.url_path_for(child, category))
            self.refresh_descendants(child)

    def move(self, category: dict[str, Any], parent: dict[str, Any], after_id: int | None) -> None:
        """Reparent and reposition as ``ResourceModel\\Category::changeParent`` does."""
        old_parent, old_position = category["parent_id"], category["position"]
        for sibling in self.children(old_parent):
            if sibling["id"] != category["id"] and sibling["position"] > old_position:
                sibling["position"] -= 1
        after = self.categories.get(after_id) if after_id else None
        position = after["position"] + 1 if after is not None else 1
        for sibling in self.children(parent["id"]):
            if sibling["id"] != category["id"] and sibling["position"] >= position:
                sibling["position"] += 1
        category["parent_id"] = parent["id"]
        category["position"] = position
        category["path"] = f"{parent['path']}/{category['id']}"
        category["level"] = parent["level"] + 1
        _set_attribute(category, "url_path", self.url_path_for(category, parent))
        self.refresh_descendants(category)

    def delete(self, category_id: int) -> list[int]:
        """Remove a category and everything below it; returns the removed ids."""
        removed = [category_id, *(c["id"] for c in self.descendants(category_id))]
        for removed_id in removed:
            del self.categories[removed_id]
        return removed

    # Persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The tree as one JSON document (part of the catalog file)."""
        return {
            "next_id": self.next_id,
            "items": [copy.deepcopy(self.categories[i]) for i in sorted(self.categories)],
        }

    def load_json(self, data: dict[str, Any] | None) -> None:
        """Replace the tree with a document from :meth:`to_json` (None: a fresh tree)."""
        self.clear()
        if not data:
            return
        self.categories = {int(c["id"]): c for c in data.get("items", [])}
        self.next_id = max(int(data.get("next_id", 3)), max(self.categories, default=2) + 1)
