"""Counterpoint's side of verify: tasks on a read-only state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from cpsync.ports import AppliedRecord, RunError, RunRecord, StatePort

__all__ = ["ReadOnlyState"]


class ReadOnlyState(StatePort):
    """State that reads through and writes nowhere: a task run on it leaves no trace.

    Watermarks, sent fingerprints, applied versions, Magento ids, the run log and documents
    are read from `inner` and never written; locks and counters pass through (they guard
    shared work, not remembered state).
    """

    def __init__(self, inner: StatePort) -> None:
        self.inner = inner

    def get_watermark(self, task: str) -> datetime | None:
        return self.inner.get_watermark(task)

    def set_watermark(self, task: str, value: datetime) -> None:
        return None

    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        return self.inner.get_sent(kind, keys)

    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        return None

    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        return None

    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        return self.inner.get_applied(kind, keys)

    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        return None

    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        return self.inner.get_magento_ids(kind, keys)

    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        return None

    def start_run(self, run: RunRecord) -> None:
        return None

    def finish_run(self, run: RunRecord) -> None:
        return None

    def add_errors(self, errors: Sequence[RunError]) -> None:
        return None

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        return self.inner.runs(task, limit)

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        return self.inner.errors(task, run_id, limit)

    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        return self.inner.get_docs(kind, keys)

    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        return None

    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        return None

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        return self.inner.acquire_lock(name, owner, ttl_seconds)

    def release_lock(self, name: str, owner: str) -> None:
        self.inner.release_lock(name, owner)

    def lock_holder(self, name: str) -> str | None:
        return self.inner.lock_holder(name)

    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        return self.inner.add_counter(name, delta, ttl_seconds)

    def reset_counter(self, name: str) -> None:
        self.inner.reset_counter(name)

    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        return self.inner.get_counters(names)
