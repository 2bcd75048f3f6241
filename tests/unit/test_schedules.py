"""cpsync reads EventBridge Scheduler expressions (for the agent and `cpsync serve`) as the
cloud does, in the Counterpoint server's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cpsync.schedules import ScheduleError, from_unix_cron, parse_schedule, upcoming

NY = ZoneInfo("America/New_York")


def test_rate_runs_at_once_then_every_interval() -> None:
    schedule = parse_schedule("rate(10 minutes)", NY)
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert schedule.next_after(now) == now
    assert schedule.next_after(now, last_run=now) == now + timedelta(minutes=10)
    assert parse_schedule("rate(1 hour)", NY).every == timedelta(hours=1)
    assert parse_schedule("rate(2 days)", NY).every == timedelta(days=2)


def test_cron_runs_in_the_store_time_zone_across_daylight_saving() -> None:
    nightly = parse_schedule("cron(0 2 * * ? *)", NY)
    # 2 am New York is 07:00 UTC in winter and 06:00 UTC in summer
    assert nightly.next_after(datetime(2026, 1, 10, 12, tzinfo=UTC)) == datetime(
        2026, 1, 11, 7, tzinfo=UTC
    )
    assert nightly.next_after(datetime(2026, 7, 10, 12, tzinfo=UTC)) == datetime(
        2026, 7, 11, 6, tzinfo=UTC
    )


def test_cron_lists_ranges_steps_and_names() -> None:
    weekdays = parse_schedule("cron(*/15 8-17 ? * MON-FRI *)", NY)
    friday_evening = datetime(2026, 11, 27, 17, 50, tzinfo=NY)  # a Friday
    assert weekdays.next_after(friday_evening) == datetime(2026, 11, 30, 8, 0, tzinfo=NY)
    monthly = parse_schedule("cron(30 6 1 JAN,JUL ? 2027)", NY)
    assert monthly.next_after(datetime(2026, 11, 27, tzinfo=UTC)) == datetime(
        2027, 1, 1, 6, 30, tzinfo=NY
    )
    sundays = parse_schedule("cron(0 3 ? * 1 *)", NY)  # 1 = Sunday in EventBridge
    assert sundays.next_after(datetime(2026, 11, 27, tzinfo=NY)) == datetime(
        2026, 11, 29, 3, tzinfo=NY
    )


def test_at_runs_once() -> None:
    once = parse_schedule("at(2026-12-01T09:00:00)", NY)
    assert once.next_after(datetime(2026, 11, 27, tzinfo=UTC)) == datetime(
        2026, 12, 1, 9, tzinfo=NY
    )
    assert once.next_after(datetime(2026, 12, 2, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("rate(10 minute s)", "expected rate"),
        ("every 10 minutes", "expected rate"),
        ("cron(0 2 * * *)", "6 fields"),
        ("cron(0 2 * * * *)", "exactly one"),
        ("cron(0 25 * * ? *)", "not in 0-23"),
        ("cron(0 2 L * ? *)", "not supported"),
        ("cron(0 2 ? * MON#2 *)", "not supported"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 minute)", "'5 minutes' for more"),
        ("rate(1 minutes)", "'1 minute' for one"),
        ("rate(5 weeks)", "expected rate"),
        ("cron(0 2 * * MON *)", "exactly one"),
        ("cron(61 2 * * ? *)", "not in 0-59"),
        ("cron(0 2 5-1 * ? *)", "backwards"),
        ("cron(0/0 * * * ? *)", "bad step"),
    ],
)
def test_bad_expressions_are_refused_with_the_reason(expression: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=says):
        parse_schedule(expression, NY)


def test_a_refused_expression_is_bad_input_for_the_api() -> None:
    with pytest.raises(ValueError):
        parse_schedule("every 10 minutes", NY)


def test_cron_the_day_after_the_spring_change_runs_on_summer_time() -> None:
    nightly = parse_schedule("cron(0 2 * * ? *)", NY)
    # 2026-03-08 02:00 does not exist in New York; 03-09 02:00 is EDT (UTC-4).
    assert nightly.next_after(datetime(2026, 3, 8, 12, tzinfo=UTC)) == datetime(
        2026, 3, 9, 6, tzinfo=UTC
    )


def test_every_fifteen_minutes_from_a_step() -> None:
    every_15 = parse_schedule("cron(0/15 * * * ? *)", ZoneInfo("UTC"))
    start = datetime(2026, 11, 27, 12, 7, tzinfo=UTC)
    assert every_15.next_after(start) == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)


# --- what people type: Unix cron, and the preview of the next runs ----------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0 1 * * *", "cron(0 1 * * ? *)"),
        ("cron(0 1 * * *)", "cron(0 1 * * ? *)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
        ("30 6 * * 1-5", "cron(30 6 ? * 2-6 *)"),  # Unix MON-FRI is EventBridge 2-6
        ("0 9 * * 0,6", "cron(0 9 ? * 1,7 *)"),  # Sunday and Saturday
        ("0 9 * * 1-7", "cron(0 9 ? * 2-7,1 *)"),  # 7 is Sunday too
        ("0 9 * * MON,FRI", "cron(0 9 ? * MON,FRI *)"),
        ("0 2 1 * *", "cron(0 2 1 * ? *)"),
        ("cron(0 2 * * ? *)", "cron(0 2 * * ? *)"),  # EventBridge already: unchanged
        (" rate(10 minutes) ", "rate(10 minutes)"),
    ],
)
def test_given_a_unix_cron_when_converted_then_eventbridge_runs_it_at_the_same_times(
    typed: str, stored: str
) -> None:
    assert from_unix_cron(typed) == stored
    parse_schedule(stored, NY)  # and the scheduler reads it


def test_given_a_unix_cron_with_both_day_fields_then_it_is_refused_with_a_reason() -> None:
    with pytest.raises(ScheduleError, match="not both"):
        from_unix_cron("0 1 15 * MON")


def test_given_a_daily_schedule_when_previewed_then_three_runs_at_that_store_time() -> None:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 9:00 in New York
    runs = upcoming("cron(0 1 * * ? *)", NY, now)
    assert [r.astimezone(NY).strftime("%d %H:%M %Z") for r in runs] == [
        "28 01:00 EST",
        "29 01:00 EST",
        "30 01:00 EST",
    ]


def test_given_a_rate_when_previewed_then_runs_are_one_interval_apart() -> None:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    runs = upcoming("rate(10 minutes)", NY, now)
    assert [int((r - now).total_seconds()) for r in runs] == [600, 1200, 1800]
