"""The Lambda functions as deployed (functions/<name>/app.py), fed the sample events, against
moto (SQS, DynamoDB, S3, Secrets Manager) and the Magento emulator over HTTP."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from cpsync import handlers
from cpsync.control import PRICE_BOUNDARY, set_automatic_sync
from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change
from cpsync.runtime import Runtime


def _receive_all(env: Any) -> list[dict[str, Any]]:
    sqs = env.aws.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=env.aws.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return found
        found.extend(got)


def _as_event(template: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """SQS messages shaped as the event source mapping delivers them (events/updater.json)."""
    shape = template["Records"][0]
    records = []
    for m in messages:
        record = copy.deepcopy(shape)
        record.update(
            messageId=m["MessageId"],
            receiptHandle=m["ReceiptHandle"],
            body=m["Body"],
            attributes={**shape["attributes"], **m["Attributes"]},
            messageAttributes={
                k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                for k, v in m.get("MessageAttributes", {}).items()
            },
        )
        records.append(record)
    return {"Records": records}


def _ack_successes(env: Any, messages: list[dict[str, Any]], response: dict[str, Any]) -> None:
    """What the event source mapping does with the response: delete all but the failures."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    sqs = env.aws.client("sqs")
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=env.aws.queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_given_the_schedule_event_when_the_items_function_runs_then_changes_are_in_sqs(
    lambda_env, load_function, event, lambda_context, capsys
) -> None:
    result = load_function("items").handler(event("items"), lambda_context)
    assert result["ran"] and result["queued"] > 0
    depth = handlers.runtime().queue.depth()
    assert depth.visible == result["queued"]
    (run,) = handlers.runtime().state.runs(task="items")
    assert run.status in ("ok", "ok_with_errors") and run.counts["queued"] == result["queued"]
    out = capsys.readouterr().out
    assert '"ChangesDetected"' in out  # the EMF metric line
    assert handlers.logger.get_correlation_id() == "c7f1f0d2-5b1e-4c59-9d0a-items"


def test_given_the_master_switch_off_when_the_schedule_fires_then_nothing_is_queued(
    lambda_env, load_function, event, lambda_context
) -> None:
    set_automatic_sync(handlers.runtime().state, False)
    result = load_function("items").handler(event("items"), lambda_context)
    assert result == {"task": "items", "ran": False, "reason": "switched off or already running"}
    assert handlers.runtime().queue.depth().visible == 0
    # a manual run still works while automatic syncs are off
    manual = load_function("items").handler({"manual": True}, lambda_context)
    assert manual["ran"] and manual["queued"] > 0


def test_given_a_manual_event_for_one_item_then_only_that_item_is_queued_even_if_unchanged(
    lambda_env, load_function, event, lambda_context
) -> None:
    load_function("items").handler(event("items"), lambda_context)
    _receive_all(lambda_env)
    item = next(iter(handlers.runtime().state.get_sent("product")))
    result = load_function("items").handler({"keys": [item]}, lambda_context)
    assert (result["mode"], result["queued"]) == ("item", 1)
    (message,) = _receive_all(lambda_env)
    assert Change.from_json(message["Body"]).key == item


def test_given_a_run_in_progress_when_the_schedule_fires_again_then_it_does_not_run_twice(
    lambda_env, load_function, event, lambda_context
) -> None:
    state = handlers.runtime().state
    assert state.acquire_lock("task:items", "another-lambda", 900)
    result = load_function("items").handler(event("items"), lambda_context)
    assert result["ran"] is False
    assert handlers.runtime().queue.depth().visible == 0


def test_given_queued_changes_when_the_updater_gets_the_batch_then_magento_has_the_products_and_a_refused_one_is_dead_lettered_with_its_reason(
    lambda_env, load_function, event, lambda_context
) -> None:
    env = lambda_env
    rt = handlers.runtime()
    refused = sorted(set(env.sample[1].ecommerce_item_nos) - set(env.sample[1].grid_item_nos))[0]
    with rt.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == refused).values(URL="taken-url"))
    rt.magento.save_product(
        {
            "sku": "SOMEONE-ELSE",
            "name": "x",
            "price": 1,
            "attribute_set_id": 4,
            "custom_attributes": [{"attribute_code": "url_key", "value": "taken-url"}],
        }
    )
    queued = load_function("items").handler(event("items"), lambda_context)["queued"]
    messages = _receive_all(env)
    assert len(messages) == queued

    response = load_function("updater").handler(
        _as_event(event("updater"), messages), lambda_context
    )
    _ack_successes(env, messages, response)

    assert response == {"batchItemFailures": []}
    catalog = env.emulator.store.products_by_sku()
    skus = {Change.from_json(m["Body"]).key for m in messages}
    assert skus - {refused} <= set(catalog)  # every other product (grids bring their children)
    assert refused not in catalog
    (dead,) = rt.queue.dead_letters()
    assert dead.reason.startswith(f"product {refused}: ")
    assert "URL key for specified store already exists." in dead.reason
    depth = rt.queue.depth()
    assert depth.visible + depth.in_flight == 0


def test_given_magento_down_when_the_updater_runs_then_the_batch_is_reported_for_retry_and_nothing_is_lost(
    lambda_env, load_function, event, lambda_context, monkeypatch
) -> None:
    env = lambda_env
    monkeypatch.setenv("CPSYNC_MAGENTO_MAX_ATTEMPTS", "1")
    handlers.reset()
    env.emulator.set_faults("products.save:503:1.0")
    load_function("items").handler(event("items"), lambda_context)
    messages = _receive_all(env)[:5]
    response = load_function("updater").handler(
        _as_event(event("updater"), messages), lambda_context
    )
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in messages}
    notes = handlers.runtime().state.get_docs("queue_error", list(failed))
    assert all("503" in n["error"] for n in notes.values()) and len(notes) == 5
    assert handlers.runtime().queue.dead_letters() == []


def test_given_a_batch_longer_than_the_lambda_has_then_the_updater_stops_in_time_and_the_rest_comes_back(
    lambda_env, load_function, event, lambda_context, monkeypatch
) -> None:
    """A slow store and a big batch: the updater sends no request after its deadline, answers
    before Lambda would end it, and what it had not sent comes back with the next batch."""
    env = lambda_env
    monkeypatch.setenv("CPSYNC_UPDATER_TIME_RESERVE_SECONDS", "4")
    handlers.reset()
    load_function("items").handler(event("items"), lambda_context)
    messages = _receive_all(env)
    skus = {Change.from_json(m["Body"]).key for m in messages}
    # One product save at a time, 200 ms each: the whole batch needs over 10 s.
    env.emulator.configure(workers=1, costs_ms={"products.save": 200.0})
    short = copy.copy(lambda_context)
    short.get_remaining_time_in_millis = lambda: 8_000  # 4 s of work, 4 s kept back

    started = time.monotonic()
    response = load_function("updater").handler(_as_event(event("updater"), messages), short)
    took = time.monotonic() - started

    assert took < 8.0  # answered before this invocation's time ran out
    deferred = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert 0 < len(deferred) < len(messages)  # some written, the rest handed back
    notes = handlers.runtime().state.get_docs("queue_error", list(deferred))
    assert len(notes) == len(deferred)
    assert all("the updater stopped first" in n["error"] for n in notes.values()), notes
    _ack_successes(env, messages, response)

    # The next invocation has time: everything handed back is written, nothing is parked.
    env.emulator.configure(workers=4, costs_ms={"products.save": 3.0})
    again = [m for m in messages if m["MessageId"] in deferred]
    response = load_function("updater").handler(_as_event(event("updater"), again), lambda_context)
    assert response == {"batchItemFailures": []}
    assert skus <= set(env.emulator.store.products_by_sku())
    assert handlers.runtime().queue.dead_letters() == []


def test_given_a_message_received_too_often_then_the_updater_parks_it_with_the_last_error(
    lambda_env, load_function, event, lambda_context
) -> None:
    change = Change(
        kind="product",
        key="GONE-1",
        version="2026-11-27T14:00:00.000000/00000000000000000001",
        fingerprint="f",
        payload={"sku": "GONE-1"},
        task="items",
        run_id="r",
        detected_at=datetime.now(UTC),
    )
    handlers.runtime().queue.send([change])
    (message,) = _receive_all(lambda_env)
    handlers.runtime().state.put_docs(
        "queue_error", {message["MessageId"]: {"error": "product GONE-1: HTTP 503"}}
    )
    message["Attributes"]["ApproximateReceiveCount"] = "4"
    response = load_function("updater").handler(
        _as_event(event("updater"), [message]), lambda_context
    )
    assert response == {"batchItemFailures": []}
    (dead,) = handlers.runtime().queue.dead_letters()
    assert dead.reason == "gave up after 3 attempts: product GONE-1: HTTP 503"


def test_given_a_secret_when_the_function_starts_then_its_values_win_over_the_environment(
    lambda_env, monkeypatch
) -> None:
    sm = lambda_env.aws.client("secretsmanager")
    sm.create_secret(
        Name="cpsync/test",
        SecretString=json.dumps(
            {"magento_token": "from-the-secret", "MAGENTO_STORE_CODE": "default"}
        ),
    )
    monkeypatch.setenv("CPSYNC_SECRET_ID", "cpsync/test")
    handlers.reset()
    settings = handlers.runtime().settings
    assert settings.magento_token.get_secret_value() == "from-the-secret"
    assert settings.magento_store_code == "default"


def test_the_api_function_answers_the_http_event(
    lambda_env, load_function, event, lambda_context
) -> None:
    response = load_function("api").handler(event("api"), lambda_context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_under_a_path_prefix_the_page_its_files_and_the_api_answer(
    lambda_env, load_function, event, lambda_context, monkeypatch
) -> None:
    # GIVEN the API mapped under /cpsync on a custom domain
    monkeypatch.setenv("CPSYNC_API_BASE_PATH", "/cpsync")
    handler = load_function("api").handler

    def get(path: str) -> dict[str, Any]:
        request = event("api")
        request["rawPath"] = request["requestContext"]["http"]["path"] = path
        response: dict[str, Any] = handler(request, lambda_context)
        return response

    # WHEN the browser opens the page and fetches what it names, relative to the page
    page = get("/cpsync/")
    assert page["statusCode"] == 200
    html = page["body"]
    assert 'src="static/app.js"' in html and 'href="static/app.css"' in html
    assert not re.search(r'(src|href)="/', html), "an absolute path would miss the prefix"
    # THEN each of them answers under the prefix
    assert get("/cpsync/static/app.js")["statusCode"] == 200
    assert json.loads(get("/cpsync/api/health")["body"]) == {"status": "ok"}
    assert get("/cpsync/api/dashboard")["statusCode"] == 401


def test_given_a_change_too_big_for_sqs_when_the_updater_gets_it_then_it_is_read_from_s3_and_applied(
    lambda_env, load_function, event, lambda_context
) -> None:
    rt = handlers.runtime()
    load_function("items").handler(event("items"), lambda_context)
    (first, *_) = _receive_all(lambda_env)
    change = Change.from_json(first["Body"])
    big = change.model_copy(
        update={
            "payload": {**change.payload, "description": "<p>" + "long text " * 40_000 + "</p>"},
            "version": change.version[:-1] + "9",
        }
    )
    rt.queue.send([big])
    (message,) = [
        m for m in _receive_all(lambda_env) if "cpsync-overflow" in m.get("MessageAttributes", {})
    ]
    response = load_function("updater").handler(
        _as_event(event("updater"), [message]), lambda_context
    )
    assert response == {"batchItemFailures": []}
    product = lambda_env.emulator.store.products_by_sku()[change.key]
    description = {a["attribute_code"]: a["value"] for a in product["custom_attributes"]}[
        "description"
    ]
    assert len(description) > 256 * 1024


def test_the_eventbridge_schedule_mover_changes_the_real_schedule_and_its_switch(aws) -> None:
    from cpsync.aws import EventBridgeScheduleMover

    scheduler = aws.client("scheduler")
    target = {
        "Arn": "arn:aws:lambda:us-east-1:123456789012:function:cpsync-items",
        "RoleArn": "arn:aws:iam::123456789012:role/cpsync-x",
    }
    scheduler.create_schedule(
        Name="cpsync-category-items",
        ScheduleExpression="rate(10 minutes)",
        ScheduleExpressionTimezone="America/New_York",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
    )
    mover = EventBridgeScheduleMover("cpsync", scheduler)
    mover.move("category_items", "cron(0 2 * * ? *)", enabled=False)
    moved = scheduler.get_schedule(Name="cpsync-category-items")
    assert (moved["ScheduleExpression"], moved["State"]) == ("cron(0 2 * * ? *)", "DISABLED")
    assert moved["ScheduleExpressionTimezone"] == "America/New_York"
    assert moved["Target"]["Arn"] == target["Arn"]
    import pytest

    with pytest.raises(ValueError, match="6 fields"):
        mover.move("category_items", "cron(0 2 * *)", enabled=True)


def test_the_eventbridge_schedule_mover_in_agent_mode_never_enables_the_cloud_schedule(
    aws,
) -> None:
    from cpsync.aws import EventBridgeScheduleMover

    scheduler = aws.client("scheduler")
    scheduler.create_schedule(
        Name="cpsync-inventory",
        ScheduleExpression="rate(10 minutes)",
        State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:cpsync-inventory",
            "RoleArn": "arn:aws:iam::123456789012:role/cpsync-x",
        },
    )
    # The agent runs the tasks: enabling one in the interface must not also run it in AWS.
    EventBridgeScheduleMover("cpsync", scheduler, cloud_runs=False).move(
        "inventory", "rate(5 minutes)", enabled=True
    )
    moved = scheduler.get_schedule(Name="cpsync-inventory")
    assert (moved["ScheduleExpression"], moved["State"]) == ("rate(5 minutes)", "DISABLED")


def test_given_agent_mode_when_the_api_function_starts_a_job_then_the_agent_runs_it(
    lambda_env, load_function, api_event, lambda_context, monkeypatch
) -> None:
    from cpsync.agent import Agent

    monkeypatch.setenv("CPSYNC_CONNECTION_MODE", "agent")
    monkeypatch.setenv("CPSYNC_COMMAND_QUEUE_URL", lambda_env.aws.command_queue_url)
    monkeypatch.setenv("CPSYNC_STACK_NAME", "cpsync")
    api = load_function("api").handler
    handlers.runtime().task("items").run(full=True)
    key = sorted(handlers.runtime().state.get_sent("product"))[0]

    started = api(api_event("POST", "/api/tasks/items/queue-item", {"key": key}), lambda_context)
    assert started["statusCode"] == 202, started["body"]
    job = json.loads(started["body"])["job"]
    assert job["runner"] == "agent" and job["status"] == "queued"
    # Nothing ran in the API function: the job waits on the command queue for the agent.
    polled = api(api_event("GET", f"/api/jobs/{job['id']}"), lambda_context)
    assert json.loads(polled["body"])["status"] == "queued"

    Agent(handlers.runtime()).handle_commands(0)

    done = json.loads(api(api_event("GET", f"/api/jobs/{job['id']}"), lambda_context)["body"])
    assert done["status"] == "done" and done["worker"].startswith("agent:")
    assert (done["result"]["mode"], done["result"]["queued"]) == ("item", 1)


def test_given_a_job_in_state_when_the_task_function_is_invoked_with_it_then_it_runs_it(
    lambda_env, load_function, lambda_context
) -> None:
    from cpsync.jobs import JobRequest, Jobs

    jobs = Jobs(handlers.runtime().state)
    job = jobs.create(JobRequest(action="queue_all", task="categories"), "lambda", 960)
    answer = load_function("categories").handler({"job": job.id}, lambda_context)
    assert answer == {"task": "categories", "job": job.id, "status": "done"}
    done = jobs.get(job.id)
    assert done is not None and done.worker == "lambda:categories"
    assert done.result["queued"] == handlers.runtime().queue.depth().visible > 0
    # Lambda may deliver an asynchronous invoke twice: the second does nothing.
    again = load_function("categories").handler({"job": job.id}, lambda_context)
    assert again["status"] == "skipped"


def test_given_agent_mode_when_sync_now_is_pressed_then_the_agent_prepares_and_the_cloud_pushes(
    lambda_env, load_function, api_event, lambda_context, monkeypatch
) -> None:
    """The agent has no Magento credentials: it reads the file, stores the blob in S3 and
    sends the gallery; the updater (the cloud) pushes it, and the job answers the outcome."""
    import threading
    import time

    from PIL import Image

    from cpsync.agent import Agent

    monkeypatch.setenv("CPSYNC_CONNECTION_MODE", "agent")
    monkeypatch.setenv("CPSYNC_COMMAND_QUEUE_URL", lambda_env.aws.command_queue_url)
    api = load_function("api").handler
    rt = handlers.runtime()
    item_no = lambda_env.sample[1].special["slash_item"]  # MUG/12: files MUG_12*.jpg
    rt.task("items").run(keys=[item_no], force=True)
    rt.updater.drain(max_wait_seconds=5)
    before = len(lambda_env.emulator.store.find_by_sku(item_no)["media_gallery_entries"])
    Image.new("RGB", (40, 30), (200, 30, 30)).save(
        rt.settings.images_dir / "MUG_12^back.jpg", "JPEG"
    )

    stop = threading.Event()

    def cloud_updater() -> None:  # the updater Lambda, fed by the queue
        while not stop.is_set():
            messages = rt.queue.receive(10)
            if messages:
                rt.updater.process(messages)
            else:
                time.sleep(0.2)

    started = api(
        api_event("POST", "/api/images/sync", {"file_name": "MUG_12^back.jpg"}),
        lambda_context,
    )
    assert started["statusCode"] == 202, started["body"]
    job = json.loads(started["body"])["job"]
    worker = threading.Thread(target=cloud_updater, daemon=True)
    worker.start()
    agent_runtime = Runtime(rt.settings, clock=rt.clock, writes_magento=False)
    try:
        begun = time.monotonic()
        Agent(agent_runtime).handle_commands(0)
        took = time.monotonic() - begun
    finally:
        stop.set()
        worker.join(10)

    done = json.loads(api(api_event("GET", f"/api/jobs/{job['id']}"), lambda_context)["body"])
    assert done["status"] == "done", done
    assert done["result"]["applied"] is True, done["result"]
    assert took < 15
    gallery = lambda_env.emulator.store.find_by_sku(item_no)["media_gallery_entries"]
    assert len(gallery) == before + 1
    # The agent itself never spoke to Magento.
    assert "magento" not in agent_runtime.__dict__


def test_the_price_boundary_check_runs_price_changes_only_once_a_promotion_started_or_ended(
    lambda_env, load_function, lambda_context
) -> None:
    """The `PriceBoundaryChecks` schedule invokes the prices function every few minutes: it
    reads one option and returns, unless a promotion began or ended since the last run."""
    check = {"source": "schedule", "boundary": True}
    prices = load_function("prices")
    assert prices.handler(check, lambda_context) == {
        "task": "prices",
        "ran": False,
        "reason": "no promotion started or ended",
    }
    state = handlers.runtime().state
    assert state.runs(task="prices") == []
    state.set_option(PRICE_BOUNDARY, "2026-11-27T19:00:00+00:00")  # 14:00 in New York: passed
    result = prices.handler(check, lambda_context)
    assert result["ran"] is True and result["mode"] == "full"  # its first run reads everything
    (run,) = state.runs(task="prices")
    assert run.run_id == result["run_id"]
