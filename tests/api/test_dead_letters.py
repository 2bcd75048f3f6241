"""Dead letters, the queue and the log as lists a person can page, filter and act on."""

from __future__ import annotations

from datetime import UTC, datetime

from cpsync.model import Change, make_version
from cpsync.ports import QueuePort


def _change(key: str, task: str = "items", kind: str = "product", url_key: str = "") -> Change:
    now = datetime.now(UTC)
    return Change(
        kind=kind,  # type: ignore[arg-type]
        key=key,
        version=make_version(datetime(2020, 1, 1)),  # Counterpoint's change time first
        fingerprint="f",
        payload={"sku": key, "enabled": True, "name": key, "url_key": url_key or key.lower()},
        task=task,
        run_id="parked",
        detected_at=now,
    )


def park(queue: QueuePort, changes: list[Change], reason: str) -> None:
    """Park Changes the way the updater does, without Magento."""
    queue.send(changes)
    for message in queue.receive(len(changes)):
        key = message.body.split('"key":"', 1)[1].split('"', 1)[0]
        queue.dead_letter(message, f"product {key}: {reason}")


URL_CLASH = (
    "Magento POST /rest/all/V1/products answered 400: URL key for specified store already exists"
)


def test_given_250_dead_letters_when_paged_and_filtered_then_totals_and_groups_follow(api) -> None:
    client = api.keyed()
    queue = api.runtime.queue
    park(queue, [_change(f"URL-{i:03}") for i in range(150)], URL_CLASH)
    park(queue, [_change(f"SKU-{i:03}") for i in range(80)], 'Attribute "color" does not exist')
    park(queue, [_change(f"P-{i:03}", "prices", "price") for i in range(20)], "answered 422: bad")

    first = client.get("/api/dead-letters", params={"limit": 100}).json()
    assert (first["total"], first["offset"], len(first["items"])) == (250, 0, 100)
    assert {g["group"]: g["count"] for g in first["groups"]} == {
        "url_key": 150,
        "missing_attribute": 80,
        "validation": 20,
    }
    last = client.get("/api/dead-letters", params={"limit": 100, "offset": 200}).json()
    assert len(last["items"]) == 50 and last["items"][-1]["key"] == "P-019"
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in last["items"]}

    by_reason = client.get("/api/dead-letters", params={"reason": "missing_attribute"}).json()
    assert by_reason["total"] == 80
    assert {r["title"] for r in by_reason["items"]} == {"Attribute or option missing in Magento"}
    by_task = client.get("/api/dead-letters", params={"task": "prices"}).json()
    assert by_task["total"] == 20 and [g["group"] for g in by_task["groups"]] == ["validation"]
    by_key = client.get("/api/dead-letters", params={"key": "url-14"}).json()
    assert [r["key"] for r in by_key["items"]] == [f"URL-14{i}" for i in range(10)]

    # Discard all of a filter: the group under a key filter, nothing else.
    gone = client.post("/api/dead-letters/discard", json={"reason": "url_key", "key": "URL-0"})
    assert gone.json() == {"discarded": 100}
    assert client.get("/api/dead-letters").json()["total"] == 150


def test_given_a_record_parked_twice_when_listed_then_only_the_newest_dead_letter_is_left(
    api,
) -> None:
    client = api.keyed()
    queue = api.runtime.queue
    park(queue, [_change("TWICE-1")], "answered 400: first refusal")
    park(queue, [_change("TWICE-1"), _change("ONCE-1")], "answered 400: second refusal")
    page = client.get("/api/dead-letters").json()
    assert page["total"] == 2
    twice = next(r for r in page["items"] if r["key"] == "TWICE-1")
    assert twice["reason"].endswith("second refusal")
    assert queue.depth().dead == 2  # the older copy is gone, not only hidden


def test_given_a_url_key_clash_when_listed_then_the_holder_is_named(api) -> None:
    client = api.keyed()
    api.runtime.magento.save_product(
        {
            "sku": "HOLDER-9",
            "name": "Holder Tee",
            "attribute_set_id": 4,
            "price": 1,
            "type_id": "simple",
            "custom_attributes": [{"attribute_code": "url_key", "value": "shared-tee"}],
        }
    )
    park(api.runtime.queue, [_change("CLASH-1", url_key="shared-tee")], URL_CLASH)
    (row,) = client.get("/api/dead-letters").json()["items"]
    assert row["group"] == "url_key"
    assert "HOLDER-9" in row["cause"] and "Holder Tee" in row["cause"]
    assert "IM_ITEM.URL" in row["next_step"]
    assert row["reason"] == f"product CLASH-1: {URL_CLASH}"


def test_given_a_record_no_longer_in_counterpoint_when_retried_then_it_is_discarded_and_said(
    api,
) -> None:
    client = api.keyed()
    park(api.runtime.queue, [_change("NOT-IN-CP")], "answered 400: bad")
    retried = client.post("/api/dead-letters/retry", json={"task": "items"}).json()
    assert retried["gone"] == ["product NOT-IN-CP"] and retried["queued"] == []
    assert "no longer in Counterpoint for e-commerce" in retried["summary"]
    assert client.get("/api/dead-letters").json()["total"] == 0
    assert api.runtime.queue.depth().visible == 0


def test_given_a_long_queue_and_log_when_paged_then_totals_and_filters_hold(api) -> None:
    client = api.keyed()
    api.runtime.queue.send([_change(f"Q-{i:03}") for i in range(130)])
    api.runtime.queue.send([_change(f"PR-{i:03}", "prices", "price") for i in range(7)])
    page = client.get("/api/queue", params={"limit": 100, "offset": 100}).json()
    assert (page["total"], len(page["messages"])) == (137, 37)
    prices = client.get("/api/queue", params={"task": "prices"}).json()
    assert prices["total"] == 7 and {m["task"] for m in prices["messages"]} == {"prices"}
    assert client.get("/api/queue", params={"key": "q-12"}).json()["total"] == 10

    for _ in range(3):
        client.post("/api/tasks/prices/queue-changed")
    log = client.get("/api/log", params={"task": "prices", "limit": 2}).json()
    assert log["total"] == 3 and len(log["runs"]) == 2
    rest = client.get("/api/log", params={"task": "prices", "limit": 2, "offset": 2}).json()
    assert len(rest["runs"]) == 1 and rest["total"] == 3


def test_given_a_dead_letter_when_its_record_is_synced_since_then_it_leaves_the_list(api) -> None:
    client = api.keyed()
    item = sorted(set(api.sample.ecommerce_item_nos) - set(api.sample.grid_item_nos))[0]
    old = _change(item).model_copy(update={"version": make_version(datetime(2020, 1, 1))})
    park(api.runtime.queue, [old], "answered 400: refused then")
    assert client.get("/api/dead-letters").json()["total"] == 1
    synced = client.post("/api/tasks/items/sync-item", json={"key": item}).json()
    assert synced["applied"] is True
    assert client.get("/api/dead-letters").json()["total"] == 0
    assert api.runtime.queue.depth().dead == 0
