"""The client and the product writer under every fault of the model, and through async bulk.

Nothing lost, nothing doubled: every record ends applied exactly once (one product per SKU,
one create each) or reported with a reason that names it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.magento.bulk import BulkRunner
from cpsync.magento.client import MagentoClient, RetryPolicy
from cpsync.magento.products import ProductWriter
from cpsync.model import Change, ProductState
from cpsync_emulator import EmulatorHandle

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def change(n: int, prefix: str = "FX") -> Change:
    sku = f"{prefix}-{n:04d}"
    state = ProductState(
        sku=sku, enabled=True, name=f"Item {sku}", url_key=f"item-{sku.lower()}", price=5, qty=3
    )
    return Change(
        kind="product",
        key=sku,
        version="1",
        fingerprint=state.fingerprint(),
        payload=state.model_dump(mode="json"),
        task="items",
        run_id="run-1",
        detected_at=NOW,
    )


@pytest.fixture
def state(tmp_path: Path) -> SqliteState:
    return SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))


@pytest.fixture
def client(magento: EmulatorHandle) -> Iterator[MagentoClient]:
    with MagentoClient(
        magento.url,
        magento.token,
        timeout=httpx.Timeout(1.0, connect=2.0),
        retry=RetryPolicy(
            max_attempts=5, budget_seconds=20, base_seconds=0.01, max_backoff_seconds=0.05
        ),
        max_connections=8,
    ) as made:
        yield made


def assert_once_or_reported(
    magento: EmulatorHandle, changes: list[Change], outcomes: dict[str, object]
) -> set[str]:
    """Every key has an outcome; applied ones exist; no SKU was created twice."""
    keys = {c.key for c in changes}
    assert set(outcomes) == keys
    catalog = magento.store.products_by_sku()
    applied = {k for k, o in outcomes.items() if o.applied}  # type: ignore[attr-defined]
    assert applied <= set(catalog)
    assert set(catalog) <= keys
    assert [s for s, n in Counter(s.lower() for s in catalog).items() if n > 1] == []
    assert magento.stats()["writes"].get("products.created", 0) == len(catalog)
    for outcome in outcomes.values():
        if not outcome.applied:  # type: ignore[attr-defined]
            # the updater prefixes kind and key; the writer gives Magento's reason
            assert outcome.error and "Magento" in outcome.error  # type: ignore[attr-defined]
    return applied


def test_given_every_fault_when_writing_1000_products_then_each_applied_once_or_reported(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    # GIVEN every fault of the model on saves (and some on the searches before them)
    magento.configure(timeout_seconds=1.2, retry_after_seconds=0, workers=8)
    magento.set_faults(
        "products.save:500:0.02",
        "products.save:502:0.02",
        "products.save:502:0.02:applied",
        "products.save:503:0.02",
        "products.save:504:0.02",
        "products.save:429:0.02",
        "products.save:429-edge:0.01",
        "products.save:timeout:0.01",
        "products.save:drop:0.02",
        "products.save:deadlock:0.02",
        "products.search:503:0.1",
        seed=42,
    )
    changes = [change(n) for n in range(1000)]
    client.retry = RetryPolicy(max_attempts=2, base_seconds=0.01, max_backoff_seconds=0.05)
    writer = ProductWriter(client, state, concurrency=8)
    # WHEN
    outcomes = writer.write(changes)
    # THEN
    applied = assert_once_or_reported(magento, changes, outcomes)
    faults = magento.stats()["faults"]
    assert {k.split(":")[1] for k in faults} >= {
        "500",
        "502",
        "503",
        "504",
        "429",
        "429-edge",
        "timeout",
        "drop",
        "deadlock",
    }
    assert 900 <= len(applied) < 1000, f"{len(applied)} applied"  # some retried, some reported
    # AND the reported ones land when retried later (as the updater does), still once each
    magento.set_faults()
    retried = writer.write([c for c in changes if c.key not in applied])
    assert all(o.applied for o in retried.values())
    catalog = magento.store.products_by_sku()
    assert len(catalog) == 1000
    assert magento.stats()["writes"]["products.created"] == 1000


def test_given_deadlocks_in_bulk_operations_when_running_then_retried_to_completion(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    magento.set_faults("products.save:deadlock:0.4", seed=3)
    runner = BulkRunner(client, label="product", wait=10, rounds=10, poll_first=0.01)
    bodies = {
        f"BK-{n}": {"product": {"sku": f"BK-{n}", "name": f"Bulk {n}", "price": 1}}
        for n in range(100)
    }
    result = runner.run("products", bodies)
    assert all(o.applied for o in result.outcomes.values()), [
        o.error for o in result.outcomes.values() if not o.applied
    ]
    assert len(magento.store.products_by_sku()) == 100
    assert magento.stats()["writes"]["bulk.failed_retriable"] > 0
    assert magento.stats()["writes"]["products.created"] == 100
    assert {result.results[k]["sku"] for k in bodies} == set(bodies)


def test_given_a_failing_operation_when_running_then_that_record_is_reported_not_retried(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    runner = BulkRunner(client, label="product", wait=5, poll_first=0.01)
    bodies = {
        "GOOD": {"product": {"sku": "GOOD", "name": "Good", "price": 1}},
        "BAD": {"product": {"sku": "x" * 70, "name": "Bad", "price": 1}},
    }
    outcomes = runner.run("products", bodies).outcomes
    assert outcomes["GOOD"].applied
    assert not outcomes["BAD"].applied and not outcomes["BAD"].retryable
    assert outcomes["BAD"].error == (
        "product BAD: Magento refused it: SKU length should be 64 characters maximum."
    )
    assert magento.stats()["requests"]["bulk.submit"] == 1


def test_given_no_consumer_running_when_waiting_then_records_come_back_retryable(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    magento.configure(bulk_consumer_paused=True)
    runner = BulkRunner(client, label="product", wait=0.2, poll_first=0.02)
    outcomes = runner.run(
        "products", {"P": {"product": {"sku": "P", "name": "P", "price": 1}}}
    ).outcomes
    assert outcomes["P"].retryable
    assert "still open" in str(outcomes["P"].error)
    assert "async.operations.all" in str(outcomes["P"].error)


def test_given_the_updater_time_limit_while_waiting_then_the_reason_says_so_not_the_consumer(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    """The consumer is fine, the updater function is out of time: the operator reads that,
    not a hint to check the async.operations.all consumer."""
    magento.configure(bulk_consumer_paused=True)  # still open when the time limit comes
    runner = BulkRunner(client, label="product", wait=60, poll_first=0.02)
    with client.until(time.monotonic() + 0.5):
        outcomes = runner.run(
            "products", {"P": {"product": {"sku": "P", "name": "P", "price": 1}}}
        ).outcomes
    assert outcomes["P"].retryable
    assert "the updater stopped first" in str(outcomes["P"].error)
    assert "async.operations.all" not in str(outcomes["P"].error)


def test_given_the_bulk_option_when_writing_a_large_batch_then_one_bulk_instead_of_saves(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    runner = BulkRunner(client, label="product", wait=10, poll_first=0.01, min_batch=50)
    writer = ProductWriter(client, state, concurrency=4, bulk=runner)
    changes = [change(n, "BW") for n in range(60)]
    outcomes = writer.write(changes)
    assert all(o.applied for o in outcomes.values())
    stats = magento.stats()
    assert stats["requests"]["bulk.submit"] == 1
    assert "products.save" not in stats["requests"]  # no synchronous saves
    assert len(state.get_magento_ids("product", [c.key for c in changes])) == 60
    # AND a small batch still goes one save per product
    writer.write([change(n, "SM") for n in range(3)])
    assert magento.stats()["requests"]["products.save"] == 3


def test_given_the_bulk_option_when_a_batch_has_bad_records_then_the_writer_rules_hold(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    """Same rules as one save per product: no create-to-disable, a new product needs a price."""
    runner = BulkRunner(client, label="product", wait=10, poll_first=0.01, min_batch=2)
    writer = ProductWriter(client, state, bulk=runner)
    disabled = ProductState(sku="OFF-1", enabled=False)
    no_price = ProductState(sku="NP-1", enabled=True, name="No price", url_key="no-price")
    changes = [change(1, "OK")] + [
        change(0).model_copy(update={"key": s.sku, "payload": s.model_dump(mode="json")})
        for s in (disabled, no_price)
    ]
    outcomes = writer.write(changes)
    assert outcomes["OK-0001"].applied
    assert outcomes["OFF-1"].applied  # nothing to do: never created only to be disabled
    assert not outcomes["NP-1"].applied and not outcomes["NP-1"].retryable
    assert "no Price-1" in str(outcomes["NP-1"].error)
    assert set(magento.store.products_by_sku()) == {"OK-0001"}


def test_given_the_bulk_option_when_creating_then_known_categories_are_linked_and_remembered(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    """As single saves: a new product lands in the categories Magento already has."""
    category = client.request(
        "POST",
        "categories",
        endpoint="categories.save",
        json={"category": {"name": "Shoes", "parent_id": 2, "is_active": True}},
    )
    state.put_magento_ids("category", {"10": int(category["id"])})
    runner = BulkRunner(client, label="product", wait=10, poll_first=0.01, min_batch=1)
    writer = ProductWriter(client, state, bulk=runner)
    shoe = ProductState(
        sku="SH-1", enabled=True, name="Shoe", url_key="shoe", price=9, category_ids=("10", "99")
    )
    outcome = writer.write(
        [change(0).model_copy(update={"key": "SH-1", "payload": shoe.model_dump(mode="json")})]
    )
    assert outcome["SH-1"].applied
    links = magento.store.products_by_sku()["SH-1"]["extension_attributes"]["category_links"]
    assert [link["category_id"] for link in links] == [str(category["id"])]
    assert state.get_docs("category_links", ["SH-1"])["SH-1"] == {"categories": [category["id"]]}
