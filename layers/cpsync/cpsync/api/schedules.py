"""Moving the real schedule of a task when the operator changes it.

The switches and schedules live in state (`cpsync.control`); a `ScheduleMover` also moves
whatever actually fires the task. In AWS that is an EventBridge Scheduler schedule (the AWS
adapter implements this port); on one machine the embedded scheduler re-reads state on every
tick, so its mover has nothing to move. The routes check every expression as the scheduler
reads it (`cpsync.schedules.next_run`, in the store's zone) before any mover sees it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["EmbeddedScheduleMover", "ScheduleMover"]


class ScheduleMover(Protocol):
    """Applies a task's switch and schedule to what fires it."""

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Make `task` fire on `schedule` (EventBridge syntax), or not at all when disabled.

        Raises:
            ValueError: The expression is not a schedule this mover can run.
        """


class EmbeddedScheduleMover:
    """`cpsync serve`: the scheduler reads state each tick, so nothing is moved."""

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Nothing to do: the embedded scheduler picks the change up by itself."""
