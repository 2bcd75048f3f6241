"""How the Price Changes task and writer shape what Magento gets, without a database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from cpsync.counterpoint.pricing import Group
from cpsync.settings import Settings
from cpsync.tasks.base import TaskContext
from cpsync.tasks.prices import PricesTask, _turns


def task(**settings: Any) -> PricesTask:
    ctx = TaskContext(Settings(**settings), None, None, None)  # type: ignore[arg-type]
    return PricesTask(ctx)


def test_given_no_date_zone_then_dates_go_in_the_counterpoint_servers_time() -> None:
    assert task()._magento_date(datetime(2026, 11, 28, 6, 0)) == "2026-11-28 06:00:00"
    assert task()._magento_date(None) is None


def test_given_a_date_zone_then_dates_are_converted_to_it() -> None:
    t = task(price_dates_timezone="UTC")  # Counterpoint in America/New_York (UTC-5 in November)
    assert t._magento_date(datetime(2026, 11, 28, 6, 0)) == "2026-11-28 11:00:00"


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
