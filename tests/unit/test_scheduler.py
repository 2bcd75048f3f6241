"""The embedded scheduler (`cpsync serve`) fires tasks on the schedules stored in state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cpsync.control import set_automatic_sync, update_task_control
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
