"""The adaptive limiter: halves on overload (once per cooldown), grows back on success."""

from __future__ import annotations

import threading

import pytest

from cpsync.magento.limiter import AdaptiveLimiter, Signal


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(limiter: AdaptiveLimiter, signal: Signal, times: int = 1) -> None:
    for _ in range(times):
        limiter.acquire()
        limiter.release(signal)


def test_given_overload_when_signalled_then_the_limit_halves_once_per_cooldown() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(16, cooldown=1.0, clock=clock)
    # WHEN a burst of overload answers arrives within one cooldown
    run(limiter, Signal.OVERLOAD, times=5)
    # THEN it counts once
    assert limiter.limit == 8
    # WHEN overload continues after the cooldown
    clock.now += 1.0
    run(limiter, Signal.OVERLOAD)
    clock.now += 1.0
    run(limiter, Signal.OVERLOAD)
    assert limiter.limit == 2
    assert limiter.snapshot()["decreases"] == 3


def test_given_a_backed_off_limit_when_requests_succeed_then_it_recovers_to_the_ceiling() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(8, cooldown=0.0, clock=clock)
    run(limiter, Signal.OVERLOAD, times=3)
    assert limiter.limit == 1
    # additive increase: about one per round of `limit` successes
    run(limiter, Signal.OK, times=3)
    assert limiter.limit == 2  # 1 -> 2 after one success, 2.5 after two, 2.9 after three
    run(limiter, Signal.OK, times=60)
    assert limiter.limit == 8
    snapshot = limiter.snapshot()
    assert snapshot["lowest_limit"] == 1 and snapshot["max_limit"] == 8


def test_given_the_floor_when_overloaded_then_never_below_min_limit() -> None:
    limiter = AdaptiveLimiter(4, min_limit=2, cooldown=0.0, clock=FakeClock())
    run(limiter, Signal.OVERLOAD, times=10)
    assert limiter.limit == 2


def test_given_neutral_failures_when_released_then_the_limit_stays() -> None:
    limiter = AdaptiveLimiter(4, clock=FakeClock())
    run(limiter, Signal.NEUTRAL, times=10)
    assert limiter.limit == 4


def test_given_a_full_limiter_when_another_caller_acquires_then_it_waits_for_a_release() -> None:
    limiter = AdaptiveLimiter(1, clock=FakeClock())
    limiter.acquire()
    entered = threading.Event()

    def second() -> None:
        limiter.acquire()
        entered.set()
        limiter.release(Signal.OK)

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.05)  # blocked while the slot is held
    limiter.release(Signal.OK)
    assert entered.wait(30)  # a thread wakes late on a loaded machine
    thread.join()
    assert limiter.snapshot()["waited"] == 1
    assert limiter.snapshot()["in_flight"] == 0


def test_given_bad_bounds_when_built_then_value_error() -> None:
    with pytest.raises(ValueError):
        AdaptiveLimiter(2, min_limit=3)
