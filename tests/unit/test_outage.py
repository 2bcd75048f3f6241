"""The agent's backoff and outage log: capped exponential waits with jitter, one line per
outage (the loop itself is tested against a dead endpoint in tests/aws/test_agent.py)."""

from __future__ import annotations

import logging
import random

import pytest

from cpsync.outage import Backoff, Outage


def test_the_waits_double_from_5_s_up_to_5_minutes_with_full_jitter() -> None:
    # GIVEN a seeded random, so the jitter is repeatable
    seeded = random.Random(7)
    backoff = Backoff(random=seeded.random)
    # WHEN a turn fails ten times in a row
    ceilings, waits = [], []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        waits.append(backoff.next())
    # THEN the ceiling doubles from 5 s and stops at 300 s
    assert ceilings == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]
    # AND each wait is the seeded fraction of its ceiling (full jitter), never under 1 s
    again = random.Random(7)
    assert waits == [max(1.0, again.random() * c) for c in ceilings]
    assert all(1.0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits)) == len(waits)  # jittered: no two agents knock in step


def test_a_turn_that_works_starts_the_backoff_again() -> None:
    backoff = Backoff(random=lambda: 0.5)
    assert [backoff.next() for _ in range(3)] == [2.5, 5.0, 10.0]
    backoff.reset()
    assert backoff.next() == 2.5


def test_a_zero_draw_still_waits_the_floor() -> None:
    assert Backoff(random=lambda: 0.0).next() == 1.0


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    outage = Outage(clock=lambda: now[0])
    caplog.set_level(logging.DEBUG, logger="cpsync.outage")
    for _ in range(5):
        outage.failed(ConnectionRefusedError(111, "Connection refused"), retry_in=5)
        now[0] += 30
    assert outage.recovered() == 150
    assert outage.recovered() is None  # no outage, no line
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "Connection refused" in warnings[0] and "retrying with backoff" in warnings[0]
    assert warnings[1].startswith("connection back after 150 s (5 failed turns)")
    # no traceback for a network error
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_brings_its_traceback_once() -> None:
    outage = Outage()
    with_traceback: list[bool] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # (read now: the secrets filter of a later handler folds the traceback in)
            with_traceback.append(record.exc_info is not None)

    log = logging.getLogger("cpsync.outage")
    handler = Keep(logging.WARNING)
    log.addHandler(handler)
    try:
        for _ in range(3):
            outage.failed(KeyError("plans"), retry_in=5)
    finally:
        log.removeHandler(handler)
    assert with_traceback == [True]
