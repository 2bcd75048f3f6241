"""Moving the real schedule of a task when the operator changes it.

The switches and schedules live in state (`cpsync.control`); a `ScheduleMover` also moves
whatever actually fires the task. In AWS that is an EventBridge Scheduler schedule (the AWS
adapter implements this port); on one machine the embedded scheduler re-reads state on every
tick, so its mover only has to check that the expression can run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from cpsync.schedules import next_run

__all__ = ["EmbeddedScheduleMover", "ScheduleMover"]


class ScheduleMover(Protocol):
    """Applies a task's switch and schedule to what fires it."""

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Make `task` fire on `schedule` (EventBridge syntax), or not at all when disabled.

        Raises:
            ValueError: The expression is not a schedule this mover can run.
        """


class EmbeddedScheduleMover:
    """`cpsync serve`: the scheduler reads state each tick; only the expression is checked.

    Args:
        zone: The store's time zone, in which the scheduler reads expressions.
    """

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone or ZoneInfo("UTC")

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Check an enabled task's expression as the scheduler will read it (the embedded
        scheduler picks the change up by itself); a disabled task is never read.

        Raises:
            ValueError: The expression cannot run (a `ScheduleError`).
        """
        if enabled:
            next_run(schedule, self.zone, datetime.now(UTC))
