"""The embedded scheduler: runs each task on its EventBridge-syntax schedule on one machine.

In AWS, EventBridge Scheduler fires the task Lambdas; on one machine (`cpsync serve`) this
module does the same from the schedules stored in state (`cpsync.control`), so a schedule
changed in the sync interface takes effect at the next tick. Expressions are read in the
Counterpoint server's time zone, as the AWS schedules are (`ScheduleExpressionTimezone`).

Supported, as EventBridge documents them:
- `rate(<n> minute|minutes|hour|hours|day|days)`.
- `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)` with `*`, `?`, lists,
  ranges, `/` steps, month names (JAN) and day names (SUN=1 .. SAT=7). `L`, `W` and `#` are
  refused with a clear message rather than misread.
Every run goes through `cpsync.control.run_scheduled`: the master switch, the task switch and
the task lock apply exactly as they do to the Lambdas.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cpsync.control import run_scheduled, task_control
from cpsync.ports import StatePort
from cpsync.tasks import TASKS, Task

__all__ = ["Cron", "Rate", "Schedule", "Scheduler", "parse_schedule"]

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@dataclass(frozen=True)
class Rate:
    """`rate(n unit)`: every `seconds`, counted from when the scheduler saw the schedule."""

    seconds: int

    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        return moment + timedelta(seconds=self.seconds)


def _field(text: str, low: int, high: int, names: list[str] | None, what: str) -> frozenset[int]:
    """The values one cron field allows.

    Raises:
        ValueError: The field is malformed or uses a feature this scheduler does not run.
    """
    if text in ("*", "?"):
        return frozenset(range(low, high + 1))
    tokens = [t.upper() for t in re.split(r"[,/-]", text)]
    if any(c in t for t in tokens if not (names and t in names) for c in "LW#"):
        raise ValueError(f"{what} {text!r}: L, W and # are not supported here")
    values: set[int] = set()

    def number(token: str) -> int:
        upper = token.upper()
        if names and upper in names:
            return names.index(upper) + low
        if not token.isdigit():
            raise ValueError(f"{what} {text!r}: {token!r} is not a number")
        return int(token)

    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"{what} {text!r}: the step must be a positive number")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = high if step else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{what} {text!r}: values must be between {low} and {high}")
        values.update(range(start, end + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """`cron(min hour dom month dow year)` in the Counterpoint server's time zone."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 1 = Sunday .. 7 = Saturday, as EventBridge counts
    years: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, body: str) -> Cron:
        """Parse the six fields of an EventBridge cron expression.

        Raises:
            ValueError: Not six fields, or a field is invalid.
        """
        parts = body.split()
        if len(parts) != 6:
            raise ValueError(
                "cron() needs six fields: minutes hours day-of-month month day-of-week year"
            )
        if parts[2] != "?" and parts[4] != "?":
            raise ValueError("cron(): one of day-of-month and day-of-week must be '?'")
        return cls(
            minutes=_field(parts[0], 0, 59, None, "minutes"),
            hours=_field(parts[1], 0, 23, None, "hours"),
            days=_field(parts[2], 1, 31, None, "day-of-month"),
            months=_field(parts[3], 1, 12, _MONTHS, "month"),
            weekdays=_field(parts[4], 1, 7, _DAYS, "day-of-week"),
            years=_field(parts[5], 1970, 2199, None, "year"),
            any_day=parts[2] in ("*", "?"),
            any_weekday=parts[4] in ("*", "?"),
        )

    def _day_matches(self, day: datetime) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        weekday = (day.isoweekday() % 7) + 1  # Monday=1 -> 2, Sunday=7 -> 1
        return day.day in self.days and weekday in self.weekdays

    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first matching minute strictly after `moment` (aware), as an aware UTC time.

        Raises:
            ValueError: Nothing matches within five years.
        """
        local = moment.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)
        start = local + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate.replace(tzinfo=zone).astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError("the cron expression matches no time in the next five years")


Schedule = Rate | Cron


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge schedule expression.

    Raises:
        ValueError: The expression is not a valid `rate()` or `cron()` this scheduler runs.
    """
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if count < 1:
            raise ValueError("rate(): the value must be 1 or more")
        if (count == 1) != (not rate.group(2).endswith("s")):
            raise ValueError(f"rate(): write '1 {unit}' for one, '{count} {unit}s' for more")
        return Rate(count * _UNIT_SECONDS[unit])
    cron = _CRON.match(text)
    if cron:
        return Cron.parse(cron.group(1))
    raise ValueError(f"{expression!r} is not a schedule: use rate(10 minutes) or cron(0 2 * * ? *)")


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

    def next_runs(self) -> dict[str, datetime | None]:
        """When each task fires next (None: its schedule cannot be read)."""
        now = self.clock()
        return {name: self._next(name, now) for name in self.names}

    def _next(self, name: str, now: datetime) -> datetime | None:
        expression = task_control(self.state, name).schedule
        planned = self._plan.get(name)
        if planned is not None and planned[0] == expression:
            return planned[1]
        try:
            when: datetime | None = parse_schedule(expression).next_after(now, self.zone)
        except ValueError as exc:
            logger.error("task %s: schedule %r cannot run: %s", name, expression, exc)
            when = None
        self._plan[name] = (expression, when)
        return when

    def tick(self) -> list[str]:
        """Run every task that is due now; returns the names fired."""
        now = self.clock()
        fired = []
        for name in self.names:
            when = self._next(name, now)
            if when is None or when > now:
                continue
            expression = self._plan[name][0]
            self._plan[name] = (expression, parse_schedule(expression).next_after(now, self.zone))
            fired.append(name)
            try:
                self.run(self.state, self.make_task(name))
            except Exception:
                logger.exception("scheduled run of %s failed", name)
        return fired

    def run_forever(self, stop: threading.Event, interval_seconds: float = 5.0) -> None:
        """Tick until `stop` is set (the `cpsync serve` scheduler thread)."""
        while not stop.is_set():
            self.tick()
            stop.wait(interval_seconds)
