"""Categories as Magento serves them: tree, list, entity, save, move, delete, links (docs/reference/magento.md#categories, #error-catalogue, #categories)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator

ProductFactory = Callable[..., dict[str, Any]]
NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"


def create(client: httpx.Client, name: str, parent: int | None = None, **fields: Any) -> int:
    body: dict[str, Any] = {"name": name, "is_active": True, **fields}
    if parent is not None:
        body["parent_id"] = parent
    response = client.post("/all/V1/categories", json={"category": body})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def children(client: httpx.Client, parent: int) -> list[tuple[int, int]]:
    """(id, position) of a category's children in the order the tree lists them."""
    tree = client.get("/all/V1/categories", params={"rootCategoryId": parent}).json()
    return [(child["id"], child["position"]) for child in tree["children_data"]]


def attributes(entity: dict[str, Any]) -> dict[str, Any]:
    return {a["attribute_code"]: a["value"] for a in entity["custom_attributes"]}


def test_given_a_fresh_store_when_the_tree_is_read_then_root_1_holds_default_category_2(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#categories tree: on ``all`` the tree starts at the hidden root (1); a store view starts at 2."""
    admin = client.get("/all/V1/categories")
    store = client.get("/default/V1/categories")
    assert admin.status_code == store.status_code == 200
    assert admin.json() == {
        "id": 1,
        "parent_id": 0,
        "name": "Root Catalog",
        "is_active": True,
        "position": 0,
        "level": 0,
        "product_count": 0,
        "children_data": [
            {
                "id": 2,
                "parent_id": 1,
                "name": "Default Category",
                "is_active": True,
                "position": 1,
                "level": 1,
                "product_count": 0,
                "children_data": [],
            }
        ],
    }
    assert store.json()["id"] == 2


def test_given_a_new_category_when_created_then_the_entity_has_path_level_and_url_key(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#categories create: no parent -> store root; path/level from the parent; client level ignored."""
    response = client.post(
        "/all/V1/categories",
        json={"category": {"name": "Mugs & Cups", "is_active": True, "level": 7, "position": 10}},
    )
    assert response.status_code == 200
    entity = response.json()
    assert entity["parent_id"] == 2
    assert entity["level"] == 2
    assert entity["path"] == f"1/2/{entity['id']}"
    assert entity["position"] == 10
    assert entity["children"] == ""
    assert attributes(entity)["url_key"] == "mugs-cups"
    assert client.get(f"/all/V1/categories/{entity['id']}").json() == entity
    assert magento.stats()["writes"] == {"categories.created": 1}


def test_given_an_unknown_id_when_read_then_404_no_such_entity(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue row "Category not found": 404 with fieldName/fieldValue parameters."""
    response = client.get("/all/V1/categories/999")
    assert response.status_code == 404
    assert response.json() == {
        "message": NO_SUCH_ENTITY,
        "parameters": {"fieldName": "id", "fieldValue": 999},
    }


def test_given_a_missing_wrapper_when_saved_then_400_field_is_required(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#error-catalogue row "Missing top-level param" / docs/reference/magento.md#request-format: the body must wrap the object in ``category``."""
    response = client.post("/all/V1/categories", json={"name": "Mugs"})
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "category"},
    }


def test_given_a_sibling_with_the_same_url_key_when_saved_then_400_wrapped_clash(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#error-catalogue row "URL key clash (category)": wrapped in ``Could not save category: %1``."""
    kitchen = create(client, "Kitchen")
    create(client, "Mugs", kitchen)
    clash = client.post(
        "/all/V1/categories", json={"category": {"name": "Mugs", "parent_id": kitchen}}
    )
    elsewhere = client.post("/all/V1/categories", json={"category": {"name": "Mugs"}})
    assert clash.status_code == 400
    assert clash.json() == {
        "message": "Could not save category: %1",
        "parameters": ["URL key for specified store already exists."],
    }
    assert elsewhere.status_code == 200  # another parent: another URL path


def test_given_a_put_when_body_id_differs_then_the_path_id_is_saved(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#request-format / #put-path-parameter-override: PUT forces the path id into ``category.id``; parent_id does not move it."""
    first, second = create(client, "First"), create(client, "Second")
    response = client.put(
        f"/all/V1/categories/{first}",
        json={"category": {"id": second, "name": "Renamed", "parent_id": second}},
    )
    assert response.status_code == 200
    assert response.json()["id"] == first
    assert response.json()["parent_id"] == 2
    assert client.get(f"/all/V1/categories/{first}").json()["name"] == "Renamed"
    assert client.get(f"/all/V1/categories/{second}").json()["name"] == "Second"


def test_given_an_unknown_id_when_updated_then_404(client: httpx.Client) -> None:
    """docs/reference/magento.md#categories save of an unknown id: 404 No such entity."""
    response = client.put("/all/V1/categories/77", json={"category": {"name": "X"}})
    assert response.status_code == 404
    assert response.json()["parameters"] == {"fieldName": "id", "fieldValue": 77}


def test_given_categories_when_listed_then_a_search_result_of_entities(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#categories list / docs/reference/magento.md#categories: ``{items, search_criteria, total_count}`` with entity shapes."""
    kitchen = create(client, "Kitchen")
    mugs = create(client, "Mugs", kitchen)
    response = client.get(
        "/all/V1/categories/list",
        params={
            "searchCriteria[filter_groups][0][filters][0][field]": "parent_id",
            "searchCriteria[filter_groups][0][filters][0][value]": str(kitchen),
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total_count"] == 1
    assert [item["id"] for item in body["items"]] == [mugs]
    assert body["items"][0]["path"] == f"1/2/{kitchen}/{mugs}"
    assert body["search_criteria"]["filter_groups"][0]["filters"][0]["field"] == "parent_id"


def test_given_a_tree_when_read_with_root_and_depth_then_only_that_branch(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#categories tree: ``rootCategoryId`` and ``depth``; children ordered by position."""
    kitchen = create(client, "Kitchen")
    cookware = create(client, "Cookware", kitchen, position=20)
    mugs = create(client, "Mugs", kitchen, position=10)
    create(client, "Pots", cookware)
    tree = client.get("/all/V1/categories", params={"rootCategoryId": kitchen, "depth": 1}).json()
    assert tree["id"] == kitchen
    assert [c["id"] for c in tree["children_data"]] == [mugs, cookware]
    assert all(c["children_data"] == [] for c in tree["children_data"])
    missing = client.get("/all/V1/categories", params={"rootCategoryId": 404})
    assert missing.status_code == 404


def test_given_a_move_with_null_after_id_then_the_category_is_appended(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#categories move / docs/reference/magento.md#categories: null afterId appends after the last child; answer ``true``."""
    target = create(client, "Target")
    a = create(client, "A", target, position=1)
    b = create(client, "B", target, position=2)
    moving = create(client, "Moving")
    response = client.put(f"/all/V1/categories/{moving}/move", json={"parentId": target})
    assert response.status_code == 200
    assert response.json() is True
    assert children(client, target) == [(a, 1), (b, 2), (moving, 3)]
    entity = client.get(f"/all/V1/categories/{moving}").json()
    assert entity["path"] == f"1/2/{target}/{moving}"
    assert entity["level"] == 3
    assert magento.stats()["writes"]["categories.moved"] == 1


def test_given_a_move_after_a_sibling_then_it_follows_it_and_later_ones_shift(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#categories move: position = after.position + 1, later siblings move up by one."""
    target = create(client, "Target")
    a = create(client, "A", target, position=1)
    b = create(client, "B", target, position=2)
    moving = create(client, "Moving")
    client.put(f"/all/V1/categories/{moving}/move", json={"parentId": target, "afterId": a})
    assert children(client, target) == [(a, 1), (moving, 2), (b, 3)]


def test_given_an_after_id_above_the_last_child_id_then_it_is_treated_as_append(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#category-move: afterId is compared numerically with the last child id; greater -> append."""
    target = create(client, "Target")
    a = create(client, "A", target, position=5)
    b = create(client, "B", target, position=1)
    moving = create(client, "Moving")
    client.put(f"/all/V1/categories/{moving}/move", json={"parentId": target, "afterId": 9999})
    # the last child *by id* is b (position 1), so Moving lands right after b
    assert children(client, target) == [(b, 1), (moving, 2), (a, 6)]


def test_given_a_move_under_its_own_descendant_then_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#categories move / docs/reference/magento.md#categories: the descendant check; ids 14 and 146 are no prefix trap (docs/reference/magento.md#category-move)."""
    parent = create(client, "Parent")
    child = create(client, "Child", parent)
    response = client.put(f"/all/V1/categories/{parent}/move", json={"parentId": child})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Operation do not allow to move a parent category to any of children category"
    }
    unknown = client.put(f"/all/V1/categories/{parent}/move", json={"parentId": 999})
    assert unknown.status_code == 404
    missing = client.put(f"/all/V1/categories/{parent}/move", json={"afterId": 1})
    assert missing.status_code == 400
    assert missing.json()["parameters"] == {"fieldName": "parentId"}


def test_given_a_move_to_where_a_sibling_has_the_url_key_then_400_could_not_move(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#categories move: a failure in the model move answers ``Could not move category``."""
    target = create(client, "Target")
    create(client, "Mugs", target)
    mugs = create(client, "Mugs")
    response = client.put(f"/all/V1/categories/{mugs}/move", json={"parentId": target})
    assert response.status_code == 400
    assert response.json() == {"message": "Could not move category"}
    assert client.get(f"/all/V1/categories/{mugs}").json()["parent_id"] == 2


def test_given_system_categories_when_deleted_then_400_and_others_delete_with_children(
    client: httpx.Client, product: ProductFactory
) -> None:
    """docs/reference/magento.md#categories delete: ids 1 and 2 refuse; others answer ``true`` and take their subtree along."""
    for system in (1, 2):
        response = client.delete(f"/all/V1/categories/{system}")
        assert response.status_code == 400
        assert response.json() == {
            "message": "Cannot delete category with id %1",
            "parameters": [system],
        }
    parent = create(client, "Parent")
    child = create(client, "Child", parent)
    client.post("/all/V1/products", json=product("SKU-1"))
    client.post(f"/all/V1/categories/{child}/products", json={"productLink": {"sku": "SKU-1"}})
    response = client.delete(f"/all/V1/categories/{parent}")
    assert response.status_code == 200
    assert response.json() is True
    assert client.get(f"/all/V1/categories/{child}").status_code == 404
    links = client.get("/all/V1/products/SKU-1").json()["extension_attributes"]
    assert links.get("category_links") == []


def test_given_product_links_when_saved_listed_and_deleted_then_true_and_the_product_agrees(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#categories product links / docs/reference/magento.md#categories: save upserts position -> true; GET lists; DELETE -> true."""
    mugs = create(client, "Mugs")
    client.post("/all/V1/products", json=product("MUG-1"))
    link = {"productLink": {"sku": "MUG-1", "position": 3, "category_id": str(mugs)}}
    saved = client.post(f"/all/V1/categories/{mugs}/products", json=link)
    again = client.put(
        f"/all/V1/categories/{mugs}/products", json={"productLink": {"sku": "mug-1"}}
    )
    assert saved.json() is True and again.json() is True
    assert client.get(f"/all/V1/categories/{mugs}/products").json() == [
        {"sku": "MUG-1", "position": 0, "category_id": str(mugs)}
    ]
    got = client.get("/all/V1/products/MUG-1").json()
    assert got["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": str(mugs)}
    ]
    assert attributes(got)["category_ids"] == [str(mugs)]
    assert (
        client.get("/all/V1/categories").json()["children_data"][0]["children_data"][0][
            "product_count"
        ]
        == 1
    )
    deleted = client.delete(f"/all/V1/categories/{mugs}/products/MUG-1")
    assert deleted.json() is True
    assert client.get(f"/all/V1/categories/{mugs}/products").json() == []
    assert magento.stats()["writes"]["category_links.saved"] == 2


def test_given_bad_product_links_then_404_for_unknowns_and_400_when_not_linked(
    client: httpx.Client, product: ProductFactory
) -> None:
    """docs/reference/magento.md#categories product links errors: unknown SKU 404, unknown category 404, not linked 400."""
    mugs = create(client, "Mugs")
    client.post("/all/V1/products", json=product("MUG-1"))
    no_product = client.post(
        f"/all/V1/categories/{mugs}/products", json={"productLink": {"sku": "NOPE"}}
    )
    no_category = client.post(
        "/all/V1/categories/999/products", json={"productLink": {"sku": "MUG-1"}}
    )
    not_linked = client.delete(f"/all/V1/categories/{mugs}/products/MUG-1")
    assert no_product.status_code == 404
    assert no_product.json() == {
        "message": "The product that was requested doesn't exist. Verify the product and try again."
    }
    assert no_category.status_code == 404
    assert no_category.json()["message"] == NO_SUCH_ENTITY
    assert not_linked.status_code == 400
    assert not_linked.json() == {"message": "The category doesn't contain the specified product."}


def test_given_category_links_in_a_product_save_then_they_replace_the_links(
    client: httpx.Client, product: ProductFactory
) -> None:
    """docs/reference/magento.md#product-json: ``extension_attributes.category_links`` travel in save and GET, ids as strings.

    The reference does not say whether a save replaces or merges existing links (stores
    differ); the emulator replaces, and cpsync sends links in a save only on create.
    """
    mugs, cups = create(client, "Mugs"), create(client, "Cups")
    body = product("MUG-1", extension_attributes={"category_links": [{"category_id": mugs}]})
    client.post("/all/V1/products", json=body)
    assert client.get(f"/all/V1/categories/{mugs}/products").json()[0]["sku"] == "MUG-1"
    body = product("MUG-1", extension_attributes={"category_links": [{"category_id": cups}]})
    saved = client.post("/all/V1/products", json=body).json()
    assert saved["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": str(cups)}
    ]
    assert client.get(f"/all/V1/categories/{mugs}/products").json() == []


def test_given_no_token_when_categories_are_read_then_401_names_the_categories_resource(
    anonymous: httpx.Client,
) -> None:
    """docs/reference/magento.md#error-catalogue row 401 / docs/reference/magento.md#authorization-failure: the ACL resource of categories."""
    response = anonymous.get("/all/V1/categories")
    assert response.status_code == 401
    assert response.json() == {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Catalog::categories"},
    }


@pytest.mark.parametrize("persist", ["reset", "restart"])
def test_given_categories_when_reset_or_restarted_then_the_store_state_covers_them(
    tmp_path: Path, persist: str
) -> None:
    """Categories live in the emulator's store: ``reset()`` empties them, the state file keeps them."""
    state_file = tmp_path / "magento.json"
    with running_emulator(EmulatorConfig(state_file=state_file)) as magento:
        headers = {"Authorization": f"Bearer {magento.token}"}
        with httpx.Client(base_url=magento.rest_url, headers=headers) as http:
            created = create(http, "Kept")
            if persist == "reset":
                magento.reset()
                assert http.get(f"/all/V1/categories/{created}").status_code == 404
                assert create(http, "Again") == 3  # ids start again
                return
    with running_emulator(EmulatorConfig(state_file=state_file)) as magento:
        headers = {"Authorization": f"Bearer {magento.token}"}
        with httpx.Client(base_url=magento.rest_url, headers=headers) as http:
            assert http.get(f"/all/V1/categories/{created}").json()["name"] == "Kept"
            assert create(http, "Next") == created + 1


def test_given_a_method_categories_do_not_have_then_404_no_route(client: httpx.Client) -> None:
    """docs/reference/magento.md#url-and-store-scope: the route table is keyed by method and path; DELETE on the collection is no route."""
    response = client.delete("/all/V1/categories")
    assert response.status_code == 404
    assert response.json() == {"message": "Request does not match any route."}


def test_given_input_limits_when_listing_over_300_then_400_page_size(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#error-catalogue row "Page size over limit (limits on)" on ``/V1/categories/list``."""
    magento.configure(input_limit_enabled=True)
    response = client.get("/all/V1/categories/list", params={"searchCriteria[pageSize]": 301})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Maximum SearchCriteria pageSize is %max",
        "parameters": {"max": 300},
    }


def test_given_categories_through_async_bulk_then_each_operation_saves_one(
    client: httpx.Client,
) -> None:
    """docs/reference/magento.md#async-bulk on a category route: 202, then each operation runs ``CategoryRepository::save``."""
    bodies = [{"category": {"name": "Bulk A"}}, {"category": {"name": "Bulk B"}}]
    accepted = client.post("/all/async/bulk/V1/categories", json=bodies)
    assert accepted.status_code == 202
    bulk_uuid = accepted.json()["bulk_uuid"]
    deadline = time.monotonic() + 30  # the consumer is a thread: slow on a loaded machine
    while True:
        status = client.get(f"/V1/bulk/{bulk_uuid}/detailed-status").json()
        if all(op["status"] != 4 for op in status["operations_list"]):
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    assert [op["status"] for op in status["operations_list"]] == [1, 1]
    tree = client.get("/all/V1/categories").json()
    assert [c["name"] for c in tree["children_data"][0]["children_data"]] == ["Bulk A", "Bulk B"]
    missing = client.post("/all/async/bulk/V1/categories", json=[{"name": "No wrapper"}])
    assert missing.status_code == 400


def test_given_a_merging_store_when_a_save_sends_category_links_then_they_are_added(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Some stores merge saved ``category_links`` into the old ones; an empty list still clears."""
    magento.configure(category_links_on_save="merge")
    mugs, cups = create(client, "Mugs"), create(client, "Cups")
    links = [{"category_id": mugs}]
    client.post(
        "/all/V1/products", json=product("M-1", extension_attributes={"category_links": links})
    )
    links = [{"category_id": cups}]
    saved = client.post(
        "/all/V1/products", json=product("M-1", extension_attributes={"category_links": links})
    ).json()
    assert {x["category_id"] for x in saved["extension_attributes"]["category_links"]} == {
        str(mugs),
        str(cups),
    }
    cleared = client.post(
        "/all/V1/products", json=product("M-1", extension_attributes={"category_links": []})
    ).json()
    assert cleared["extension_attributes"]["category_links"] == []
