"""Base and special prices: partial failures, strict dates, per-row application (docs/reference/magento.md#prices)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator
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
    # (Magento renders the row into the phrase; the date label's text shows price_to)
    assert failures == [
        {"message": "Invalid attribute Price From = . Row ID: SKU = B, Store ID: 0, "
         "Price From: 2026-12-01, Price To: .",
         "parameters": ["Price From", "B", "0", "2026-12-01", None]},
        {"message": "The product that was requested doesn't exist. Verify the product and try "
         "again. Row ID: SKU = C, Store ID: 0, Price From: , Price To: .",
         "parameters": ["C", "0", None, None]},
    ]  # fmt: skip
    assert prices_of(magento.store).special_prices() == [
        {"price": 8.0, "store_id": 0, "sku": "A", "price_from": "2026-12-01 06:00:00",
         "price_to": "2026-12-02 23:59:59"},
    ]  # fmt: skip


SPECIAL = "/all/V1/products/special-price"
SPECIAL_INFO = "/all/V1/products/special-price-information"
SPECIAL_DELETE = "/all/V1/products/special-price-delete"
DEC1, DEC24, JAN1 = "2026-12-01 00:00:00", "2026-12-24 23:59:59", "2027-01-01 00:00:00"


@pytest.mark.usefixtures("two_products")
def test_given_a_special_price_with_dates_when_saved_again_without_one_then_that_date_stays(
    client: httpx.Client,
) -> None:
    """SpecialPrice::update upserts the price and only the dates it is given."""
    client.post(
        SPECIAL,
        json={
            "prices": [
                {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1, "price_to": DEC24}
            ]
        },
    )
    # WHEN saved again with a new price and a new start, without an end
    saved = client.post(
        SPECIAL, json={"prices": [{"price": 6, "store_id": 0, "sku": "A", "price_from": JAN1}]}
    )
    # THEN one row: the new price and start, the old end still there
    info = client.post(SPECIAL_INFO, json={"skus": ["a", "B", "NOPE"]})
    assert saved.json() == []
    assert info.json() == [
        {"price": 6.0, "store_id": 0, "sku": "a", "price_from": JAN1, "price_to": DEC24}
    ]  # the SKU as asked; unknown SKUs and SKUs without a special price are left out


@pytest.mark.usefixtures("two_products")
def test_given_a_special_price_when_deleted_with_another_price_and_no_dates_then_all_of_it_goes(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """SpecialPrice::delete matches SKU and store only, and removes both dates too."""
    client.post(
        SPECIAL,
        json={
            "prices": [
                {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1, "price_to": DEC24}
            ]
        },
    )
    # WHEN a row with another price and no dates is deleted
    gone = client.post(SPECIAL_DELETE, json={"prices": [{"price": 1, "store_id": 0, "sku": "A"}]})
    assert gone.json() == []
    assert prices_of(magento.store).special_prices() == []
    # THEN a new special price without dates has none (the old ones went with the price)
    client.post(SPECIAL, json={"prices": [{"price": 7, "store_id": 0, "sku": "A"}]})
    again = client.post(SPECIAL_DELETE, json={"prices": [{"price": 7, "store_id": 0, "sku": "A"}]})
    assert again.json() == []
    client.post(SPECIAL, json={"prices": [{"price": 7, "store_id": 0, "sku": "A"}]})
    info = client.post(SPECIAL_INFO, json={"skus": ["A"]}).json()
    assert [(r["price"], r["price_from"], r["price_to"]) for r in info] == [(7.0, None, None)]


@pytest.mark.usefixtures("two_products")
def test_given_global_price_scope_then_a_store_view_row_is_refused_and_nothing_changes(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    rows = [{"price": 8, "store_id": 1, "sku": "A"}, {"price": 8, "sku": "B"}]
    # WHEN saved and deleted with Magento's default (global) price scope
    saved = client.post(SPECIAL, json={"prices": rows}).json()
    deleted = client.post(SPECIAL_DELETE, json={"prices": rows}).json()
    # THEN the store view row is refused, and so is a row without a store (not store 0)
    for failures in (saved, deleted):
        assert [(f["message"].split(" Row ID")[0], f["parameters"][:2]) for f in failures] == [
            ("Could not change non global Price when price scope is global.", ["A", "1"]),
            ("Could not change non global Price when price scope is global.", ["B", None]),
            ("Requested store is not found.", ["B", None]),
        ]
    assert prices_of(magento.store).special_prices() == []


@pytest.mark.usefixtures("two_products")
def test_given_website_price_scope_then_each_store_keeps_its_row_and_reads_join_all_dates(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(price_scope="website")
    client.post(
        SPECIAL,
        json={
            "prices": [
                {"price": 8, "store_id": 0, "sku": "A", "price_from": DEC1},
                {"price": 6, "store_id": 1, "sku": "A", "price_to": DEC24},
            ]
        },
    )
    # WHEN read: the dates are joined without the store, so each price gets every date
    info = client.post(SPECIAL_INFO, json={"skus": ["A"]}).json()
    assert [(r["store_id"], r["price"], r["price_from"], r["price_to"]) for r in info] == [
        (0, 8.0, DEC1, DEC24),
        (1, 6.0, DEC1, DEC24),
    ]
    # WHEN store 1's row is deleted THEN store 0 keeps its own
    client.post(SPECIAL_DELETE, json={"prices": [{"price": 6, "store_id": 1, "sku": "A"}]})
    info = client.post(SPECIAL_INFO, json={"skus": ["A"]}).json()
    assert [(r["store_id"], r["price"], r["price_from"], r["price_to"]) for r in info] == [
        (0, 8.0, DEC1, None)
    ]


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


def test_given_the_2025_website_copy_then_a_store_view_save_reaches_its_whole_website(
    product: ProductFactory,
) -> None:
    """SpecialPriceStoragePlugin (issue 39521): saves are copied to the website's store views,
    deletes are not; an unknown store stops the whole call before any check."""
    config = EmulatorConfig(
        store_codes=["default", "fr"], price_scope="website", special_price_website_copy=True
    )
    with (
        running_emulator(config) as magento,
        httpx.Client(
            base_url=magento.rest_url, headers={"Authorization": f"Bearer {magento.token}"}
        ) as client,
    ):
        client.post("/all/V1/products", json=product("A", price=10))
        views = client.get("/all/V1/store/storeViews").json()
        assert [(v["id"], v["code"], v["website_id"]) for v in views] == [
            (0, "admin", 0), (1, "default", 1), (2, "fr", 1)
        ]  # fmt: skip
        # WHEN a special price is saved for store view 1 (and, as a string, for store 0)
        client.post(SPECIAL, json={"prices": [{"price": 8, "store_id": 1, "sku": "A"}]})
        client.post(SPECIAL, json={"prices": [{"price": 9, "store_id": "0", "sku": "A"}]})
        # THEN both store views of the website hold it
        rows = prices_of(magento.store).special_prices()
        assert sorted(r["store_id"] for r in rows) == [0, 1, 2]
        # WHEN it is deleted for store view 1 THEN the French view keeps its copy
        client.post(SPECIAL_DELETE, json={"prices": [{"price": 8, "store_id": 1, "sku": "A"}]})
        assert [r["store_id"] for r in prices_of(magento.store).special_prices()] == [2, 0]
        # WHEN a row names a store that does not exist THEN the call is refused whole
        unknown = client.post(
            SPECIAL,
            json={
                "prices": [
                    {"price": 5, "store_id": 1, "sku": "A"},
                    {"price": 5, "store_id": 9, "sku": "A"},
                ]
            },
        )
        assert (unknown.status_code, unknown.json()["message"]) == (
            404, "The store that was requested wasn't found. Verify the store and try again."
        )  # fmt: skip
        assert [r["price"] for r in prices_of(magento.store).special_prices()] == [8.0, 9.0]
