"""Watermark rules, one test each, no database involved."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cpsync.tasks.base import window_for

NY = ZoneInfo("America/New_York")


def test_given_no_watermark_when_windowing_then_the_run_is_a_full_snapshot() -> None:
    assert window_for(None, timedelta(minutes=5), NY) is None


def test_given_a_watermark_then_rows_from_watermark_minus_lookback_are_read() -> None:
    window = window_for(datetime(2026, 7, 1, 12, 0), timedelta(minutes=5), NY)
    assert window is not None
    assert window.since_utc == datetime(2026, 7, 1, 11, 55)


def test_given_summer_then_local_bound_is_four_hours_behind_utc() -> None:
    window = window_for(datetime(2026, 7, 1, 12, 0), timedelta(0), NY)
    assert window is not None
    assert window.since_local == datetime(2026, 7, 1, 8, 0)


def test_given_winter_then_local_bound_is_five_hours_behind_utc() -> None:
    window = window_for(datetime(2026, 1, 15, 12, 0), timedelta(0), NY)
    assert window is not None
    assert window.since_local == datetime(2026, 1, 15, 7, 0)
