"""Contract: the web API input processor (``dev/cpsync_emulator/schema.py``) and what a save may name
(``dev/cpsync_emulator/references.py``). One test per rule: status and body, over HTTP.

Nothing refused is applied: each refusal is followed by a look at the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle
from cpsync_emulator.inventory import inventory_of

ProductFactory = Callable[..., dict[str, Any]]
INTERNAL_ERROR = re.compile(
    r"^Internal Error\. Details are available in Magento log file\. Report ID: webapi-\w+$"
)
NOT_SUPPORTED = '"%fieldName" is not supported. Correct the field name and try again.'
SAVE_FAILED = "The product was unable to be saved. Please try again."


def assert_internal_error(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert set(response.json()) == {"message"}
    assert INTERNAL_ERROR.match(response.json()["message"])


def test_unknown_top_level_product_member_is_an_internal_error_by_default(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """No getter on ProductInterface (``qty``): production mode answers 500, nothing saved."""
    assert_internal_error(client.post("/V1/products", json=product("P-1", qty=5)))
    assert magento.store.find_by_sku("P-1") is None


def test_unknown_member_is_a_400_with_the_quality_patch(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """2.4.7 / ACSD-51846: 400 naming the member in UpperCamelCase."""
    magento.configure(unsupported_field_status=400)
    response = client.post("/V1/products", json=product("P-1", bogus_field="x"))
    assert response.status_code == 400
    assert response.json() == {"message": NOT_SUPPORTED, "parameters": {"fieldName": "BogusField"}}


def test_unknown_member_is_refused_even_when_empty(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """The getter is looked up before the value: ``"bogus_field": null`` is refused too."""
    magento.configure(unsupported_field_status=400)
    response = client.post("/V1/products", json=product("P-1", bogus_field=None))
    assert response.json()["parameters"] == {"fieldName": "BogusField"}


def test_unknown_extension_attribute_is_refused(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """ProductExtensionInterface has only the attributes of extension_attributes.xml."""
    body = product("P-1", extension_attributes={"qty": 5})
    assert_internal_error(client.post("/V1/products", json=body))
    magento.configure(unsupported_field_status=400)
    response = client.post("/V1/products", json=body)
    assert (response.status_code, response.json()["parameters"]) == (400, {"fieldName": "Qty"})


def test_unknown_member_deep_in_the_body_is_refused(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Every level is walked: a stock item member and a category link member."""
    magento.configure(unsupported_field_status=400)
    stock = product("P-1", extension_attributes={"stock_item": {"quantity": 3}})
    link = product("P-1", extension_attributes={"category_links": [{"category": 2}]})
    assert client.post("/V1/products", json=stock).json()["parameters"] == {"fieldName": "Quantity"}
    assert client.post("/V1/products", json=link).json()["parameters"] == {"fieldName": "Category"}


def test_read_only_member_is_skipped_when_empty_and_refused_otherwise(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """``show_default_notification_message`` has a getter and no setter (StockItemInterface)."""
    magento.configure(unsupported_field_status=400)
    empty = {"stock_item": {"qty": 2, "show_default_notification_message": False}}
    assert client.post("/V1/products", json=product("P-1", extension_attributes=empty)).is_success
    full = {"stock_item": {"qty": 2, "show_default_notification_message": True}}
    response = client.post("/V1/products", json=product("P-2", extension_attributes=full))
    assert response.json()["parameters"] == {"fieldName": "ShowDefaultNotificationMessage"}


def test_camel_case_members_are_the_same_property(
    client: httpx.Client, product: ProductFactory
) -> None:
    """``attributeSetId`` and ``attribute_set_id`` both find ``getAttributeSetId``."""
    response = client.post("/V1/products", json=product("P-1", attributeSetId=4, typeId="simple"))
    assert response.status_code == 200


def test_wrong_simple_type_is_a_400_naming_each_level(
    client: httpx.Client, product: ProductFactory
) -> None:
    """The message is rendered and wrapped once per object, innermost last."""
    body = product("P-1", extension_attributes={"stock_item": {"qty": "ten"}})
    response = client.post("/V1/products", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Error occurred during "extension_attributes" processing. Error occurred '
        'during "stock_item" processing. Error occurred during "qty" processing. The "ten" '
        'value\'s type is invalid. The "float" type was expected. Verify and try again.'
    }


def test_a_list_where_a_simple_value_is_expected_is_a_400(
    client: httpx.Client, product: ProductFactory
) -> None:
    response = client.post("/V1/products", json=product("P-1", name=["a"]))
    assert response.json() == {
        "message": 'Error occurred during "name" processing. The "array" value\'s type is '
        'invalid. The "string" type was expected. Verify and try again.'
    }


def test_a_scalar_where_a_list_of_objects_is_expected_is_a_400(
    client: httpx.Client, product: ProductFactory
) -> None:
    body = product("P-1", extension_attributes={"category_links": "2"})
    response = client.post("/V1/products", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"message": "Not all parameters valid."},
    )


def test_unknown_custom_attribute_code_is_refused(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Only the catalog's attributes (system ones and the store's dropdowns) may be named."""
    body = product("P-1", custom_attributes=[{"attribute_code": "flavour", "value": "x"}])
    response = client.post("/V1/products", json=body)
    assert response.status_code == 404
    assert response.json() == {
        "message": 'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute '
        "and try again.",
        "parameters": ["flavour"],
    }
    assert magento.store.find_by_sku("P-1") is None


def test_unknown_category_custom_attribute_is_refused(client: httpx.Client) -> None:
    body = {
        "category": {"name": "Hats", "custom_attributes": [{"attribute_code": "x", "value": 1}]}
    }
    response = client.post("/all/V1/categories", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Could not save category: %1"
    assert "attributeCode doesn't exist" in response.json()["parameters"][0]


@pytest.mark.parametrize(
    "fields",
    [
        {"type_id": "spaceship"},
        {"extension_attributes": {"website_ids": [999]}},
        {"extension_attributes": {"category_links": [{"position": 0, "category_id": "999"}]}},
    ],
    ids=["type_id", "website_ids", "category_links"],
)
def test_a_type_website_or_category_that_does_not_exist_is_refused(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory, fields: dict[str, Any]
) -> None:
    response = client.post("/V1/products", json=product("P-1", **fields))
    assert (response.status_code, response.json()) == (400, {"message": SAVE_FAILED})
    assert magento.store.find_by_sku("P-1") is None


def test_category_product_link_to_a_missing_category_is_refused(
    client: httpx.Client, product: ProductFactory
) -> None:
    """``CategoryLinkRepository`` loads the category first: 404 No such entity."""
    assert client.post("/V1/products", json=product("P-1")).is_success
    link = {"productLink": {"sku": "P-1", "position": 0, "category_id": "999"}}
    response = client.post("/V1/categories/999/products", json=link)
    assert response.status_code == 404
    assert response.json() == {
        "message": "No such entity with %fieldName = %fieldValue",
        "parameters": {"fieldName": "id", "fieldValue": 999},
    }


def test_source_item_with_an_unknown_member_is_refused(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(unsupported_field_status=400)
    item = {"sku": "P-1", "source_code": "default", "quantity": 1, "status": 1, "qty": 1}
    response = client.post("/V1/inventory/source-items", json={"sourceItems": [item]})
    assert (response.status_code, response.json()["parameters"]) == (400, {"fieldName": "Qty"})
    assert inventory_of(magento.store).source_items() == []


def test_price_row_with_a_wrong_type_is_refused(client: httpx.Client) -> None:
    row = {"sku": "P-1", "price": 5, "store_id": "main"}
    response = client.post("/V1/products/base-prices", json={"prices": [row]})
    assert response.json() == {
        "message": 'Error occurred during "store_id" processing. The "main" value\'s type is '
        'invalid. The "int" type was expected. Verify and try again.'
    }


def test_async_bulk_items_go_through_the_input_processor_before_acceptance(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Issue #36881: items are resolved when the request comes in, so the refusal is synchronous."""
    magento.configure(unsupported_field_status=400)
    response = client.post("/all/async/bulk/V1/products", json=[product("B-1", qty=1)])
    assert (response.status_code, response.json()["parameters"]) == (400, {"fieldName": "Qty"})


def test_empty_values_and_members_outside_the_method_are_accepted(
    client: httpx.Client, product: ProductFactory
) -> None:
    """Known members may be null; a top-level member that is not a parameter is ignored."""
    body = {**product("P-1", weight=None, extension_attributes={}), "comment": "ignored"}
    assert client.post("/V1/products", json=body).status_code == 200


def test_a_category_read_back_with_children_cannot_be_saved_as_is(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """``getChildren()`` has no setter: a GET body saved back fails once the category has one."""
    magento.configure(unsupported_field_status=400)
    parent = client.post("/all/V1/categories", json={"category": {"name": "Kitchen"}}).json()
    leaf = {"category": {"name": "Mugs", "parent_id": parent["id"]}}
    assert client.post("/all/V1/categories", json=leaf).is_success
    read = client.get(f"/all/V1/categories/{parent['id']}").json()
    assert read["children"]
    response = client.put(f"/all/V1/categories/{parent['id']}", json={"category": read})
    assert (response.status_code, response.json()["parameters"]) == (
        400,
        {"fieldName": "Children"},
    )


def test_a_product_read_back_can_be_saved_as_is(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Every member a product GET shows has a setter (the stock item's read-only flag is false)."""
    magento.configure(unsupported_field_status=400)
    stock = {"stock_item": {"qty": 3, "is_in_stock": True}}
    assert client.post("/V1/products", json=product("P-1", extension_attributes=stock)).is_success
    read = client.get("/V1/products/P-1").json()
    assert client.put("/V1/products/P-1", json={"product": read}).status_code == 200
