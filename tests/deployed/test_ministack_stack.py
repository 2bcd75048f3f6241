"""The SAM stack for real: `sam build`, `sam deploy` into ministack, the Items function invoked,
the updater Lambda triggered by the queue writing products into the Magento emulator, and a
record Magento refuses landing in the dead-letter queue with its reason (fixtures in conftest).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, update

from cpsync.aws import DynamoState
from cpsync.counterpoint.schema import IM_ITEM
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import generate


def test_the_deployed_stack_syncs_items_into_magento_and_parks_a_refused_one(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    info = generate(tmp_path / "cp", items=43)
    db = tmp_path / "cp" / "counterpoint.db"
    refused = sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))[0]
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == refused).values(URL="taken-url"))
    engine.dispose()
    httpx.post(
        f"{emulator.rest_url}/all/V1/products",
        headers={"Authorization": f"Bearer {emulator.token}"},
        json={
            "product": {
                "sku": "SOMEONE-ELSE",
                "name": "x",
                "price": 1,
                "attribute_set_id": 4,
                "custom_attributes": [{"attribute_code": "url_key", "value": "taken-url"}],
            }
        },
    ).raise_for_status()

    outputs = ministack.deploy(emulator, tmp_path)
    secrets = ministack.client("secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    # The stack generated the key that signs the sync interface's sessions, shared by every
    # API container; the operator fills in the rest.
    assert set(secret) == {"magento_token", "counterpoint_url", "api_session_secret"}
    assert len(secret["api_session_secret"]) == 48
    secret |= {"magento_token": emulator.token, "counterpoint_url": f"sqlite:///{db}"}
    secrets.put_secret_value(SecretId=outputs["SecretArn"], SecretString=json.dumps(secret))

    invoked = ministack.client("lambda").invoke(
        FunctionName=outputs["ItemsFunctionName"],
        Payload=json.dumps(json.loads((ministack.root / "events" / "items.json").read_text())),
    )
    result = json.loads(invoked["Payload"].read())
    assert "FunctionError" not in invoked, result
    assert result["ran"] and result["queued"] > 10

    state = DynamoState(outputs["StateTableName"], ministack.client("dynamodb"))
    skus = set(state.get_sent("product")) - {refused}  # what the Items function queued
    assert len(skus) == result["queued"] - 1

    def synced() -> bool:
        return skus <= set(emulator.store.products_by_sku())

    ministack.wait_for(synced, 180, "the updater Lambda to write the products")
    sqs = ministack.client("sqs")
    dead: list[dict[str, Any]] = []

    def parked() -> bool:
        dead.extend(
            sqs.receive_message(
                QueueUrl=outputs["DeadLetterQueueUrl"], MessageAttributeNames=["All"]
            ).get("Messages", [])
        )
        return bool(dead)

    ministack.wait_for(parked, 60, "the refused record in the dead-letter queue")
    (message,) = dead
    reason = message["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith(f"product {refused}: ")
    assert "URL key for specified store already exists." in reason
    assert refused not in emulator.store.products_by_sku()
    # The dead letter goes out while the updater's batch is still running; the batch's other
    # messages leave the queue when the invocation returns. Nothing may stay behind for a retry.
    depth: dict[str, str] = {}

    def drained() -> bool:
        depth.update(
            sqs.get_queue_attributes(
                QueueUrl=outputs["ChangeQueueUrl"],
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
        )
        return depth == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }

    ministack.wait_for(drained, 60, "the change queue to be empty")
    assert state.get_docs("queue_error") == {}  # no record was held back for a retry
