"""Contract: async and bulk API (docs/reference/magento.md#async-bulk). Status codes and bodies of every form."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from cpsync_emulator import EmulatorHandle

ProductFactory = Callable[..., dict[str, Any]]


def wait_done(client: httpx.Client, bulk_uuid: str, timeout: float = 30.0) -> dict[str, Any]:
    """The bulk's status once no operation is open (the consumer thread may be slow)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/V1/bulk/{bulk_uuid}/detailed-status").json()
        if all(op["status"] != 4 for op in status["operations_list"]):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.01)


def test_item_bulk_202_with_uuid_and_request_items(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: 202, ``bulk_uuid``, ``request_items[{id, data_hash, status}]``, ``errors``."""
    magento.configure(bulk_consumer_paused=True)
    bodies = [product("B-1"), product("B-2")]
    response = client.post("/all/async/bulk/V1/products", json=bodies)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"bulk_uuid", "request_items", "errors"}
    assert body["errors"] is False
    assert [item["id"] for item in body["request_items"]] == [0, 1]
    assert all(item["status"] == "accepted" for item in body["request_items"])
    expected_hash = hashlib.sha256(json.dumps(bodies[0], sort_keys=True).encode()).hexdigest()
    assert body["request_items"][0]["data_hash"] == expected_hash


def test_item_operations_start_open_and_complete_when_the_consumer_runs(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: status 4 until a consumer runs, then 1 with the service message."""
    magento.configure(bulk_consumer_paused=True)
    bulk_uuid = client.post("/all/async/bulk/V1/products", json=[product("B-1")]).json()[
        "bulk_uuid"
    ]
    time.sleep(0.05)
    status = client.get(f"/V1/bulk/{bulk_uuid}/status")
    assert status.status_code == 200
    assert status.json()["operations_list"] == [
        {"id": 0, "status": 4, "result_message": None, "error_code": None}
    ]
    assert status.json()["operation_count"] == 1
    assert status.json()["bulk_id"] == bulk_uuid
    assert magento.store.products_by_sku() == {}
    # WHEN the consumer resumes
    magento.configure(bulk_consumer_paused=False)
    done = wait_done(client, bulk_uuid)
    operation = done["operations_list"][0]
    assert operation["status"] == 1
    assert operation["result_message"] == (
        "Service execution success Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save"
    )
    assert (
        operation["topic_name"] == "async.magento.catalog.api.productrepositoryinterface.save.post"
    )
    assert json.loads(operation["result_serialized_data"])["sku"] == "B-1"
    assert json.loads(json.loads(operation["serialized_data"])["meta_information"]) == product(
        "B-1"
    )
    assert "B-1" in magento.store.products_by_sku()


def test_item_put_by_sku_takes_the_sku_from_each_item(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: ``PUT /async/bulk/V1/products/bySku``; a sku member of the item fills the path."""
    items = [{"sku": "P-1", **product("IGNORED")}]
    response = client.put("/all/async/bulk/V1/products/bySku", json=items)
    assert response.status_code == 202
    wait_done(client, response.json()["bulk_uuid"])
    assert set(magento.store.products_by_sku()) == {"P-1"}


def test_item_single_async_202_one_operation(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: ``POST /rest/<store>/async/V1/products`` queues one operation."""
    response = client.post("/all/async/V1/products", json=product("S-1"))
    assert response.status_code == 202
    assert len(response.json()["request_items"]) == 1
    done = wait_done(client, response.json()["bulk_uuid"])
    assert done["operations_list"][0]["status"] == 1


def test_item_failed_operation_status_3_with_rendered_message(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: a Magento error → 3, ``result_message`` rendered (placeholders filled)."""
    bodies = [product("OK-1"), {"product": {"sku": "", "name": "x"}}]
    bulk_uuid = client.post("/all/async/bulk/V1/products", json=bodies).json()["bulk_uuid"]
    ops = {op["id"]: op for op in wait_done(client, bulk_uuid)["operations_list"]}
    assert ops[0]["status"] == 1
    assert ops[1]["status"] == 3
    assert ops[1]["result_message"] == (
        'The "sku" attribute value is empty. Set the attribute and try again.'
    )
    assert ops[1]["error_code"] == 0
    count = client.get(f"/V1/bulk/{bulk_uuid}/operation-status/3")
    assert count.status_code == 200 and count.json() == 1


def test_item_deadlock_fault_status_2_nothing_applied(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk / issue 3: deadlocks in bulk operations are status 2 (failed, retriable)."""
    magento.set_faults("products.save:deadlock:1")
    bulk_uuid = client.post("/all/async/bulk/V1/products", json=[product("D-1")]).json()[
        "bulk_uuid"
    ]
    operation = wait_done(client, bulk_uuid)["operations_list"][0]
    assert operation["status"] == 2
    assert operation["result_message"] == "Database deadlock found when trying to get lock"
    assert magento.store.products_by_sku() == {}


def test_item_rejected_item_still_202_errors_true(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk: a rejected item answers 202 with ``errors: true``; the others are accepted."""
    response = client.post("/all/async/bulk/V1/products", json=[product("R-1"), "nonsense"])
    assert response.status_code == 202
    body = response.json()
    assert body["errors"] is True
    assert [item["status"] for item in body["request_items"]] == ["accepted", "rejected"]
    assert body["request_items"][1]["error_message"]


def test_item_unknown_bulk_uuid_404(client: httpx.Client) -> None:
    """docs/reference/magento.md#async-bulk: unknown uuid → 404 ``Bulk uuid %bulkUuid not exist``."""
    for suffix in ("status", "detailed-status"):
        response = client.get(f"/V1/bulk/no-such-uuid/{suffix}")
        assert response.status_code == 404
        assert response.json() == {
            "message": "Bulk uuid %bulkUuid not exist",
            "parameters": {"bulkUuid": "no-such-uuid"},
        }


def test_item_bulk_needs_auth_and_an_array(anonymous: httpx.Client, client: httpx.Client) -> None:
    """docs/reference/magento.md#async-bulk / #authorization-failure: async routes carry the route's ACL; a bulk body must be an array."""
    response = anonymous.post("/all/async/bulk/V1/products", json=[])
    assert response.status_code == 401
    assert response.json()["parameters"] == {"resources": "Magento_Catalog::products"}
    not_array = client.post("/all/async/bulk/V1/products", json={"product": {}})
    assert not_array.status_code == 400


def test_given_the_control_route_when_pausing_then_operations_stay_open_until_resumed(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Issue 3: the consumer can be paused over HTTP (another process) and by the handle."""
    assert httpx.post(f"{magento.url}/__emulator/bulk/pause").json()["paused"] is True
    bulk_uuid = client.post("/all/async/bulk/V1/products", json=[product("C-1")]).json()[
        "bulk_uuid"
    ]
    time.sleep(0.05)
    assert magento.open_operations() == 1
    assert magento.bulk_status(bulk_uuid)["operations_list"][0]["status"] == 4
    assert httpx.post(f"{magento.url}/__emulator/bulk/resume").json()["paused"] is False
    wait_done(client, bulk_uuid)
    assert magento.open_operations() == 0


def test_given_the_command_line_when_parsed_then_modes_and_costs_reach_the_config() -> None:
    """The standalone command takes the cost, fault and auth model."""
    from cpsync_emulator.__main__ import build_config, parse_args

    config = build_config(
        parse_args(
            [
                "--record-cost", "products.save=200",
                "--fault", "products.save:deadlock:0.1",
                "--two-factor",
                "--no-integration-bearer",
                "--bulk-consumers", "3",
            ]
        )
    )  # fmt: skip
    assert config.record_costs_ms == {"products.save": 200.0}
    assert config.faults[0].kind == "deadlock"
    assert config.admin_two_factor and not config.integration_bearer_enabled
    assert config.bulk_consumers == 3


def test_item_bulk_item_without_its_wrapper_synchronous_400(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#async-bulk (issue #36881): input that cannot be resolved is a normal 400, no bulk is created."""
    response = client.post("/all/async/bulk/V1/products", json=[product("W-1"), {"sku": "W-2"}])
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "product"},
    }
    assert magento.emulator.bulk.bulks == {}
