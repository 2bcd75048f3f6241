"""template.yaml as SAM translates it: the wiring the issue asks for, checked offline."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from cpsync.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
SEVEN = ["items", "categories", "category_items", "inventory", "prices", "image_changes", "images"]


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("translate", ROOT / "tools/translate_template.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return dict(_tool().load_template(ROOT / "template.yaml"))


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    return dict(_tool().translate(sam))


def _of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in cfn["Resources"].items() if r["Type"] == kind}


def _camel(task: str) -> str:
    return "".join(p.title() for p in task.split("_"))


def test_every_task_has_a_function_on_a_schedule_with_a_time_zone(cfn, sam) -> None:
    schedules = _of_type(cfn, "AWS::Scheduler::Schedule")
    assert sam["Parameters"]["TimeZone"]["Default"] == "America/New_York"
    for task in SEVEN:
        function = f"{_camel(task)}Function"
        assert cfn["Resources"][function]["Properties"]["Handler"] == "app.handler"
        (schedule,) = [
            s
            for s in schedules.values()
            if s["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0] == function
        ]
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
        assert props["ScheduleExpression"] == {"Ref": f"{_camel(task)}Schedule"}
        assert "<aws.scheduler.execution-id>" in props["Target"]["Input"]  # the correlation id
        assert (ROOT / "functions" / task / "app.py").exists()
        assert (ROOT / "events" / f"{task}.json").exists()


def test_schedule_defaults_are_the_tasks_own_schedules(sam) -> None:
    for name, task in TASKS.items():
        assert sam["Parameters"][f"{_camel(name)}Schedule"]["Default"] == task.schedule, name


def test_the_updater_reports_batch_item_failures_and_its_concurrency_is_capped(cfn) -> None:
    (mapping,) = _of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": "UpdaterFunction"}
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["ChangeQueue", "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "UpdaterMaxConcurrency"}}
    assert props["BatchSize"] == {"Ref": "UpdaterBatchSize"}


def test_the_queue_has_its_dead_letter_queue_and_a_visibility_above_six_updater_timeouts(
    cfn, sam
) -> None:
    queue = cfn["Resources"]["ChangeQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    # cpsync parks with a reason first; SQS's own redrive is only the backstop
    assert queue["RedrivePolicy"]["maxReceiveCount"] > sam["Parameters"]["MaxReceives"]["Default"]
    timeout = cfn["Resources"]["UpdaterFunction"]["Properties"]["Timeout"]
    window = sam["Parameters"]["UpdaterBatchingWindow"]["Default"]
    assert queue["VisibilityTimeout"] >= 6 * timeout + window


def test_no_policy_grants_every_action_on_every_resource(cfn) -> None:
    def documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
        props = resource["Properties"]
        docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            docs.append(props["PolicyDocument"])
        return docs

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    checked = 0
    for kind in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for name, resource in _of_type(cfn, kind).items():
            for doc in documents(resource):
                for statement in listed(doc["Statement"]):
                    checked += 1
                    if statement["Effect"] != "Allow":
                        continue
                    wild_action = any(
                        a in ("*", "*:*") or a.endswith(":*") for a in listed(statement["Action"])
                    )
                    wild_resource = "*" in listed(statement.get("Resource", []))
                    assert not (wild_action and wild_resource), (name, statement)
                    assert "*" not in listed(statement["Action"]), (name, statement)
    assert checked > 20


def test_storage_is_private_encrypted_and_recoverable(cfn) -> None:
    table = cfn["Resources"]["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    bucket = cfn["Resources"]["BlobBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    alarms = {
        a["Properties"]["MetricName"] for a in _of_type(cfn, "AWS::CloudWatch::Alarm").values()
    }
    assert {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
    } <= alarms


def test_the_agent_policy_is_an_output_and_touches_only_the_stack(cfn) -> None:
    assert cfn["Outputs"]["AgentPolicyArn"]["Value"] == {"Ref": "AgentPolicy"}
    statements = cfn["Resources"]["AgentPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    text = json.dumps(statements)
    assert '"*"' not in text
    actions = {
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "sqs:SendMessage" in actions and "sqs:ReceiveMessage" in actions
    assert not any(a.startswith(("lambda:", "iam:", "secretsmanager:")) for a in actions)


def test_the_layers_install_every_runtime_dependency_of_the_library() -> None:
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["aws"]
    wanted += project["optional-dependencies"]["mssql"]

    def name(spec: str) -> str:
        return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower()

    layer: set[str] = set()
    for folder in ("cpsync", "mssql", "imaging"):  # core, SQL Server, imaging
        lines = (ROOT / "layers" / folder / "requirements.txt").read_text().splitlines()
        layer |= {name(line) for line in lines if line.strip() and not line.startswith("#")}
    provided_by_lambda = {"boto3"}
    cli_only = {"rich"}  # `cpsync` on a machine; no function imports cpsync.cli
    assert {name(spec) for spec in wanted} - layer - provided_by_lambda - cli_only == set()
