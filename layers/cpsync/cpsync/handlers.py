"""The logic behind the Lambda functions; `functions/<name>/app.py` only adds decorators.

- A **task function** (one per sync task, invoked by its EventBridge Scheduler schedule)
  calls `run_scheduled`, which honours the master switch, the task switch and the lock. An
  invoke with `{"full": true}`, `{"keys": [...]}` or `{"manual": true}` is a manual action:
  it skips the switches but still takes the lock.
- The **updater** gets SQS batches from the event source mapping. The batch goes through the
  same `Updater.process` as on one machine, with a queue that records each message's fate
  instead of deleting it: applied, stale and dead-lettered messages succeed (the mapping
  deletes them), retried ones are reported in `batchItemFailures` after their visibility was
  set to the backoff. Powertools' BatchProcessor builds that response.
- The **api** function wraps the ASGI app of `cpsync.api` with Mangum.

Secrets: `CPSYNC_SECRET_ID` names a Secrets Manager secret holding a JSON object whose keys
are Settings fields (`magento_token`, `counterpoint_url`, ...); they win over the environment.
Environment variables read here: `CPSYNC_SECRET_ID` and `CPSYNC_STACK_NAME` (through Settings)
and Powertools' own
(`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_TRACE_DISABLED`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict

from cpsync.aws import SqsQueue
from cpsync.control import TaskBusy, run_at_price_boundary, run_locked, run_scheduled
from cpsync.errors import ConfigurationError
from cpsync.ports import Fate, QueueMessage
from cpsync.redact import describe, install_log_filter
from cpsync.runtime import Runtime
from cpsync.settings import Settings, load_settings
from cpsync.updater import BatchResult

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from cpsync.tasks.base import RunResult

__all__ = [
    "TaskEvent",
    "api_handler",
    "handle_task",
    "handle_updater",
    "logger",
    "metrics",
    "reset",
    "runtime",
    "tracer",
]

logger = Logger(service="cpsync")
install_log_filter(logging.getLogger("cpsync"))  # the powertools handler
install_log_filter()  # Lambda's own root handler
metrics = Metrics(namespace="cpsync", service="cpsync")
# X-Ray patches the calls every function makes (AWS, Magento); not `patch_all`, which imports
# SQLAlchemy and more into the updater and the API. The task functions add SQLAlchemy in app.py.
tracer = Tracer(service="cpsync", patch_modules=["botocore", "httpx"])

_runtime: Runtime | None = None


def secret_settings(secret_id: str) -> dict[str, Any]:
    """Settings overrides from a Secrets Manager JSON secret (cached 5 minutes).

    Raises:
        ConfigurationError: The secret is not a JSON object.
    """
    value = parameters.get_secret(secret_id, transform="json", max_age=300)
    if not isinstance(value, dict):
        raise ConfigurationError(f"CPSYNC_SECRET_ID: secret {secret_id} is not a JSON object")
    fields = set(Settings.model_fields)
    unknown = sorted(k for k in value if k.lower() not in fields)
    if unknown:
        logger.warning("secret %s has keys that are not settings: %s", secret_id, unknown)
    return {k.lower(): v for k, v in value.items() if k.lower() in fields}


def runtime() -> Runtime:
    """The Runtime of this Lambda container, built on first use (settings + secret)."""
    global _runtime
    if _runtime is None:
        settings = load_settings()
        if settings.secret_id:
            settings = load_settings(**secret_settings(settings.secret_id))
        _runtime = Runtime(settings)
    return _runtime


def reset() -> None:
    """Forget the container's Runtime and API app (tests; a changed secret)."""
    global _runtime, _api
    if _runtime is not None:
        _runtime.close()
    _runtime = None
    _api = None


# --- task functions -----------------------------------------------------------------------
class TaskEvent(BaseModel):
    """What a task function is invoked with: empty for a schedule, else a manual action."""

    model_config = ConfigDict(extra="ignore")

    full: bool = False
    keys: list[str] | None = None
    force: bool = False
    manual: bool = False
    #: A manual action the API stored (`cpsync.jobs`): run it and store its outcome.
    job: str | None = None
    #: The price boundary check (`PriceBoundaryChecks`): run only if a promotion started or
    #: ended since the last run (`cpsync.control.run_at_price_boundary`).
    boundary: bool = False


def handle_task(name: str, event: dict[str, Any] | None) -> dict[str, Any]:
    """Run task `name` for one invoke; returns what it did (or why it did not run)."""
    rt = runtime()
    command = TaskEvent.model_validate(event or {})
    if command.job is not None:
        from cpsync.jobs import run_job

        logger.append_keys(task=name, job=command.job)
        # In AWS only the updater writes Magento (a task function may sit in a VPC without a
        # route to the store): "sync now" sends through the queue and waits for its outcome.
        rt.writes_magento = False
        job = run_job(rt, command.job, worker=f"lambda:{name}")
        return {"task": name, "job": command.job, "status": job.status if job else "skipped"}
    task = rt.task(name)
    logger.append_keys(task=name)
    result: RunResult | None
    if command.full or command.keys is not None or command.force or command.manual:
        try:
            result = run_locked(
                rt.state,
                task,
                # Named items are sent even when unchanged, like `cpsync run --item`.
                lambda t: t.run(
                    full=command.full,
                    keys=command.keys,
                    force=command.force or command.keys is not None,
                ),
            )
        except TaskBusy as exc:
            logger.warning(str(exc))
            metrics.add_metric(name="RunsSkipped", unit=MetricUnit.Count, value=1)
            return {"task": name, "ran": False, "reason": str(exc)}
    elif command.boundary:
        result = run_at_price_boundary(rt.state, task, datetime.now(UTC))
        if result is None:  # the common case, every few minutes: no metric, no noise
            return {"task": name, "ran": False, "reason": "no promotion started or ended"}
    else:
        result = run_scheduled(rt.state, task)
    metrics.add_dimension(name="task", value=name)
    if result is None:
        metrics.add_metric(name="RunsSkipped", unit=MetricUnit.Count, value=1)
        return {"task": name, "ran": False, "reason": "switched off or already running"}
    metrics.add_metric(name="ChangesDetected", unit=MetricUnit.Count, value=result.queued)
    metrics.add_metric(name="RecordErrors", unit=MetricUnit.Count, value=len(result.failed))
    logger.info(
        "task run finished",
        extra={"run_id": result.run_id, "read": result.read, "queued": result.queued},
    )
    return {
        "task": name,
        "ran": True,
        "run_id": result.run_id,
        "mode": result.mode,
        "read": result.read,
        "queued": result.queued,
        "unchanged": result.unchanged,
        "errors": [e.message for e in result.errors[:20]],
    }


# --- updater --------------------------------------------------------------------------------
def _messages(queue: SqsQueue, records: list[dict[str, Any]]) -> list[QueueMessage]:
    """QueueMessages from the event; a record that cannot be read is parked with the reason."""
    messages: list[QueueMessage] = []
    for record in records:
        try:
            messages.append(queue.from_sqs(record))
        except Exception as exc:  # an overflow body missing from S3, a bad attribute
            stub = QueueMessage(
                record["messageId"], record["receiptHandle"], record.get("body", ""), 1, 0.0
            )
            queue.send_dead(stub, f"message {record['messageId']} cannot be read: {describe(exc)}")
    return queue.with_notes(messages)


def _deadline(context: Any, reserve_seconds: float) -> float | None:
    """When the updater starts no more Magento requests: the Lambda's end less the reserve.

    At most half the remaining time is kept back, so a reserve larger than the function's
    timeout slows a batch down instead of stopping every one.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    left = float(remaining()) / 1000.0
    return time.monotonic() + max(left - reserve_seconds, left / 2)


def handle_updater(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Apply one SQS batch; returns the partial batch response.

    Raises:
        ConfigurationError: The queue is not SQS (`CPSYNC_QUEUE_URL` unset).
    """
    rt = runtime()
    if not isinstance(rt.queue, SqsQueue):
        raise ConfigurationError("CPSYNC_QUEUE_URL: the updater function needs the SQS queue")
    queue = rt.queue
    messages = _messages(queue, list(event.get("Records", [])))
    ready = queue.park_exhausted(messages)
    deadline = _deadline(context, rt.settings.updater_time_reserve_seconds)
    with rt.magento.until(deadline):
        settled = rt.updater.apply(ready) if ready else []
    # The event source mapping deletes every message not reported as failed, so settle()
    # does not delete what is done; a retried message is reported below.
    queue.settle(settled, rt.updater.delay_of, delete_done=False)
    retried = {m.id for m, r in settled if r.fate is Fate.RETRY}
    result = BatchResult.of(settled)
    if messages:
        lag = max(0.0, time.time() - min(m.sent_at for m in messages))
        metrics.add_metric(name="QueueLagSeconds", unit=MetricUnit.Seconds, value=lag)
    if settled:
        metrics.add_metric(name="ChangesWritten", unit=MetricUnit.Count, value=result.applied)
        metrics.add_metric(name="ChangesRetried", unit=MetricUnit.Count, value=result.retried)
        metrics.add_metric(name="ChangesFailed", unit=MetricUnit.Count, value=result.dead)
        for error in result.errors:
            logger.warning("dead-lettered: %s", error)
        if deadline is not None and time.monotonic() >= deadline and result.retried:
            logger.warning(
                "the batch reached its time limit: %d records go back to the queue (a smaller "
                "UpdaterBatchSize makes batches that finish; CPSYNC_UPDATER_TIME_RESERVE_SECONDS)",
                result.retried,
            )

    def settle(record: SQSRecord) -> None:
        if record.message_id in retried:
            raise RuntimeError(f"message {record.message_id} waits for a retry")

    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=settle, processor=processor, context=context
        )
    )


# --- api --------------------------------------------------------------------------------------
_api: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


def api_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The HTTP API: the ASGI app of `cpsync.api` through Mangum (503 until it exists).

    Raises:
        ConfigurationError: Agent mode without `CPSYNC_COMMAND_QUEUE_URL` (the app is not
            built; Lambda reports the error).
    """
    global _api
    if _api is None:
        try:
            from cpsync import api  # type: ignore[attr-defined,unused-ignore]
        except ImportError:
            return {
                "statusCode": 503,
                "headers": {"content-type": "application/json"},
                "body": '{"detail": "the sync interface is not installed in this build"}',
            }
        from mangum import Mangum

        from cpsync.aws import EventBridgeScheduleMover, client
        from cpsync.jobs import AgentJobs, JobRunner, LambdaJobs

        rt = runtime()
        stack = rt.settings.stack_name
        agent_mode = rt.settings.connection_mode == "agent"
        # In agent mode the agent runs the tasks: the cloud schedules stay disabled.
        mover = (
            EventBridgeScheduleMover(stack, client("scheduler"), cloud_runs=not agent_mode)
            if stack
            else None
        )
        jobs: JobRunner | None = None
        if agent_mode:
            if not rt.settings.command_queue_url:
                raise ConfigurationError("CPSYNC_COMMAND_QUEUE_URL: agent mode needs it")
            jobs = AgentJobs(client("sqs"), rt.settings.command_queue_url)
        elif stack:
            jobs = LambdaJobs(stack, client("lambda"))
        _api = Mangum(
            api.create_app(rt, schedule_mover=mover, jobs=jobs),
            lifespan="off",
            api_gateway_base_path=rt.settings.api_base_path,
        )
    return _api(event, context)
