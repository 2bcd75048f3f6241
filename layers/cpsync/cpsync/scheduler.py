"""The embedded scheduler: runs each task on its EventBridge-syntax schedule on one machine.

In AWS, EventBridge Scheduler fires the task Lambdas; on one machine (`cpsync serve`) this
module does the same from the schedules stored in state (`cpsync.control`), so a schedule
changed in the sync interface takes effect at the next tick. Expressions are read by
`cpsync.schedules` (the agent's reader too) in the Counterpoint server's time zone, as the AWS
schedules are (`ScheduleExpressionTimezone`). A `rate()` first fires one interval after the
scheduler starts, so restarting `cpsync serve` does not set off every task at once.
Every run goes through `cpsync.control.run_scheduled`: the master switch, the task switch and
the task lock apply exactly as they do to the Lambdas. Every `BOUNDARY_CHECK` it also runs Price
Changes when a promotion started or ended since its last run (`price_boundary_due`), as the
`PriceBoundaryChecks` schedule does in AWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cpsync.control import BoundaryChecks, price_boundary_due, run_scheduled, task_control
from cpsync.ports import StatePort
from cpsync.schedules import ScheduleError, parse_schedule
from cpsync.tasks import TASKS, Task

__all__ = ["Scheduler"]

logger = logging.getLogger(__name__)


class Scheduler:
    """Fires tasks when their schedule is due; re-reads schedules from state every tick.

    Args:
        state: Where the schedules, switches and locks live.
        make_task: Builds the task called `name` (the runtime's `task`).
        zone: The Counterpoint server's time zone.
        names: The tasks to schedule (default: every registered task).
        clock: Aware current time (injected for tests).
        run: What firing means (default `run_scheduled`, which honours every switch).
    """

    def __init__(
        self,
        state: StatePort,
        make_task: Callable[[str], Task],
        zone: ZoneInfo,
        names: Iterable[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        run: Callable[[StatePort, Task], object] = run_scheduled,
    ) -> None:
        self.state = state
        self.make_task = make_task
        self.zone = zone
        self.names = list(names if names is not None else TASKS)
        self.clock = clock
        self.run = run
        self._plan: dict[str, tuple[str, datetime | None]] = {}
        self._boundary_checks = BoundaryChecks()

    def next_runs(self) -> dict[str, datetime | None]:
        """When each task fires next (None: its schedule cannot be read)."""
        now = self.clock()
        return {name: self._next(name, now) for name in self.names}

    def _next(self, name: str, now: datetime) -> datetime | None:
        expression = task_control(self.state, name).schedule
        planned = self._plan.get(name)
        if planned is not None and planned[0] == expression:
            return planned[1]
        self._plan[name] = (expression, self._when(name, expression, now))
        return self._plan[name][1]

    def _when(self, name: str, expression: str, now: datetime) -> datetime | None:
        """The next fire time, or None (logged) when the expression cannot run.

        One bad schedule skips its own task and never stops the others.
        """
        try:
            return parse_schedule(expression, self.zone).next_after(now, last_run=now)
        except ScheduleError as exc:
            logger.error("task %s not scheduled: %s", name, exc)
        except Exception:
            logger.exception("task %s not scheduled: schedule %r cannot run", name, expression)
        return None

    def tick(self) -> list[str]:
        """Run every task that is due now; returns the names fired."""
        now = self.clock()
        fired = []
        for name in self.names:
            try:
                when = self._next(name, now)
            except Exception:  # state unreadable for this task: try again next tick
                logger.exception("task %s: could not read its schedule", name)
                continue
            if when is None or when > now:
                continue
            expression = self._plan[name][0]
            self._plan[name] = (expression, self._when(name, expression, now))
            fired.append(name)
            try:
                self.run(self.state, self.make_task(name))
            except Exception:
                logger.exception("scheduled run of %s failed", name)
        if "prices" in self.names and "prices" not in fired and self._at_price_boundary(now):
            fired.append("prices")
            try:
                self.run(self.state, self.make_task("prices"))
            except Exception:
                logger.exception("Price Changes at a promotion boundary failed")
        return fired

    def _at_price_boundary(self, now: datetime) -> bool:
        """Whether a promotion started or ended (looked at every `BOUNDARY_CHECK`)."""
        if not self._boundary_checks.due(now):
            return False
        try:
            return price_boundary_due(self.state, now)
        except Exception:  # state unreadable: the next check tries again
            logger.exception("could not read the next promotion boundary")
            return False

    def run_forever(self, stop: threading.Event, interval_seconds: float = 5.0) -> None:
        """Tick until `stop` is set (the `cpsync serve` scheduler thread).

        An error in one tick is logged and the next tick goes on.
        """
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("scheduler tick failed; trying again in %s s", interval_seconds)
            stop.wait(interval_seconds)
