"""How the Price Changes task and writer shape what Magento gets, without a database."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cpsync.counterpoint.pricing import Group, Segment
from cpsync.settings import Settings
from cpsync.tasks.base import TaskContext
from cpsync.tasks.prices import PricesTask, _turns


def task(**settings: Any) -> PricesTask:
    ctx = TaskContext(Settings(**settings), None, None, None)  # type: ignore[arg-type]
    return PricesTask(ctx)


def test_given_no_date_zone_then_dates_go_in_the_counterpoint_servers_time() -> None:
    dates = task(magento_special_dates="exact")._dates()
    assert dates.text(datetime(2026, 11, 28, 6, 0)) == "2026-11-28 06:00:00"
    assert dates.text(None) is None


def test_given_a_date_zone_then_dates_are_converted_to_it() -> None:
    # Counterpoint in America/New_York (UTC-5 in November)
    t = task(price_dates_timezone="UTC", magento_special_dates="exact")
    assert t._dates().text(datetime(2026, 11, 28, 6, 0)) == "2026-11-28 11:00:00"


def test_given_day_dates_then_a_promotion_is_sent_as_its_first_and_last_day() -> None:
    """Open Source keeps a special price to the end of its `price_to` day: the last day goes."""
    dates = task()._dates()  # the default: day
    window = Segment(
        Decimal("9.00"), datetime(2026, 12, 1, 14, 0), datetime(2026, 12, 6, 23, 59, 59)
    )
    assert dates.window(window) == ("2026-12-01 00:00:00", "2026-12-06 00:00:00")
    mid_day = Segment(Decimal("9.00"), None, datetime(2026, 12, 6, 17, 59, 59))
    assert dates.window(mid_day) == (None, "2026-12-06 00:00:00")


def test_given_day_dates_and_a_date_zone_then_the_day_is_the_one_in_that_zone() -> None:
    dates = task(price_dates_timezone="UTC")._dates()  # 21:00 in New York is 02:00 in UTC
    assert dates.text(datetime(2026, 12, 6, 21, 0)) == "2026-12-07 00:00:00"
    assert dates.starts_on_a_day(datetime(2026, 12, 6, 19, 0))  # midnight in UTC
    assert not dates.starts_on_a_day(datetime(2026, 12, 7, 0, 0))  # 05:00 in UTC


def test_given_exact_dates_then_any_start_is_sent_ahead_and_no_run_is_asked_for() -> None:
    dates = task(magento_special_dates="exact")._dates()
    assert dates.starts_on_a_day(datetime(2026, 12, 6, 14, 0))
    group = Group(code="G", seq=1, begin=datetime(2026, 12, 6, 14, 0), end=None, enabled=True)
    assert dates.next_run([group], datetime(2026, 12, 6, 1, 0), timedelta(days=7)) is None


def test_given_day_dates_then_the_next_run_is_the_mid_day_start_in_utc() -> None:
    dates = task()._dates()  # America/New_York: 14:00 is 19:00 UTC
    group = Group(code="G", seq=1, begin=datetime(2026, 12, 6, 14, 0), end=None, enabled=True)
    moment = dates.next_run([group], datetime(2026, 12, 6, 1, 0), timedelta(days=7))
    assert moment is not None and moment.isoformat() == "2026-12-06T19:00:00+00:00"


def test_given_an_unknown_special_dates_mode_then_the_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="magento_special_dates"):
        Settings(magento_special_dates="hour")


def test_given_an_unknown_date_zone_then_the_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Settings(price_dates_timezone="Mars/Olympus")


def test_given_the_schedules_then_inventory_runs_every_10_minutes_and_prices_at_1am() -> None:
    from cpsync.tasks import TASKS

    assert TASKS["inventory"].schedule == "rate(10 minutes)"
    assert TASKS["prices"].schedule == "cron(0 1 * * ? *)"
    assert (TASKS["inventory"].title, TASKS["prices"].title) == ("Inventory", "Price Changes")


@pytest.mark.parametrize(
    ("begin", "end", "turns"),
    [
        (datetime(2026, 11, 27, 10, 0), None, True),  # began between the runs
        (None, datetime(2026, 11, 27, 10, 59, 59), True),  # ended between them (11:00 on)
        (datetime(2026, 12, 4, 10, 0), None, True),  # came within the 7-day horizon
        (datetime(2026, 11, 27, 8, 0), None, False),  # began before the last run
        (datetime(2026, 12, 5, 10, 0), None, False),  # still beyond the horizon
        (None, None, False),  # always on: nothing turns
    ],
)
def test_given_a_groups_dates_then_it_turns_only_when_a_run_boundary_passed_them(
    begin: datetime | None, end: datetime | None, turns: bool
) -> None:
    """A changed run at 12:00 after one at 09:00 re-prices the items of these groups only."""
    group = Group(code="G", seq=1, begin=begin, end=end, enabled=True)
    last, now = datetime(2026, 11, 27, 9, 0), datetime(2026, 11, 27, 12, 0)
    assert _turns(group, last, now, timedelta(days=7)) is turns
