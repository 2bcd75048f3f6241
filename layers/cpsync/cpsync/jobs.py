"""Manual actions as jobs: the API starts one and answers at once; the page polls it.

Every button that reads Counterpoint or the image files (queue changed / all / item, sync
item, the Images tab, the Counterpoint check) is a job, because the process that serves the
API is not always the one that can reach them, and because API Gateway cuts a call at 30 s:

- `cpsync serve` runs jobs in its own threads (`LocalJobs`);
- direct mode (AWS) invokes the task's Lambda asynchronously with `{"job": id}` (`LambdaJobs`);
- agent mode sends `{"command": "job", "id": id}` to the command queue (`AgentJobs`).

All three store the job in state (documents of kind `job`) and run it with `run_job`, so the
answer is the same JSON whichever ran it: `result` as the synchronous route answered, or
`error` with the HTTP status and sentence the route would have refused with. A job that dies
(the Lambda timed out, the agent is gone) is found by `Jobs.get` after its deadline: it ends
as failed with the reason, and the task lock it held (owned by `job:<id>`) is freed.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError

from cpsync.control import TaskBusy, lock_owner
from cpsync.errors import ConfigurationError, CpsyncError, NothingToSend, RetryableError
from cpsync.ports import StatePort
from cpsync.redact import describe
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS

if TYPE_CHECKING:
    from cpsync.tasks.base import RunResult

__all__ = [
    "AgentJobs",
    "Job",
    "JobError",
    "JobRequest",
    "JobRunner",
    "Jobs",
    "LambdaJobs",
    "LocalJobs",
    "NotFound",
    "error_of",
    "execute",
    "run_job",
]

logger = logging.getLogger(__name__)

Action = Literal[
    "queue_changed",
    "queue_all",
    "queue_item",
    "sync_item",
    "image_search",
    "image_check",
    "image_sync",
    "image_queue",
    "counterpoint",
    "check",
    "verify",
    "retry_dead",
]
Status = Literal["queued", "running", "done", "failed"]
Runner = Literal["local", "lambda", "agent"]

#: The Image tab's actions run Image Changes; the Counterpoint check needs any task function.
IMAGE_ACTIONS = frozenset({"image_search", "image_check", "image_sync", "image_queue"})
#: Image files per page of a paged image search (at most 1000).
IMAGE_PAGE = 100
#: How long an agent job may wait unclaimed when no agent has been seen lately.
AGENT_SILENCE_SECONDS = 300.0
COUNTERPOINT_HEALTH = "counterpoint_health"
#: Records per kind a verify job shows (the command's --examples).
VERIFY_EXAMPLES = 5


class NotFound(CpsyncError):
    """The record the action names is not in Counterpoint (the route's 404)."""


class JobRequest(BaseModel):
    """What to do: an action, its task, and the record (item number, file name, search)."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    task: str | None = None
    key: str | None = Field(default=None, max_length=255)
    item_no: str | None = Field(default=None, max_length=255)
    #: retry_dead: the records to read again, keys by task (the API chose them: the job's
    #: runner, the agent among them, need not reach the dead-letter queue).
    records: dict[str, list[str]] | None = None
    #: image_search: one page of the files (`rows` with `total`); none given, the whole list.
    offset: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, ge=1, le=1000)

    @property
    def lock_task(self) -> str | None:
        """The task whose lock the job takes (freed when the job dies)."""
        if self.action in IMAGE_ACTIONS and self.action != "image_search":
            return "image_changes"
        if self.action in ("verify", "retry_dead"):  # verify reads only; a retry locks per task
            return None
        return self.task if self.action not in IMAGE_ACTIONS | {"counterpoint", "check"} else None

    @property
    def function_task(self) -> str:
        """The task whose function runs the job in direct mode."""
        if self.action in IMAGE_ACTIONS:
            return "image_changes"
        return self.task or "items"


class JobError(BaseModel):
    """Why a job failed: the HTTP status the action refuses with, and a sentence."""

    status: int
    detail: str


class Job(BaseModel):
    """One manual action and its outcome (state documents of kind `job`)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    request: JobRequest
    status: Status = "queued"
    runner: Runner
    created_at: float
    deadline: float
    started_at: float | None = None
    finished_at: float | None = None
    worker: str | None = None
    result: Any = None
    error: JobError | None = None

    @property
    def finished(self) -> bool:
        """Whether the job has its outcome (done or failed); a finished job never changes."""
        return self.status in ("done", "failed")

    def public(self, now: float) -> dict[str, Any]:
        """The job as `GET /api/jobs/{id}` answers it."""
        end = self.finished_at or now
        return {
            "id": self.id,
            "action": self.request.action,
            "task": self.request.task,
            "key": self.request.key,
            "status": self.status,
            "runner": self.runner,
            "worker": self.worker,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "elapsed_seconds": round(max(0.0, end - self.created_at), 3),
            "result": self.result,
            "error": self.error.model_dump() if self.error else None,
        }


def _iso(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def error_of(exc: Exception) -> JobError:
    """The status and sentence an action that raised `exc` answers.

    The API's own handlers use this too, so a job and a synchronous route refuse alike.
    """
    if isinstance(exc, NotFound):
        return JobError(status=404, detail=_sentence(str(exc)))
    if isinstance(exc, TaskBusy):
        return JobError(status=409, detail=_sentence(describe(exc)))
    if isinstance(exc, ConfigurationError):
        logger.error("configuration problem: %s", describe(exc))
        return JobError(
            status=503,
            detail=f"cpsync is not set up right: {describe(exc)}. Tell whoever runs cpsync.",
        )
    if isinstance(exc, OperationalError):
        logger.error("database did not answer: %s", describe(exc))
        return JobError(
            status=503,
            detail="A database did not answer (Counterpoint, or cpsync's own state); "
            "check the connection on the dashboard and try again in a minute.",
        )
    if isinstance(exc, RetryableError):
        logger.error("a task could not read Counterpoint: %s", describe(exc))
        return JobError(
            status=503,
            detail=f"{describe(exc)}. Counterpoint did not answer; check the connection "
            "on the dashboard and try again in a minute.",
        )
    if isinstance(exc, CpsyncError):
        # The request was understood and cannot be done.
        status = 409 if isinstance(exc, NothingToSend) else 422
        return JobError(status=status, detail=_sentence(describe(exc)))
    if isinstance(exc, ValueError):
        return JobError(status=400, detail=_sentence(describe(exc)))
    logger.exception("job failed")
    return JobError(status=500, detail=f"The action failed: {describe(exc)}.")


# --- what a job does ---------------------------------------------------------------------------
def _not_found(name: str, key: str) -> NotFound:
    task = TASKS[name]
    what = "category" if task.kind == "category" else "item"
    return NotFound(
        f"No such {what}: {task.title or name} found nothing for {key!r} in Counterpoint "
        f"(check the number, and that the {what} is set up for e-commerce)"
    )


def _one_record(name: str, key: str, run: Callable[[str], RunResult]) -> tuple[str, RunResult]:
    """Run a one-record action for `key`, then for `KEY` when nothing matched.

    Counterpoint's item numbers are upper case, and a person types `mug/12`.

    Returns:
        The spelling that matched and its run.

    Raises:
        NotFound: Neither spelling is in Counterpoint.
    """
    typed = key
    result = run(key)
    if result.read == 0 and key.upper() != key:
        key = key.upper()
        result = run(key)
    if result.read == 0:
        raise _not_found(name, typed)
    return key, result


def execute(runtime: Runtime, request: JobRequest) -> Any:
    """Do the action now, in this process; returns the JSON the route answers.

    Raises:
        CpsyncError: The action cannot be done: `NotFound` (no such record), `TaskBusy`,
            `ConfigurationError`, `NothingToSend` among others (`error_of` says how each is
            answered).
        ValueError: A typed item number or file name is not acceptable.
        sqlalchemy.exc.OperationalError: Counterpoint or the state database did not answer.
    """
    # Imported here: the API's modules are not needed by a task function that runs no job.
    from cpsync.api.actions import SyncResult, queue_run, run_json, sync_item
    from cpsync.api.images import FolderImageActions
    from cpsync.counterpoint.connection import ping

    action, key = request.action, request.key or ""
    if action == "check":  # cpsync check: the latest report is kept for GET /api/check
        from cpsync.check import CHECK_REPORT, run_check

        report = run_check(runtime).to_json()
        runtime.state.set_option(CHECK_REPORT, report)
        return report
    if action == "verify":  # `cpsync verify`; key "repair" queues what differs
        from cpsync.verify import verify

        return verify(runtime, repair=key == "repair").to_json(examples=VERIFY_EXAMPLES)
    if action == "retry_dead":  # re-read the parked records from Counterpoint
        from cpsync.deadletters import retry_from_counterpoint

        return retry_from_counterpoint(runtime, request.records or {}).to_json()
    if action == "counterpoint":
        try:
            health = ping(runtime.counterpoint)
            ok, detail = health.ok, health.detail
        except ConfigurationError as exc:  # no driver, a URL that cannot be read: not healthy
            ok, detail = False, describe(exc)
        answer = {"ok": ok, "detail": detail, "checked_at": _iso(time.time())}
        runtime.state.set_option(COUNTERPOINT_HEALTH, answer)
        return answer
    if action in IMAGE_ACTIONS:
        images = FolderImageActions(runtime)
        item_no = request.item_no
        if action == "image_search":
            rows = [asdict(row) for row in images.search(key)]
            if request.offset is None and request.limit is None:
                return rows  # the whole list, as before paging (the item count reads it)
            offset, limit = request.offset or 0, request.limit or IMAGE_PAGE
            return {
                "rows": rows[offset : offset + limit],
                "total": len(rows),
                "offset": offset,
                "limit": limit,
            }
        if action == "image_check":
            return {"item_no": key, **run_json(images.check(key))}
        if action == "image_queue":
            return {"file_name": key, "queued": images.queue(key, item_no)}
        outcomes = images.sync(key, item_no)
        if not outcomes:
            raise NotFound(f"image {key}: nothing to send (is the file there?)")
        return {
            "file_name": key,
            "applied": all(o.applied for o in outcomes),
            "outcomes": [asdict(o) for o in outcomes],
        }
    name = request.task or ""
    if name not in TASKS:
        raise ConfigurationError(f"unknown task {name!r}")
    if action == "sync_item":
        tries: dict[str, SyncResult] = {}

        def sync(k: str) -> RunResult:
            tries[k] = sync_item(runtime, name, k)
            return tries[k].run

        found, _ = _one_record(name, key, sync)
        synced = tries[found]
        return {
            "applied": synced.applied,
            "outcomes": [asdict(o) for o in synced.outcomes],
            "run": run_json(synced.run),
        }
    mode = {"queue_changed": "changed", "queue_all": "all", "queue_item": "item"}[action]
    if mode == "item":
        return run_json(_one_record(name, key, lambda k: queue_run(runtime, name, "item", k))[1])
    return run_json(queue_run(runtime, name, mode))


# --- where jobs are kept -----------------------------------------------------------------------
class Jobs:
    """The job documents in state: create, read (finding dead ones), claim, finish."""

    KIND = "job"

    def __init__(self, state: StatePort, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock

    def _put(self, job: Job) -> None:
        self.state.put_docs(self.KIND, {job.id: job.model_dump(mode="json")})

    def _read(self, job_id: str) -> Job | None:
        raw = self.state.get_docs(self.KIND, [job_id]).get(job_id)
        return None if raw is None else Job.model_validate(raw)

    def create(self, request: JobRequest, runner: Runner, timeout: float) -> Job:
        """Store a new queued job that fails by itself `timeout` seconds from now."""
        now = self.clock()
        job = Job(
            id=uuid.uuid4().hex,
            request=request,
            runner=runner,
            created_at=now,
            deadline=now + timeout,
        )
        self._put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, or None when `job_id` is unknown.

        A job that outlived its deadline (or waits for an absent agent) is failed here, with
        the reason, and its task lock is freed.
        """
        job = self._read(job_id)
        if job is None or job.finished:
            return job
        reason = self._dead(job)
        if reason is None:
            return job
        if job.request.lock_task:
            self.state.release_lock(f"task:{job.request.lock_task}", f"job:{job.id}")
        return self.finish(job, error=JobError(status=504, detail=reason))

    def _dead(self, job: Job) -> str | None:
        now = self.clock()
        waited = round(now - job.created_at)
        if job.runner == "agent" and job.status == "queued":
            seen = self._agent_seen()
            if (seen is None or now - seen > AGENT_SILENCE_SECONDS) and waited > 60:
                when = "never" if seen is None else f"{round((now - seen) / 60)} minutes ago"
                return (
                    f"No agent took the job in {waited} s: the cpsync agent in the store was "
                    f"last seen {when}. Start it (see the agent's log), then try again"
                )
        if now <= job.deadline:
            return None
        if job.runner == "agent":
            return (
                f"The agent did not finish the job in {waited} s (it stopped, or lost its "
                "connection); its task lock is freed. Try again"
            )
        if job.runner == "lambda":
            return (
                f"The task function did not finish the job in {waited} s (it timed out or "
                "failed; see its log); its task lock is freed. Try again"
            )
        return f"The job did not finish in {waited} s (cpsync stopped while it ran). Try again"

    def _agent_seen(self) -> float | None:
        seen = []
        for doc in self.state.get_docs("agent").values():
            try:
                seen.append(datetime.fromisoformat(str(doc.get("seen_at"))).timestamp())
            except (TypeError, ValueError):
                continue
        return max(seen) if seen else None

    def claim(self, job_id: str, worker: str) -> Job | None:
        """Take a queued job to run it; None when it is unknown, taken or finished.

        A command or an invoke delivered twice so runs once.
        """
        job = self._read(job_id)
        if job is None or job.status != "queued":
            return None
        ttl = max(60.0, job.deadline - self.clock() + 60)
        if not self.state.acquire_lock(f"job:{job_id}", worker, ttl):
            return None
        job = job.model_copy(update={"status": "running", "started_at": self.clock()})
        job.worker = worker
        self._put(job)
        return job

    def finish(self, job: Job, result: Any = None, error: JobError | None = None) -> Job:
        """Store the job's outcome: failed with `error`, else done with `result`.

        Returns:
            The stored job. One the API already failed for its deadline keeps that answer
            and is returned as it is.
        """
        current = self._read(job.id)
        if current is not None and current.finished:
            return current
        done = job.model_copy(
            update={
                "status": "failed" if error else "done",
                "finished_at": self.clock(),
                "result": None if error else result,
                "error": error,
            }
        )
        self._put(done)
        return done


def run_job(runtime: Runtime, job_id: str, worker: str) -> Job | None:
    """Claim job `job_id`, do it, store the outcome; None when there was nothing to run."""
    jobs = Jobs(runtime.state)
    job = jobs.claim(job_id, worker)
    if job is None:
        logger.info("job %s: already taken or finished", job_id)
        return None
    try:
        with lock_owner(f"job:{job.id}"):
            result = execute(runtime, job.request)
    except Exception as exc:
        return jobs.finish(job, error=error_of(exc))
    # The result crosses JSON (DynamoDB, the page): make sure it does now, not on read.
    return jobs.finish(job, result=json.loads(json.dumps(result, default=str)))


# --- who runs them -----------------------------------------------------------------------------
class JobRunner(Protocol):
    """Hands a stored job to whatever runs it."""

    runner: Runner
    #: Seconds after which a job that has not finished is failed.
    timeout: float

    def start(self, job: Job) -> None:
        """Have `job` run (soon); never waits for it."""


class LocalJobs:
    """`cpsync serve` and tests: jobs run in this process's threads."""

    runner: Runner = "local"
    timeout = 1800.0

    def __init__(self, runtime: Runtime, workers: int = 2) -> None:
        self.runtime = runtime
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cpsync-job")
        self.worker = f"{socket.gethostname()}:local"

    def start(self, job: Job) -> None:
        """Run `job` on a worker thread of this process."""
        self.pool.submit(self._run, job.id)

    def _run(self, job_id: str) -> None:
        try:
            run_job(self.runtime, job_id, self.worker)
        except Exception:  # state unreachable: the job's deadline fails it
            logger.exception("job %s could not be run", job_id)


class LambdaJobs:
    """Direct mode: the task's function (`<stack>-<task>`) is invoked asynchronously."""

    runner: Runner = "lambda"
    timeout = 960.0  # the functions' 900 s limit and a minute

    def __init__(self, stack: str, lambda_client: Any) -> None:
        self.stack = stack
        self.client = lambda_client

    def function_of(self, job: Job) -> str:
        """The name of the Lambda function that runs `job` (`<stack>-<task-with-dashes>`)."""
        return f"{self.stack}-{job.request.function_task.replace('_', '-')}"

    def start(self, job: Job) -> None:
        """Invoke the job's function asynchronously; boto's errors reach the caller."""
        self.client.invoke(
            FunctionName=self.function_of(job),
            InvocationType="Event",
            Payload=json.dumps({"job": job.id}).encode(),
        )


class AgentJobs:
    """Agent mode: the job goes to the agent in the store through the command queue."""

    runner: Runner = "agent"
    timeout = 1200.0  # a Queue All of a big catalog on a busy agent

    def __init__(self, sqs: Any, command_queue_url: str) -> None:
        self.sqs = sqs
        self.url = command_queue_url

    def start(self, job: Job) -> None:
        """Send the job's id to the agent's command queue; boto's errors reach the caller."""
        body = {"id": job.id, "command": "job"}
        self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))
