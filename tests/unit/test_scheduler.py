"""The embedded scheduler reads EventBridge expressions in the Counterpoint time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cpsync.control import set_automatic_sync, update_task_control
from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.scheduler import Cron, Rate, Scheduler, parse_schedule

NY = ZoneInfo("America/New_York")


def test_rate_expressions_parse_to_seconds() -> None:
    assert parse_schedule("rate(1 minute)") == Rate(60)
    assert parse_schedule("rate(10 minutes)") == Rate(600)
    assert parse_schedule(" rate(2 hours) ") == Rate(7200)
    assert parse_schedule("rate(1 day)") == Rate(86400)


@pytest.mark.parametrize(
    "bad",
    [
        "rate(0 minutes)",
        "rate(5 minute)",
        "rate(1 minutes)",
        "rate(5 weeks)",
        "every 5 minutes",
        "cron(0 2 * * *)",
        "cron(0 2 * * MON *)",
        "cron(61 2 * * ? *)",
        "cron(0 2 L * ? *)",
        "cron(0 2 ? * MON#2 *)",
        "cron(0 2 5-1 * ? *)",
        "cron(0/0 * * * ? *)",
    ],
)
def test_invalid_expressions_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_schedule(bad)
    assert str(info.value)


def test_cron_is_read_in_the_counterpoint_time_zone() -> None:
    cron = parse_schedule("cron(0 2 * * ? *)")
    assert isinstance(cron, Cron)
    after = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 07:00 in New York
    # 02:00 New York on the 28th is 07:00 UTC (EST, UTC-5).
    assert cron.next_after(after, NY) == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def test_cron_steps_lists_ranges_and_day_names() -> None:
    every_15 = parse_schedule("cron(0/15 * * * ? *)")
    start = datetime(2026, 11, 27, 12, 7, tzinfo=UTC)
    assert every_15.next_after(start, UTC) == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    weekdays = parse_schedule("cron(30 6 ? * MON-FRI *)")
    friday = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # a Friday, after 06:30
    assert weekdays.next_after(friday, UTC) == datetime(2026, 11, 30, 6, 30, tzinfo=UTC)
    sunday = parse_schedule("cron(0 3 ? * 1 *)")  # 1 = Sunday in EventBridge
    assert sunday.next_after(friday, UTC) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    months = parse_schedule("cron(0 0 1 JAN,JUL ? *)")
    assert months.next_after(friday, UTC) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_cron_across_the_daylight_saving_change() -> None:
    cron = parse_schedule("cron(0 2 * * ? *)")
    # 2026-03-08 02:00 does not exist in New York; 03-09 02:00 is EDT (UTC-4).
    after = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert cron.next_after(after, NY) == datetime(2026, 3, 9, 6, 0, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _scheduler(tmp_path: Path, clock: _Clock, fired: list[str]) -> tuple[Scheduler, SqliteState]:
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))

    def run(_state: object, task: object) -> None:
        fired.append(task)  # type: ignore[arg-type]

    return (
        Scheduler(state, lambda name: name, UTC, names=["items"], clock=clock, run=run),  # type: ignore[arg-type,return-value]
        state,
    )


def test_a_task_fires_when_due_and_a_new_schedule_takes_effect_at_once(tmp_path: Path) -> None:
    clock, fired = _Clock(), []
    scheduler, state = _scheduler(tmp_path, clock, fired)
    assert scheduler.tick() == []  # rate(10 minutes): first run ten minutes after start
    clock.now += timedelta(minutes=10)
    assert scheduler.tick() == ["items"]
    assert scheduler.tick() == []
    update_task_control(state, "items", schedule="cron(30 12 * * ? *)")
    assert scheduler.next_runs()["items"] == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    clock.now = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert scheduler.tick() == ["items"]
    assert fired == ["items", "items"]


def test_the_default_runner_honours_the_master_switch(tmp_path: Path) -> None:
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    set_automatic_sync(state, False)
    ran: list[str] = []

    class FakeTask:
        name = "items"

        def run(self) -> None:
            ran.append("ran")

    clock = _Clock()
    scheduler = Scheduler(state, lambda name: FakeTask(), UTC, names=["items"], clock=clock)  # type: ignore[arg-type,return-value]
    clock.now += timedelta(minutes=11)
    scheduler.next_runs()
    clock.now += timedelta(minutes=11)
    assert scheduler.tick() == ["items"]
    assert ran == []
