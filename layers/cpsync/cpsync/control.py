"""Operator controls every entry point honours: the master switch, task switches, schedules.

A scheduled run (EventBridge -> Lambda, the agent, or `cpsync serve`) goes through
`run_scheduled()`, which does nothing while automatic syncs are off or the task is disabled,
and never runs a task twice at once (a lock with an expiry, so a crashed run frees it).
Manual actions ("queue changed", "queue item") skip the switches but still take the lock.
The switches live in state as options, so the API, the Lambdas and the agent all see them.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cpsync.errors import CpsyncError
from cpsync.ports import StatePort
from cpsync.tasks import TASKS

if TYPE_CHECKING:
    from cpsync.tasks.base import RunResult, Task

__all__ = [
    "AUTOMATIC_SYNC",
    "BOUNDARY_CHECK",
    "LOCK_TTL_SECONDS",
    "PRICE_BOUNDARY",
    "BoundaryChecks",
    "TaskBusy",
    "TaskControl",
    "automatic_sync_enabled",
    "lock_owner",
    "price_boundary_due",
    "run_at_price_boundary",
    "run_locked",
    "run_scheduled",
    "set_automatic_sync",
    "task_control",
    "update_task_control",
]

logger = logging.getLogger(__name__)

AUTOMATIC_SYNC = "automatic_sync"
#: Where each Price Changes run notes the next moment a promotion starts or ends at a time of
#: day Magento cannot switch at by itself (UTC, ISO); see `run_at_price_boundary`.
PRICE_BOUNDARY = "prices:next_boundary"
#: How often the agent and `cpsync serve` look whether that moment came (AWS: the template's
#: `PriceBoundaryChecks`, rate(5 minutes)).
BOUNDARY_CHECK = timedelta(minutes=5)
# Longer than a Lambda may run (15 minutes): a live run never loses its lock.
LOCK_TTL_SECONDS = 960.0


class TaskBusy(CpsyncError):
    """Another run of the task holds its lock."""


@dataclass(frozen=True)
class TaskControl:
    """A task's operator settings: enabled, and its schedule (EventBridge syntax)."""

    name: str
    enabled: bool
    schedule: str


def automatic_sync_enabled(state: StatePort) -> bool:
    """The master switch: off stops every scheduled run; manual actions still work."""
    return bool(state.get_option(AUTOMATIC_SYNC, True))


def set_automatic_sync(state: StatePort, on: bool) -> None:
    """Turn the master switch on or off; the scheduler and the agent read it each turn."""
    state.set_option(AUTOMATIC_SYNC, on)


def task_control(state: StatePort, name: str) -> TaskControl:
    """The stored settings of a task, with the task's defaults where none are stored."""
    task = TASKS[name]
    stored: dict[str, Any] = state.get_option(f"task.{name}", {}) or {}
    return TaskControl(
        name=name,
        enabled=bool(stored.get("enabled", True)),
        schedule=str(stored.get("schedule", task.schedule)),
    )


def update_task_control(
    state: StatePort, name: str, enabled: bool | None = None, schedule: str | None = None
) -> TaskControl:
    """Change a task's switch or schedule (the caller also moves the real schedule)."""
    current = task_control(state, name)
    new = TaskControl(
        name=name,
        enabled=current.enabled if enabled is None else enabled,
        schedule=current.schedule if schedule is None else schedule,
    )
    state.set_option(f"task.{name}", {"enabled": new.enabled, "schedule": new.schedule})
    return new


_OWNER: ContextVar[str | None] = ContextVar("cpsync_lock_owner", default=None)


@contextmanager
def lock_owner(owner: str) -> Iterator[None]:
    """Task locks taken inside are owned by `owner` (a job: whoever finds it dead frees them)."""
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


def _owner() -> str:
    return _OWNER.get() or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_locked(state: StatePort, task: Task, run: Callable[[Task], RunResult]) -> RunResult:
    """Run `run(task)` under the task's lock.

    Raises:
        TaskBusy: Another run holds the lock.
    """
    name, owner = f"task:{task.name}", _owner()
    if not state.acquire_lock(name, owner, LOCK_TTL_SECONDS):
        title = task.title or task.name  # people read it: the task's title, not its id
        raise TaskBusy(f"{title} is already running; try again when it has finished")
    try:
        return run(task)
    finally:
        state.release_lock(name, owner)


def run_scheduled(state: StatePort, task: Task) -> RunResult | None:
    """A scheduled run: None (and a log line) when switched off or already running."""
    if not automatic_sync_enabled(state):
        logger.info("automatic syncs are off: %s not run", task.name)
        return None
    if not task_control(state, task.name).enabled:
        logger.info("task %s is disabled: not run", task.name)
        return None
    try:
        return run_locked(state, task, lambda t: t.run(trigger="schedule"))
    except TaskBusy as exc:
        logger.warning("%s", exc)
        return None


def price_boundary_due(state: StatePort, now: datetime) -> bool:
    """Whether the promotion start or end the last Price Changes run noted has come."""
    value = state.get_option(PRICE_BOUNDARY)
    if not value:
        return False
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        logger.warning("option %s is not a time: %r", PRICE_BOUNDARY, value)
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) <= now


@dataclass
class BoundaryChecks:
    """When a long-lived entry point (the agent, `cpsync serve`) last looked for a boundary."""

    last: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether to look again (every `BOUNDARY_CHECK`); if so, notes `now` as the last look."""
        if self.last is not None and now - self.last < BOUNDARY_CHECK:
            return False
        self.last = now
        return True


def run_at_price_boundary(state: StatePort, task: Task, now: datetime) -> RunResult | None:
    """A scheduled Price Changes run when a promotion started or ended since the last run.

    Magento Open Source keeps special-price dates as whole days, so a promotion that starts
    or ends at 14:00 is put right by a run just after 14:00; every entry point checks this
    often (EventBridge `PriceBoundaryChecks`, the agent, `cpsync serve`) and reads one option
    when nothing is due. The switches and the lock apply as to any scheduled run; the run
    notes the next boundary.

    Returns:
        The run, or None when nothing is due or it did not run (switched off, busy).
    """
    if task.name != "prices" or not price_boundary_due(state, now):
        return None
    logger.info(
        "a promotion started or ended at %s: Price Changes runs", state.get_option(PRICE_BOUNDARY)
    )
    return run_scheduled(state, task)
