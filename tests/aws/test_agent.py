"""The store agent end to end against moto: it detects on its schedule (sample Counterpoint),
queues Changes in SQS, stores image blobs in S3, and answers commands from the command queue."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cpsync.agent import Agent, submit_command
from cpsync.aws import S3Blobs
from cpsync.control import PRICE_BOUNDARY, set_automatic_sync, update_task_control
from cpsync.jobs import AgentJobs, JobRequest, Jobs, LambdaJobs
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def agent(aws: Any, aws_sample: tuple[Path, Any], tmp_path: Path) -> Iterator[Agent]:
    settings = load_settings(
        counterpoint_url=f"sqlite:///{aws_sample[0]}/counterpoint.db",
        images_dir=aws_sample[0] / "ItemImages",
        queue_url=aws.queue_url,
        table_name=aws.table,
        bucket=aws.bucket,
        command_queue_url=aws.command_queue_url,
    )
    runtime = Runtime(settings, clock=aws_sample[1].clock())
    yield Agent(runtime, clock=Clock())
    runtime.close()


def _queued(agent: Agent) -> list[Change]:
    queue = agent.runtime.queue
    changes = []
    while batch := queue.receive(100):
        changes += [Change.from_json(m.body) for m in batch]
        queue.ack(batch)
    return changes


def _every(prefix: str) -> list[str]:
    return sorted(n for n, t in TASKS.items() if t.schedule.startswith(prefix))


def test_given_its_schedules_when_the_agent_turns_then_due_tasks_queue_changes_in_sqs(
    agent: Agent,
) -> None:
    first = agent.run_due()
    assert [r["task"] for r in first] == _every("rate(")  # a rate() runs at once
    items = next(r for r in first if r["task"] == "items")
    assert items["queued"] > 0
    assert len(_queued(agent)) == sum(r["queued"] for r in first)
    agent.clock.now += timedelta(minutes=5)
    assert agent.run_due() == []  # nothing is due after 5 minutes
    agent.clock.now += timedelta(minutes=5)
    assert [r["task"] for r in agent.run_due()] == _every("rate(10 minutes)")
    (run, *_) = agent.runtime.state.runs(task="items")
    assert run.status.startswith("ok")
    for name in _every("cron("):  # e.g. prices at 1 am store time: planned, not run yet
        assert agent.plans[name].due is not None and agent.plans[name].due > agent.clock.now


def test_given_the_operator_moves_a_schedule_or_switches_off_then_the_agent_follows(
    agent: Agent,
) -> None:
    agent.run_due()
    update_task_control(agent.runtime.state, "items", schedule="cron(0 2 * * ? *)")
    agent.clock.now += timedelta(minutes=10)
    assert "items" not in [r["task"] for r in agent.run_due()]
    # 2 am in New York = 07:00 UTC the next day
    assert agent.plans["items"].due == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    set_automatic_sync(agent.runtime.state, False)
    agent.clock.now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    assert agent.run_due() == []


def _job(agent: Agent, aws: Any, **request: Any) -> str:
    """What the API does in agent mode: store the job, send it to the command queue."""
    job = Jobs(agent.runtime.state).create(JobRequest.model_validate(request), "agent", 1200)
    AgentJobs(aws.client("sqs"), aws.command_queue_url).start(job)
    return job.id


def test_given_jobs_on_the_command_queue_then_the_agent_runs_them_and_stores_the_outcome(
    agent: Agent, aws: Any
) -> None:
    agent.run_due()
    _queued(agent)
    sqs = aws.client("sqs")
    item_no = next(iter(agent.runtime.state.get_sent("product")))
    queue_item = _job(agent, aws, action="queue_item", task="items", key=item_no)
    unknown = _job(agent, aws, action="queue_item", task="items", key="NOPE-1")
    changed = _job(agent, aws, action="queue_changed", task="items")
    ping = submit_command(sqs, aws.command_queue_url, {"command": "ping"})
    sqs.send_message(
        QueueUrl=aws.command_queue_url, MessageBody='{"id": "bad", "command": "reboot"}'
    )

    answers = agent.handle_commands(wait_seconds=0)

    assert len(answers) == 5
    jobs = Jobs(agent.runtime.state)
    done = jobs.get(queue_item)
    assert done is not None and done.status == "done" and done.worker == f"agent:{agent.host}"
    assert (done.result["mode"], done.result["queued"]) == ("item", 1)
    missing = jobs.get(unknown)
    assert missing is not None and missing.error is not None and missing.error.status == 404
    nothing_new = jobs.get(changed)
    assert nothing_new is not None and nothing_new.result["queued"] == 0
    docs = agent.runtime.state.get_docs("agent_command")
    assert docs[ping]["status"] == "done"
    assert docs["bad"]["status"] == "failed" and "reboot" in docs["bad"]["error"]
    resent = _queued(agent)
    assert [(c.key, c.force) for c in resent if c.kind == "product"] == [(item_no, True)]
    assert sqs.receive_message(QueueUrl=aws.command_queue_url).get("Messages") is None


def test_given_a_job_delivered_twice_then_it_runs_once(agent: Agent, aws: Any) -> None:
    job = _job(agent, aws, action="queue_all", task="categories")
    AgentJobs(aws.client("sqs"), aws.command_queue_url).start(
        Jobs(agent.runtime.state).get(job)  # type: ignore[arg-type]
    )
    agent.handle_commands(0)
    found = Jobs(agent.runtime.state).get(job)
    assert found is not None and found.status == "done"
    assert agent.runtime.queue.depth().visible == found.result["queued"] > 0


def test_given_a_busy_task_when_a_job_asks_for_it_then_it_fails_saying_busy(
    agent: Agent, aws: Any
) -> None:
    agent.runtime.state.acquire_lock("task:items", "a-lambda", 900)
    job = _job(agent, aws, action="queue_changed", task="items")
    agent.handle_commands(0)
    answer = Jobs(agent.runtime.state).get(job)
    assert answer is not None and answer.error is not None
    assert answer.error.status == 409 and "already running" in answer.error.detail


def test_given_an_image_in_the_store_then_the_agent_uploads_its_blob_to_s3(
    agent: Agent, aws: Any, aws_sample: tuple[Path, Any]
) -> None:
    image = next(p for p in sorted((aws_sample[0] / "ItemImages").iterdir()) if p.is_file())
    data = image.read_bytes()
    if "images" in TASKS:  # the image tasks upload through the same port
        agent.runtime.task("images").run()
    digest = agent.runtime.blobs.put(data)
    assert isinstance(agent.runtime.blobs, S3Blobs)
    assert S3Blobs(aws.bucket, aws.client("s3")).get(digest) == data
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=aws.bucket)["Contents"]]
    assert f"blobs/{digest[:2]}/{digest}" in keys


def test_once_mode_on_the_cli_runs_what_is_due_and_prints_json(
    aws: Any, aws_sample: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from cpsync.cli import main

    for key, value in {
        "CPSYNC_COUNTERPOINT_URL": f"sqlite:///{aws_sample[0]}/counterpoint.db",
        "CPSYNC_QUEUE_URL": aws.queue_url,
        "CPSYNC_TABLE_NAME": aws.table,
        "CPSYNC_BUCKET": aws.bucket,
        "CPSYNC_COMMAND_QUEUE_URL": aws.command_queue_url,
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["agent", "--once"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert any(r.get("task") == "items" and r["queued"] > 0 for r in printed)


def test_given_direct_mode_when_a_job_starts_then_the_task_function_is_invoked_with_it(
    agent: Agent, aws: Any
) -> None:
    import io
    import zipfile

    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return event\n")
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName="cpsync-category-items",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    jobs = Jobs(agent.runtime.state)
    job = jobs.create(JobRequest(action="queue_all", task="category_items"), "lambda", 960)
    runner = LambdaJobs("cpsync", lam)
    assert runner.function_of(job) == "cpsync-category-items"
    runner.start(job)  # accepted by Lambda (an unknown function would raise)
    image = jobs.create(JobRequest(action="image_sync", key="A.jpg"), "lambda", 960)
    assert runner.function_of(image) == "cpsync-image-changes"
    with pytest.raises(Exception, match=r"ResourceNotFound|not found"):
        LambdaJobs("another-stack", lam).start(job)


# --- Windows, outages, heartbeat, settings file ------------------------------------------------
class Turns(threading.Event):
    """The loop's stop event: records each wait instead of sleeping, and calls `on_wait` (the
    test's way to bring the network back or end the loop)."""

    def __init__(self, on_wait: Any = None) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.on_wait = on_wait

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        if self.on_wait:
            self.on_wait(self)
        return self.is_set()


def _dead_endpoint() -> str:
    """An address nothing listens on: connections are refused at once (a store offline)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _unreachable(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, connect_timeout=1)
    return boto3.client(service, endpoint_url=_dead_endpoint(), config=config)


def _windows_view_for_pathlib() -> Any:
    """pathlib as this machine's: the files under the test are still on Linux, only cpsync
    sees Windows' facts."""
    import types

    view = types.ModuleType("os")
    view.__dict__.update(os.__dict__)
    view.name = "posix"
    return view


def test_given_windows_facts_when_the_agent_turns_then_locked_runs_succeed(
    aws: Any,
    aws_sample: tuple[Path, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import pathlib

    from cpsync.control import run_locked
    from cpsync.errors import ConfigurationError

    # GIVEN Windows' facts: no os.uname, os.name "nt", the images setting a C:\ path
    monkeypatch.setattr(pathlib, "os", _windows_view_for_pathlib())
    monkeypatch.delattr(os, "uname", raising=False)
    monkeypatch.setattr(os, "name", "nt")
    settings = load_settings(
        counterpoint_url=f"sqlite:///{aws_sample[0]}/counterpoint.db",
        images_dir="C:\\ItemImages",
        queue_url=aws.queue_url,
        table_name=aws.table,
        bucket=aws.bucket,
    )
    assert str(settings.images_dir) == "C:\\ItemImages"  # accepted as written
    runtime = Runtime(settings, clock=aws_sample[1].clock())
    clock = Clock()
    stop = Turns(on_wait=Turns.set)  # a failed turn ends the loop (and the test fails)

    def pause(seconds: float) -> None:  # turn 1 at 14:00 UTC, turn 2 just after midnight NY
        if clock.now.day == 28:
            stop.set()
        clock.now = datetime(2026, 11, 28, 5, 1, tzinfo=UTC)

    agent = Agent(runtime, clock=clock, pause=pause)
    caplog.set_level(logging.INFO, logger="cpsync")
    # WHEN the agent loop turns
    agent.run_forever(stop)
    # THEN the scheduled runs took their locks and succeeded, and gave the locks back
    runs = agent.runtime.state.runs(task="items")
    assert len(runs) == 2 and all(r.status.startswith("ok") for r in runs)
    assert agent.runtime.state.lock_holder("task:items") is None
    assert _queued(agent)
    assert agent.host in agent.runtime.state.get_docs("agent")  # the heartbeat
    # AND the midnight Image Changes, whose folder is absent here, says so clearly without
    # holding up the tasks after it
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("C:\\ItemImages cannot be read" in e and "CPSYNC_IMAGES_DIR" in e for e in errors)
    assert len(agent.runtime.state.runs(task="inventory")) == 2  # sorted after image_changes
    with pytest.raises(ConfigurationError, match=r"C:\\ItemImages cannot be read"):
        run_locked(runtime.state, runtime.task("image_changes"), lambda t: t.run())
    assert runtime.state.lock_holder("task:image_changes") is None
    runtime.close()


def test_given_aws_unreachable_when_the_agent_turns_then_it_backs_off_and_logs_the_outage_once(
    agent: Agent, aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from cpsync.aws import DynamoState
    from cpsync.outage import Backoff, Outage

    # GIVEN the store's line is down: the state table's endpoint refuses every connection
    reachable = agent.runtime.state
    agent.runtime.__dict__["state"] = DynamoState(aws.table, _unreachable("dynamodb"))
    agent.runtime.settings.command_queue_url = None  # turns pause instead of long-polling
    seconds = [0.0]
    agent.backoff = Backoff(random=lambda: 0.5)
    agent.outage = Outage(clock=lambda: seconds[0])

    def network(stop: Turns) -> None:  # each wait passes; the line is back after 4 failures
        seconds[0] += stop.waits[-1]
        if len(stop.waits) == 4:
            agent.runtime.__dict__["state"] = reachable

    stop = Turns(on_wait=network)
    agent.pause = lambda _: stop.set()  # the first turn that works ends the test
    caplog.set_level(logging.DEBUG, logger="cpsync")
    # WHEN the agent loop turns through the outage
    agent.run_forever(stop)
    # THEN it waited longer each time (5 s doubling, half of each with this jitter)
    assert stop.waits == [2.5, 5.0, 10.0, 20.0]
    # AND logged the outage once when it started and once when it ended, with no traceback
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in warnings] == [
        "agent turn failed",
        "connection back after 38 s (4 failed turns); the agent works again",
    ]
    assert "Could not connect to the endpoint URL" in warnings[0].getMessage()
    loop = [r for r in caplog.records if r.name in ("cpsync.agent", "cpsync.outage")]
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in loop)
    # AND the turn that worked ran the tasks and beat
    assert [r["task"] for r in agent.run_due()] == []  # all done by that turn
    assert agent.host in reachable.get_docs("agent")
    assert agent.backoff.attempt == 0


def test_each_heartbeat_puts_the_agent_metric_the_alarm_watches(agent: Agent, aws: Any) -> None:
    agent.heartbeat()
    cloudwatch = aws.client("cloudwatch")
    metrics = cloudwatch.list_metrics(Namespace="cpsync", MetricName="AgentHeartbeat")["Metrics"]
    assert [m["Dimensions"] for m in metrics] == [[{"Name": "StateTable", "Value": aws.table}]]
    seen = agent.runtime.state.get_docs("agent")[agent.host]["seen_at"]
    assert seen == agent.clock().isoformat()


def test_given_cloudwatch_refuses_when_the_agent_beats_then_it_logs_once_and_goes_on(
    agent: Agent, aws: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cpsync.agent as agent_module

    agent._cloudwatch = _unreachable("cloudwatch")
    caplog.set_level(logging.WARNING, logger="cpsync")
    tries = []
    refusing = agent.cloudwatch

    class Counting:
        def put_metric_data(self, **kw: Any) -> None:
            tries.append(kw)
            refusing.put_metric_data(**kw)

    agent._cloudwatch = Counting()
    for minute in range(12):  # twelve beats, a minute apart
        monkeypatch.setattr(agent_module.time, "monotonic", lambda m=minute: 1000.0 + 61 * m)
        agent.clock.now += timedelta(seconds=61)
        agent.heartbeat()
    # THEN every beat wrote the heartbeat doc, the metric was tried again after 10 minutes
    assert agent.runtime.state.get_docs("agent")[agent.host]["seen_at"] == agent.clock().isoformat()
    assert len(tries) == 2
    # AND the trouble was logged once
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("heartbeat metric not sent")
    assert "cloudwatch:PutMetricData" in lines[0]
    agent._cloudwatch = aws.client("cloudwatch")  # allowed again
    monkeypatch.setattr(agent_module.time, "monotonic", lambda: 5000.0)
    agent.heartbeat()
    assert caplog.records[-1].getMessage() == "heartbeat metric sent again"


@pytest.fixture
def saved_environ() -> Iterator[None]:
    """`--env-file` writes into os.environ; put it back as it was."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_agent_reads_its_settings_file_and_logs_to_a_rotating_file(
    aws: Any,
    aws_sample: tuple[Path, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    saved_environ: None,
) -> None:
    from cpsync.cli import main

    for key in [k for k in os.environ if k.startswith("CPSYNC_")]:
        monkeypatch.delenv(key)
    # GIVEN the settings file the Windows installer writes (BOM and all, as Notepad saves it)
    env_file = tmp_path / "agent.env"
    env_file.write_text(
        "# cpsync agent settings\n"
        f"CPSYNC_COUNTERPOINT_URL=sqlite:///{aws_sample[0]}/counterpoint.db\n"
        f"CPSYNC_QUEUE_URL={aws.queue_url}\n"
        f"CPSYNC_TABLE_NAME={aws.table}\n"
        f"CPSYNC_BUCKET={aws.bucket}\n"
        "CPSYNC_IMAGES_DIR=C:\\Program Files (x86)\\NCR\\ItemImages\n",
        encoding="utf-8-sig",
    )
    log = tmp_path / "logs" / "agent.log"
    # WHEN the agent runs once with it
    assert main(["agent", "--once", "--env-file", str(env_file), "--log-file", str(log)]) == 0
    # THEN it used those settings (the Changes are in that queue)
    printed = json.loads(capsys.readouterr().out)
    assert any(r["task"] == "items" and r["queued"] > 0 for r in printed)
    assert os.environ["CPSYNC_IMAGES_DIR"] == "C:\\Program Files (x86)\\NCR\\ItemImages"
    # AND logged its runs to the file, which no longer holds on once the agent stops
    assert "items run items-" in log.read_text(encoding="utf-8")
    assert not any(
        getattr(h, "baseFilename", None) == str(log) for h in logging.getLogger().handlers
    )
    # AND a missing settings file is named, on the console and in the log (a service has no
    # console)
    missing = ["--env-file", str(tmp_path / "nope.env"), "--log-file", str(log)]
    assert main(["agent", "--once", *missing]) == 2
    assert "no settings file at" in capsys.readouterr().err
    assert "cpsync agent stopped: --env-file: no settings file at" in log.read_text("utf-8")


def test_the_log_file_rotates_at_10_mb_keeps_5_and_masks_passwords(tmp_path: Path) -> None:
    from cpsync.agent import log_to_file

    root = logging.getLogger()
    before = root.level, list(root.handlers)
    with log_to_file(tmp_path / "agent.log") as handler:
        assert (handler.maxBytes, handler.backupCount) == (10 * 1024 * 1024, 5)
        logging.getLogger("cpsync.test").info("the agent's INFO lines reach the file")
        logging.getLogger("cpsync.test").warning(
            "cannot reach mssql+pymssql://cpsync_reader:S3cret!@10.20.0.5:1433/DEMOGOLF"
        )
    text = (tmp_path / "agent.log").read_text(encoding="utf-8")
    assert "the agent's INFO lines reach the file" in text
    assert "cpsync_reader:***@10.20.0.5" in text and "S3cret" not in text
    assert (root.level, root.handlers) == before  # as it was once the agent stops


def test_given_a_promotion_starting_mid_day_when_its_time_comes_then_the_agent_runs_price_changes(
    agent: Agent,
) -> None:
    """The daily Price Changes run is at 01:00; a promotion beginning at 14:00 gets a run of
    its own once 14:00 has passed (the agent looks every five minutes)."""
    state = agent.runtime.state
    agent.run_due()  # the rate() tasks; Price Changes is not due (cron, 01:00)
    state.set_option(PRICE_BOUNDARY, (agent.clock.now + timedelta(minutes=3)).isoformat())
    agent.clock.now += timedelta(minutes=2)
    assert "prices" not in [r["task"] for r in agent.run_due()]
    agent.clock.now += timedelta(minutes=4)
    (ran,) = [r for r in agent.run_due() if r["task"] == "prices"]
    assert ran["queued"] > 0 and state.runs(task="prices")[0].run_id == ran["run_id"]
