"""Cost and fault model: what a client sees when Magento is slow, busy or broken."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle, Fault

ProductFactory = Callable[..., dict[str, Any]]
# A closed connection surfaces as "disconnected without a response", or as a reset when the
# client was still sending; both mean the same to a client: no answer.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


def test_given_maintenance_503_when_saving_then_an_html_page_and_nothing_written(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN
    magento.set_faults("products.save:503:1")
    # WHEN
    response = client.post("/V1/products", json=product("F-1"))
    # THEN the body is not Magento JSON
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "Service Temporarily Unavailable" in response.text
    with pytest.raises(ValueError):
        response.json()
    assert magento.store.products_by_sku() == {}


def test_given_throttling_429_when_reading_then_retry_after_one_second(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.set_faults("products.get:429:1")
    response = client.get("/V1/products/ANY")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"message": "Too Many Requests"}


@pytest.mark.parametrize(("kind", "json_body"), [("500", True), ("502", False), ("504", False)])
def test_given_a_server_error_fault_when_saving_then_magento_json_or_proxy_html(
    client: httpx.Client,
    magento: EmulatorHandle,
    product: ProductFactory,
    kind: str,
    json_body: bool,
) -> None:
    magento.set_faults(f"products.save:{kind}:1")
    response = client.post("/V1/products", json=product("F-1"))
    assert response.status_code == int(kind)
    if json_body:
        assert response.json()["message"].startswith(
            "Internal Error. Details are available in Magento log file. Report ID: webapi-"
        )
    else:
        assert response.headers["content-type"].startswith("text/html")
    assert magento.store.products_by_sku() == {}


def test_given_a_timeout_fault_when_the_client_gives_up_then_the_write_still_happened(
    magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN answers delayed by 1 s and a client that waits 0.3 s
    magento.configure(timeout_seconds=1.0)
    magento.set_faults("products.save:timeout:1")
    headers = {"Authorization": f"Bearer {magento.token}"}
    timeout = httpx.Timeout(5.0, read=0.3)
    with httpx.Client(base_url=magento.rest_url, headers=headers, timeout=timeout) as http:
        # WHEN
        with pytest.raises(httpx.ReadTimeout):
            http.post("/V1/products", json=product("SLOW-1"))
        # THEN the product exists although the client never heard (the server may reach the
        # save only after the client gave up, on a loaded machine)
        deadline = time.monotonic() + 30
        while not magento.store.products_by_sku():
            assert time.monotonic() < deadline, "the timed-out save never happened"
            time.sleep(0.02)
        assert list(magento.store.products_by_sku()) == ["SLOW-1"]
        assert magento.stats()["writes"] == {"products.created": 1}
        # AND a retry is an update of the same product
        magento.set_faults()
        retry = http.post("/V1/products", json=product("SLOW-1"))
        assert retry.status_code == 200
        assert len(magento.store.products) == 1


def test_given_a_drop_fault_when_saving_then_the_connection_closes_without_an_answer(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    magento.set_faults("products.save:drop:1")
    with pytest.raises(DROPPED):
        client.post("/V1/products", json=product("DROP-1"))
    assert magento.store.products_by_sku() == {}
    assert magento.stats()["statuses"] == {"drop": 1}


def test_given_an_applied_drop_when_saving_then_written_but_unanswered(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    magento.set_faults(Fault(endpoint="products.save", kind="drop", rate=1.0, applied=True))
    with pytest.raises(DROPPED):
        client.post("/V1/products", json=product("DROP-2"))
    assert list(magento.store.products_by_sku()) == ["DROP-2"]


def test_given_a_fault_on_saves_when_reading_then_reads_are_untouched(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.set_faults("products.save:503:1")
    assert client.get("/V1/products/NOPE").status_code == 404


def test_given_a_seed_when_the_same_requests_repeat_then_the_same_faults_hit(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # GIVEN a 50 % fault rate and a fixed seed
    magento.set_faults("*:503:0.5", seed=7)

    def run() -> list[int]:
        return [client.get(f"/V1/products/S{i}").status_code for i in range(30)]

    # WHEN the same sequence is sent twice, with a reset in between
    first = run()
    magento.reset()
    second = run()
    # THEN
    assert first == second
    assert set(first) == {404, 503}


def test_given_one_worker_when_saves_arrive_together_then_they_queue(
    magento: EmulatorHandle, product: ProductFactory
) -> None:
    # GIVEN one PHP worker and 100 ms per save
    magento.configure(workers=1, costs_ms={"products.save": 100.0})
    headers = {"Authorization": f"Bearer {magento.token}"}
    with httpx.Client(base_url=magento.rest_url, headers=headers, timeout=5.0) as http:
        # WHEN three saves are sent at once
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [
                pool.submit(http.post, "/V1/products", json=product(f"Q-{i}")) for i in range(3)
            ]
            statuses = [future.result().status_code for future in futures]
        elapsed = time.perf_counter() - started
    # THEN they were served one after the other
    assert statuses == [200, 200, 200]
    assert elapsed >= 0.3
    workers = magento.stats()["workers"]
    assert workers["peak_busy"] == 1
    assert workers["peak_queued"] >= 1


def test_given_base_latency_when_reading_then_every_request_takes_at_least_that(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(latency_ms=100.0)
    started = time.perf_counter()
    client.get("/V1/products/NOPE")
    assert time.perf_counter() - started >= 0.1


def test_given_the_control_endpoint_when_faults_are_posted_then_they_apply_at_once(
    magento: EmulatorHandle, client: httpx.Client
) -> None:
    # WHEN, without any token
    response = httpx.post(
        f"{magento.url}/__emulator/config", json={"faults": ["products.get:503:1"]}
    )
    # THEN
    assert response.status_code == 200
    assert response.json()["faults"] == ["products.get:503:1"]
    assert client.get("/V1/products/ANY").status_code == 503
    assert httpx.get(f"{magento.url}/__emulator/config").json()["faults"] == ["products.get:503:1"]


@pytest.mark.parametrize(
    "changes",
    [{"faults": ["products.save:418:1"]}, {"workers": 0}, {"token": "x"}, {"nonsense": 1}],
)
def test_given_an_invalid_runtime_change_when_posted_then_400_and_nothing_changes(
    magento: EmulatorHandle, changes: dict[str, Any]
) -> None:
    response = httpx.post(f"{magento.url}/__emulator/config", json=changes)
    assert response.status_code == 400
    assert magento.config.faults == []
    assert magento.config.workers == 4


def test_given_a_fault_spec_when_parsed_then_it_round_trips() -> None:
    fault = Fault.parse("products.save:drop:0.25:applied")
    assert (fault.endpoint, fault.kind, fault.rate, fault.applies_request) == (
        "products.save",
        "drop",
        0.25,
        True,
    )
    assert fault.spec() == "products.save:drop:0.25:applied"
    assert Fault.parse("admin.token:timeout:1").applies_request is True
    with pytest.raises(ValueError):
        Fault.parse("products.save:503")
