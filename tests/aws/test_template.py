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
            and s["Properties"]["ScheduleExpression"] == {"Ref": f"{_camel(task)}Schedule"}
        ]
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
        assert props["ScheduleExpression"] == {"Ref": f"{_camel(task)}Schedule"}
        assert "<aws.scheduler.execution-id>" in props["Target"]["Input"]  # the correlation id
        assert (ROOT / "functions" / task / "app.py").exists()
        assert (ROOT / "events" / f"{task}.json").exists()


def test_price_changes_is_also_woken_at_promotion_boundaries_except_in_agent_mode(cfn, sam) -> None:
    """Magento Open Source's special-price dates are whole days: a promotion starting at 14:00
    is put right by a Price Changes run after 14:00, which this schedule asks for."""
    schedules = _of_type(cfn, "AWS::Scheduler::Schedule").values()
    (boundary,) = [
        s["Properties"]
        for s in schedules
        if s["Properties"]["ScheduleExpression"] == {"Ref": "PriceBoundaryChecks"}
    ]
    assert boundary["Target"]["Arn"] == {"Fn::GetAtt": ["PricesFunction", "Arn"]}
    assert json.loads(boundary["Target"]["Input"])["boundary"] is True
    assert boundary["State"] == {"Fn::If": ["AgentMode", "DISABLED", "ENABLED"]}
    assert sam["Parameters"]["PriceBoundaryChecks"]["Default"] == "rate(5 minutes)"


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
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {
        "Fn::FindInMap": ["RedriveAfter", {"Ref": "MaxReceives"}, "Receives"]
    }
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

    def branches(statement: dict[str, Any]) -> list[dict[str, Any]]:
        """A statement, or both sides of a conditional one (`!If [cond, stmt, NoValue]`)."""
        sides = statement.get("Fn::If", [None, statement])[1:]
        return [s for s in sides if s != {"Ref": "AWS::NoValue"}]

    checked = 0
    for kind in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for name, resource in _of_type(cfn, kind).items():
            for doc in documents(resource):
                for statement in [b for s in listed(doc["Statement"]) for b in branches(s)]:
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


def test_the_import_s_named_image_copies_expire_after_a_day_and_the_updater_may_make_them(
    cfn,
) -> None:
    from cpsync.magento.image_links import S3_PREFIX

    rules = cfn["Resources"]["BlobBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Prefix") == S3_PREFIX]
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", 1)
    objects = {"Fn::Sub": "${BlobBucket.Arn}/*"}  # CopyObject: read the blob, write the copy
    statements = [
        st
        for st in cfn["Resources"]["UpdaterAccessPolicy"]["Properties"]["PolicyDocument"][
            "Statement"
        ]
        if st["Effect"] == "Allow" and st["Resource"] == objects
    ]
    granted = {a for st in statements for a in st["Action"]}
    assert {"s3:GetObject", "s3:PutObject"} <= granted


def test_the_agent_policy_is_an_output_and_touches_only_the_stack(cfn) -> None:
    assert cfn["Outputs"]["AgentPolicyArn"]["Value"] == {"Ref": "AgentPolicy"}
    statements = cfn["Resources"]["AgentPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    # PutMetricData (the heartbeat) has no resources: the only "*", held to cpsync's namespace
    (heartbeat,) = [s for s in statements if s["Resource"] == "*"]
    assert heartbeat["Action"] == "cloudwatch:PutMetricData"
    assert heartbeat["Condition"] == {"StringEquals": {"cloudwatch:namespace": "cpsync"}}
    text = json.dumps([s for s in statements if s is not heartbeat])
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


# --- operations that reach a person (issue 10, section 4) -----------------------------------
def _get_att(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "Arn"]}


def _allowed(cfn: dict[str, Any], role: str, action: str, resource: Any) -> bool:
    statements = [
        st
        for policy in cfn["Resources"][role]["Properties"].get("Policies", [])
        for st in policy["PolicyDocument"]["Statement"]
    ]
    return any(
        st["Effect"] == "Allow"
        and st["Action"] in (action, [action])
        and st["Resource"] == resource
        for st in statements
    )


def test_a_failed_task_run_is_not_run_again_by_lambda_and_is_kept_in_a_queue(cfn) -> None:
    configs = _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
    by_function = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in configs}
    for task in SEVEN:
        function = f"{_camel(task)}Function"
        config = by_function[function]
        # Lambda's asynchronous retries (2 by default) would rerun the task; the next tick does
        assert config["MaximumRetryAttempts"] == 0, function
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == _get_att("TaskFailureQueue"), function
        role = cfn["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert _allowed(cfn, role, "sqs:SendMessage", destination), function


def test_every_schedule_sends_an_invoke_it_could_not_make_to_a_dead_letter_queue(cfn) -> None:
    schedules = _of_type(cfn, "AWS::Scheduler::Schedule")
    assert len(schedules) == len(SEVEN) + 1  # the tasks' own, and the price boundary checks
    for name, schedule in schedules.items():
        target = schedule["Properties"]["Target"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
        queue = target["DeadLetterConfig"]["Arn"]
        assert queue == _get_att("ScheduleDeadLetterQueue"), name
        # Scheduler delivers dead letters with the schedule's execution role
        role = target["RoleArn"]["Fn::GetAtt"][0]
        assert _allowed(cfn, role, "sqs:SendMessage", queue), name


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(cfn) -> None:
    topic = cfn["Resources"]["AlarmTopic"]["Properties"]
    # CloudWatch cannot publish to a topic under the AWS managed aws/sns key
    assert topic["KmsMasterKeyId"] != "alias/aws/sns"
    key = cfn["Resources"][topic["KmsMasterKeyId"]["Ref"]]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"].get("Service")]
    assert cloudwatch["Principal"]["Service"] == "cloudwatch.amazonaws.com"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch["Action"])
    assert cloudwatch["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    # the account keeps the key manageable (else it could never be changed or deleted)
    assert any(s["Principal"].get("AWS") and s["Action"] == "kms:*" for s in statements)
    aliases = _of_type(cfn, "AWS::KMS::Alias").values()
    assert [a["Properties"]["TargetKeyId"] for a in aliases] == [topic["KmsMasterKeyId"]]


@pytest.mark.parametrize("max_receives", range(1, 51))
def test_sqs_redrives_a_change_only_after_cpsync_had_its_turn_to_park_it(
    cfn, sam, max_receives: int
) -> None:
    parameter = sam["Parameters"]["MaxReceives"]
    assert (parameter["MinValue"], parameter["MaxValue"]) == (1, 50)
    receives = cfn["Mappings"]["RedriveAfter"][str(max_receives)]["Receives"]
    # cpsync parks on receive MaxReceives + 1 (QueuePort.park_exhausted); SQS delivers a message
    # while its receive count is at most maxReceiveCount, so that receive must still come.
    assert receives >= max_receives + 1
    assert receives == max_receives + 2  # as the template and the parameter say


def test_a_command_that_keeps_failing_goes_to_a_dead_letter_queue(cfn) -> None:
    redrive = cfn["Resources"]["CommandQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": _get_att("CommandDeadLetterQueue"),
        "maxReceiveCount": 3,
    }


def test_the_api_is_throttled_at_the_gateway_logged_and_capped_at_the_function(cfn) -> None:
    (stage,) = _of_type(cfn, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["ApiId"] == {"Ref": "HttpApi"}
    assert props["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }
    logs = props["AccessLogSettings"]
    group = cfn["Resources"][logs["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = json.loads(logs["Format"])  # one JSON object per request
    assert {"requestId", "ip", "routeKey", "status", "latency"} <= set(fields)
    # sessions and API keys travel in headers, cookies and query strings: never logged
    lowered = logs["Format"].lower()
    assert not any(word in lowered for word in ("header", "cookie", "querystring", "authorizer"))

    function = cfn["Resources"]["ApiFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "ReservesApiConcurrency",
            {"Ref": "ApiReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert function["Environment"]["Variables"]["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_defaults_let_the_api_through_a_busy_page_and_reserve_a_few_instances(sam) -> None:
    params = sam["Parameters"]
    assert params["ApiThrottlingBurstLimit"]["Default"] == 50
    assert params["ApiThrottlingRateLimit"]["Default"] == 20
    assert params["ApiReservedConcurrency"]["Default"] == 10
    assert params["AgentHeartbeatAlarmMinutes"]["Default"] == 30


def _alarm(cfn: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        a
        for a in _of_type(cfn, "AWS::CloudWatch::Alarm").values()
        if (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) == (namespace, metric)
    ]


def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_clears(cfn) -> None:
    alarms = _of_type(cfn, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 16
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Properties"]["OKActions"] == [{"Ref": "AlarmTopic"}], name


def test_failed_runs_missed_schedules_and_dead_commands_raise_an_alarm(cfn) -> None:
    watched = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _alarm(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }
    assert {
        "TaskFailureQueue",
        "ScheduleDeadLetterQueue",
        "CommandDeadLetterQueue",
        "DeadLetterQueue",
    } <= watched
    for alarm in _alarm(cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible"):
        props = alarm["Properties"]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_api_server_errors_and_updater_throttles_raise_an_alarm(cfn) -> None:
    (errors,) = _alarm(cfn, "AWS/ApiGateway", "5xx")
    assert errors["Properties"]["Dimensions"] == [
        {"Name": "ApiId", "Value": {"Ref": "HttpApi"}},
        {"Name": "Stage", "Value": "$default"},
    ]
    (throttles,) = _alarm(cfn, "AWS/Lambda", "Throttles")
    assert throttles["Properties"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "UpdaterFunction"}}
    ]


def test_in_agent_mode_a_silent_agent_raises_an_alarm(cfn) -> None:
    (heartbeat,) = _alarm(cfn, "cpsync", "AgentHeartbeat")
    assert heartbeat["Condition"] == "AgentMode"
    props = heartbeat["Properties"]
    assert props["Dimensions"] == [{"Name": "StateTable", "Value": {"Ref": "StateTable"}}]
    # every minute of the last AgentHeartbeatAlarmMinutes without a heartbeat (none = breaching)
    assert (props["Period"], props["Statistic"]) == (60, "Sum")
    minutes = {"Ref": "AgentHeartbeatAlarmMinutes"}
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == minutes
    assert (props["ComparisonOperator"], props["Threshold"]) == ("LessThanThreshold", 1)
    assert props["TreatMissingData"] == "breaching"
