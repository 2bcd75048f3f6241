"""The store agent end to end against moto: it detects on its schedule (sample Counterpoint),
queues Changes in SQS, stores image blobs in S3, and answers commands from the command queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cpsync.agent import Agent, submit_command
from cpsync.aws import S3Blobs
from cpsync.control import set_automatic_sync, update_task_control
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
