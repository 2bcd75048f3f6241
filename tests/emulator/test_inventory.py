"""MSI source items and sources, legacy stock items (docs/reference/magento.md#inventory, #error-catalogue, #msi-source-items)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator
from cpsync_emulator.inventory import inventory_of

ProductFactory = Callable[..., dict[str, Any]]


def item(sku: str, qty: float, source: str = "default", status: int = 1) -> dict[str, Any]:
    return {"sku": sku, "source_code": source, "quantity": qty, "status": status}


def test_given_source_items_when_saved_then_the_answer_is_an_empty_list_and_they_are_stored(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # WHEN two items are saved, one for a SKU Magento does not know
    response = client.post(
        "/all/V1/inventory/source-items",
        json={"sourceItems": [item("A", 5), item("NO-SUCH-SKU", 2, status=0)]},
    )
    # THEN 200 [] (unknown SKUs are accepted, issue #38154) and both are stored
    assert response.status_code == 200
    assert response.json() == []
    stored = inventory_of(magento.store).source_items()
    assert sorted((i["sku"], i["quantity"], i["status"]) for i in stored) == [
        ("A", 5.0, 1),
        ("NO-SUCH-SKU", 2.0, 0),
    ]
    assert magento.stats()["records_written"] == 2


def test_given_an_invalid_item_when_saved_then_nothing_is_saved_and_validation_failed(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # WHEN one item of two has an empty SKU and a bad status
    response = client.post(
        "/all/V1/inventory/source-items",
        json={"sourceItems": [item("A", 5), {"sku": " ", "source_code": "default", "status": 7}]},
    )
    # THEN 400 Validation Failed with each error in errors[], and the good item is not saved
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation Failed"
    assert {"message": '"%field" can not be empty.', "parameters": {"field": "sku"}} in body[
        "errors"
    ]
    assert len(body["errors"]) == 2
    assert inventory_of(magento.store).source_items() == []


def test_given_an_empty_list_or_unknown_source_when_saved_then_400(client: httpx.Client) -> None:
    empty = client.post("/all/V1/inventory/source-items", json={"sourceItems": []})
    unknown = client.post(
        "/all/V1/inventory/source-items", json={"sourceItems": [item("A", 1, "x")]}
    )
    missing = client.post("/all/V1/inventory/source-items", json={"items": []})
    assert (empty.status_code, empty.json()) == (400, {"message": "Input data is empty"})
    assert (unknown.status_code, unknown.json()["message"]) == (400, "Could not save Source Item")
    assert missing.status_code == 400
    assert missing.json()["parameters"] == {"fieldName": "sourceItems"}


def test_given_input_limits_on_when_21_items_are_sent_then_the_call_is_refused(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(input_limit_enabled=True)
    items = [item(f"S{n}", n) for n in range(21)]
    # WHEN
    over = client.post("/all/V1/inventory/source-items", json={"sourceItems": items})
    at = client.post("/all/V1/inventory/source-items", json={"sourceItems": items[:20]})
    # THEN docs/reference/magento.md#error-catalogue: Maximum items of type "%type" is %max
    assert over.status_code == 400
    assert over.json()["message"] == 'Maximum items of type "%type" is %max'
    assert over.json()["parameters"]["max"] == 20
    assert at.status_code == 200


def test_given_stored_items_when_searched_and_deleted_then_only_the_named_ones_go(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    client.post("/all/V1/inventory/sources", json={"source": {
        "source_code": "WEB", "name": "Web", "country_id": "US", "postcode": "10001"}})  # fmt: skip
    client.post(
        "/all/V1/inventory/source-items",
        json={"sourceItems": [item("A", 1), item("A", 2, "WEB"), item("B", 3)]},
    )
    # WHEN
    found = client.get(
        "/all/V1/inventory/source-items",
        params={
            "searchCriteria[filter_groups][0][filters][0][field]": "sku",
            "searchCriteria[filter_groups][0][filters][0][value]": "A",
        },
    ).json()
    deleted = client.post(
        "/all/V1/inventory/source-items-delete",
        json={
            "sourceItems": [
                {"sku": "a", "source_code": "WEB"},
                {"sku": "Z", "source_code": "default"},
            ]
        },
    )
    # THEN
    assert found["total_count"] == 2
    assert deleted.json() == []
    left = sorted((i["sku"], i["source_code"]) for i in inventory_of(magento.store).source_items())
    assert left == [("A", "default"), ("B", "default")]


def test_given_sources_then_default_exists_and_a_new_one_needs_its_fields(
    client: httpx.Client,
) -> None:
    listed = client.get("/all/V1/inventory/sources").json()
    bad = client.post("/all/V1/inventory/sources", json={"source": {"source_code": "A B"}})
    missing = client.get("/all/V1/inventory/sources/NOPE")
    assert [s["source_code"] for s in listed["items"]] == ["default"]
    assert bad.status_code == 400
    assert bad.json()["message"] == "Validation Failed"
    assert missing.status_code == 404


def test_given_a_product_when_its_legacy_stock_item_is_put_then_get_and_product_agree(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    created = client.post("/all/V1/products", json=product("MUG")).json()
    # WHEN the stock item is saved with an item id that is not the product's (ignored, docs/reference/magento.md#legacy-stock-items)
    put = client.put(
        "/all/V1/products/MUG/stockItems/999", json={"stockItem": {"qty": 7, "is_in_stock": True}}
    )
    # THEN the answer is the item id, and every view shows qty 7
    assert put.status_code == 200
    assert put.json() == created["extension_attributes"]["stock_item"]["item_id"]
    assert client.get("/all/V1/stockItems/MUG").json()["qty"] == 7
    got = client.get("/all/V1/products/MUG").json()
    assert got["extension_attributes"]["stock_item"]["qty"] == 7
    assert got["extension_attributes"]["stock_item"]["is_in_stock"] is True
    assert inventory_of(magento.store).source_items("MUG")[0]["quantity"] == 7


def test_given_an_msi_default_source_item_then_the_product_stock_item_follows(
    client: httpx.Client, product: ProductFactory
) -> None:
    client.post("/all/V1/products", json=product("MUG"))
    client.post("/all/V1/inventory/source-items", json={"sourceItems": [item("mug", 4, status=0)]})
    stock = client.get("/all/V1/products/MUG").json()["extension_attributes"]["stock_item"]
    assert (stock["qty"], stock["is_in_stock"]) == (4, False)


def test_given_an_unknown_sku_when_its_stock_item_is_read_or_put_then_404_names_it(
    client: httpx.Client,
) -> None:
    got = client.get("/all/V1/stockItems/NOPE")
    put = client.put("/all/V1/products/NOPE/stockItems/1", json={"stockItem": {"qty": 1}})
    for response in (got, put):
        assert response.status_code == 404
        assert response.json() == {
            "message": 'Product with SKU "%1" does not exist',
            "parameters": ["NOPE"],
        }


def test_given_source_items_when_the_emulator_saves_and_restarts_then_they_are_back(
    tmp_path: Path,
) -> None:
    state = tmp_path / "catalog.json"
    with running_emulator(EmulatorConfig(state_file=state)) as first:
        headers = {"Authorization": f"Bearer {first.token}"}
        httpx.post(
            f"{first.rest_url}/all/V1/inventory/source-items",
            json={"sourceItems": [item("A", 3)]},
            headers=headers,
        )
    with running_emulator(EmulatorConfig(state_file=state)) as second:
        assert inventory_of(second.store).source_items() == [item("A", 3.0)]
        second.reset()
        assert inventory_of(second.store).source_items() == []


def test_given_source_items_through_async_then_a_consumer_applies_them(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # WHEN (magento/inventory issue #1961: the same body through /async)
    accepted = client.post(
        "/all/async/V1/inventory/source-items", json={"sourceItems": [item("A", 3)]}
    )
    missing = client.post("/all/async/V1/inventory/source-items", json={"items": []})
    # THEN 202, and the operation ends applied with the service's name
    assert accepted.status_code == 202
    assert missing.status_code == 400  # the wrapper is checked up front (issue #36881)
    uuid = accepted.json()["bulk_uuid"]
    deadline = time.monotonic() + 30  # the consumer is a thread: slow on a loaded machine
    while True:
        status = client.get(f"/all/V1/bulk/{uuid}/detailed-status").json()
        if status["operations_list"][0]["status"] != 4:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    operation = status["operations_list"][0]
    assert operation["status"] == 1
    assert "SourceItemsSaveInterface::execute" in operation["result_message"]
    assert inventory_of(magento.store).source_items() == [item("A", 3.0)]
