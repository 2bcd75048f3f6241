"""Operations that reach a person, in the deployed stack (agent mode, MaxReceives 20): failed
task runs are not rerun and land in a queue, schedules have a dead-letter queue, the queues'
redrives, the alarm topic's key, and every alarm notifying the topic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cpsync_emulator.server import EmulatorHandle

TASKS = ["items", "categories", "category-items", "inventory", "prices", "image-changes", "images"]
STACK = "cpsync-ops"


def _arn(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def _redrive(sqs: Any, url: str) -> dict[str, Any]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    return dict(json.loads(attributes["Attributes"]["RedrivePolicy"]))


def test_the_deployed_stack_keeps_failures_and_alarms_reach_the_topic(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    outputs = ministack.deploy(
        emulator, tmp_path, STACK, {"ConnectionMode": "agent", "MaxReceives": "20"}
    )
    sqs, lam = ministack.client("sqs"), ministack.client("lambda")
    failures = _arn(sqs, outputs["TaskFailureQueueUrl"])
    missed = _arn(sqs, outputs["ScheduleDeadLetterQueueUrl"])

    # Each task function: no asynchronous retry by Lambda, failures kept; each schedule: a DLQ.
    scheduler = ministack.client("scheduler")
    for task in TASKS:
        config = lam.get_function_event_invoke_config(
            FunctionName=f"{STACK}-{task}", Qualifier="$LATEST"
        )
        assert config["MaximumRetryAttempts"] == 0, task
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == failures, task
        schedule = scheduler.get_schedule(Name=f"{STACK}-{task}")
        assert schedule["Target"]["DeadLetterConfig"]["Arn"] == missed, task
        assert schedule["State"] == "DISABLED", task  # agent mode

    # A run that fails (here: a payload the task refuses) ends in TaskFailureQueue.
    payload = {"keys": "not-a-list"}
    lam.invoke(FunctionName=f"{STACK}-items", InvocationType="Event", Payload=json.dumps(payload))
    kept: list[dict[str, Any]] = []

    def failure_kept() -> bool:
        got = sqs.receive_message(QueueUrl=outputs["TaskFailureQueueUrl"]).get("Messages", [])
        kept.extend(json.loads(m["Body"]) for m in got)
        return bool(kept)

    ministack.wait_for(failure_kept, 120, "the failed run in TaskFailureQueue")
    assert kept[0]["requestPayload"] == payload
    assert kept[0]["responseContext"]["functionError"]

    # Redrives: SQS catches a Change only after cpsync parked it (MaxReceives + 2); commands.
    assert _redrive(sqs, outputs["ChangeQueueUrl"])["maxReceiveCount"] in (22, "22")
    commands = _redrive(sqs, outputs["CommandQueueUrl"])
    assert commands["deadLetterTargetArn"] == _arn(sqs, outputs["CommandDeadLetterQueueUrl"])
    assert commands["maxReceiveCount"] in (3, "3")

    # The alarm topic's key, which CloudWatch may use. (ministack 1.5.33 drops the topic's
    # KmsMasterKeyId, so the key is found by its alias; tests/aws/test_template.py checks
    # that the topic uses it.)
    topic = outputs["AlarmTopicArn"]
    kms = ministack.client("kms")
    key = kms.describe_key(KeyId=f"alias/{STACK}-alarms")["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    assert any(
        s["Principal"].get("Service") == "cloudwatch.amazonaws.com" for s in policy["Statement"]
    )

    # The API's access log. (Its throttling is not read back: ministack 1.5.33 keeps the
    # template's DefaultRouteSettings under CloudFormation's key case and GetStages returns
    # them empty; tests/aws/test_template.py checks them.)
    api_id = outputs["ApiUrl"].split("//")[1].split(".")[0]
    (stage,) = ministack.client("apigatewayv2").get_stages(ApiId=api_id)["Items"]
    logs = stage["AccessLogSettings"]
    assert f":log-group:/aws/apigateway/{STACK}-api" in logs["DestinationArn"]
    assert {"requestId", "ip", "status"} <= set(json.loads(logs["Format"]))

    # Every alarm of the stack tells the topic when it fires and when it clears.
    # (Every page: the session's other stacks have alarms too.)
    pages = ministack.client("cloudwatch").get_paginator("describe_alarms").paginate(MaxRecords=100)
    alarms = [a for page in pages for a in page["MetricAlarms"]]
    ours = [a for a in alarms if topic in a["AlarmActions"]]
    # 10 before + task failures, missed schedules, commands, 5xx, updater throttles, heartbeat
    assert len(ours) >= 16
    assert all(a["OKActions"] == [topic] for a in ours)
    (heartbeat,) = [a for a in ours if a["MetricName"] == "AgentHeartbeat"]
    assert heartbeat["Namespace"] == "cpsync"
    assert heartbeat["TreatMissingData"] == "breaching"
    assert heartbeat["EvaluationPeriods"] == heartbeat["DatapointsToAlarm"] == 30
