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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from cpsync.ports import AppliedRecord, RunError, RunRecord, StatePort

__all__ = ["BatchState"]

#: Pending writes: map name -> kind -> key -> value (None: a deleted document).
_Pending = dict[str, dict[str, dict[str, Any]]]


class BatchState(StatePort):
    """A StatePort over `state` that batches the writers' notes (see the module docstring)."""

    def __init__(self, state: StatePort) -> None:
        self.state = state
        self._lock = threading.RLock()
        self._open = 0
        self._pending: _Pending = {}
        self._held = threading.local()

    # --- the batch ----------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the notes written inside the block; write them when the last block ends."""
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
        for kind, ids in pending.get("ids", {}).items():
            self.state.put_magento_ids(kind, ids)
        for kind, sent in pending.get("sent", {}).items():
            self.state.put_sent(kind, sent)
        for kind, applied in pending.get("applied", {}).items():
            self.state.put_applied(kind, applied)
        for kind, docs in pending.get("docs", {}).items():
            kept = {key: doc for key, doc in docs.items() if doc is not None}
            gone = [key for key, doc in docs.items() if doc is None]
            if kept:
                self.state.put_docs(kind, kept)
            if gone:
                self.state.delete_docs(kind, gone)

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
    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        keys = list(keys)
        held = self._overlay("ids", kind)
        found = self.state.get_magento_ids(kind, [k for k in keys if k not in held])
        return found | {k: held[k] for k in keys if k in held}

    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        if not self._holds(kind, ids, "ids"):
            self.state.put_magento_ids(kind, ids)

    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        held = self._overlay("sent", kind)
        if keys is None:
            return self.state.get_sent(kind) | held
        keys = list(keys)
        found = self.state.get_sent(kind, [k for k in keys if k not in held])
        return found | {k: held[k] for k in keys if k in held}

    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        if not self._holds(kind, fingerprints, "sent"):
            self.state.put_sent(kind, fingerprints)

    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self._lock:
            for key in keys:
                self._pending.get("sent", {}).get(kind, {}).pop(key, None)
        self.state.forget_sent(kind, keys)

    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        keys = list(keys)
        found = self.state.get_applied(kind, keys)
        for key, record in self._overlay("applied", kind).items():
            stored = found.get(key)
            if key in keys and (stored is None or record.version >= stored.version):
                found[key] = record
        return found

    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        with self._lock:
            held = self._pending.get("applied", {}).get(kind, {})
            newer = {
                key: record
                for key, record in records.items()
                if key not in held or record.version >= held[key].version
            }
        if not self._holds(kind, newer, "applied"):
            self.state.put_applied(kind, records)

    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        held = self._overlay("docs", kind)
        if keys is None:
            found = self.state.get_docs(kind) | held
        else:
            keys = list(keys)
            found = self.state.get_docs(kind, [k for k in keys if k not in held])
            found |= {k: held[k] for k in keys if k in held}
        return {key: doc for key, doc in found.items() if doc is not None}

    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        if not self._holds(kind, docs, "docs"):
            self.state.put_docs(kind, docs)

    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not self._holds(kind, dict.fromkeys(keys), "docs"):
            self.state.delete_docs(kind, keys)

    # --- locks: what a thread writes while it holds one goes straight through -----------
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        taken = self.state.acquire_lock(name, owner, ttl_seconds)
        if taken:
            locks = getattr(self._held, "locks", None)
            if locks is None:
                locks = self._held.locks = {}
            locks[name] = owner
        return taken

    def release_lock(self, name: str, owner: str) -> None:
        locks = getattr(self._held, "locks", None) or {}
        if locks.get(name) == owner:
            del locks[name]
        self.state.release_lock(name, owner)

    def lock_holder(self, name: str) -> str | None:
        return self.state.lock_holder(name)

    # --- everything else goes straight through ------------------------------------------
    def get_watermark(self, task: str) -> datetime | None:
        return self.state.get_watermark(task)

    def set_watermark(self, task: str, value: datetime) -> None:
        self.state.set_watermark(task, value)

    def start_run(self, run: RunRecord) -> None:
        self.state.start_run(run)

    def finish_run(self, run: RunRecord) -> None:
        self.state.finish_run(run)

    def add_errors(self, errors: Sequence[RunError]) -> None:
        self.state.add_errors(errors)

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        return self.state.runs(task, limit)

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        return self.state.errors(task, run_id, limit)

    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        return self.state.add_counter(name, delta, ttl_seconds)

    def reset_counter(self, name: str) -> None:
        self.state.reset_counter(name)

    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        return self.state.get_counters(names)
