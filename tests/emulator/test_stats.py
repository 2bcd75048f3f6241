"""Counters and reset, read from Python and over the control routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from cpsync_emulator import EmulatorHandle

ProductFactory = Callable[..., dict[str, Any]]


def test_given_some_traffic_when_reading_stats_then_requests_statuses_and_writes_are_counted(
    client: httpx.Client, anonymous: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN two creates, one update, one miss, one 401, one unknown route, one injected 503
    client.post("/V1/products", json=product("S-1"))
    client.post("/V1/products", json=product("S-2"))
    client.put("/V1/products/S-1", json=product("S-1", price=3))
    client.get("/V1/products/NOPE")
    anonymous.get("/V1/products/S-1")
    client.get("/V1/nothing")
    magento.set_faults("products.delete:503:1")
    client.delete("/V1/products/S-2")
    # WHEN
    stats = magento.stats()
    # THEN
    assert stats["requests"] == {
        "products.save": 3,
        "products.get": 2,
        "unmatched": 1,
        "products.delete": 1,
    }
    assert stats["statuses"] == {"200": 3, "404": 2, "401": 1, "503": 1}
    assert stats["responses"]["products.get"] == {"404": 1, "401": 1}
    assert stats["records_written"] == 3
    assert stats["writes"] == {"products.created": 2, "products.updated": 1}
    assert stats["faults"] == {"products.delete:503": 1}
    # AND the control route serves the same document, without a token
    assert httpx.get(f"{magento.url}/__emulator/stats").json() == stats


def test_given_a_catalog_and_counters_when_reset_over_http_then_both_are_empty(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    client.post("/V1/products", json=product("R-1"))
    # WHEN
    response = httpx.post(f"{magento.url}/__emulator/reset")
    # THEN
    assert response.json() == {"reset": True}
    assert magento.store.products_by_sku() == {}
    assert magento.stats()["requests"] == {}
    assert client.get("/V1/products/R-1").status_code == 404
    # AND ids start again at 1
    assert client.post("/V1/products", json=product("R-2")).json()["id"] == 1


def test_given_priced_requests_then_stats_add_up_the_worker_time_the_cost_model_charged(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN a product save costs 3 ms of worker time (the default cost model) and 100
    # source items 1 ms each
    client.post("/V1/products", json=product("W-1"))
    client.put("/V1/products/W-1", json=product("W-1", price=2))
    rows = [{"sku": "W-1", "source_code": "default", "quantity": 1, "status": 1}] * 100
    client.post("/V1/inventory/source-items", json={"sourceItems": rows})
    # WHEN
    stats = magento.stats()
    # THEN the worker time is what a bound on the drain time is computed from
    assert abs(stats["worker_seconds"] - (0.003 * 2 + 0.001 * 100)) < 1e-9
