"""Scheduled runs obey the master switch, the task switch and the one-run-at-a-time lock."""

from __future__ import annotations

from typing import Any

import pytest

from cpsync.control import (
    TaskBusy,
    run_locked,
    run_scheduled,
    set_automatic_sync,
    task_control,
    update_task_control,
)


def test_master_switch_off_stops_scheduled_runs_only(runtime: Any) -> None:
    state, task = runtime.state, runtime.task("items")
    set_automatic_sync(state, False)
    assert run_scheduled(state, task) is None
    assert runtime.queue.depth().visible == 0
    manual = run_locked(state, task, lambda t: t.run(keys=[]))  # a manual action still works
    assert manual.mode == "item"
    set_automatic_sync(state, True)
    result = run_scheduled(state, task)
    assert result is not None and result.queued > 0


def test_disabled_task_is_not_run_and_schedule_is_kept(runtime: Any) -> None:
    state = runtime.state
    assert task_control(state, "items").schedule == "rate(10 minutes)"
    update_task_control(state, "items", enabled=False, schedule="rate(30 minutes)")
    assert run_scheduled(state, runtime.task("items")) is None
    control = task_control(state, "items")
    assert (control.enabled, control.schedule) == (False, "rate(30 minutes)")


def test_a_task_never_runs_twice_at_once(runtime: Any) -> None:
    state = runtime.state
    assert state.acquire_lock("task:items", "other-process", 60)
    assert run_scheduled(state, runtime.task("items")) is None
    with pytest.raises(TaskBusy, match="already running"):
        run_locked(state, runtime.task("items"), lambda t: t.run())
    assert state.get_watermark("items") is None
