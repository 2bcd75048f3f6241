"""The embedded scheduler (`cpsync serve`) fires tasks on the schedules stored in state."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cpsync.control import PRICE_BOUNDARY, set_automatic_sync, update_task_control
from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.scheduler import Scheduler

NY = ZoneInfo("America/New_York")


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


BAD = {
    "prices": "at(9999-12-31T23:59:59)",  # past the year 9999 once read in New York's zone
    "inventory": "rate(3000000 days)",  # the next run after one would be past 9999
    "categories": "every ten minutes please",
}


def test_given_bad_schedules_stored_then_the_other_tasks_still_run(tmp_path: Path) -> None:
    # GIVEN three tasks with schedules the scheduler cannot use and one good one, in a zone
    # west of UTC (where the far-future at() overflows).
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    for name, expression in BAD.items():
        update_task_control(state, name, schedule=expression)
    update_task_control(state, "items", schedule="rate(1 minute)")
    fired: list[str] = []
    clock = _Clock()
    scheduler = Scheduler(
        state,
        lambda name: name,  # type: ignore[arg-type,return-value]
        NY,
        names=[*BAD, "items"],
        clock=clock,
        run=lambda _state, task: fired.append(task),  # type: ignore[arg-type,func-returns-value]
    )
    # WHEN the dashboard asks for next runs and the scheduler ticks on
    plan = scheduler.next_runs()
    for _ in range(3):
        clock.now += timedelta(minutes=1)
        scheduler.tick()
    # THEN the bad ones show no next run and never fire; the good one fires every minute.
    assert plan == {"prices": None, "inventory": None, "categories": None, "items": plan["items"]}
    assert plan["items"] == datetime(2026, 11, 27, 12, 1, tzinfo=UTC)
    assert fired == ["items", "items", "items"]


def test_given_a_bad_schedule_the_serve_thread_keeps_ticking(tmp_path: Path) -> None:
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    update_task_control(state, "prices", schedule=BAD["prices"])
    update_task_control(state, "items", schedule="rate(1 minute)")
    fired: list[str] = []
    moments = iter(datetime(2026, 11, 27, 12, m, tzinfo=UTC) for m in range(0, 59))
    ran_out = [0]  # ticks whose clock raised

    def clock() -> datetime:
        try:
            return next(moments)
        except StopIteration:
            ran_out[0] += 1
            raise

    scheduler = Scheduler(
        state,
        lambda name: name,  # type: ignore[arg-type,return-value]
        NY,
        names=["prices", "items"],
        clock=clock,
        run=lambda _state, task: fired.append(task),  # type: ignore[arg-type,func-returns-value]
    )
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop, 0.01), daemon=True)
    thread.start()
    # Each tick reads the clock once or twice; once the minutes run out the clock raises
    # StopIteration inside tick, and the thread must survive that too: it ticks again.
    deadline = time.monotonic() + 30
    while ran_out[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran_out[0] >= 2, f"the scheduler thread stopped ticking after {len(fired)} runs"
    assert thread.is_alive()
    stop.set()
    thread.join(timeout=5)
    assert fired[:3] == ["items", "items", "items"] and "prices" not in fired


def test_price_changes_also_runs_when_a_promotion_started_or_ended_since_its_last_run(
    tmp_path: Path,
) -> None:
    """A promotion starting at 14:00 (Magento Open Source switches only at midnight): the run
    after 14:00 puts it up; the scheduler looks every five minutes and reads one option."""
    clock, fired = _Clock(), []
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))

    def run(_state: object, task: object) -> None:
        fired.append(task)  # type: ignore[arg-type]

    scheduler = Scheduler(state, lambda n: n, UTC, names=["prices"], clock=clock, run=run)  # type: ignore[arg-type,return-value]
    state.set_option(PRICE_BOUNDARY, (clock.now + timedelta(minutes=7)).isoformat())
    assert scheduler.tick() == []  # 12:00 (the daily run is at 01:00)
    clock.now += timedelta(minutes=6)
    assert scheduler.tick() == []  # 12:06: looked, before 12:07
    clock.now += timedelta(minutes=4)
    assert scheduler.tick() == []  # 12:10: not looked again yet
    clock.now += timedelta(minutes=1)
    assert scheduler.tick() == ["prices"]  # 12:11: looked again, the promotion has begun
    # (the run notes the next boundary; here it did not, and five minutes pass before the
    # scheduler looks again: a run that fails is not repeated every tick)
    assert scheduler.tick() == []
    clock.now += timedelta(minutes=5)
    assert scheduler.tick() == ["prices"]
    state.set_option(PRICE_BOUNDARY, None)
    clock.now += timedelta(minutes=5)
    assert scheduler.tick() == []
    assert fired == ["prices", "prices"]
