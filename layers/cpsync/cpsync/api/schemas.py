"""Response shapes of the API, so the OpenAPI document says what every route answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "ERRORS",
    "AgentStatus",
    "Dashboard",
    "DeadLetterGroup",
    "DeadLetterPage",
    "DeadLetterRow",
    "Discarded",
    "ErrorAnswer",
    "Health",
    "ImageCheck",
    "ImageFile",
    "ImageQueued",
    "ImageSync",
    "JobInfo",
    "JobStarted",
    "Log",
    "MagentoHealth",
    "MagentoTally",
    "QueueDepth",
    "QueueList",
    "QueuedRow",
    "RecordError",
    "RecordOutcome",
    "Retried",
    "RunLine",
    "RunLogError",
    "RunSummary",
    "SchedulePreview",
    "SwitchState",
    "SyncAnswer",
    "TaskSettings",
    "TaskStatus",
]


class RecordError(BaseModel):
    """One record a run could not read or send whole, named by its key."""

    key: str
    message: str
    #: "error" (the record, or part of it, is not synced) or "warning" (synced, but look).
    level: str = "error"


class RunSummary(BaseModel):
    """What a detection run found and queued."""

    task: str
    run_id: str
    mode: str
    read: int
    queued: int
    unchanged: int
    removed: int
    disabled: int = Field(0, description="Of the queued: products disabled (left e-commerce).")
    errors: list[RecordError]


class RunLine(BaseModel):
    """One detection run in the run log, with its counts."""

    run_id: str
    task: str
    #: "running", "ok", "ok_with_errors" (some records could not be read) or "failed".
    status: str
    #: How it started: schedule, queue_changed, queue_all, queue_item, sync_item (None: unsaid).
    trigger: str | None = None
    started_at: str | None
    finished_at: str | None
    counts: dict[str, Any]


class RunLogError(BaseModel):
    """A record's error in the run log, with the run that met it."""

    run_id: str
    task: str
    key: str
    message: str
    at: str | None


class MagentoTally(BaseModel):
    """What became of the Changes a run queued, as the updater applied them."""

    applied: int
    #: Already in Magento as sent (a repeat or a superseded copy).
    unchanged: int
    #: Refused for good: dead letters a person must look at.
    parked: int
    #: Attempts that failed transiently (the record is tried again).
    retries: int
    #: Queued and not yet applied or parked.
    waiting: int


class TaskStatus(BaseModel):
    """A task as the dashboard shows it: schedule, last run, what reached Magento."""

    name: str
    title: str
    kind: str
    enabled: bool
    schedule: str
    next_run: str | None
    last_run: RunLine | None
    #: What reached Magento of what the last run queued (None: it queued nothing).
    magento: MagentoTally | None = None
    #: The last run's errors, each message once.
    recent_errors: list[RunLogError]


class TaskSettings(BaseModel):
    """A task's operator settings: enabled, and its schedule (EventBridge syntax)."""

    name: str
    enabled: bool
    schedule: str


class QueueDepth(BaseModel):
    """How much work is waiting: visible now, in flight, delayed, parked (dead)."""

    visible: int
    in_flight: int
    delayed: int
    dead: int
    oldest_age_seconds: float


class AgentStatus(BaseModel):
    """The store agent's newest heartbeat (agent mode)."""

    host: str
    seen_at: str
    age_seconds: float
    #: Older than this is shown red: 3 x the shortest enabled task interval, at most 30 min.
    stale_after_seconds: float
    stale: bool


class Dashboard(BaseModel):
    """Everything the dashboard shows in one answer."""

    automatic_sync: bool
    #: The store's time zone (IANA name): every time on the page is shown in it.
    zone: str
    tasks: list[TaskStatus]
    queue: QueueDepth
    #: None when no agent ever beat (direct mode, `cpsync serve`).
    agent: AgentStatus | None = None


class MagentoHealth(BaseModel):
    """The Magento card: None where it was not checked (an agent without Magento access)."""

    ok: bool | None
    reachable: bool | None
    signed_in: bool | None
    detail: str
    checked_at: str
    #: When a write to Magento last succeeded (ISO, store zone); None: not since state began.
    last_write: str | None
    #: Changes waiting, in progress or retrying, and the age of the oldest.
    waiting: int
    oldest_age_seconds: float


class SchedulePreview(BaseModel):
    """What a schedule would store and when it would run next."""

    #: The EventBridge expression that would be stored (a Unix cron is converted).
    expression: str
    #: The store's time zone, in which the schedule is read.
    zone: str
    #: The next run times, ISO 8601 in the store's zone (with its offset).
    next_runs: list[str]


class SwitchState(BaseModel):
    """The master switch of automatic sync (off: no scheduled run; manual ones work)."""

    enabled: bool


class Health(BaseModel):
    """The Counterpoint connection as the latest check found it."""

    #: None until the first check has run.
    ok: bool | None
    detail: str
    checked_at: str | None = None


class JobFailure(BaseModel):
    """Why a job failed: the status the action refused with and a sentence for a person."""

    status: int
    detail: str


class JobInfo(BaseModel):
    """A manual action started by the API; poll `GET /api/jobs/{id}` until it is finished.

    `result` is what the action answered (the shape named by the route that started it:
    RunSummary, SyncAnswer, ImageCheck, ImageSync, ImageQueued, a list of ImageFile, Health).
    """

    id: str
    action: str
    task: str | None
    key: str | None
    status: str  # queued, running, done, failed
    runner: str  # local, lambda, agent
    worker: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float
    result: Any = None
    error: JobFailure | None = None


class JobStarted(BaseModel):
    """202: the action runs as a job."""

    job: JobInfo


class RecordOutcome(BaseModel):
    """What became of one record sent to Magento now."""

    kind: str
    key: str
    applied: bool
    error: str | None
    queued: bool = False


class SyncAnswer(BaseModel):
    """What "sync item" found and, per record, what Magento did with it."""

    applied: bool
    outcomes: list[RecordOutcome]
    run: RunSummary


class QueuedRow(BaseModel):
    """One Change waiting in the queue (or retrying: `receive_count`, `last_error`)."""

    id: str
    kind: str | None
    key: str | None
    task: str | None
    receive_count: int
    sent_at: str | None
    last_error: str | None


class QueueList(BaseModel):
    """One page of the queued Changes, with the queue depth."""

    depth: QueueDepth
    messages: list[QueuedRow]
    total: int = Field(description="Messages the filter selects (all pages).")
    limit: int
    offset: int


class DeadLetterRow(BaseModel):
    """One parked record with Magento's reason and what a person can do about it."""

    id: str
    kind: str | None
    key: str | None
    task: str | None
    reason: str = Field(description="What Magento (or cpsync) said, word for word.")
    group: str = Field(description="The reason's group: url_key, missing_attribute, ...")
    title: str
    cause: str
    next_step: str
    receive_count: int
    failed_at: str | None


class DeadLetterGroup(BaseModel):
    """How many dead letters share one kind of reason."""

    group: str
    title: str
    count: int


class DeadLetterPage(BaseModel):
    """One page of the dead letters, with their counts by reason."""

    total: int = Field(description="Dead letters the filter selects (all pages).")
    limit: int
    offset: int
    items: list[DeadLetterRow]
    groups: list[DeadLetterGroup] = Field(description="Counts by reason (task, key filters on).")


class Retried(BaseModel):
    """A retry job's result: records re-read and queued, gone from Counterpoint, unreadable."""

    queued: list[str]
    gone: list[str]
    failed: list[dict[str, str]]
    summary: str


class Discarded(BaseModel):
    """How many dead letters were deleted."""

    discarded: int


class Log(BaseModel):
    """One page of the run log, with the per-record errors of those runs."""

    runs: list[RunLine]
    total: int = Field(description="Runs in the log (all pages, up to 10,000).")
    limit: int
    offset: int
    errors: list[RunLogError]
    errors_total: int


class ImageFile(BaseModel):
    """One image file as the Images tab lists it (status: new, changed, pushed, error)."""

    item_no: str
    file_name: str
    status: str
    detail: str
    size: int


class ImageCheck(RunSummary):
    """Image Changes run for one item."""

    item_no: str


class ImageSync(BaseModel):
    """One image file pushed now: applied, and what Magento did per gallery."""

    file_name: str
    applied: bool
    outcomes: list[RecordOutcome]


class ImageQueued(BaseModel):
    """One image file queued: how many gallery Changes went to the queue."""

    file_name: str
    queued: int


class ErrorAnswer(BaseModel):
    """Every refusal: one sentence for a person (a 422 too: cpsync words validation errors)."""

    detail: str


#: The refusals a route may answer, for the OpenAPI document (`responses=` of the routers).
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorAnswer, "description": words}
    for status, words in {
        400: "The request cannot be done as asked (a schedule that cannot run, a bad choice).",
        401: "Not signed in, or a wrong API key.",
        404: "No such task, record or dead letter.",
        409: "A run of that task is already going on, or there is nothing to send.",
        422: "A field of the request is missing or invalid.",
        429: "Too many failed sign-ins: locked for a while.",
        503: "A database or Magento did not answer, or cpsync is not set up right.",
    }.items()
}
