"""The state port's contract, for every adapter."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cpsync.aws import DynamoState
from cpsync.ports import AppliedRecord, RunError, RunRecord, StatePort


def test_watermarks_are_kept_per_task(state: StatePort) -> None:
    assert state.get_watermark("items") is None
    state.set_watermark("items", datetime(2026, 1, 2, 3, 4, 5, 6))
    state.set_watermark("items", datetime(2026, 1, 3))
    assert state.get_watermark("items") == datetime(2026, 1, 3)
    assert state.get_watermark("inventory") is None


def test_sent_fingerprints_by_key_and_all(state: StatePort) -> None:
    state.put_sent("product", {"A": "1", "B": "2"})
    state.put_sent("product", {"B": "3"})
    assert state.get_sent("product", ["B", "Z"]) == {"B": "3"}
    assert state.get_sent("product") == {"A": "1", "B": "3"}
    state.forget_sent("product", ["A"])
    assert state.get_sent("product") == {"B": "3"}
    assert state.get_sent("price") == {}


def test_many_keys_are_read_in_chunks(state: StatePort) -> None:
    state.put_sent("product", {f"K{i}": str(i) for i in range(1200)})
    assert len(state.get_sent("product", [f"K{i}" for i in range(1200)])) == 1200


def test_an_older_applied_version_never_overwrites_a_newer_one(state: StatePort) -> None:
    state.put_applied("product", {"A": AppliedRecord("2026-01-02/2", "new")})
    state.put_applied("product", {"A": AppliedRecord("2026-01-01/1", "old")})
    assert state.get_applied("product", ["A"]) == {"A": AppliedRecord("2026-01-02/2", "new")}


def test_stale_and_repeated_changes_are_split_off(state: StatePort, make_change) -> None:
    state.put_applied("product", {"A": AppliedRecord("9999", "f")})
    state.put_applied("product", {"C": AppliedRecord("0000", "f")})
    changes = [make_change("A"), make_change("B"), make_change("C")]
    fresh, stale, repeats = state.split_applied(changes)
    assert [c.key for c in fresh] == ["B"]
    assert [c.key for c in stale] == ["A"]
    assert [c.key for c in repeats] == ["C"]  # newer, but Magento already has fingerprint "f"
    forced = changes[2].model_copy(update={"force": True})
    assert [c.key for c in state.split_applied([forced])[0]] == ["C"]


def test_magento_ids(state: StatePort) -> None:
    state.put_magento_ids("product", {"A": 7})
    assert state.get_magento_ids("product", ["A", "B"]) == {"A": 7}


def test_run_log_keeps_runs_and_per_record_errors(state: StatePort) -> None:
    run = RunRecord(run_id="items-1", task="items", started_at=datetime.now(UTC))
    state.start_run(run)
    state.add_errors(
        [RunError("items-1", "items", "X1", "product X1: DESCR is empty", datetime.now(UTC))]
    )
    run.status, run.counts = "ok_with_errors", {"read": 3}
    state.finish_run(run)
    (last,) = state.runs(task="items")
    assert (last.status, last.counts) == ("ok_with_errors", {"read": 3})
    assert last.finished_at is not None
    assert [e.key for e in state.errors(task="items")] == ["X1"]
    assert state.last_run("prices") is None


def test_run_log_entries_keep_their_level(state: StatePort) -> None:
    now = datetime.now(UTC)
    state.add_errors(
        [
            RunError("items-2", "items", "X1", "product X1: no name", now),
            RunError("items-2", "items", "X2", "product X2: price looks high", now, "warning"),
        ]
    )
    levels = {e.key: e.level for e in state.errors(task="items")}
    assert levels == {"X1": "error", "X2": "warning"}


def test_documents_round_trip_replace_and_delete(state: StatePort) -> None:
    state.put_docs("image_file", {"A^1.jpg": {"size": 10, "sha": "x"}, "B.jpg": {"size": 2}})
    state.put_docs("image_file", {"A^1.jpg": {"size": 11}})
    assert state.get_docs("image_file", ["A^1.jpg", "nope"]) == {"A^1.jpg": {"size": 11}}
    assert set(state.get_docs("image_file")) == {"A^1.jpg", "B.jpg"}
    assert state.get_docs("other") == {}
    state.delete_docs("image_file", ["B.jpg", "never-there"])
    assert set(state.get_docs("image_file")) == {"A^1.jpg"}


def test_options_default_until_set(state: StatePort) -> None:
    assert state.get_option("master_switch", True) is True
    state.set_option("master_switch", False)
    state.set_option("task.inventory", {"enabled": True, "schedule": "rate(10 minutes)"})
    assert state.get_option("master_switch", True) is False
    assert state.get_option("task.inventory")["schedule"] == "rate(10 minutes)"


def test_lock_is_exclusive_until_released_or_expired(state: StatePort, clock: Any) -> None:
    assert state.acquire_lock("task:items", "run-1", ttl_seconds=60)
    assert not state.acquire_lock("task:items", "run-2", ttl_seconds=60)
    assert state.acquire_lock("task:items", "run-1", ttl_seconds=60)  # the holder extends it
    state.release_lock("task:items", "run-2")  # not the holder: nothing happens
    assert not state.acquire_lock("task:items", "run-2", ttl_seconds=60)
    state.release_lock("task:items", "run-1")
    assert state.acquire_lock("task:items", "run-2", ttl_seconds=60)
    clock.advance(61)
    assert state.acquire_lock("task:items", "run-3", ttl_seconds=60)  # run-2 died holding it


def test_the_holder_of_a_lock_is_known_until_it_expires(state: StatePort, clock: Any) -> None:
    assert state.lock_holder("gallery:A") is None
    assert state.acquire_lock("gallery:A", "host:12:ab", ttl_seconds=30)
    assert state.lock_holder("gallery:A") == "host:12:ab"
    clock.advance(31)
    assert state.lock_holder("gallery:A") is None


def test_counter_adds_releases_and_resets(state: StatePort) -> None:
    assert state.add_counter("signin:user:ann", 1, ttl_seconds=60) == 1
    assert state.add_counter("signin:user:ann", 1, ttl_seconds=60) == 2
    assert state.add_counter("signin:user:bob", 1, ttl_seconds=60) == 1  # counters are separate
    assert state.add_counter("signin:user:ann", -1, ttl_seconds=60) == 1  # a reservation released
    state.reset_counter("signin:user:ann")
    state.reset_counter("never-counted")  # unknown names are ignored
    assert state.add_counter("signin:user:ann", 1, ttl_seconds=60) == 1
    assert state.add_counter("signin:user:bob", 0, ttl_seconds=60) == 1


def test_counter_is_forgotten_after_its_ttl_without_changes(state: StatePort, clock: Any) -> None:
    for _ in range(3):
        state.add_counter("c", 1, ttl_seconds=60)
        clock.advance(50)  # each add restarts the time
    assert state.add_counter("c", 1, ttl_seconds=60) == 4
    clock.advance(61)
    assert state.add_counter("c", 1, ttl_seconds=60) == 1
    clock.advance(61)
    assert state.add_counter("c", -1, ttl_seconds=60) == 0  # a late release never goes below 0


@contextmanager
def _serial_moto(state: StatePort) -> Iterator[StatePort]:
    """DynamoDB's ADD is atomic; moto's threaded server is not (two requests may read the same
    value), which this test would blame on the adapter. A second, one-request-at-a-time moto
    server over the same in-process backends gives the adapter an atomic DynamoDB."""
    if not isinstance(state, DynamoState):
        yield state
        return
    import boto3
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, False, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield DynamoState(
            state.table, boto3.client("dynamodb", endpoint_url=url), clock=state.clock
        )
    finally:
        server.shutdown()
        thread.join(10)


def test_parallel_adds_never_lose_an_update(state: StatePort) -> None:
    with _serial_moto(state) as state, ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(lambda _: state.add_counter("burst", 1, ttl_seconds=60), range(40)))
    # Every caller saw a different value: a limit checked on it lets exactly `limit` through.
    assert sorted(values) == list(range(1, 41))


def test_reading_counters_does_not_restart_their_time(state: StatePort, clock: Any) -> None:
    state.add_counter("seen", 3, ttl_seconds=60)
    assert state.get_counters(["seen", "never"]) == {"seen": 3, "never": 0}
    clock.advance(50)
    assert state.get_counters(["seen"]) == {"seen": 3}
    clock.advance(11)  # 61 s after the add: reads did not extend it
    assert state.get_counters(["seen"]) == {"seen": 0}


def test_given_a_read_only_view_when_a_task_writes_then_it_reads_everything_and_stores_nothing(
    state: StatePort, clock: Any
) -> None:
    """`cpsync verify` runs tasks on this view: a regular run afterwards must see no trace."""
    from cpsync.verify import ReadOnlyState

    # GIVEN a state that remembers one of everything
    state.set_watermark("items", datetime(2026, 1, 2))
    state.put_sent("product", {"A": "1"})
    state.put_applied("product", {"A": AppliedRecord("0001", "f")})
    state.put_magento_ids("product", {"A": 7})
    state.put_docs("image", {"A": {"files": 1}})
    view = ReadOnlyState(state)

    # WHEN a task run on the view writes over all of it
    view.set_watermark("items", datetime(2026, 2, 1))
    view.put_sent("product", {"A": "2", "B": "3"})
    view.forget_sent("product", ["A"])
    view.put_applied("product", {"A": AppliedRecord("0002", "g")})
    view.put_magento_ids("product", {"B": 8})
    view.put_docs("image", {"A": {"files": 2}})
    view.delete_docs("image", ["A"])
    run = RunRecord("r1", "items", datetime(2026, 2, 1, tzinfo=UTC))
    view.start_run(run)
    view.finish_run(run)
    view.add_errors([RunError("r1", "items", "A", "bad", datetime(2026, 2, 1, tzinfo=UTC))])

    # THEN it read what the state holds, and the state holds what it did before
    for reader in (view, state):
        assert reader.get_watermark("items") == datetime(2026, 1, 2)
        assert reader.get_sent("product") == {"A": "1"}
        assert reader.get_applied("product", ["A"]) == {"A": AppliedRecord("0001", "f")}
        assert reader.get_magento_ids("product", ["A", "B"]) == {"A": 7}
        assert reader.get_docs("image") == {"A": {"files": 1}}
        assert reader.runs() == [] and reader.errors() == []
    # Locks and counters guard shared work, so they pass through to the state.
    assert view.acquire_lock("task:items", "verify", ttl_seconds=60)
    assert state.lock_holder("task:items") == "verify"
    assert view.add_counter("c", 2, ttl_seconds=60) == 2
    assert state.get_counters(["c", "d"]) == {"c": 2, "d": 0}
    clock.advance(61)
    assert view.lock_holder("task:items") is None
    assert view.get_counters(["c"]) == {"c": 0}
