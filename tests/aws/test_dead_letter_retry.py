"""A dead letter fixed in Counterpoint and retried in agent mode, over SQS, its DLQ and DynamoDB
(moto) and the Magento emulator: the agent reads the record again, the cloud applies it."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import update

from cpsync import handlers
from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change


def _receive_all(env: Any) -> list[dict[str, Any]]:
    sqs = env.aws.client("sqs")
    found: list[dict[str, Any]] = []
    while got := sqs.receive_message(
        QueueUrl=env.aws.queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=60,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        found.extend(got)
    return found


def _update(env: Any, load_function, event, lambda_context) -> None:
    """One updater invocation over everything queued, acked as the event source mapping does."""
    messages = _receive_all(env)
    shape = event("updater")["Records"][0]
    records = []
    for m in messages:
        record = copy.deepcopy(shape)
        record.update(
            messageId=m["MessageId"],
            receiptHandle=m["ReceiptHandle"],
            body=m["Body"],
            attributes={**shape["attributes"], **m["Attributes"]},
            messageAttributes={},
        )
        records.append(record)
    response = load_function("updater").handler({"Records": records}, lambda_context)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    sqs = env.aws.client("sqs")
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=env.aws.queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_given_agent_mode_when_a_url_key_dead_letter_is_fixed_and_retried_then_magento_has_it(
    lambda_env, load_function, event, api_event, lambda_context, monkeypatch
) -> None:
    from cpsync.agent import Agent

    env = lambda_env
    monkeypatch.setenv("CPSYNC_CONNECTION_MODE", "agent")
    monkeypatch.setenv("CPSYNC_COMMAND_QUEUE_URL", lambda_env.aws.command_queue_url)
    monkeypatch.setenv("CPSYNC_STACK_NAME", "cpsync")
    rt = handlers.runtime()
    item = sorted(set(env.sample[1].ecommerce_item_nos) - set(env.sample[1].grid_item_nos))[0]
    with rt.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(URL="taken-url"))
    rt.magento.save_product(
        {
            "sku": "SOMEONE-ELSE",
            "name": "Someone Else",
            "price": 1,
            "attribute_set_id": 4,
            "custom_attributes": [{"attribute_code": "url_key", "value": "taken-url"}],
        }
    )
    rt.task("items").run(keys=[item], force=True)
    _update(env, load_function, event, lambda_context)
    rt.task("items").run(keys=[item], force=True)  # queued again: refused again
    _update(env, load_function, event, lambda_context)
    assert rt.queue.depth().dead == 2  # SQS keeps both until the DLQ is listed

    api = load_function("api").handler
    listed = json.loads(api(api_event("GET", "/api/dead-letters"), lambda_context)["body"])
    assert listed["total"] == 1  # one per record: the older copy is deleted from the DLQ
    (row,) = listed["items"]
    assert row["group"] == "url_key" and "SOMEONE-ELSE" in row["cause"]
    assert rt.queue.depth().dead == 1

    # Fixed in Counterpoint; Retry is a job the agent in the store runs.
    with rt.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(URL=None))
    started = api(api_event("POST", f"/api/dead-letters/{row['id']}/retry"), lambda_context)
    assert started["statusCode"] == 202, started["body"]
    job = json.loads(started["body"])["job"]
    assert job["runner"] == "agent"
    Agent(handlers.runtime()).handle_commands(0)
    done = json.loads(api(api_event("GET", f"/api/jobs/{job['id']}"), lambda_context)["body"])
    assert done["status"] == "done", done
    assert done["result"]["queued"] == [f"product {item}"]

    (message,) = _receive_all(env)
    assert Change.from_json(message["Body"]).payload["url_key"] != "taken-url"
    env.aws.client("sqs").change_message_visibility(
        QueueUrl=env.aws.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    listed = json.loads(api(api_event("GET", "/api/dead-letters"), lambda_context)["body"])
    assert listed["total"] == 0  # the retry's mark settles the dead letter it replaced
    _update(env, load_function, event, lambda_context)
    assert item in env.emulator.store.products_by_sku()
    assert rt.queue.depth().dead == 0
