"""Category routes: tree, list, entity, save, move, delete and product links
(docs/reference/magento.md#categories, #error-catalogue, #categories).

Endpoint names for costs and faults: ``categories.tree``, ``categories.list``,
``categories.get``, ``categories.save`` (POST and PUT), ``categories.move``,
``categories.delete``, ``categories.products.get``, ``categories.products.save`` (POST and
PUT) and ``categories.products.delete``. ACL resource: ``Magento_Catalog::categories``.
"""

from __future__ import annotations

import copy
from typing import Any

from cpsync_emulator.category_data import (
    DEFAULT_CATEGORY_ID,
    ROOT_CATEGORY_ID,
    CategoryTree,
    category_field,
    category_links_of,
    set_category_links,
)
from cpsync_emulator.errors import (
    FIELD_REQUIRED,
    URL_KEY_EXISTS,
    VALUE_TYPE_INVALID,
    MagentoError,
    product_not_found,
    required_field,
)
from cpsync_emulator.references import check_category_attributes
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.search import parse_search_criteria, run_search, snake

__all__ = [
    "CANNOT_DELETE",
    "CATEGORIES_RESOURCE",
    "COULD_NOT_MOVE",
    "COULD_NOT_SAVE",
    "MOVE_UNDER_CHILD",
    "NOT_IN_CATEGORY",
    "NO_SUCH_ENTITY",
    "routes",
]

CATEGORIES_RESOURCE = "Magento_Catalog::categories"

NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"
COULD_NOT_SAVE = "Could not save category: %1"
CANNOT_DELETE = "Cannot delete category with id %1"
MOVE_UNDER_CHILD = "Operation do not allow to move a parent category to any of children category"
COULD_NOT_MOVE = "Could not move category"
NOT_IN_CATEGORY = "The category doesn't contain the specified product."
ATTRIBUTE_REQUIRED = 'The "%1" attribute is required. Enter and try again.'


def _no_such_category(category_id: Any) -> MagentoError:
    return MagentoError(404, NO_SUCH_ENTITY, {"fieldName": "id", "fieldValue": category_id})


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise MagentoError(400, VALUE_TYPE_INVALID, {"value": text, "type": "int"})
    return int(text)


def _tree(request: RestRequest) -> CategoryTree:
    return request.emulator.store.categories


def _existing(request: RestRequest, category_id: Any) -> dict[str, Any]:
    category = _tree(request).get(_int(category_id))
    if category is None:
        raise _no_such_category(_int(category_id))
    return category


def _query(request: RestRequest, name: str) -> str | None:
    for key, value in request.query:
        if key == name:
            return value
    return None


def _product_counts(request: RestRequest) -> dict[int, int]:
    counts: dict[int, int] = {}
    for product in request.emulator.store.iter_products():
        for link in category_links_of(product):
            counts[int(link["category_id"])] = counts.get(int(link["category_id"]), 0) + 1
    return counts


def get_tree(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/categories``: from ``rootCategoryId``, else id 1 on ``all``, else the store root.

    searchCriteria is ignored, as in Magento (docs/reference/magento.md#categories).
    """
    root_param, depth_param = _query(request, "rootCategoryId"), _query(request, "depth")
    default_root = ROOT_CATEGORY_ID if request.view.is_admin else DEFAULT_CATEGORY_ID
    store = request.emulator.store
    with store.lock:
        root = _existing(request, root_param) if root_param else _tree(request).get(default_root)
        assert root is not None
        depth = _int(depth_param) if depth_param not in (None, "") else None
        return _tree(request).node(root, depth, _product_counts(request))


def list_categories(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/categories/list?searchCriteria...``: entity shapes in a search result."""
    criteria = parse_search_criteria(request.query)
    store, config = request.emulator.store, request.emulator.config
    with store.lock:
        tree = _tree(request)
        entities = [tree.entity(c) for _, c in sorted(tree.categories.items())]
    items, total = run_search(
        entities,
        criteria,
        category_field,
        clamp_pages=config.clamp_pages,
        input_limits=config.input_limit_enabled,
    )
    return {"items": items, "search_criteria": criteria.echo(), "total_count": total}


def get_category(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/categories/:categoryId``: the entity, 404 ``No such entity`` when unknown."""
    with request.emulator.store.lock:
        return _tree(request).entity(_existing(request, request.params["categoryId"]))


def _fields(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MagentoError(
            400, VALUE_TYPE_INVALID, {"value": str(raw), "type": "CategoryInterface"}
        )
    return {snake(str(key)): value for key, value in raw.items()}


def _merge_attributes(category: dict[str, Any], raw: Any) -> None:
    entries = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        return
    by_code = {a["attribute_code"]: a for a in category["custom_attributes"]}
    for entry in entries:
        data = {snake(str(k)): v for k, v in (entry or {}).items()}
        code = data.get("attribute_code")
        if code in (None, "", "url_path"):
            continue
        value = data.get("value")
        if value is None:
            by_code.pop(code, None)
        else:
            text = value if isinstance(value, list) else str(value)
            by_code[code] = {"attribute_code": code, "value": text}
    category["custom_attributes"] = list(by_code.values())


def _apply_fields(category: dict[str, Any], fields: dict[str, Any]) -> None:
    if fields.get("name") is not None:
        category["name"] = str(fields["name"])
    for key in ("is_active", "include_in_menu"):
        if fields.get(key) is not None:
            value = fields[key]
            text = str(value).strip().lower()
            flag = text not in ("0", "false", "")
            category[key] = flag if isinstance(value, str) else bool(value)
    if fields.get("position") is not None:
        category["position"] = _int(fields["position"])
    if isinstance(fields.get("available_sort_by"), list):
        category["available_sort_by"] = list(fields["available_sort_by"])
    if "custom_attributes" in fields:
        _merge_attributes(category, fields["custom_attributes"])


def save_category(request: RestRequest) -> dict[str, Any]:
    """``POST /V1/categories`` and ``PUT /V1/categories/:id``: create, or update by id.

    PUT forces the path id into ``category.id`` (docs/reference/magento.md#request-format). A create
    without ``parent_id`` goes under the store root; an update ignores ``parent_id`` and ``level``
    (moves use ``/move``).
    """
    fields = _fields(request.body_param("category"))
    check_category_attributes(fields)
    if "id" in request.params:
        fields["id"] = request.params["id"]
    emulator = request.emulator
    store, now = emulator.store, emulator.now()
    tree = store.categories
    with store.lock:
        if fields.get("id") not in (None, "", 0, "0"):
            category = copy.deepcopy(_existing(request, fields["id"]))
            created = False
            _apply_fields(category, fields)
            parent = tree.get(category["parent_id"])
        else:
            parent_id = fields.get("parent_id") or DEFAULT_CATEGORY_ID
            parent = _existing(request, parent_id)
            if not str(fields.get("name") or "").strip():
                raise MagentoError(400, COULD_NOT_SAVE, [ATTRIBUTE_REQUIRED.replace("%1", "name")])
            category = tree.new(parent, fields, now)
            created = True
            category["custom_attributes"] = [
                {"attribute_code": "display_mode", "value": "PRODUCTS"},
                {"attribute_code": "is_anchor", "value": "1"},
            ]
            _apply_fields(category, fields)
        if not str(category["name"]).strip():
            raise MagentoError(400, COULD_NOT_SAVE, [ATTRIBUTE_REQUIRED.replace("%1", "name")])
        if parent is not None and tree.apply_url(category, parent) is not None:
            raise MagentoError(400, COULD_NOT_SAVE, [URL_KEY_EXISTS])
        category["updated_at"] = now
        tree.put(category)
        tree.refresh_descendants(category)
        result = tree.entity(category)
    emulator.stats.record_write("categories.created" if created else "categories.updated")
    return result


def move_category(request: RestRequest) -> bool:
    """``PUT /V1/categories/:categoryId/move`` ``{"parentId", "afterId"}`` → ``true``.

    See docs/reference/magento.md#categories, #category-move.
    """
    if not isinstance(request.body, dict) or not any(snake(k) == "parent_id" for k in request.body):
        raise required_field("parentId")
    parent_id = request.body_param("parentId")
    after_raw = next((v for k, v in request.body.items() if snake(k) == "after_id"), None)
    store = request.emulator.store
    tree = store.categories
    with store.lock:
        category = _existing(request, request.params["categoryId"])
        parent = _existing(request, parent_id)
        if tree.is_descendant(parent["id"], category["id"]):
            raise MagentoError(400, MOVE_UNDER_CHILD)
        after_id = None if after_raw in (None, "") else _int(after_raw)
        if tree.children(parent["id"]):
            active = sorted(c["id"] for c in tree.children(parent["id"]) if c["is_active"])
            last_id = active[-1] if active else None
            if last_id is not None and (after_id is None or after_id > last_id):
                after_id = last_id
        if after_id == category["id"]:
            after_id = None
        snapshot = copy.deepcopy(tree.categories)
        tree.move(category, parent, after_id)
        if tree.url_clash([category, *tree.descendants(category["id"])]):
            tree.categories = snapshot
            raise MagentoError(400, COULD_NOT_MOVE)
        category["updated_at"] = request.emulator.now()
    request.emulator.stats.record_write("categories.moved")
    return True


def delete_category(request: RestRequest) -> bool:
    """``DELETE /V1/categories/:categoryId`` → ``true``; the two system categories refuse."""
    store = request.emulator.store
    with store.lock:
        category = _existing(request, request.params["categoryId"])
        if category["id"] in (ROOT_CATEGORY_ID, DEFAULT_CATEGORY_ID):
            raise MagentoError(400, CANNOT_DELETE, [category["id"]])
        removed = {str(i) for i in store.categories.delete(category["id"])}
        for product in list(store.iter_products()):
            links = category_links_of(product)
            kept = [link for link in links if link["category_id"] not in removed]
            if len(kept) != len(links):
                changed = copy.deepcopy(product)
                set_category_links(changed, kept)
                store.put_product(changed)
    request.emulator.stats.record_write("categories.deleted")
    return True


def assigned_products(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/categories/:categoryId/products`` → ``[{sku, position, category_id}]``."""
    store = request.emulator.store
    with store.lock:
        category = _existing(request, request.params["categoryId"])
        wanted = str(category["id"])
        return [
            {"sku": product["sku"], "position": link["position"], "category_id": wanted}
            for product in store.iter_products()
            for link in category_links_of(product)
            if link["category_id"] == wanted
        ]


def save_product_link(request: RestRequest) -> bool:
    """``POST|PUT /V1/categories/:categoryId/products`` ``{"productLink"}`` → ``true`` (upsert).

    PUT forces the path id into ``productLink.category_id``
    (docs/reference/magento.md#request-format); POST takes the body's and falls back to the path's.
    """
    raw = request.body_param("productLink")
    if not isinstance(raw, dict):
        raise MagentoError(400, FIELD_REQUIRED, {"fieldName": "productLink"})
    link = {snake(str(k)): v for k, v in raw.items()}
    if request.method == "PUT" or link.get("category_id") in (None, ""):
        link["category_id"] = request.params["categoryId"]
    if not str(link.get("sku") or "").strip():
        raise required_field("sku")
    store = request.emulator.store
    with store.lock:
        category = _existing(request, link["category_id"])
        product = store.find_by_sku(str(link["sku"]))
        if product is None:
            raise product_not_found()
        position = _int(link.get("position") or 0)
        wanted = str(category["id"])
        links = [copy.deepcopy(x) for x in category_links_of(product) if x["category_id"] != wanted]
        links.append({"position": position, "category_id": wanted})
        changed = copy.deepcopy(product)
        set_category_links(changed, links)
        store.put_product(changed)
    request.emulator.stats.record_write("category_links.saved")
    return True


def delete_product_link(request: RestRequest) -> bool:
    """``DELETE /V1/categories/:categoryId/products/:sku`` → ``true``; 400 when not linked."""
    store = request.emulator.store
    with store.lock:
        category = _existing(request, request.params["categoryId"])
        product = store.find_by_sku(request.params["sku"])
        if product is None:
            raise product_not_found()
        wanted = str(category["id"])
        links = category_links_of(product)
        kept = [copy.deepcopy(x) for x in links if x["category_id"] != wanted]
        if len(kept) == len(links):
            raise MagentoError(400, NOT_IN_CATEGORY)
        changed = copy.deepcopy(product)
        set_category_links(changed, kept)
        store.put_product(changed)
    request.emulator.stats.record_write("category_links.deleted")
    return True


def routes() -> list[Route]:
    """The category routes of ``Magento/Catalog/etc/webapi.xml`` this emulator serves."""
    acl = CATEGORIES_RESOURCE
    repository = "Magento\\Catalog\\Api\\CategoryRepositoryInterface"
    links = "Magento\\Catalog\\Api\\CategoryLinkRepositoryInterface"
    return [
        Route("GET", "/V1/categories", "categories.tree", get_tree, acl),
        Route("GET", "/V1/categories/list", "categories.list", list_categories, acl),
        Route("GET", "/V1/categories/:categoryId", "categories.get", get_category, acl),
        *(
            Route(
                method,
                path,
                "categories.save",
                save_category,
                acl,
                service=f"{repository}::save",
                body=("category",),
            )
            for method, path in (("POST", "/V1/categories"), ("PUT", "/V1/categories/:id"))
        ),
        Route("DELETE", "/V1/categories/:categoryId", "categories.delete", delete_category, acl),
        Route(
            "PUT",
            "/V1/categories/:categoryId/move",
            "categories.move",
            move_category,
            acl,
            service="Magento\\Catalog\\Api\\CategoryManagementInterface::move",
            body=("parentId",),
        ),
        Route(
            "GET",
            "/V1/categories/:categoryId/products",
            "categories.products.get",
            assigned_products,
            acl,
        ),
        *(
            Route(
                method,
                "/V1/categories/:categoryId/products",
                "categories.products.save",
                save_product_link,
                acl,
                service=f"{links}::save",
                body=("productLink",),
            )
            for method in ("POST", "PUT")
        ),
        Route(
            "DELETE",
            "/V1/categories/:categoryId/products/:sku",
            "categories.products.delete",
            delete_product_link,
            acl,
        ),
    ]
