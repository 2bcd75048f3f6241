"""Framework contract (docs/reference/magento.md#every-request, #authorization-failure): routes, store codes, 401/404 shapes, body checks, %2F SKUs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator

ProductFactory = Callable[..., dict[str, Any]]

NO_ROUTE = {"message": "Request does not match any route."}
UNAUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Catalog::products"},
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/V1/no-such-resource"),
        ("DELETE", "/V1/products"),  # a known path with a method it does not have
        ("GET", "/nosuch/V1/products/ABC"),  # an unknown store code stays in the path
        ("GET", "/default/V2/products/ABC"),
    ],
)
def test_given_no_token_when_calling_an_unknown_route_then_404_before_any_auth(
    anonymous: httpx.Client, method: str, path: str
) -> None:
    # WHEN
    response = anonymous.request(method, path)
    # THEN the route is matched first: 404, not 401
    assert response.status_code == 404
    assert response.json() == NO_ROUTE
    assert response.headers["content-type"].startswith("application/json")


def test_given_a_path_outside_rest_when_called_then_404_no_route(magento: EmulatorHandle) -> None:
    response = httpx.get(f"{magento.url}/index.php/catalog")
    assert response.status_code == 404
    assert response.json() == NO_ROUTE


def test_given_a_method_magento_never_accepts_when_called_then_400(client: httpx.Client) -> None:
    response = client.request("PATCH", "/V1/products/ABC", json={})
    assert response.status_code == 400
    assert response.json() == {"message": "Request method is invalid."}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic YWRtaW46eA=="])
def test_given_no_valid_token_when_reading_products_then_401_names_the_acl_resource(
    magento: EmulatorHandle, authorization: str | None
) -> None:
    # GIVEN
    headers = {"Authorization": authorization} if authorization else {}
    # WHEN
    response = httpx.get(f"{magento.rest_url}/V1/products/ABC", headers=headers)
    # THEN
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("prefix", ["", "/default", "/all"])
def test_given_a_product_when_read_through_any_store_prefix_then_found(
    client: httpx.Client, product: ProductFactory, prefix: str
) -> None:
    # GIVEN
    assert client.post("/V1/products", json=product("ABC")).status_code == 200
    # WHEN
    response = client.get(f"{prefix}/V1/products/ABC")
    # THEN
    assert response.status_code == 200
    assert response.json()["sku"] == "ABC"


def test_given_an_extra_store_code_when_configured_then_its_prefix_routes(
    product: ProductFactory,
) -> None:
    # GIVEN an emulator with a second store view "fr"
    with running_emulator(EmulatorConfig(store_codes=["default", "fr"])) as magento:
        headers = {"Authorization": f"Bearer {magento.token}"}
        with httpx.Client(base_url=magento.rest_url, headers=headers) as http:
            # WHEN a product is saved and read through it
            saved = http.post("/fr/V1/products", json=product("FR-1"))
            read = http.get("/fr/V1/products/FR-1")
    # THEN
    assert saved.status_code == 200
    assert read.json()["extension_attributes"]["website_ids"] == [1]


@pytest.mark.parametrize(
    ("content_type", "message", "parameters"),
    [
        (None, "Content-Type header is empty.", None),
        ("json", "Content-Type header is invalid.", None),
        ("application/json; charset=iso-8859-1", "UTF-8 is the only supported charset.", None),
        (
            "text/plain",
            "Server cannot understand Content-Type HTTP header media type %1",
            ["text/plain"],
        ),
    ],
)
def test_given_a_bad_content_type_when_saving_then_400_with_magentos_message(
    client: httpx.Client,
    content_type: str | None,
    message: str,
    parameters: list[str] | None,
) -> None:
    # GIVEN
    headers = {"Content-Type": content_type} if content_type else {}
    # WHEN
    response = client.post("/V1/products", content=b'{"product": {}}', headers=headers)
    # THEN
    assert response.status_code == 400
    expected = {"message": message} | ({"parameters": parameters} if parameters else {})
    assert response.json() == expected


def test_given_a_utf8_charset_when_saving_then_accepted(
    client: httpx.Client, product: ProductFactory
) -> None:
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    response = client.post("/V1/products", json=product("U-1"), headers=headers)
    assert response.status_code == 200


def test_given_broken_json_when_saving_then_400_decoding_error(client: httpx.Client) -> None:
    response = client.post(
        "/V1/products", content=b'{"product": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Decoding error."}


@pytest.mark.parametrize("body", [{"sku": "ABC", "name": "No wrapper"}, [], "product"])
def test_given_no_product_wrapper_when_saving_then_400_field_required(
    client: httpx.Client, body: object
) -> None:
    response = client.post("/V1/products", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "product"},
    }


def test_given_a_sku_with_a_slash_when_sent_as_percent_2f_then_it_round_trips(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # WHEN a SKU with "/" is saved, read and deleted through %2F in the path
    saved = client.put("/all/V1/products/MUG%2F12", json=product("ignored"))
    read = client.get("/V1/products/mug%2f12")
    # THEN it is one path segment, the SKU "MUG/12"
    assert saved.status_code == 200
    assert saved.json()["sku"] == "MUG/12"
    assert read.status_code == 200
    assert read.json()["id"] == saved.json()["id"]
    assert list(magento.store.products_by_sku()) == ["MUG/12"]
    assert client.delete("/V1/products/MUG%2F12").json() is True
    assert client.get("/V1/products/MUG%2F12").status_code == 404


def test_given_apache_rejects_encoded_slashes_when_percent_2f_is_sent_then_404_no_route(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    magento.configure(reject_encoded_slash=True)
    # WHEN
    response = client.put("/all/V1/products/MUG%2F12", json=product("MUG/12"))
    # THEN nothing reached Magento
    assert response.status_code == 404
    assert response.json() == NO_ROUTE
    assert magento.store.products_by_sku() == {}


def test_given_an_unencoded_slash_in_a_sku_when_read_then_no_route(client: httpx.Client) -> None:
    response = client.get("/V1/products/MUG/12")
    assert response.status_code == 404
    assert response.json() == NO_ROUTE
