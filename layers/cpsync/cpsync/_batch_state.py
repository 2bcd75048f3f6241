"""State the writers write through: inside a batch, one write per map and kind, not per record.

Writers note per record what they learnt (a product's Magento id, a category's document, a
link's categories); against DynamoDB each note was a call of its own. `BatchState` wraps the
real state: while a batch is open (`with state.batch():`, which `apply_changes` opens) it keeps
Magento ids, sent fingerprints, applied versions and documents in memory, answers reads from
them first, and writes them when the last open batch closes, one `put_*` call per kind.
Outside a batch every call goes straight through.

What a thread writes while it holds a lock (a gallery lock) goes straight through too, so a
process that takes the lock next reads it; a buffered copy of the same record is dropped then.
A crash before the flush loses only notes Magento can be asked again (ids are found by SKU,
gallery entries listed), the same as a crash between a request and its note.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from cpsync.ports import AppliedRecord, RunError, RunRecord, Space, StatePort

__all__ = ["BatchState"]

#: Pending writes: map ("mid", "sent", "doc" or "applied") -> kind -> key -> value (for "doc",
#: the stored JSON text, or None for a deleted document).
_Pending = dict[str, dict[str, dict[str, Any]]]


class BatchState(StatePort):
    """A StatePort over `state` that batches the writers' notes (see the module docstring).

    Only primitives are here, as in every adapter: the port's logic runs once, on top.
    """

    def __init__(self, state: StatePort) -> None:
        self.state = state
        self.clock = state.clock
        self._lock = threading.RLock()
        self._open = 0
        self._pending: _Pending = {}
        self._held = threading.local()

    # --- the batch ----------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the notes written inside the block; write them when the last block ends.

        Yields:
            Nothing: the block runs with notes held.
        """
        with self._lock:
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                last = self._open == 0
            if last:
                self.flush()

    def flush(self) -> None:
        """Write every held note: one call per map and kind."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for space in ("mid", "sent", "doc"):
            for kind, values in pending.get(space, {}).items():
                kept = {key: value for key, value in values.items() if value is not None}
                gone = [key for key, value in values.items() if value is None]
                if kept:
                    self.state._put_values(space, kind, kept)
                if gone:
                    self.state._delete_values(space, kind, gone)
        for kind, applied in pending.get("applied", {}).items():
            self.state.put_applied(kind, applied)

    def _holds(self, kind: str, values: dict[str, Any], held: str) -> bool:
        """Hold `values` for the flush when a batch is open and this thread holds no lock.

        Otherwise drop held copies of the same records and return False (write now).
        """
        with self._lock:
            if self._open and not getattr(self._held, "locks", None):
                self._pending.setdefault(held, {}).setdefault(kind, {}).update(values)
                return True
            mine = self._pending.get(held, {}).get(kind, {})
            for key in values:
                mine.pop(key, None)
            return False

    def _overlay(self, held: str, kind: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._pending.get(held, {}).get(kind, {}))

    # --- the maps the writers note into -------------------------------------------------
    def _get_values(self, space: Space, kind: str, keys: list[str] | None) -> dict[str, Any]:
        held = self._overlay(space, kind)
        if keys is None:
            found = self.state._get_values(space, kind, None) | held
        else:
            rest = [k for k in keys if k not in held]
            found = self.state._get_values(space, kind, rest) if rest else {}
            found |= {k: held[k] for k in keys if k in held}
        return {key: value for key, value in found.items() if value is not None}

    def _put_values(self, space: Space, kind: str, values: dict[str, Any]) -> None:
        if not self._holds(kind, values, space):
            self.state._put_values(space, kind, values)

    def _delete_values(self, space: Space, kind: str, keys: list[str]) -> None:
        if space == "doc" and self._holds(kind, dict.fromkeys(keys), space):
            return
        with self._lock:
            for key in keys:
                self._pending.get(space, {}).get(kind, {}).pop(key, None)
        self.state._delete_values(space, kind, keys)

    def _get_applied(self, kind: str, keys: list[str]) -> dict[str, AppliedRecord]:
        found = self.state._get_applied(kind, keys)
        held = self._overlay("applied", kind)
        for key in keys:  # by key asked: `key in keys` per held record was quadratic
            record = held.get(key)
            stored = found.get(key)
            if record is not None and (stored is None or record.version >= stored.version):
                found[key] = record
        return found

    def _put_applied(self, kind: str, records: dict[str, AppliedRecord], now: float) -> None:
        with self._lock:
            held = self._pending.get("applied", {}).get(kind, {})
            newer = {
                key: record
                for key, record in records.items()
                if key not in held or record.version >= held[key].version
            }
        if not self._holds(kind, newer, "applied"):
            self.state._put_applied(kind, records, now)

    # --- locks: what a thread writes while it holds one goes straight through -----------
    def _write_lock(self, name: str, owner: str, expires: float, now: float) -> bool:
        taken = self.state._write_lock(name, owner, expires, now)
        if taken:
            locks = getattr(self._held, "locks", None)
            if locks is None:
                locks = self._held.locks = {}
            locks[name] = owner
        return taken

    def release_lock(self, name: str, owner: str) -> None:
        """Release the lock, and stop writing this thread's notes straight through for it."""
        locks = getattr(self._held, "locks", None) or {}
        if locks.get(name) == owner:
            del locks[name]
        self.state.release_lock(name, owner)

    def _read_lock(self, name: str) -> tuple[str, float] | None:
        return self.state._read_lock(name)

    # --- everything else goes straight through ------------------------------------------
    def get_watermark(self, task: str) -> datetime | None:
        """The wrapped state's watermark."""
        return self.state.get_watermark(task)

    def set_watermark(self, task: str, value: datetime) -> None:
        """Move the wrapped state's watermark."""
        self.state.set_watermark(task, value)

    def _save_run(self, run: RunRecord) -> None:
        self.state._save_run(run)

    def add_errors(self, errors: Sequence[RunError]) -> None:
        """Log errors in the wrapped state."""
        self.state.add_errors(errors)

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The wrapped state's runs."""
        return self.state.runs(task, limit)

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        """The wrapped state's errors."""
        return self.state.errors(task, run_id, limit)

    def _add_counter(self, name: str, delta: int, start: int, now: float, expires: float) -> int:
        return self.state._add_counter(name, delta, start, now, expires)

    def _read_counters(self, names: list[str]) -> dict[str, tuple[int, float]]:
        return self.state._read_counters(names)

    def reset_counter(self, name: str) -> None:
        """Reset the wrapped state's counter."""
        self.state.reset_counter(name)
