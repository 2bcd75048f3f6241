"""Every manual action over HTTP: what an operator clicks and what they then see."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, update

from cpsync.control import run_scheduled, update_task_control
from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change, make_version
from cpsync_sample.generate import SampleInfo


def _simple_items(info: SampleInfo) -> list[str]:
    return sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))


def _change(key: str) -> Change:
    now = datetime.now(UTC)
    return Change(
        kind="product",
        key=key,
        version=make_version(None, now),
        fingerprint="f",
        payload={"sku": key, "enabled": True, "name": key, "url_key": key.lower()},
        task="items",
        run_id="r",
        detected_at=now,
    )


def _dead_letter(api, key: str, reason: str) -> str:
    queue = api.runtime.queue
    # Parked long ago, as Counterpoint's change time in its version says.
    old = make_version(datetime(2020, 1, 1))
    queue.send([_change(key).model_copy(update={"version": old})])
    [message] = queue.receive(1)
    queue.dead_letter(message, reason)
    return queue.dead_letters()[-1].id


def test_given_the_master_switch_off_when_a_schedule_fires_then_nothing_runs(api) -> None:
    client = api.keyed()
    assert client.get("/api/automatic-sync").json() == {"enabled": True}
    assert client.put("/api/automatic-sync", json={"enabled": False}).json() == {"enabled": False}
    assert client.get("/api/dashboard").json()["automatic_sync"] is False
    assert run_scheduled(api.runtime.state, api.runtime.task("items")) is None
    # Manual actions still work while it is off.
    assert client.post("/api/tasks/items/queue-changed").json()["queued"] > 0
    client.put("/api/automatic-sync", json={"enabled": True})
    assert client.get("/api/automatic-sync").json() == {"enabled": True}


def test_given_an_unknown_task_when_called_then_404_names_the_tasks_and_nothing_runs(api) -> None:
    client = api.keyed()
    for method, path in [
        ("GET", "/api/tasks/nope"),
        ("POST", "/api/tasks/nope/queue-changed"),
        ("POST", "/api/tasks/nope/disable"),
        ("GET", "/api/tasks/nope/log"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404
        assert "no task called 'nope'" in response.json()["detail"]
        assert "items" in response.json()["detail"]
    assert api.runtime.state.runs(limit=5) == []


def test_given_tasks_when_listed_then_each_has_title_schedule_and_last_run(api) -> None:
    client = api.keyed()
    tasks = client.get("/api/tasks").json()
    assert {t["name"] for t in tasks} >= {"items"}
    items = client.get("/api/tasks/items").json()
    assert items["title"] and items["schedule"].startswith(("rate(", "cron("))
    assert items["last_run"] is None
    client.post("/api/tasks/items/queue-changed")
    items = client.get("/api/tasks/items").json()
    assert items["last_run"]["status"].startswith("ok")
    assert items["last_run"]["counts"]["queued"] > 0


def test_given_a_task_when_disabled_then_schedules_skip_it_until_enabled(api) -> None:
    client = api.keyed()
    assert client.post("/api/tasks/items/disable").json()["enabled"] is False
    assert client.get("/api/tasks/items/settings").json()["enabled"] is False
    assert run_scheduled(api.runtime.state, api.runtime.task("items")) is None
    assert client.post("/api/tasks/items/enable").json()["enabled"] is True
    assert run_scheduled(api.runtime.state, api.runtime.task("items")) is not None


def test_given_a_new_schedule_when_valid_then_stored_and_invalid_then_refused(api) -> None:
    client = api.keyed()
    response = client.put("/api/tasks/items/schedule", json={"schedule": "cron(30 2 * * ? *)"})
    assert response.status_code == 200
    assert client.get("/api/tasks/items/settings").json()["schedule"] == "cron(30 2 * * ? *)"
    # A 5-field Unix cron is converted (tests/api/test_schedule_preview.py); one that names
    # both a day of the month and days of the week cannot be.
    for bad in ["every day", "rate(0 minutes)", "cron(0 2 15 * 1)", "cron(99 2 * * ? *)"]:
        response = client.put("/api/tasks/items/schedule", json={"schedule": bad})
        assert response.status_code == 400, bad
        assert response.json()["detail"].startswith("Items: ")
    assert client.get("/api/tasks/items/settings").json()["schedule"] == "cron(30 2 * * ? *)"


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("at(9999-12-31T23:59:59)", "too far ahead"),
        ("rate(3000000 days)", "too long"),
        ("at(2020-01-01T00:00:00)", "has passed"),
        ("cron(0 0 30 2 ? *)", "no run time"),  # 30 February
        ("rate(10 fortnights)", "expected rate"),
    ],
)
def test_given_a_schedule_the_scheduler_cannot_use_when_set_then_400_names_it_and_the_task(
    make_api, expression: str, says: str
) -> None:
    # New York: the far-future at() is past the year 9999 once read in the store's zone.
    api = make_api(timezone="America/New_York", with_scheduler=True)
    client = api.keyed()
    response = client.put("/api/tasks/prices/schedule", json={"schedule": expression})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("Price Changes: ") and expression in detail and says in detail
    assert client.get("/api/tasks/prices/settings").json()["schedule"] != expression
    assert client.get("/api/dashboard").status_code == 200


def test_given_a_bad_schedule_already_stored_then_the_dashboard_still_answers(make_api) -> None:
    # GIVEN a schedule stored before it was checked (an older cpsync, or by hand)
    api = make_api(timezone="America/New_York", with_scheduler=True)
    update_task_control(api.runtime.state, "prices", schedule="at(9999-12-31T23:59:59)")
    update_task_control(api.runtime.state, "inventory", schedule="nonsense")
    client = api.keyed()
    # WHEN the dashboard and the task pages are read THEN they answer, without a next run
    dashboard = client.get("/api/dashboard")
    assert dashboard.status_code == 200
    tasks = {t["name"]: t for t in dashboard.json()["tasks"]}
    assert tasks["prices"]["next_run"] is None and tasks["inventory"]["next_run"] is None
    assert tasks["items"]["next_run"] is not None
    assert client.get("/api/tasks/prices").status_code == 200
    assert client.get("/api/tasks").status_code == 200
    # Enabling says what is wrong; disabling still works, and a good schedule fixes it.
    enabled = client.post("/api/tasks/inventory/enable")
    assert enabled.status_code == 400 and enabled.json()["detail"].startswith("Inventory: ")
    assert client.post("/api/tasks/inventory/disable").status_code == 200
    fixed = client.put("/api/tasks/prices/schedule", json={"schedule": "rate(1 hour)"})
    assert fixed.status_code == 200
    assert client.get("/api/tasks/prices").json()["next_run"] is not None


def test_given_new_items_when_queue_changed_then_the_answer_is_the_number_queued(api) -> None:
    client = api.keyed()
    first = client.post("/api/tasks/items/queue-changed").json()
    assert first["queued"] == api.runtime.queue.depth().visible > 0
    second = client.post("/api/tasks/items/queue-changed").json()
    assert second["queued"] == 0


def test_given_queue_all_when_nothing_changed_then_every_record_is_queued_again(api) -> None:
    client = api.keyed()
    first = client.post("/api/tasks/items/queue-changed").json()["queued"]
    again = client.post("/api/tasks/items/queue-all").json()
    assert again["mode"] == "full" and again["queued"] >= first


def test_given_one_item_when_queued_then_exactly_it_is_queued(api) -> None:
    item = _simple_items(api.sample)[0]
    response = api.keyed().post("/api/tasks/items/queue-item", json={"key": item})
    assert response.status_code == 200
    assert response.json()["queued"] == 1
    [message] = api.keyed().get("/api/queue").json()["messages"]
    assert message["key"] == item and message["kind"] == "product"


def test_given_an_item_leaving_e_commerce_when_queued_then_the_answer_says_it_is_disabled(
    api,
) -> None:
    item = _simple_items(api.sample)[0]
    client = api.keyed()
    assert client.post("/api/tasks/items/sync-item", json={"key": item}).json()["applied"]
    engine = create_engine(api.runtime.settings.counterpoint_url)
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(IS_ECOMM_ITEM="N"))
    engine.dispose()
    answer = client.post("/api/tasks/items/queue-item", json={"key": item}).json()
    assert answer["queued"] == 1 and answer["disabled"] == 1
    [message] = client.get("/api/queue").json()["messages"]
    assert message["key"] == item
    # A product still for e-commerce is not counted as a disable.
    other = _simple_items(api.sample)[1]
    assert client.post("/api/tasks/items/queue-item", json={"key": other}).json()["disabled"] == 0


def test_given_an_empty_or_unknown_item_when_queued_then_4xx_and_nothing_queued(api) -> None:
    client = api.keyed()
    for action in ("queue-item", "sync-item"):
        for body in ({"key": ""}, {"key": "   "}, {}):
            response = client.post(f"/api/tasks/items/{action}", json=body)
            assert response.status_code == 422, body
            assert "key" in response.json()["detail"]
        response = client.post(f"/api/tasks/items/{action}", json={"key": "NO-SUCH-ITEM"})
        assert response.status_code == 404
        assert "NO-SUCH-ITEM" in response.json()["detail"]
    assert api.runtime.queue.depth().visible == 0
    assert api.emulator.store.products_by_sku() == {}


def test_given_one_item_when_synced_then_it_is_in_magento_without_using_the_queue(api) -> None:
    item = _simple_items(api.sample)[0]
    response = api.keyed().post("/api/tasks/items/sync-item", json={"key": item})
    assert response.status_code == 200
    body = response.json()
    assert body["applied"] is True
    assert body["outcomes"] == [
        {"kind": "product", "key": item, "applied": True, "error": None, "queued": False}
    ]
    assert api.emulator.store.find_by_sku(item) is not None
    assert api.runtime.queue.depth().visible == 0
    # Applied like the updater would: a later queued copy of the same state is a repeat.
    assert api.runtime.state.get_applied("product", [item])


def test_given_magento_busy_when_syncing_one_item_then_it_is_queued_for_a_retry(
    make_api,
) -> None:
    # GIVEN a store answering every product save with 503 (maintenance)
    api = make_api(magento_max_attempts=1)
    item = _simple_items(api.sample)[0]
    api.emulator.set_faults("products.save:503:1.0")
    # WHEN the item is synced now
    body = api.keyed().post("/api/tasks/items/sync-item", json={"key": item}).json()
    # THEN the answer says it was not taken but is queued, and the updater brings it later
    (outcome,) = body["outcomes"]
    assert (outcome["applied"], outcome["queued"]) == (False, True)
    assert api.runtime.queue.depth().visible == 1
    api.emulator.set_faults()
    api.runtime.updater.drain(max_wait_seconds=5)
    assert api.emulator.store.find_by_sku(item) is not None


def _steal_url_key(api, item: str) -> None:
    """Another product takes the item's url_key, so Magento refuses the item (400)."""
    store = api.emulator.store
    mine = copy.deepcopy(store.find_by_sku(item))
    store.delete_product(mine["id"])
    mine.update(id=store.next_id, sku="SOMEONE-ELSE")
    store.put_product(mine)


def test_given_magento_refuses_when_syncing_one_item_then_the_answer_says_why(api) -> None:
    item = _simple_items(api.sample)[0]
    api.keyed().post("/api/tasks/items/sync-item", json={"key": item})
    _steal_url_key(api, item)
    body = api.keyed().post("/api/tasks/items/sync-item", json={"key": item}).json()
    assert body["applied"] is False
    assert "URL key" in body["outcomes"][0]["error"]
    # Not believed sent: the next detection offers it again.
    assert api.runtime.state.get_sent("product", [item]) == {}


def test_given_queued_changes_when_listing_the_queue_then_depth_and_records_show(api) -> None:
    client = api.keyed()
    queued = client.post("/api/tasks/items/queue-changed").json()["queued"]
    data = client.get("/api/queue", params={"limit": 5}).json()
    assert data["depth"]["visible"] == queued
    assert data["depth"]["oldest_age_seconds"] >= 0
    assert len(data["messages"]) == 5
    assert all(m["task"] == "items" and m["kind"] == "product" for m in data["messages"])


def test_given_dead_letters_when_listed_retried_and_discarded_then_the_queue_follows(api) -> None:
    client = api.keyed()
    one, two, three = _simple_items(api.sample)[:3]
    first = _dead_letter(api, one, f"product {one}: The value of attribute is invalid")
    second = _dead_letter(api, two, f"product {two}: URL key for specified store already exists")
    page = client.get("/api/dead-letters").json()
    assert page["total"] == 2
    assert [(r["key"], r["group"]) for r in page["items"]] == [
        (one, "validation"),
        (two, "url_key"),
    ]
    assert page["items"][1]["reason"].endswith("URL key for specified store already exists")
    assert "IM_ITEM.URL" in page["items"][1]["next_step"]
    # Retry re-reads the record from Counterpoint: what is queued is today's record.
    retried = client.post(f"/api/dead-letters/{first}/retry").json()
    assert retried["queued"] == [f"product {one}"]
    assert api.runtime.queue.depth().visible == 1
    (message,) = api.runtime.queue.peek()
    assert '"run_id":"r"' not in message.body  # not the parked body
    api.runtime.queue.ack(api.runtime.queue.receive(10))
    assert client.delete(f"/api/dead-letters/{second}").json() == {"discarded": 1}
    assert client.get("/api/dead-letters").json()["items"] == []
    for method, path in [
        ("POST", f"/api/dead-letters/{first}/retry"),
        ("DELETE", "/api/dead-letters/abc"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404
        assert "no dead letter" in response.json()["detail"]
    _dead_letter(api, three, f"product {three}: bad")
    assert client.post("/api/dead-letters/discard", json={"ids": ["999", "x"]}).json() == {
        "discarded": 0
    }
    assert client.post("/api/dead-letters/discard", json={}).status_code == 400
    retried = client.post("/api/dead-letters/retry", json={}).json()
    assert retried["queued"] == [f"product {three}"]


def test_given_runs_when_reading_the_log_then_runs_and_record_errors_show(api) -> None:
    client = api.keyed()
    client.post("/api/tasks/items/queue-changed")
    log = client.get("/api/log").json()
    # Items looked up the images of its new items too: an Image Changes run of those items.
    assert {r["task"] for r in log["runs"]} == {"items", "image_changes"}
    task_log = client.get("/api/tasks/items/log", params={"limit": 1}).json()
    assert len(task_log["runs"]) == 1
    # The sample holds items that cannot become products: their errors name the record.
    for error in log["errors"]:
        assert error["key"] in error["message"]


def test_given_counterpoint_when_checked_then_health_says_connected_or_why_not(make_api) -> None:
    client = make_api().keyed()
    assert client.get("/api/counterpoint").json()["ok"] is None  # not checked yet
    good = client.post("/api/counterpoint/check").json()
    assert good["ok"] is True and "connected" in good["detail"]
    # The dashboard shows the latest check at once, with when it was made.
    assert client.get("/api/counterpoint").json() == good and good["checked_at"]
    bad = make_api(counterpoint_url="sqlite:////nonexistent/folder/cp.db").keyed()
    health = bad.post("/api/counterpoint/check").json()
    assert health["ok"] is False and "not reachable" in health["detail"]


def test_given_the_dashboard_then_it_shows_switch_tasks_and_queue(api) -> None:
    client = api.keyed()
    client.post("/api/tasks/items/queue-changed")
    data = client.get("/api/dashboard").json()
    assert data["automatic_sync"] is True
    assert data["queue"]["visible"] > 0
    assert [t["name"] for t in data["tasks"]] == [
        t["name"] for t in client.get("/api/tasks").json()
    ]


def test_given_limits_out_of_range_then_422_in_words(api) -> None:
    response = api.keyed().get("/api/queue", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("limit:")


def test_given_a_run_in_progress_when_a_button_is_pressed_then_409_says_so(api) -> None:
    api.runtime.state.acquire_lock("task:items", "scheduled-run", 60)
    for action in ("queue-changed", "queue-all"):
        response = api.keyed().post(f"/api/tasks/items/{action}")
        assert response.status_code == 409
        assert "already running" in response.json()["detail"]
    assert api.runtime.queue.depth().visible == 0


def test_given_counterpoint_unreachable_when_a_button_is_pressed_then_503_in_words(
    make_api,
) -> None:
    api = make_api(counterpoint_url="sqlite:////nonexistent/folder/cp.db")
    response = api.keyed().post("/api/tasks/items/queue-changed")
    assert response.status_code == 503
    assert "did not answer" in response.json()["detail"]
    images = api.keyed().get("/api/images", params={"item_no": "10042"})
    assert images.status_code == 503


def test_the_dashboard_shows_the_agents_newest_heartbeat_and_when_it_is_too_old(api) -> None:
    from datetime import UTC, datetime, timedelta

    client = api.keyed()
    # GIVEN no agent ever beat (one machine, direct mode): no agent on the dashboard
    assert client.get("/api/dashboard").json()["agent"] is None
    # GIVEN two agents' heartbeats, the newest 40 s ago
    now = datetime.fromtimestamp(api.clock(), UTC)
    api.runtime.state.put_docs(
        "agent",
        {
            "old-pc": {"seen_at": (now - timedelta(days=3)).isoformat(), "tasks": {}},
            "STORE-SRV": {"seen_at": (now - timedelta(seconds=40)).isoformat(), "tasks": {}},
        },
    )
    # WHEN the dashboard is read THEN it names the newest, its age, and it is not stale
    agent = client.get("/api/dashboard").json()["agent"]
    assert agent["host"] == "STORE-SRV" and agent["age_seconds"] == 40
    # 3 x the shortest enabled interval (rate(10 minutes)), at most 30 minutes
    assert agent["stale_after_seconds"] == 1800 and agent["stale"] is False
    # WHEN the 10-minute tasks are switched off, the shortest is Images' 15 minutes: still 30 min
    for name in ("items", "category_items", "inventory"):
        assert client.post(f"/api/tasks/{name}/disable").status_code == 200
    api.clock.advance(31 * 60)
    agent = client.get("/api/dashboard").json()["agent"]
    assert agent["age_seconds"] == 40 + 31 * 60 and agent["stale"] is True
    # AND a task every 2 minutes makes 6 minutes the limit
    client.put("/api/tasks/items/schedule", json={"schedule": "rate(2 minutes)"})
    client.post("/api/tasks/items/enable")
    assert client.get("/api/dashboard").json()["agent"]["stale_after_seconds"] == 360
