"""The store agent's heartbeat as the dashboard shows it.

Who beat last, how long ago, and whether that is too long.

The agent writes the state doc `agent`/<host> every minute (`cpsync.agent`). Its age is
"stale" past 3 x the shortest interval of the enabled tasks, and never later than 30 minutes
(nor sooner than 3 missed beats): an agent that is gone means no task runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cpsync.control import task_control
from cpsync.ports import StatePort
from cpsync.schedules import ScheduleError, parse_schedule
from cpsync.tasks import TASKS

__all__ = ["STALE_CEILING_SECONDS", "agent_status", "stale_after_seconds"]

HEARTBEAT_KIND = "agent"
STALE_CEILING_SECONDS = 30 * 60
STALE_FLOOR_SECONDS = 3 * 60  # three missed heartbeats (one a minute)


def _interval(expression: str, zone: ZoneInfo, now: datetime) -> float | None:
    """Seconds between two runs of a schedule (the next two, for a cron)."""
    try:
        schedule = parse_schedule(expression, zone)
    except ScheduleError:
        return None
    if schedule.every is not None:
        return schedule.every.total_seconds()
    first = schedule.next_after(now, now)
    second = schedule.next_after(first, first) if first else None
    return (second - first).total_seconds() if first and second else None


def stale_after_seconds(state: StatePort, zone: ZoneInfo, now: datetime) -> float:
    """How old a heartbeat may be before the dashboard shows it red."""
    intervals = [
        seconds
        for name in TASKS
        if (control := task_control(state, name)).enabled
        and (seconds := _interval(control.schedule, zone, now)) is not None
    ]
    if not intervals:
        return STALE_CEILING_SECONDS
    return max(STALE_FLOOR_SECONDS, min(STALE_CEILING_SECONDS, 3 * min(intervals)))


def agent_status(
    state: StatePort, zone: ZoneInfo, now: datetime | None = None
) -> dict[str, Any] | None:
    """The newest heartbeat, or None when no agent ever beat (direct mode, `cpsync serve`).

    Returns:
        `host`, `seen_at`, `age_seconds`, `stale_after_seconds` and `stale`.
    """
    now = now or datetime.now(UTC)
    newest: tuple[datetime, str] | None = None
    for host, doc in state.get_docs(HEARTBEAT_KIND).items():
        try:
            seen = datetime.fromisoformat(str(doc.get("seen_at")))
        except ValueError:
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        if newest is None or seen > newest[0]:
            newest = (seen, host)
    if newest is None:
        return None
    seen, host = newest
    age = max(0.0, (now - seen) / timedelta(seconds=1))
    limit = stale_after_seconds(state, zone, now)
    return {
        "host": host,
        "seen_at": seen.isoformat(),
        "age_seconds": round(age, 1),
        "stale_after_seconds": limit,
        "stale": age > limit,
    }
