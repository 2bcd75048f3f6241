"""Counterpoint's side of verify: tasks on a read-only state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cpsync.ports import AppliedRecord, RunError, RunRecord, Space, StatePort

__all__ = ["ReadOnlyState"]


class ReadOnlyState(StatePort):
    """State that reads through and writes nowhere: a task run on it leaves no trace.

    Watermarks, sent fingerprints, applied versions, Magento ids, the run log and documents
    are read from `inner` and never written; locks and counters pass through (they guard
    shared work, not remembered state). Only primitives are here: the logic is the port's.
    """

    def __init__(self, inner: StatePort) -> None:
        self.inner = inner
        self.clock = inner.clock

    # --- read through -----------------------------------------------------------------
    def _get_values(self, space: Space, kind: str, keys: list[str] | None) -> dict[str, Any]:
        return self.inner._get_values(space, kind, keys)

    def _get_applied(self, kind: str, keys: list[str]) -> dict[str, AppliedRecord]:
        return self.inner._get_applied(kind, keys)

    def get_watermark(self, task: str) -> datetime | None:
        """The inner state's watermark."""
        return self.inner.get_watermark(task)

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The inner state's runs."""
        return self.inner.runs(task, limit)

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        """The inner state's errors."""
        return self.inner.errors(task, run_id, limit)

    # --- written nowhere --------------------------------------------------------------
    def _put_values(self, space: Space, kind: str, values: dict[str, Any]) -> None:
        return None

    def _delete_values(self, space: Space, kind: str, keys: list[str]) -> None:
        return None

    def _put_applied(self, kind: str, records: dict[str, AppliedRecord], now: float) -> None:
        return None

    def _save_run(self, run: RunRecord) -> None:
        return None

    def set_watermark(self, task: str, value: datetime) -> None:
        """Keep the watermark where it is."""
        return None

    def add_errors(self, errors: Sequence[RunError]) -> None:
        """Log nothing."""
        return None

    # --- locks and counters pass through ----------------------------------------------
    def _write_lock(self, name: str, owner: str, expires: float, now: float) -> bool:
        return self.inner._write_lock(name, owner, expires, now)

    def _read_lock(self, name: str) -> tuple[str, float] | None:
        return self.inner._read_lock(name)

    def release_lock(self, name: str, owner: str) -> None:
        """Release the inner state's lock."""
        self.inner.release_lock(name, owner)

    def _add_counter(self, name: str, delta: int, start: int, now: float, expires: float) -> int:
        return self.inner._add_counter(name, delta, start, now, expires)

    def _read_counters(self, names: list[str]) -> dict[str, tuple[int, float]]:
        return self.inner._read_counters(names)

    def reset_counter(self, name: str) -> None:
        """Reset the inner state's counter."""
        self.inner.reset_counter(name)
