"""How the Price Changes task and writer shape what Magento gets, without a database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from cpsync.settings import Settings
from cpsync.tasks.base import TaskContext
from cpsync.tasks.prices import PricesTask


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
