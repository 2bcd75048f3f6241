"""`cpsync agent`: runs the detection tasks in the store, next to Counterpoint.

When SQL Server cannot be reached from AWS, the agent does the detecting: it runs each task
on its schedule (the operator's stored schedule, in the store's time zone, the same
EventBridge expressions the cloud uses), sends the Changes to the SQS queue, stores image
blobs in S3 (the runtime's blob port), and keeps state in the stack's DynamoDB table. It also
long-polls the command queue, where the sync interface's manual actions arrive as jobs
(`cpsync.jobs`: the API stored the job in state, the agent runs it and stores its outcome):

    {"id": "<job id>", "command": "job"}
    {"id": "c3", "command": "ping"}

Each command's answer is also written to state as a document of kind `agent_command` under
its id (`status` done / failed). The
agent's heartbeat, every minute, is the document `agent`/<host> (the dashboard shows its age)
and the CloudWatch metric `cpsync`/`AgentHeartbeat` (dimension `StateTable`), on which the
stack alarms. A failing turn (the network, throttling, Counterpoint down) is retried with
capped exponential backoff and logged once per outage (`cpsync.outage`). Only outbound HTTPS
to SQS, DynamoDB, S3 and CloudWatch is used; the stack's `AgentPolicy` grants exactly that.

It runs on Linux and on the store's Windows server alike (no POSIX-only call in the
library; see `deploy/windows/install-agent.ps1`). `--env-file` reads the settings from a
`NAME=value` file, `--log-file` logs to a rotating file.

Environment variables: the `CPSYNC_*` settings (`CPSYNC_QUEUE_URL`, `CPSYNC_TABLE_NAME`,
`CPSYNC_BUCKET`, `CPSYNC_COMMAND_QUEUE_URL`, `CPSYNC_COUNTERPOINT_URL`, `CPSYNC_TIMEZONE`) and
boto3's (`AWS_REGION`, `AWS_PROFILE` or keys).
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cpsync.aws import client
from cpsync.control import (
    BoundaryChecks,
    TaskBusy,
    run_at_price_boundary,
    run_scheduled,
    task_control,
)
from cpsync.errors import ConfigurationError, CpsyncError
from cpsync.image_mirror import mirror_forever, mirror_from_settings
from cpsync.jobs import run_job
from cpsync.outage import Backoff, Outage
from cpsync.redact import describe, install_log_filter
from cpsync.runtime import Runtime
from cpsync.schedules import Schedule, ScheduleError, parse_schedule
from cpsync.settings import Settings, load_settings
from cpsync.tasks import TASKS, RunResult

__all__ = [
    "Agent",
    "AgentCommand",
    "add_agent_parser",
    "heartbeat_metric",
    "log_to_file",
    "read_env_file",
    "submit_command",
]

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 20
HEARTBEAT_SECONDS = 60
HEARTBEAT_NAMESPACE = "cpsync"
HEARTBEAT_METRIC = "AgentHeartbeat"
METRIC_RETRY_SECONDS = 600


class AgentCommand(BaseModel):
    """A command from the cloud (a message on the command queue)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    command: Literal["job", "ping"]


def submit_command(sqs: Any, command_queue_url: str, command: dict[str, Any]) -> str:
    """Send a command to the agent (the API's side); returns its id, where the answer goes."""
    body = AgentCommand.model_validate({"id": uuid.uuid4().hex, **command})
    sqs.send_message(QueueUrl=command_queue_url, MessageBody=body.model_dump_json())
    return body.id


def _summary(result: RunResult) -> dict[str, Any]:
    return {
        "task": result.task,
        "run_id": result.run_id,
        "mode": result.mode,
        "read": result.read,
        "queued": result.queued,
        "errors": [e.message for e in result.errors[:20]],
    }


@dataclass
class _Plan:
    expression: str
    schedule: Schedule
    due: datetime | None
    last_run: datetime | None = None


@dataclass
class Agent:
    """The embedded scheduler and the command loop (see the module docstring).

    Args:
        runtime: Wired for AWS (SQS queue, DynamoDB state, S3 blobs) and the local Counterpoint.
        clock: Now, aware; injected by tests.
    """

    runtime: Runtime
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    host: str = field(default_factory=socket.gethostname)
    plans: dict[str, _Plan] = field(default_factory=dict)
    #: Sleeps between turns when no command queue is long-polled; injected by tests.
    pause: Callable[[float], object] = time.sleep
    backoff: Backoff = field(default_factory=Backoff)
    outage: Outage = field(default_factory=Outage)
    _sqs: Any = None
    _cloudwatch: Any = None
    _beat: float | None = None  # time.monotonic() of the last heartbeat; None: never
    _metric_failing: bool = False
    _metric_paused_until: float = 0.0  # time.monotonic(): after a failure, try again later
    _boundary_checks: BoundaryChecks = field(default_factory=BoundaryChecks)

    # --- schedules -------------------------------------------------------------------------
    def refresh_plans(self, now: datetime) -> None:
        """Pick up schedule changes the operator made (stored in state)."""
        zone = self.runtime.settings.zone
        for name in TASKS:
            expression = task_control(self.runtime.state, name).schedule
            plan = self.plans.get(name)
            if plan is not None and plan.expression == expression:
                continue
            try:
                schedule = parse_schedule(expression, zone)
            except ScheduleError as exc:
                logger.error("task %s not scheduled: %s", name, exc)
                self.plans.pop(name, None)
                continue
            last = plan.last_run if plan else None
            self.plans[name] = _Plan(expression, schedule, schedule.next_after(now, last), last)

    def run_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Run every task whose time has come (switches and lock honoured)."""
        now = now or self.clock()
        self.refresh_plans(now)
        done = []
        for name, plan in sorted(self.plans.items()):
            if plan.due is None or plan.due > now:
                continue
            try:
                result = run_scheduled(self.runtime.state, self.runtime.task(name))
            except CpsyncError as exc:
                # A task that cannot run (its folder missing, a table absent) must not hold
                # up the others, nor run again every turn: its next time is the retry.
                logger.error("task %s failed: %s", name, describe(exc))
                result = None
            plan.last_run = now
            plan.due = plan.schedule.next_after(now, now)
            if result is not None:
                done.append(_summary(result))
        ran_prices = any(d["task"] == "prices" for d in done)
        if not ran_prices and self._boundary_checks.due(now):
            try:
                result = run_at_price_boundary(self.runtime.state, self.runtime.task("prices"), now)
            except CpsyncError as exc:
                logger.error("task prices failed at a promotion boundary: %s", describe(exc))
                result = None
            if result is not None:
                done.append(_summary(result))
        return done

    def seconds_to_next(self, now: datetime) -> float:
        """How long nothing is due (capped by the long poll)."""
        dues = [p.due for p in self.plans.values() if p.due is not None]
        if not dues:
            return LONG_POLL_SECONDS
        return max(0.0, min(LONG_POLL_SECONDS, (min(dues) - now).total_seconds()))

    # --- commands --------------------------------------------------------------------------
    @property
    def sqs(self) -> Any:
        """The SQS client of the command queue, made on first use."""
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def handle_commands(self, wait_seconds: float) -> list[dict[str, Any]]:
        """Long-poll the command queue once and answer what came.

        Raises:
            ConfigurationError: No command queue is configured.
        """
        url = self.runtime.settings.command_queue_url
        if not url:
            raise ConfigurationError("CPSYNC_COMMAND_QUEUE_URL: the agent needs the command queue")
        response = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=int(min(LONG_POLL_SECONDS, max(0, wait_seconds))),
            VisibilityTimeout=900,
        )
        answers = []
        for message in response.get("Messages", []):
            answers.append(self.answer(message["Body"]))
            # Answered (even with an error): a command is never run twice.
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return answers

    def answer(self, body: str) -> dict[str, Any]:
        """Execute one command and store the answer under its id."""
        try:
            command = AgentCommand.model_validate_json(body)
        except ValidationError as exc:
            bad_id = _id_of(body)
            refused: dict[str, Any] = {
                "id": bad_id,
                "status": "failed",
                "error": f"unreadable command: {exc}",
            }
            logger.warning("command %s refused: %s", bad_id, exc)
            self._store(bad_id, refused)
            return refused
        answer: dict[str, Any] = {"id": command.id, "command": command.command}
        try:
            answer["results"] = self._execute(command)
            answer["status"] = "done"
        except TaskBusy as exc:
            answer.update(status="busy", error=str(exc))
        except CpsyncError as exc:
            answer.update(status="failed", error=str(exc))
        self._store(command.id, answer)
        return answer

    def _execute(self, command: AgentCommand) -> list[dict[str, Any]]:
        if command.command == "ping":
            return []
        job = run_job(self.runtime, command.id, worker=f"agent:{self.host}")
        if job is None:
            return []  # already run (a command delivered twice) or failed for its deadline
        return [{"job": job.id, "status": job.status}]

    def _store(self, command_id: str, answer: dict[str, Any]) -> None:
        answer = {**answer, "agent": self.host, "finished_at": self.clock().isoformat()}
        self.runtime.state.put_docs("agent_command", {command_id: answer})

    # --- the loop --------------------------------------------------------------------------
    def heartbeat(self) -> None:
        """Tell the cloud this agent is alive and what it plans to run next.

        At most once a minute: the state doc `agent`/<host> (the dashboard shows its age) and
        the CloudWatch metric `cpsync/AgentHeartbeat` (the stack's alarm fires when it stops).
        """
        if self._beat is not None and time.monotonic() - self._beat < HEARTBEAT_SECONDS:
            return
        self._beat = time.monotonic()
        plans = {
            n: {"schedule": p.expression, "next": p.due.isoformat() if p.due else None}
            for n, p in self.plans.items()
        }
        self.runtime.state.put_docs(
            "agent", {self.host: {"seen_at": self.clock().isoformat(), "tasks": plans}}
        )
        self._put_heartbeat_metric()

    @property
    def cloudwatch(self) -> Any:
        """The CloudWatch client of the heartbeat metric, made on first use."""
        if self._cloudwatch is None:
            self._cloudwatch = client("cloudwatch")
        return self._cloudwatch

    def _put_heartbeat_metric(self) -> None:
        """Put one heartbeat data point; a failure is logged once and never stops the agent.

        After a failure the metric waits 10 minutes, so an endpoint the store's firewall drops
        (each try waits out its timeouts) does not hold up the tasks every minute.
        """
        if time.monotonic() < self._metric_paused_until:
            return
        try:
            self.cloudwatch.put_metric_data(**heartbeat_metric(self.runtime.settings))
        except Exception as exc:  # the metric is a convenience: the doc above was written
            if not self._metric_failing:
                logger.warning(
                    "heartbeat metric not sent (the heartbeat alarm may fire; the agent's "
                    "credentials need cloudwatch:PutMetricData and HTTPS to CloudWatch): %s",
                    describe(exc),
                )
            self._metric_failing = True
            self._metric_paused_until = time.monotonic() + METRIC_RETRY_SECONDS
            return
        if self._metric_failing:
            logger.warning("heartbeat metric sent again")
        self._metric_failing = False

    def step(self, commands: bool = True) -> None:
        """One turn: due tasks, heartbeat, then wait for commands until the next due time."""
        self.run_due()
        self.heartbeat()
        wait = self.seconds_to_next(self.clock())
        if commands and self.runtime.settings.command_queue_url:
            self.handle_commands(wait)
        else:
            self.pause(wait)

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Turn until `stop` is set; the service itself never stops on an error.

        A failing turn (the network, AWS throttling, Counterpoint down) waits with capped
        exponential backoff and jitter, and is logged once per outage (see `cpsync.outage`).
        """
        stop = stop or threading.Event()
        logger.info("cpsync agent on %s started", self.host)
        while not stop.is_set():
            try:
                self.step()
            except Exception as exc:  # keep the service alive whatever a turn met
                delay = self.backoff.next()
                self.outage.failed(exc, delay)
                stop.wait(delay)
                continue
            self.outage.recovered()
            self.backoff.reset()


def heartbeat_metric(settings: Settings) -> dict[str, Any]:
    """The PutMetricData arguments of one heartbeat.

    `cpsync/AgentHeartbeat` = 1 per beat, dimension `StateTable`: the stack's alarm watches
    exactly this metric, so its name and dimension must not drift.
    """
    return {
        "Namespace": HEARTBEAT_NAMESPACE,
        "MetricData": [
            {
                "MetricName": HEARTBEAT_METRIC,
                "Dimensions": [{"Name": "StateTable", "Value": settings.table_name or "-"}],
                "Value": 1.0,
                "Unit": "Count",
            }
        ],
    }


def _id_of(body: str) -> str:
    try:
        value = json.loads(body).get("id")
    except (ValueError, AttributeError):
        value = None
    return str(value) if value else f"unreadable-{uuid.uuid4().hex[:8]}"


# --- CLI ------------------------------------------------------------------------------------
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_COUNT = 5


def read_env_file(path: Path) -> None:
    """Put the `NAME=value` lines of a settings file into the environment.

    As systemd's `EnvironmentFile` does (`CPSYNC_*` and boto3's `AWS_*` alike). A variable
    already set in the environment wins over the file.

    Raises:
        ConfigurationError: There is no file at `path`, or it cannot be read.
    """
    from dotenv import load_dotenv  # pydantic-settings' own .env reader

    if not path.is_file():
        raise ConfigurationError(f"--env-file: no settings file at {path}")
    try:
        load_dotenv(path, override=False, encoding="utf-8-sig")  # Notepad may add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"--env-file: {path} cannot be read ({exc})") from exc


@contextmanager
def log_to_file(path: Path) -> Iterator[RotatingFileHandler]:
    """Also log INFO and above to a rotating file (10 MB x 5), passwords masked.

    Only while the block runs; the console keeps its own level, and all is as before
    afterwards.

    Yields:
        The file's handler.

    Raises:
        ConfigurationError: The file cannot be opened.
    """
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigurationError(f"--log-file: {path} cannot be opened ({exc})") from exc
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = root.level, {h: h.level for h in root.handlers}
    for console in root.handlers:  # the console keeps the level it had
        if console.level == logging.NOTSET:
            console.setLevel(root.getEffectiveLevel())
    root.addHandler(handler)
    root.setLevel(min(root.getEffectiveLevel(), logging.INFO))
    install_log_filter(root)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(saved[0])
        for console, level in saved[1].items():
            console.setLevel(level)


def _cmd_agent(args: argparse.Namespace, _runtime: Runtime | None) -> int:
    with ExitStack() as stack:
        if args.log_file:
            stack.enter_context(log_to_file(Path(args.log_file)))
        try:
            return _run_agent(args)
        except CpsyncError as exc:  # a service has no console: say it in the log too
            logger.error("cpsync agent stopped: %s", describe(exc))
            raise


def _run_agent(args: argparse.Namespace) -> int:
    if args.env_file:
        read_env_file(Path(args.env_file))
    settings = load_settings()
    if not (settings.queue_url and settings.table_name):
        raise ConfigurationError(
            "CPSYNC_QUEUE_URL and CPSYNC_TABLE_NAME: the agent sends to the stack's queue and "
            "keeps state in its table (see the stack outputs)"
        )
    runtime = Runtime(settings)
    # Only the cloud's updater writes Magento: "sync now" goes through the queue.
    runtime.writes_magento = False
    mirror = mirror_from_settings(settings) if args.mirror_images else None
    try:
        agent = Agent(runtime)
        if args.once:
            done = agent.run_due()
            if settings.command_queue_url:
                done += agent.handle_commands(0)
            if mirror is not None:
                done.append({"mirror_images": mirror.run().summary()})
            print(json.dumps(done, indent=2, default=str))  # noqa: T201
            return 0
        if mirror is not None:
            minutes = settings.images_mirror_minutes
            threading.Thread(
                target=mirror_forever, args=(mirror, minutes), name="image-mirror", daemon=True
            ).start()
        agent.run_forever()
        return 0
    finally:
        runtime.close()


def _cmd_mirror_images(args: argparse.Namespace, runtime: Runtime | None) -> int:
    """`cpsync mirror-images`: only the mirror (a direct-mode store needs no agent)."""
    settings = load_settings()
    mirror = mirror_from_settings(settings)
    if args.once:
        print(json.dumps(mirror.run().summary(), indent=2))  # noqa: T201
        return 0
    mirror_forever(mirror, settings.images_mirror_minutes)
    return 0


def add_agent_parser(sub: Any) -> None:
    """Register `cpsync agent` and `cpsync mirror-images` on the CLI's subparsers."""
    agent = sub.add_parser("agent", help="run the tasks in the store and answer cloud commands")
    agent.add_argument(
        "--once", action="store_true", help="run what is due and pending commands, then exit"
    )
    agent.add_argument(
        "--mirror-images",
        action="store_true",
        help="also mirror CPSYNC_IMAGES_DIR into CPSYNC_IMAGES_MIRROR_URL (every "
        "CPSYNC_IMAGES_MIRROR_MINUTES)",
    )
    agent.add_argument(
        "--env-file",
        metavar="PATH",
        help="read settings (CPSYNC_*, AWS_*) from this NAME=value file, e.g. "
        r"C:\ProgramData\cpsync\agent.env; the environment wins over it",
    )
    agent.add_argument(
        "--log-file",
        metavar="PATH",
        help="also log to this file, rotated at 10 MB, 5 kept (INFO and above)",
    )
    # The runtime is built in _run_agent, after --env-file is read.
    agent.set_defaults(func=_cmd_agent, needs_runtime=False)
    mirror = sub.add_parser(
        "mirror-images",
        help="mirror the image folder into the S3 prefix the direct-mode functions read",
    )
    mirror.add_argument("--once", action="store_true", help="mirror once, then exit")
    mirror.set_defaults(func=_cmd_mirror_images, needs_runtime=False)
