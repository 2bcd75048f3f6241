"""JSON routes for the dashboard, the task tabs and the log.

Every route here needs a signed-in user or an API key (`require_user` on the router).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, Field, field_validator

from cpsync.api import schemas as S
from cpsync.api.actions import start_job
from cpsync.api.agent_status import agent_status
from cpsync.api.context import Ctx, known_task, require_user
from cpsync.api.paging import KeyFilter, Limit, Offset, TaskFilter, iso_time, key_matches, page_of
from cpsync.control import (
    automatic_sync_enabled,
    set_automatic_sync,
    task_control,
    update_task_control,
)
from cpsync.jobs import COUNTERPOINT_HEALTH, JobRequest, Jobs
from cpsync.ports import RunError, RunRecord
from cpsync.schedules import from_unix_cron, next_run
from cpsync.tasks import TASKS
from cpsync.updater import run_tally

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", dependencies=[Depends(require_user)], responses=S.ERRORS)

TaskName = Annotated[str, Depends(known_task)]
#: The run log is read up to this many runs (and errors), then paged.
LOG_CAP = 10_000


class Switch(BaseModel):
    """Turn something on or off."""

    enabled: bool


class ScheduleBody(BaseModel):
    """A schedule in EventBridge syntax, e.g. `rate(10 minutes)` or `cron(0 2 * * ? *)`."""

    schedule: str = Field(min_length=1, max_length=200)


class ItemBody(BaseModel):
    """One record of a task: an item number, a category id."""

    key: str = Field(max_length=255, description="Item number (or category id).")

    @field_validator("key")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("enter an item number")
        if any(ord(c) < 32 for c in text):
            raise ValueError("an item number cannot contain control characters")
        return text


def _local(value: datetime | float | None, zone: ZoneInfo | None) -> str | None:
    """ISO 8601 with the offset of the store's zone (UTC when no zone is given)."""
    text = iso_time(value)
    return datetime.fromisoformat(text).astimezone(zone).isoformat() if text and zone else text


def _run(run: RunRecord | None, zone: ZoneInfo | None = None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "run_id": run.run_id,
        "task": run.task,
        "status": run.status,
        "trigger": run.counts.get("trigger"),
        "started_at": _local(run.started_at, zone),
        "finished_at": _local(run.finished_at, zone),
        "counts": run.counts,
    }


def _last_run(ctx: Ctx, name: str) -> RunRecord | None:
    """The task's newest run that was not a one-item lookup.

    One-item lookups would hide the last real run's outcome; the newest run of any kind is the
    answer when there is no other.
    """
    runs = ctx.runtime.state.runs(task=name, limit=20)
    return next((r for r in runs if r.counts.get("mode") != "item"), runs[0] if runs else None)


def _magento(ctx: Ctx, run: RunRecord | None) -> dict[str, int] | None:
    """What reached Magento of what `run` queued: applied, parked, retries and still waiting."""
    if run is None or not run.counts.get("queued"):
        return None
    tally = run_tally(ctx.runtime.state, run.run_id)
    done = tally["applied"] + tally["skipped"] + tally["parked"]
    return {
        "applied": tally["applied"],
        "unchanged": tally["skipped"],
        "parked": tally["parked"],
        "retries": tally["retry"],
        "waiting": max(0, int(run.counts["queued"]) - done),
    }


def _error(error: RunError, zone: ZoneInfo | None = None) -> dict[str, Any]:
    return {
        "run_id": error.run_id,
        "task": error.task,
        "key": error.key,
        "message": error.message,
        "at": _local(error.at, zone),
    }


def _task_status(ctx: Ctx, name: str) -> dict[str, Any]:
    task = TASKS[name]
    control = task_control(ctx.runtime.state, name)
    next_run = ctx.scheduler.next_runs().get(name) if ctx.scheduler else None
    last = _last_run(ctx, name)
    zone = ctx.runtime.settings.zone
    # The latest run's errors only, each message once.
    errors = ctx.runtime.state.errors(task=name, run_id=last.run_id, limit=50) if last else []
    once = {e.message: e for e in reversed(errors)}
    return {
        "name": name,
        "title": _title(name),
        "kind": task.kind,
        "enabled": control.enabled,
        "schedule": control.schedule,
        "next_run": _local(next_run, zone),
        "last_run": _run(last, zone),
        "magento": _magento(ctx, last),
        "recent_errors": [_error(e, zone) for e in list(once.values())[::-1][:5]],
    }


# --- dashboard and switches ----------------------------------------------------------------
@router.get("/dashboard", summary="Everything the dashboard shows", response_model=S.Dashboard)
def dashboard(ctx: Ctx) -> dict[str, Any]:
    runtime = ctx.runtime
    return {
        "automatic_sync": automatic_sync_enabled(runtime.state),
        "zone": runtime.settings.zone.key,
        "tasks": [_task_status(ctx, name) for name in TASKS],
        "queue": asdict(runtime.queue.depth()),
        "agent": agent_status(
            runtime.state, runtime.settings.zone, datetime.fromtimestamp(ctx.clock(), UTC)
        ),
    }


@router.get("/automatic-sync", summary="The master switch", response_model=S.SwitchState)
def get_automatic_sync(ctx: Ctx) -> dict[str, bool]:
    return {"enabled": automatic_sync_enabled(ctx.runtime.state)}


@router.put(
    "/automatic-sync",
    summary="Turn automatic syncs on or off (manual actions still work)",
    response_model=S.SwitchState,
)
def put_automatic_sync(body: Switch, ctx: Ctx) -> dict[str, bool]:
    set_automatic_sync(ctx.runtime.state, body.enabled)
    return {"enabled": body.enabled}


@router.get(
    "/counterpoint",
    summary="Counterpoint connection health, as the latest check found it",
    response_model=S.Health,
)
def counterpoint_health(ctx: Ctx) -> dict[str, Any]:
    found = ctx.runtime.state.get_option(COUNTERPOINT_HEALTH)
    if not isinstance(found, dict):
        return {"ok": None, "detail": "not checked yet", "checked_at": None}
    return found


@router.post(
    "/counterpoint/check",
    summary="Check the Counterpoint connection (a job; its result is a Health)",
    response_model=S.JobStarted,
    status_code=202,
)
def check_counterpoint(ctx: Ctx, response: Response) -> dict[str, Any]:
    return start_job(ctx, response, JobRequest(action="counterpoint"))


@router.post(
    "/verify",
    summary="Compare Magento with what Counterpoint asks for (a job; `repair` queues what differs)",
    response_model=S.JobStarted,
    status_code=202,
)
def start_verify(ctx: Ctx, response: Response, repair: bool = False) -> dict[str, Any]:
    request = JobRequest(action="verify", key="repair" if repair else None)
    return start_job(ctx, response, request)


@router.get(
    "/jobs/{ident}", summary="A manual action's progress and outcome", response_model=S.JobInfo
)
def get_job(ident: Annotated[str, Path(max_length=64)], ctx: Ctx) -> dict[str, Any]:
    job = Jobs(ctx.runtime.state, ctx.clock).get(ident)
    if job is None:
        raise HTTPException(404, f"There is no job {ident!r}.")
    return job.public(ctx.clock())


# --- tasks -----------------------------------------------------------------------------------
@router.get("/tasks", summary="Every task with its status", response_model=list[S.TaskStatus])
def list_tasks(ctx: Ctx) -> list[dict[str, Any]]:
    return [_task_status(ctx, name) for name in TASKS]


@router.get("/tasks/{name}", summary="One task's status", response_model=S.TaskStatus)
def get_task(name: TaskName, ctx: Ctx) -> dict[str, Any]:
    return _task_status(ctx, name)


@router.get(
    "/tasks/{name}/settings",
    summary="One task's switch and schedule",
    response_model=S.TaskSettings,
)
def get_settings(name: TaskName, ctx: Ctx) -> dict[str, Any]:
    return asdict(task_control(ctx.runtime.state, name))


def _title(name: str) -> str:
    return TASKS[name].title or name.replace("_", " ").title()


def _move(ctx: Ctx, name: str, schedule: str, enabled: bool, check: bool) -> None:
    """Move the real schedule.

    With `check`, first read `schedule` as the scheduler will (in the store's zone), so what is
    stored can run.

    Raises:
        HTTPException: 400 naming the task and the expression when it cannot run.
    """
    try:
        if check:
            next_run(schedule, ctx.runtime.settings.zone, datetime.fromtimestamp(ctx.clock(), UTC))
        ctx.mover.move(name, schedule, enabled)
    except ValueError as exc:  # ScheduleError is one
        raise HTTPException(400, f"{_title(name)}: {exc}.") from exc


def _switch(ctx: Ctx, name: str, enabled: bool) -> dict[str, Any]:
    current = task_control(ctx.runtime.state, name)
    _move(ctx, name, current.schedule, enabled, check=enabled)
    return asdict(update_task_control(ctx.runtime.state, name, enabled=enabled))


@router.post(
    "/tasks/{name}/enable", summary="Let the schedule run the task", response_model=S.TaskSettings
)
def enable_task(name: TaskName, ctx: Ctx) -> dict[str, Any]:
    return _switch(ctx, name, True)


@router.post(
    "/tasks/{name}/disable",
    summary="Stop scheduled runs of the task",
    response_model=S.TaskSettings,
)
def disable_task(name: TaskName, ctx: Ctx) -> dict[str, Any]:
    return _switch(ctx, name, False)


@router.put(
    "/tasks/{name}/schedule",
    summary="Change when the task runs (moves the real schedule)",
    response_model=S.TaskSettings,
)
def reschedule(name: TaskName, body: ScheduleBody, ctx: Ctx) -> dict[str, Any]:
    current = task_control(ctx.runtime.state, name)
    try:
        schedule = from_unix_cron(body.schedule)
    except ValueError as exc:  # ScheduleError is one
        raise HTTPException(400, f"{_title(name)}: {exc}.") from exc
    # Checked even for a disabled task: enabling it later must not find a schedule that
    # cannot run.
    _move(ctx, name, schedule, current.enabled, check=True)
    return asdict(update_task_control(ctx.runtime.state, name, schedule=schedule))


def _task_job(
    ctx: Ctx, response: Response, action: str, name: str, key: str | None = None
) -> dict[str, Any]:
    return start_job(
        ctx, response, JobRequest.model_validate({"action": action, "task": name, "key": key})
    )


@router.post(
    "/tasks/{name}/queue-changed",
    summary="Queue what changed (a job; its result is a RunSummary)",
    response_model=S.JobStarted,
    status_code=202,
)
def queue_changed(name: TaskName, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _task_job(ctx, response, "queue_changed", name)


@router.post(
    "/tasks/{name}/queue-all",
    summary="Queue every record of the task (a job; its result is a RunSummary)",
    response_model=S.JobStarted,
    status_code=202,
)
def queue_all(name: TaskName, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _task_job(ctx, response, "queue_all", name)


@router.post(
    "/tasks/{name}/queue-item",
    summary="Queue one record, forced (a job; its result is a RunSummary, 404 when unknown)",
    response_model=S.JobStarted,
    status_code=202,
)
def queue_item(name: TaskName, body: ItemBody, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _task_job(ctx, response, "queue_item", name, body.key)


@router.post(
    "/tasks/{name}/sync-item",
    summary="Send one record to Magento now, bypassing the queue (a job; its result is a "
    "SyncAnswer, 404 when unknown)",
    response_model=S.JobStarted,
    status_code=202,
)
def sync_one(name: TaskName, body: ItemBody, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _task_job(ctx, response, "sync_item", name, body.key)


@router.get("/tasks/{name}/log", summary="One task's runs and errors", response_model=S.Log)
def task_log(
    name: TaskName, ctx: Ctx, limit: Limit = 20, offset: Offset = 0, key: KeyFilter = None
) -> dict[str, Any]:
    return _log(ctx, name, limit, offset, key)


def _log(
    ctx: Ctx, task: str | None, limit: int, offset: int = 0, key: str | None = None
) -> dict[str, Any]:
    state = ctx.runtime.state
    runs = state.runs(task=task, limit=LOG_CAP)
    errors = [e for e in state.errors(task=task, limit=LOG_CAP) if key_matches(e.key, key)]
    page = page_of(runs, limit, offset)  # only the page's runs are turned into JSON
    return {
        "runs": [_run(r) for r in page.pop("items")],
        **page,
        "errors": [_error(e) for e in errors[offset:][:limit]],
        "errors_total": len(errors),
    }


@router.get(
    "/log",
    summary="Runs and per-record errors of every task (paged; filter by task and key)",
    response_model=S.Log,
)
def log(
    ctx: Ctx,
    limit: Limit = 50,
    offset: Offset = 0,
    task: TaskFilter = None,
    key: KeyFilter = None,
) -> dict[str, Any]:
    return _log(ctx, task, limit, offset, key)
