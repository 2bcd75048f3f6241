"""One special price per product and store, as Magento Open Source keeps it: the product's
``special_price`` / ``special_from_date`` / ``special_to_date`` attributes are what the
special-price API reads and writes (docs/reference/magento.md#special-prices)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator
from cpsync_emulator.prices import prices_of

ProductFactory = Callable[..., dict[str, Any]]
SPECIAL = "/all/V1/products/special-price"
SPECIAL_INFO = "/all/V1/products/special-price-information"
SPECIAL_DELETE = "/all/V1/products/special-price-delete"
DEC1, DEC24 = "2026-12-01 00:00:00", "2026-12-24 23:59:59"


def _special(product: dict[str, Any]) -> dict[str, Any]:
    codes = ("special_price", "special_from_date", "special_to_date")
    return {
        a["attribute_code"]: a["value"]
        for a in product["custom_attributes"]
        if a["attribute_code"] in codes
    }


def _attributes(price: Any, start: Any = None, end: Any = None) -> list[dict[str, Any]]:
    return [
        {"attribute_code": "special_price", "value": price},
        {"attribute_code": "special_from_date", "value": start},
        {"attribute_code": "special_to_date", "value": end},
    ]


def _info(client: httpx.Client, sku: str) -> list[tuple[Any, ...]]:
    rows = client.post(SPECIAL_INFO, json={"skus": [sku]}).json()
    return [(r["store_id"], r["price"], r["price_from"], r["price_to"]) for r in rows]


def test_given_a_special_price_saved_through_the_price_api_then_the_product_shows_it(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN a product WHEN the special-price API saves a special price with dates
    client.post("/all/V1/products", json=product("A", price=10))
    row = {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1, "price_to": DEC24}
    client.post(SPECIAL, json={"prices": [row]})
    # THEN the product read (through every store) has the three attributes, as EAV prints them
    for path in ("/all/V1/products/A", "/default/V1/products/A", "/V1/products/A"):
        assert _special(client.get(path).json()) == {
            "special_price": "8.000000",
            "special_from_date": DEC1,
            "special_to_date": DEC24,
        }
    found = client.get("/all/V1/products", params={"searchCriteria[pageSize]": "5"}).json()
    assert _special(found["items"][0])["special_price"] == "8.000000"
    # WHEN it is deleted THEN the product has none of them any more
    client.post(SPECIAL_DELETE, json={"prices": [{"price": 8, "store_id": 0, "sku": "A"}]})
    assert _special(client.get("/all/V1/products/A").json()) == {}


def test_given_a_special_price_when_the_product_is_saved_without_it_then_it_stays(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN a special price saved through the price API
    client.post("/all/V1/products", json=product("A", price=10))
    row = {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1, "price_to": DEC24}
    client.post(SPECIAL, json={"prices": [row]})
    # WHEN the product is saved with a new name and other custom attributes only
    other = [{"attribute_code": "description", "value": "new"}]
    saved = client.put("/all/V1/products/A", json=product("A", "Renamed", custom_attributes=other))
    # THEN the special price is untouched, in the answer and in the price API
    assert _special(saved.json())["special_price"] == "8.000000"
    assert _info(client, "A") == [(0, 8.0, DEC1, DEC24)]


def test_given_a_product_save_with_special_attributes_then_the_price_api_reads_them_as_datetimes(
    client: httpx.Client, product: ProductFactory
) -> None:
    # WHEN a create sends a special price with day-only dates (a datetime attribute)
    body = product("A", price=10, custom_attributes=_attributes("4.5", "2026-12-01", "2026-12-24"))
    created = client.post("/all/V1/products", json=body)
    # THEN both reads show the dates as datetime values
    assert _special(created.json()) == {
        "special_price": "4.500000",
        "special_from_date": DEC1,
        "special_to_date": "2026-12-24 00:00:00",
    }
    assert _info(client, "A") == [(0, 4.5, DEC1, "2026-12-24 00:00:00")]
    # WHEN a date Magento cannot read is sent THEN the save is refused and nothing changes
    bad = client.put(
        "/all/V1/products/A", json=product("A", custom_attributes=_attributes(3, "soon"))
    )
    assert (bad.status_code, bad.json()["message"]) == (400, "Invalid date")
    assert _info(client, "A") == [(0, 4.5, DEC1, "2026-12-24 00:00:00")]


def test_given_a_product_save_that_clears_the_price_only_then_the_dates_stay_and_come_back(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN a special price with dates
    client.post("/all/V1/products", json=product("A", price=10))
    row = {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1, "price_to": DEC24}
    client.post(SPECIAL, json={"prices": [row]})
    # WHEN a product save sets special_price to null and leaves the dates out
    cleared = [{"attribute_code": "special_price", "value": None}]
    client.put("/all/V1/products/A", json=product("A", custom_attributes=cleared))
    # THEN the price API shows nothing, the product still has the dates
    assert _info(client, "A") == []
    assert _special(client.get("/all/V1/products/A").json()) == {
        "special_from_date": DEC1,
        "special_to_date": DEC24,
    }
    # WHEN a later price-API save sends a price without dates THEN the old dates apply again
    client.post(SPECIAL, json={"prices": [{"price": 7, "store_id": 0, "sku": "A"}]})
    assert _info(client, "A") == [(0, 7.0, DEC1, DEC24)]


@pytest.fixture
def two_views() -> Iterator[httpx.Client]:
    """An emulator with two store views of one website (global price scope)."""
    config = EmulatorConfig(store_codes=["default", "fr"])
    with (
        running_emulator(config) as magento,
        httpx.Client(
            base_url=magento.rest_url, headers={"Authorization": f"Bearer {magento.token}"}
        ) as client,
    ):
        yield client


def test_given_two_store_views_when_a_store_view_saves_the_special_price_then_the_scopes_apply(
    two_views: httpx.Client, product: ProductFactory
) -> None:
    client = two_views
    client.post("/all/V1/products", json=product("A", price=10))
    # WHEN the special price and its dates are saved through the French store view
    body = product("A", custom_attributes=_attributes(6, DEC1, DEC24))
    client.put("/fr/V1/products/A", json=body)
    # THEN the price (global scope) is store 0's; the dates (website scope) are each view's,
    # so the price API's row at store 0 carries them, once per pair of stores (its join
    # ignores the store)
    assert _info(client, "A") == [(0, 6.0, DEC1, DEC24)] * 4
    assert _special(client.get("/default/V1/products/A").json())["special_to_date"] == DEC24
    assert "special_to_date" not in _special(client.get("/all/V1/products/A").json())
    # WHEN the price API deletes store 0's special price THEN the views' dates are left
    client.post(SPECIAL_DELETE, json={"prices": [{"price": 6, "store_id": 0, "sku": "A"}]})
    assert _special(client.get("/fr/V1/products/A").json()) == {
        "special_from_date": DEC1,
        "special_to_date": DEC24,
    }


def test_given_an_imported_special_price_then_the_product_and_the_price_api_agree(
    client: httpx.Client, product: ProductFactory
) -> None:
    # GIVEN a special price from an earlier save
    client.post("/all/V1/products", json=product("A", price=10))
    client.post(SPECIAL, json={"prices": [{"price": 8, "store_id": 0, "sku": "A"}]})
    # WHEN the import sets a new price and an end only (a time it keeps as the day)
    row = {"sku": "A", "special_price": "5", "special_price_to_date": DEC24}
    source = {"entity": "catalog_product", "behavior": "append", "items": [row]}
    source |= {"validation_strategy": "validation-skip-errors", "allowed_error_count": "0"}
    assert client.post("/all/V1/import/json", json={"source": source}).status_code == 200
    # THEN one special price, seen the same through the product and the price API
    assert _info(client, "A") == [(0, 5.0, None, "2026-12-24 00:00:00")]
    assert _special(client.get("/all/V1/products/A").json()) == {
        "special_price": "5.000000",
        "special_to_date": "2026-12-24 00:00:00",
    }


def test_given_a_deleted_product_when_its_sku_is_created_again_then_it_has_no_special_price(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    client.post("/all/V1/products", json=product("A", price=10))
    client.post(SPECIAL, json={"prices": [{"price": 8, "store_id": 0, "sku": "A"}]})
    # WHEN the product is deleted and created again
    client.delete("/all/V1/products/A")
    client.post("/all/V1/products", json=product("A", price=10))
    # THEN its special price went with it
    assert _info(client, "A") == []
    assert prices_of(magento.store).special_prices() == []


def test_given_one_store_view_when_it_saves_the_special_price_then_store_0_holds_it(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    """``hasSingleStore``: a Magento with one store view saves every value at store 0."""
    client.post("/all/V1/products", json=product("A", price=10))
    # WHEN the only store view saves a special price with dates
    body = product("A", custom_attributes=_attributes(6, DEC1, DEC24))
    client.put("/default/V1/products/A", json=body)
    # THEN it is store 0's: one row for the price API, seen by the admin's read too
    assert [r["store_id"] for r in prices_of(magento.store).special_prices()] == [0]
    assert _info(client, "A") == [(0, 6.0, DEC1, DEC24)]
    assert _special(client.get("/all/V1/products/A").json())["special_to_date"] == DEC24


def test_given_special_prices_when_products_are_searched_by_them_then_the_filter_sees_them(
    client: httpx.Client, product: ProductFactory
) -> None:
    for sku in ("A", "B"):
        client.post("/all/V1/products", json=product(sku, price=10))
    client.post(SPECIAL, json={"prices": [{"price": 8, "store_id": 0, "sku": "B"}]})
    # WHEN products are searched for a special price
    params = {
        "searchCriteria[filterGroups][0][filters][0][field]": "special_price",
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "notnull",
    }
    found = client.get("/all/V1/products", params=params).json()
    # THEN only B is found
    assert [item["sku"] for item in found["items"]] == ["B"]
