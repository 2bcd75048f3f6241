"""Base and special prices: partial failures, strict dates, per-row application (docs/reference/magento.md#prices)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle
from cpsync_emulator.prices import prices_of

ProductFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def two_products(client: httpx.Client, product: ProductFactory) -> None:
    for sku in ("A", "B"):
        client.post("/all/V1/products", json=product(sku, price=10))


@pytest.mark.usefixtures("two_products")
def test_given_valid_and_invalid_rows_when_base_prices_are_saved_then_valid_rows_apply(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # WHEN
    response = client.post(
        "/all/V1/products/base-prices",
        json={"prices": [
            {"price": 12.5, "store_id": 0, "sku": "a"},
            {"price": 5, "store_id": 0, "sku": "not_existing_sku"},
            {"price": -9999, "store_id": 0, "sku": "B"},
        ]},
    )  # fmt: skip
    # THEN 200 with the failure list, positional parameters; the valid row is applied
    assert response.status_code == 200
    assert response.json() == [
        {
            "message": "Invalid attribute %fieldName = %fieldValue.",
            "parameters": ["SKU", "not_existing_sku"],
        },
        {
            "message": "Invalid attribute %fieldName = %fieldValue.",
            "parameters": ["Price", "-9999"],
        },
    ]
    prices = magento.store.products_by_sku()
    assert (prices["A"]["price"], prices["B"]["price"]) == (12.5, 10)
    info = client.post("/all/V1/products/base-prices-information", json={"skus": ["A", "NOPE"]})
    assert info.json() == [{"price": 12.5, "store_id": 0, "sku": "A"}]


@pytest.mark.usefixtures("two_products")
def test_given_special_prices_when_dates_are_not_strict_then_that_row_fails_alone(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    rows = [
        {"price": 8, "store_id": 0, "sku": "A", "price_from": "2026-12-01 06:00:00",
         "price_to": "2026-12-02 23:59:59"},
        {"price": 7, "store_id": 0, "sku": "B", "price_from": "2026-12-01"},
        {"price": 7, "store_id": 0, "sku": "C"},
    ]  # fmt: skip
    # WHEN
    response = client.post("/all/V1/products/special-price", json={"prices": rows})
    # THEN
    failures = response.json()
    assert response.status_code == 200
    assert [f["message"].split(" Row ID")[0] for f in failures] == [
        "Invalid attribute %label = %priceTo.",
        "The product that was requested doesn't exist. Verify the product and try again.",
    ]
    assert failures[0]["parameters"] == ["Price From", "B", "0", "2026-12-01", ""]
    assert failures[1]["parameters"][0] == "C"
    assert prices_of(magento.store).special_prices() == [
        {"price": 8.0, "store_id": 0, "sku": "A", "price_from": "2026-12-01 06:00:00",
         "price_to": "2026-12-02 23:59:59"},
    ]  # fmt: skip


@pytest.mark.usefixtures("two_products")
def test_given_a_special_price_when_replaced_read_and_deleted_then_one_row_at_most(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    first = {"price": 8, "store_id": 0, "sku": "A"}
    second = {"price": 6, "store_id": 0, "sku": "A", "price_from": "2026-12-01 00:00:00"}
    client.post("/all/V1/products/special-price", json={"prices": [first]})
    client.post("/all/V1/products/special-price", json={"prices": [second]})
    info = client.post("/all/V1/products/special-price-information", json={"skus": ["a", "B"]})
    assert [(r["sku"], r["price"], r["price_from"]) for r in info.json()] == [
        ("A", 6.0, "2026-12-01 00:00:00")
    ]
    # WHEN the old row is deleted, nothing happens; the current one goes
    client.post("/all/V1/products/special-price-delete", json={"prices": [first]})
    assert len(prices_of(magento.store).special_prices()) == 1
    gone = client.post("/all/V1/products/special-price-delete", json={"prices": [second]})
    assert gone.json() == []
    assert prices_of(magento.store).special_prices() == []


def test_given_bad_shapes_or_limits_then_the_whole_call_is_refused(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    not_array = client.post("/all/V1/products/base-prices", json={"prices": "x"})
    assert (not_array.status_code, not_array.json()["message"]) == (
        400,
        "Invalid input data format. Expected an array of prices.",
    )
    magento.configure(input_limit_enabled=True)
    rows = [{"price": 1, "store_id": 0, "sku": f"S{n}"} for n in range(21)]
    over = client.post("/all/V1/products/special-price", json={"prices": rows})
    assert over.status_code == 400
    assert over.json()["parameters"] == {
        "type": "\\Magento\\Catalog\\Api\\Data\\SpecialPriceInterface",
        "max": 20,
    }


def test_given_a_cost_per_row_when_a_bulk_call_is_made_then_it_takes_that_long(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("A"))
    magento.configure(record_costs_ms={"prices.base.save": 5.0})
    rows = [{"price": 1, "store_id": 0, "sku": "A"}] * 40
    started = time.monotonic()
    client.post("/all/V1/products/base-prices", json={"prices": rows})
    assert time.monotonic() - started >= 0.2  # 40 rows x 5 ms
