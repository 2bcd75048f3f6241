"""Product save, read and delete as Magento does them (docs/reference/magento.md#product-save, #product-json)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle

ProductFactory = Callable[..., dict[str, Any]]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def attributes(product: dict[str, Any]) -> dict[str, Any]:
    """custom_attributes as a dict by code."""
    return {a["attribute_code"]: a["value"] for a in product["custom_attributes"]}


def test_given_a_sku_when_posted_twice_in_other_case_then_one_product_is_updated(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    first = client.post("/all/V1/products", json=product("Mug-12", price=5)).json()
    # WHEN the same SKU comes again, other case and padded with spaces
    second = client.post("/all/V1/products", json=product("  mug-12 ", "Item Mug-12", price=7))
    # THEN it is an update of the same entity, not a second product
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert second.json()["price"] == 7
    assert len(magento.store.products) == 1
    assert magento.stats()["writes"] == {"products.created": 1, "products.updated": 1}


def test_given_a_put_when_body_and_path_skus_differ_then_the_path_sku_is_saved(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # WHEN
    response = client.put("/all/V1/products/PATH-SKU", json=product("BODY-SKU"))
    # THEN the body SKU is silently ignored (issues #3687, #30143)
    assert response.status_code == 200
    assert response.json()["sku"] == "PATH-SKU"
    assert list(magento.store.products_by_sku()) == ["PATH-SKU"]


def test_given_a_put_on_an_unknown_sku_when_saved_then_the_product_is_created(
    client: httpx.Client, product: ProductFactory
) -> None:
    response = client.put("/all/V1/products/NEW-1", json=product("NEW-1"))
    assert response.status_code == 200
    assert client.get("/V1/products/NEW-1").json()["id"] == response.json()["id"]


def test_given_a_disabled_product_when_updated_without_status_then_it_stays_disabled(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN
    client.post("/all/V1/products", json=product("OFF-1", status=2))
    # WHEN
    updated = client.put("/all/V1/products/OFF-1", json={"product": {"price": 12.5}})
    # THEN
    assert updated.status_code == 200
    assert updated.json()["status"] == 2
    assert updated.json()["price"] == 12.5
    assert updated.json()["name"] == "Item OFF-1"


def test_given_a_new_product_without_status_when_created_then_it_is_enabled(
    client: httpx.Client, product: ProductFactory
) -> None:
    assert client.post("/V1/products", json=product("ON-1")).json()["status"] == 1


def test_given_a_saved_product_when_read_back_then_it_has_magentos_shape(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN a body with string numbers, as the devdocs tutorial sends
    body = product(
        "MS-Champ-S",
        "Champ Tee Small",
        attribute_set_id="9",
        price=25,
        visibility=1,
        type_id="simple",
        weight="0.5",
        extension_attributes={
            "category_links": [{"position": 0, "category_id": 2}],
            "stock_item": {"qty": "10", "is_in_stock": True},
        },
        custom_attributes=[
            {"attribute_code": "description", "value": "Soft"},
            {"attribute_code": "color", "value": 52},
        ],
    )
    # WHEN
    saved = client.post("/all/V1/products", json=body).json()
    read = client.get("/V1/products/ms-champ-s").json()
    # THEN the save answers the product as a GET shows it
    assert saved == read
    assert isinstance(read["id"], int)
    assert (read["attribute_set_id"], read["status"], read["visibility"]) == (9, 1, 1)
    assert read["weight"] == 0.5
    assert TIMESTAMP.match(read["created_at"])
    assert TIMESTAMP.match(read["updated_at"])
    extension = read["extension_attributes"]
    assert extension["website_ids"] == [1]
    assert extension["category_links"] == [{"position": 0, "category_id": "2"}]
    assert extension["stock_item"]["qty"] == 10
    assert extension["stock_item"]["is_in_stock"] is True
    custom = attributes(read)
    assert custom["description"] == "Soft"
    assert custom["color"] == "52"  # values come back as strings
    assert custom["url_key"] == "champ-tee-small"
    assert custom["category_ids"] == ["2"]
    for member in ("product_links", "options", "media_gallery_entries", "tier_prices"):
        assert read[member] == []


def test_given_camel_case_keys_when_saving_then_they_are_read_as_snake_case(
    client: httpx.Client,
) -> None:
    body = {
        "product": {
            "sku": "CAMEL-1",
            "name": "Camel",
            "typeId": "virtual",
            "attributeSetId": 4,
            "extensionAttributes": {"stockItem": {"qty": 3, "isInStock": True}},
            "customAttributes": [{"attributeCode": "description", "value": "x"}],
        }
    }
    saved = client.post("/V1/products", json=body).json()
    assert saved["type_id"] == "virtual"
    assert saved["extension_attributes"]["stock_item"]["is_in_stock"] is True
    assert attributes(saved)["description"] == "x"


@pytest.mark.parametrize(
    ("prefix", "body_websites", "expected"),
    [
        ("/all", None, [1]),  # admin scope: all websites
        ("/default", None, [1]),  # the store's website
        ("", None, [1]),  # no code: the default store's website
        ("/all", [], []),  # an explicit list wins
    ],
)
def test_given_a_store_scope_when_creating_then_websites_follow_the_scope(
    client: httpx.Client,
    product: ProductFactory,
    prefix: str,
    body_websites: list[int] | None,
    expected: list[int],
) -> None:
    extension = {} if body_websites is None else {"website_ids": body_websites}
    body = product("WEB-1", extension_attributes=extension)
    saved = client.post(f"{prefix}/V1/products", json=body).json()
    assert saved["extension_attributes"]["website_ids"] == expected


def test_given_two_products_with_one_name_when_saved_then_the_url_key_clashes(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    client.post("/all/V1/products", json=product("TEE-1", "Blue Tee"))
    # WHEN a second product gets the same name and so the same generated url_key
    clash = client.post("/all/V1/products", json=product("TEE-2", "Blue Tee"))
    # THEN (issues #8188, #11266: Magento does not add a suffix)
    assert clash.status_code == 400
    assert clash.json() == {"message": "URL key for specified store already exists."}
    assert list(magento.store.products_by_sku()) == ["TEE-1"]
    # AND an explicit url_key resolves it
    url_key = [{"attribute_code": "url_key", "value": "Blue Tee TEE-2"}]
    fixed = client.post(
        "/all/V1/products", json=product("TEE-2", "Blue Tee", custom_attributes=url_key)
    )
    assert fixed.status_code == 200
    assert attributes(fixed.json())["url_key"] == "blue-tee-tee-2"


def test_given_a_product_when_resaved_with_its_own_url_key_then_no_clash(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("TEE-1", "Blue Tee"))
    again = client.put("/all/V1/products/TEE-1", json=product("TEE-1", "Blue Tee"))
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("sku", "message", "parameters"),
    [
        ("", 'The "%1" attribute value is empty. Set the attribute and try again.', ["sku"]),
        ("   ", 'The "%1" attribute value is empty. Set the attribute and try again.', ["sku"]),
        ("X" * 65, "SKU length should be %1 characters maximum.", [64]),
    ],
)
def test_given_an_invalid_sku_when_saving_then_400_and_nothing_is_written(
    client: httpx.Client,
    magento: EmulatorHandle,
    product: ProductFactory,
    sku: str,
    message: str,
    parameters: list[Any],
) -> None:
    response = client.post("/V1/products", json=product(sku, "Name"))
    assert response.status_code == 400
    assert response.json() == {"message": message, "parameters": parameters}
    assert magento.store.products_by_sku() == {}


def test_given_a_64_character_sku_when_saving_then_accepted(
    client: httpx.Client, product: ProductFactory
) -> None:
    assert client.post("/V1/products", json=product("X" * 64)).status_code == 200


def test_given_a_new_product_without_name_when_saving_then_400_required_attribute(
    client: httpx.Client,
) -> None:
    response = client.post("/V1/products", json={"product": {"sku": "NONAME"}})
    assert response.status_code == 400
    assert response.json() == {
        "message": 'The "%1" attribute value is empty. Set the attribute and try again.',
        "parameters": ["name"],
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({}, {"message": "There is an empty custom attribute specified."}),
        (
            {"value": "x"},
            {"message": "A custom attribute is specified without an attribute code."},
        ),
        (
            {"attribute_code": "color"},
            {"message": 'Value is not set for attribute code "%1"', "parameters": ["color"]},
        ),
    ],
)
def test_given_a_malformed_custom_attribute_when_saving_then_400(
    client: httpx.Client, product: ProductFactory, entry: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = client.post("/V1/products", json=product("CA-1", custom_attributes=[entry]))
    assert response.status_code == 400
    assert response.json() == expected


def test_given_a_non_numeric_status_when_saving_then_400_type_error(
    client: httpx.Client, product: ProductFactory
) -> None:
    response = client.post("/V1/products", json=product("T-1", status="enabled"))
    assert response.status_code == 400
    # The input processor renders the message and wraps it with the member's name.
    assert response.json() == {
        "message": 'Error occurred during "status" processing. The "enabled" value\'s type is '
        'invalid. The "int" type was expected. Verify and try again.'
    }


def test_given_an_update_when_custom_attributes_are_sent_then_they_merge_by_code(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN
    first = [
        {"attribute_code": "description", "value": "a"},
        {"attribute_code": "color", "value": "1"},
    ]
    client.post("/V1/products", json=product("M-1", custom_attributes=first))
    # WHEN
    second = [{"attribute_code": "color", "value": "2"}]
    updated = client.post("/V1/products", json=product("M-1", custom_attributes=second)).json()
    # THEN
    assert attributes(updated)["description"] == "a"
    assert attributes(updated)["color"] == "2"


def test_given_an_unknown_sku_when_read_then_404_without_parameters(client: httpx.Client) -> None:
    response = client.get("/V1/products/NOPE")
    assert response.status_code == 404
    assert response.json() == {
        "message": "The product that was requested doesn't exist. Verify the product and try again."
    }


def test_given_a_product_when_deleted_then_true_and_gone(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    client.post("/V1/products", json=product("DEL-1"))
    # WHEN
    response = client.delete("/V1/products/del-1")
    # THEN
    assert response.status_code == 200
    assert response.json() is True
    assert client.get("/V1/products/DEL-1").status_code == 404
    assert client.delete("/V1/products/DEL-1").status_code == 404
    assert magento.store.products_by_sku() == {}


def test_a_saved_stock_item_moves_the_default_source_of_a_simple_product_only(
    client: httpx.Client, product: Any
) -> None:
    # GIVEN creates with a legacy stock item: a simple product in stock, one empty, a parent
    stock = {"stock_item": {"qty": 7, "is_in_stock": True}}
    empty = {"stock_item": {"qty": 0, "is_in_stock": False}}
    client.post("/all/V1/products", json=product("S-1", extension_attributes=stock))
    client.post("/all/V1/products", json=product("S-0", extension_attributes=empty))
    parent = product("C-1", type_id="configurable", extension_attributes=stock)
    client.post("/all/V1/products", json=parent)
    # THEN MSI's default source follows the in-stock simple product only (as its plugin does)
    params = {"searchCriteria[pageSize]": "50"}
    items = client.get("/all/V1/inventory/source-items", params=params).json()["items"]
    assert [(i["sku"], i["source_code"], i["quantity"], i["status"]) for i in items] == [
        ("S-1", "default", 7.0, 1)
    ]


def test_a_special_price_saved_as_attributes_is_the_special_price_the_price_api_reads(
    client: httpx.Client, product: Any
) -> None:
    # GIVEN a create with special_price and its dates as custom attributes
    special = [
        {"attribute_code": "special_price", "value": "4.5"},
        {"attribute_code": "special_from_date", "value": "2026-12-01 06:00:00"},
        {"attribute_code": "special_to_date", "value": "2026-12-24 23:59:59"},
    ]
    client.post("/all/V1/products", json=product("SP-1", price=9, custom_attributes=special))
    # WHEN the special-price API is asked, THEN it has the same row (store 0)
    rows = client.post("/all/V1/products/special-price-information", json={"skus": ["SP-1"]}).json()
    assert rows == [
        {
            "price": 4.5,
            "store_id": 0,
            "sku": "SP-1",
            "price_from": "2026-12-01 06:00:00",
            "price_to": "2026-12-24 23:59:59",
        }
    ]
