"""EventBridge Scheduler expressions, evaluated locally (the agent and `cpsync serve`).

The one reader of schedule expressions: the same strings drive the cloud schedules
(`template.yaml`, a task's `schedule`, the operator's stored schedule), the agent in the store
and the embedded scheduler, so all run a task at the same times:
- `rate(<n> minute|minutes|hour|hours|day|days)`: every n units from the first run (the unit
  singular for 1 and plural otherwise, as EventBridge insists);
- `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)` in the given time zone
  (daylight saving included): `*`, `?`, numbers, `a-b`, lists, `*/n` and `a/n`, month and day
  names (JAN, SUN); day-of-week 1-7 is SUN-SAT as in EventBridge. `L`, `W` and `#` are refused;
- `at(yyyy-mm-ddThh:mm:ss)`: once.

People also type the 5-field Unix form (`0 1 * * *`); `from_unix_cron` turns it into the
EventBridge one, and `upcoming` lists the next run times for a preview before saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cpsync.errors import ConfigurationError

__all__ = [
    "Schedule",
    "ScheduleError",
    "from_unix_cron",
    "next_run",
    "parse_schedule",
    "upcoming",
]


class ScheduleError(ConfigurationError, ValueError):
    """A schedule expression the scheduler cannot read (a ValueError: bad input to the API)."""


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_MONTH_NAMES = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split())}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_SEARCH_DAYS = 366 * 8


def _field(text: str, low: int, high: int, names: dict[str, int], what: str) -> frozenset[int]:
    """The values a cron field allows.

    Raises:
        ScheduleError: The field is malformed or uses L, W or #.
    """
    if text in ("*", "?"):
        return frozenset(range(low, high + 1))
    values: set[int] = set()

    def number(part: str) -> int:
        value = names.get(part.upper()) if not part.isdigit() else int(part)
        if value is None and any(c in part.upper() for c in "LW#"):
            raise ScheduleError(f"{what} {text!r}: L, W and # are not supported by the agent")
        if value is None or not low <= value <= high:
            raise ScheduleError(f"{what} {part!r} is not in {low}-{high}")
        return value

    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"{what}: bad step in {text!r}")
            step = int(step_text)
        if part in ("*", "?"):
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = number(a), number(b)
            if first > last:
                raise ScheduleError(f"{what} {text!r}: the range runs backwards")
        else:
            first = number(part)
            last = high if step > 1 else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed expression; `next_after` gives the next run time (aware, UTC)."""

    expression: str
    zone: ZoneInfo
    every: timedelta | None = None
    at: datetime | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] | None = None  # day of month; None = not restricted ("?")
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] | None = None  # 1 = Sunday; None = not restricted ("?")
    years: frozenset[int] | None = None

    def next_after(self, after: datetime, last_run: datetime | None = None) -> datetime | None:
        """The first run time strictly after `after` (None when an `at()` has passed).

        A `rate()` runs at once the first time (no `last_run`), then every interval.
        """
        after = after.astimezone(UTC)
        if self.every is not None:
            if last_run is None:
                return after
            try:
                return max(last_run.astimezone(UTC) + self.every, after)
            except OverflowError:  # past the year 9999: it never comes
                return None
        if self.at is not None:
            return self.at if self.at > after else None
        local = after.astimezone(self.zone)
        start = local.replace(second=0, microsecond=0)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=self.zone
                        ).astimezone(UTC)
                        if candidate > after:
                            return candidate
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        weekday = (day.isoweekday() % 7) + 1  # Sunday = 1
        return self.weekdays is None or weekday in self.weekdays


def parse_schedule(expression: str, zone: ZoneInfo) -> Schedule:
    """Read an EventBridge Scheduler expression (see the module docstring).

    Raises:
        ScheduleError: The expression is not one the scheduler understands.
    """
    text = expression.strip()
    if match := _RATE.match(text):
        count = int(match.group(1))
        if count < 1:
            raise ScheduleError(f"schedule {expression!r}: the rate must be at least 1")
        unit = match.group(2).rstrip("s")
        if (count == 1) != (unit == match.group(2)):
            raise ScheduleError(
                f"schedule {expression!r}: write '1 {unit}' for one, '{count} {unit}s' for more"
            )
        try:
            every = timedelta(seconds=_UNIT[unit] * count)
        except OverflowError:
            raise ScheduleError(f"schedule {expression!r}: the rate is too long") from None
        return Schedule(text, zone, every=every)
    if text.startswith("at(") and text.endswith(")"):
        try:
            moment = datetime.fromisoformat(text[3:-1]).replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:
            raise ScheduleError(f"schedule {expression!r}: the time is too far ahead") from None
        except ValueError as exc:
            raise ScheduleError(f"schedule {expression!r}: {exc}") from None
        return Schedule(text, zone, at=moment)
    if not (text.startswith("cron(") and text.endswith(")")):
        raise ScheduleError(
            f"schedule {expression!r}: expected rate(...), cron(...) or at(...), "
            "e.g. rate(10 minutes) or cron(0 2 * * ? *)"
        )
    parts = text[5:-1].split()
    if len(parts) != 6:
        raise ScheduleError(f"schedule {expression!r}: cron needs 6 fields, got {len(parts)}")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"schedule {expression!r}: exactly one of day-of-month and day-of-week must be '?'"
        )
    return Schedule(
        text,
        zone,
        minutes=_field(minute, 0, 59, {}, "minutes"),
        hours=_field(hour, 0, 23, {}, "hours"),
        days=None if dom == "?" else _field(dom, 1, 31, {}, "day-of-month"),
        months=_field(month, 1, 12, _MONTHS, "month"),
        weekdays=None if dow == "?" else _field(dow, 1, 7, _DAYS, "day-of-week"),
        years=None if year == "*" else _field(year, 1970, 2199, {}, "year"),
    )


def next_run(expression: str, zone: ZoneInfo, now: datetime) -> datetime:
    """When the scheduler would fire `expression` next, read in `zone`, counting from `now`.

    The check the sync interface makes before storing a schedule: it reads the expression as
    the scheduler does (`next_after(now, last_run=now)`), so what it accepts can run.

    Raises:
        ScheduleError: The expression cannot be read, or it would never fire.
    """
    schedule = parse_schedule(expression, zone)
    when = schedule.next_after(now, last_run=now)
    if when is not None:
        return when
    if schedule.at is not None:
        raise ScheduleError(f"schedule {expression!r}: that time has passed (in {zone.key})")
    if schedule.every is not None:
        raise ScheduleError(f"schedule {expression!r}: the rate is too long")
    raise ScheduleError(
        f"schedule {expression!r}: it has no run time in the next {_SEARCH_DAYS // 366} years"
    )


def _unix_weekdays(text: str) -> str:
    """Unix day-of-week numbers (0 or 7 = Sunday) as EventBridge's (1 = Sunday); names stay.

    Raises:
        ScheduleError: A number outside 0-7.
    """

    def one(part: str) -> str:
        if not part.isdigit():
            return part
        value = int(part)
        if not 0 <= value <= 7:
            raise ScheduleError(f"day-of-week {part!r} is not in 0-7")
        return str(value % 7 + 1)

    out = []
    for item in text.split(","):
        base, slash, step = item.partition("/")
        ends = base.split("-", 1)
        if len(ends) == 2 and ends[1] == "7" and not slash:  # "1-7": MON-SAT, then SUN
            out.append(f"{one(ends[0])}-7")
            out.append("1")
            continue
        out.append("-".join(one(e) for e in ends) + slash + step)
    return ",".join(dict.fromkeys(out))


def from_unix_cron(expression: str) -> str:
    """`expression` in EventBridge syntax.

    A 5-field Unix cron (`0 1 * * *`, also inside `cron(...)`) becomes `cron(0 1 * * ? *)`;
    anything else is returned stripped, unchanged.

    Raises:
        ScheduleError: Unix cron that restricts both day-of-month and day-of-week (EventBridge
            cannot say "either"), or a day-of-week number outside 0-7.
    """
    text = expression.strip()
    inner = text[5:-1] if text.startswith("cron(") and text.endswith(")") else text
    parts = inner.split()
    if len(parts) != 5 or inner.startswith(("rate(", "at(")):
        return text
    minute, hour, dom, month, dow = parts
    if dow in ("*", "?"):
        dow = "?"
        dom = "*" if dom == "?" else dom
    elif dom in ("*", "?"):
        dom = "?"
        dow = _unix_weekdays(dow)
    else:
        raise ScheduleError(
            f"schedule {expression!r}: give either a day of the month or days of the week, "
            "not both (EventBridge cannot run on either)"
        )
    return f"cron({minute} {hour} {dom} {month} {dow} *)"


def upcoming(expression: str, zone: ZoneInfo, now: datetime, count: int = 3) -> list[datetime]:
    """The next `count` run times of `expression` (fewer for an `at()`).

    Read as the scheduler reads it: the first as `next_run` gives it, each next one after
    the previous.

    Raises:
        ScheduleError: The expression cannot be read, or it would never fire.
    """
    first = next_run(expression, zone, now)
    schedule = parse_schedule(expression, zone)
    times = [first]
    while len(times) < count:
        later = schedule.next_after(times[-1], last_run=times[-1])
        if later is None:
            break
        times.append(later)
    return times
