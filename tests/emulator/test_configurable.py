"""Configurable products, their options and child links, and attribute option values (docs/reference/magento.md#configurable-products)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator

ProductFactory = Callable[..., dict[str, Any]]


def _color_option(client: httpx.Client, label: str) -> int:
    response = client.post(
        "/all/V1/products/attributes/color/options", json={"option": {"label": label}}
    )
    assert response.status_code == 200
    return int(response.json())


def _color_id(client: httpx.Client) -> str:
    return str(client.get("/all/V1/products/attributes/color").json()["attribute_id"])


def _child(client: httpx.Client, product: ProductFactory, sku: str, color: int | None) -> None:
    custom = [] if color is None else [{"attribute_code": "color", "value": str(color)}]
    body = product(sku, price=5, visibility=1, custom_attributes=custom)
    assert client.post("/all/V1/products", json=body).status_code == 200


def _parent_with_option(
    client: httpx.Client, product: ProductFactory, sku: str, values: list[int]
) -> str:
    client.post("/all/V1/products", json=product(sku, type_id="configurable"))
    option = {
        "attribute_id": _color_id(client),
        "label": "Color",
        "position": 0,
        "is_use_default": True,
        "values": [{"value_index": v} for v in values],
    }
    response = client.post(f"/all/V1/configurable-products/{sku}/options", json={"option": option})
    assert response.status_code == 200
    return str(response.json())


# --- attributes and option values ----------------------------------------------------------


def test_given_a_dropdown_attribute_when_read_then_it_has_an_id_and_the_empty_option(
    client: httpx.Client,
) -> None:
    attribute = client.get("/all/V1/products/attributes/color").json()
    assert attribute["attribute_code"] == "color"
    assert isinstance(attribute["attribute_id"], int)
    options = client.get("/all/V1/products/attributes/color/options").json()
    assert options == [{"label": " ", "value": ""}]


def test_given_a_new_option_label_when_added_then_its_id_comes_back_as_a_string(
    client: httpx.Client,
) -> None:
    response = client.post(
        "/all/V1/products/attributes/color/options", json={"option": {"label": "Red"}}
    )
    assert response.status_code == 200
    assert isinstance(response.json(), str) and response.json().isdigit()
    options = client.get("/all/V1/products/attributes/color/options").json()
    assert {"label": "Red", "value": response.json()} in options


def test_given_a_2_3_store_when_an_option_is_added_then_the_answer_has_the_id_prefix(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.emulator.attributes.option_id_prefix = "id_"
    try:
        answer = client.post(
            "/all/V1/products/attributes/color/options", json={"option": {"label": "Red"}}
        ).json()
    finally:
        magento.emulator.attributes.option_id_prefix = ""
    assert answer.startswith("id_")


def test_given_an_existing_label_in_other_case_when_added_again_then_400(
    client: httpx.Client,
) -> None:
    _color_option(client, "Red")
    response = client.post(
        "/all/V1/products/attributes/color/options", json={"option": {"label": "RED"}}
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Admin store attribute option label "%1" is already exists.',
        "parameters": ["RED"],
    }


def test_given_an_empty_label_when_added_then_400(client: httpx.Client) -> None:
    response = client.post(
        "/all/V1/products/attributes/color/options", json={"option": {"label": "  "}}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("The attribute option label is empty.")


def test_given_an_unknown_attribute_when_read_or_extended_then_404_names_it(
    client: httpx.Client,
) -> None:
    for response in (
        client.get("/all/V1/products/attributes/shoe_width/options"),
        client.post(
            "/all/V1/products/attributes/shoe_width/options", json={"option": {"label": "W"}}
        ),
    ):
        assert response.status_code == 404
        assert response.json()["parameters"] == ["shoe_width"]
        assert "attributeCode doesn't exist" in response.json()["message"]


def test_given_a_text_attribute_when_an_option_is_added_then_400(client: httpx.Client) -> None:
    response = client.post(
        "/all/V1/products/attributes/name/options", json={"option": {"label": "x"}}
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": 'The "%1" attribute doesn\'t work with options.',
        "parameters": ["name"],
    }


# --- configurable options -------------------------------------------------------------------


def test_given_a_configurable_when_an_option_is_added_then_the_parent_shows_it(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    option_id = _parent_with_option(client, product, "TEE", [red])
    parent = client.get("/all/V1/products/TEE").json()
    (option,) = parent["extension_attributes"]["configurable_product_options"]
    assert str(option["id"]) == option_id
    assert option["attribute_id"] == _color_id(client)
    assert option["values"] == [{"value_index": red}]
    assert parent["extension_attributes"]["configurable_product_links"] == []
    listed = client.get("/all/V1/configurable-products/TEE/options/all").json()
    assert listed == [option]
    assert client.get(f"/all/V1/configurable-products/TEE/options/{option_id}").json() == option


def test_given_an_option_without_values_or_label_when_added_then_400_lists_both(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("TEE", type_id="configurable"))
    response = client.post(
        "/all/V1/configurable-products/TEE/options",
        json={"option": {"attribute_id": _color_id(client), "values": []}},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "One or more input exceptions have occurred."
    assert [e["message"] for e in body["errors"]] == [
        "Option label is not specified.",
        "Option values are not specified.",
    ]


def test_given_an_option_on_an_attribute_already_used_when_added_again_then_400(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    option = {"attribute_id": _color_id(client), "label": "Color", "values": [{"value_index": red}]}
    response = client.post("/all/V1/configurable-products/TEE/options", json={"option": option})
    assert response.status_code == 400
    assert response.json() == {"message": "Something went wrong while saving option."}


def test_given_an_unknown_parent_when_its_options_or_children_are_read_then_404(
    client: httpx.Client,
) -> None:
    for path in ("options/all", "children", "options/1"):
        response = client.get(f"/all/V1/configurable-products/NOPE/{path}")
        assert response.status_code == 404, path


def test_given_an_unknown_parent_when_an_option_is_added_then_404(client: httpx.Client) -> None:
    option = {"attribute_id": _color_id(client), "label": "Color", "values": [{"value_index": 1}]}
    response = client.post("/all/V1/configurable-products/NOPE/options", json={"option": option})
    assert response.status_code == 404
    assert response.json()["message"].startswith("The product that was requested doesn't exist.")


# --- child links ----------------------------------------------------------------------------


def test_given_a_child_with_the_value_when_linked_then_children_lists_it(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    red, blue = _color_option(client, "Red"), _color_option(client, "Blue")
    _parent_with_option(client, product, "TEE", [red])
    _child(client, product, "TEE|BLUE", blue)
    response = client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|BLUE"})
    assert (response.status_code, response.json()) == (200, True)
    children = client.get("/all/V1/configurable-products/TEE/children").json()
    assert [c["sku"] for c in children] == ["TEE|BLUE"]
    parent = magento.store.products_by_sku()["TEE"]
    child_id = magento.store.products_by_sku()["TEE|BLUE"]["id"]
    assert parent["extension_attributes"]["configurable_product_links"] == [child_id]
    # addChild rebuilds the option's values: the child's value joins them.
    (option,) = parent["extension_attributes"]["configurable_product_options"]
    assert {"value_index": blue} in option["values"]


def test_given_a_linked_child_when_linked_again_then_400_already_attached(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    _child(client, product, "TEE|RED", red)
    client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|RED"})
    response = client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|RED"})
    assert response.status_code == 400
    assert response.json() == {"message": "The product is already attached."}


def test_given_a_parent_without_options_when_a_child_is_linked_then_400(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("TEE", type_id="configurable"))
    _child(client, product, "TEE|RED", None)
    response = client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|RED"})
    assert response.status_code == 400
    assert response.json() == {
        "message": "The parent product doesn't have configurable product options."
    }


def test_given_a_child_without_the_attribute_value_when_linked_then_400_names_the_attribute(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    _child(client, product, "TEE|PLAIN", None)
    response = client.post(
        "/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|PLAIN"}
    )
    assert response.status_code == 400
    assert response.json()["parameters"] == ["color"]
    assert response.json()["message"].startswith('The child product doesn\'t have the "%1"')


def test_given_an_unknown_child_when_linked_then_404(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    response = client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "GHOST"})
    assert response.status_code == 404


def test_given_a_missing_child_sku_wrapper_when_linked_then_400_required(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("TEE", type_id="configurable"))
    response = client.post("/all/V1/configurable-products/TEE/child", json={"sku": "X"})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "childSku"}


def test_given_a_linked_child_when_removed_then_true_and_it_is_gone_but_still_exists(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    _child(client, product, "TEE|RED", red)
    client.post("/all/V1/configurable-products/TEE/child", json={"childSku": "TEE|RED"})
    response = client.delete("/all/V1/configurable-products/TEE/children/TEE%7CRED")
    assert (response.status_code, response.json()) == (200, True)
    assert client.get("/all/V1/configurable-products/TEE/children").json() == []
    assert "TEE|RED" in magento.store.products_by_sku()


def test_given_a_child_not_linked_when_removed_then_404_option_not_found(
    client: httpx.Client, product: ProductFactory
) -> None:
    red = _color_option(client, "Red")
    _parent_with_option(client, product, "TEE", [red])
    response = client.delete("/all/V1/configurable-products/TEE/children/OTHER")
    assert response.status_code == 404
    assert response.json() == {
        "message": "The option that was requested doesn't exist. Verify the entity and try again."
    }


def test_given_a_simple_product_when_children_are_removed_or_listed_then_400_or_empty(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("MUG"))
    removed = client.delete("/all/V1/configurable-products/MUG/children/X")
    assert removed.status_code == 400
    assert removed.json() == {
        "message": 'The product with the "%1" SKU isn\'t a configurable product.',
        "parameters": ["MUG"],
    }
    assert client.get("/all/V1/configurable-products/MUG/children").json() == []


# --- options and links in a product save ----------------------------------------------------


def test_given_options_and_links_in_a_save_body_when_created_then_the_parent_is_complete(
    client: httpx.Client, product: ProductFactory
) -> None:
    red, blue = _color_option(client, "Red"), _color_option(client, "Blue")
    _child(client, product, "TEE|RED", red)
    _child(client, product, "TEE|BLUE", blue)
    ids = [client.get(f"/all/V1/products/{s}").json()["id"] for s in ("TEE%7CRED", "TEE%7CBLUE")]
    option = {
        "attribute_id": _color_id(client),
        "label": "Color",
        "position": 0,
        "values": [{"value_index": red}, {"value_index": blue}],
    }
    body = product(
        "TEE",
        type_id="configurable",
        extension_attributes={
            "configurable_product_options": [option],
            "configurable_product_links": ids,
        },
    )
    assert client.post("/all/V1/products", json=body).status_code == 200
    children = client.get("/all/V1/configurable-products/TEE/children").json()
    assert sorted(c["sku"] for c in children) == ["TEE|BLUE", "TEE|RED"]
    (saved,) = client.get("/all/V1/configurable-products/TEE/options/all").json()
    assert saved["id"] and saved["values"] == option["values"]


def test_given_a_link_to_a_missing_product_in_a_save_body_then_404_and_nothing_saved(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    body = product(
        "TEE", type_id="configurable", extension_attributes={"configurable_product_links": [999]}
    )
    assert client.post("/all/V1/products", json=body).status_code == 404
    assert magento.store.products_by_sku() == {}


def test_given_a_state_file_when_restarted_then_attribute_options_keep_their_ids(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "magento.json"
    with running_emulator(EmulatorConfig(state_file=state_file)) as first:
        http = httpx.Client(
            base_url=first.rest_url, headers={"Authorization": f"Bearer {first.token}"}
        )
        red = _color_option(http, "Red")
        http.close()
    with running_emulator(EmulatorConfig(state_file=state_file)) as second:
        http = httpx.Client(
            base_url=second.rest_url, headers={"Authorization": f"Bearer {second.token}"}
        )
        options = http.get("/all/V1/products/attributes/color/options").json()
        blue = _color_option(http, "Blue")
        http.close()
    assert {"label": "Red", "value": str(red)} in options
    assert blue != red
