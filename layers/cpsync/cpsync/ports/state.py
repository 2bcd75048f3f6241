"""The state port: cpsync's own memory, its logic over a few primitives per adapter.

As Powertools' idempotency persistence layer does it: the base class holds the rules, and an
adapter (`embedded/state.py` for SQLite, `aws/dynamodb.py` for DynamoDB) stores and reads.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, final

from cpsync.model import Change

__all__ = ["AppliedRecord", "RunError", "RunRecord", "Space", "StatePort"]


@dataclass(frozen=True)
class AppliedRecord:
    """What Magento was last brought to for one (kind, key)."""

    version: str
    fingerprint: str


@dataclass
class RunRecord:
    """One task run, as the log and the dashboard show it."""

    run_id: str
    task: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunError:
    """A per-record error from a run: which record, and what is wrong with it."""

    run_id: str
    task: str
    key: str
    message: str
    at: datetime
    #: "error": the record (or a part of it) was not synced; "warning": it was, but look.
    level: str = "error"


#: The plain maps of the state, by what they hold: sent fingerprints (str), Magento ids (int)
#: and documents (JSON text).
Space = Literal["sent", "mid", "doc"]


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


class StatePort(ABC):
    """cpsync's own memory: watermarks, fingerprints, applied versions, Magento ids, run log.

    The logic lives here and is final: keys without repeats, ids and JSON converted, the
    expiry of locks and counters judged on `clock`, a run's finish time. An adapter implements
    the primitives: the `_...` methods, each one read or one atomic write, and the public
    methods that are nothing more than that (watermarks, run log, errors, release, reset).
    """

    #: Seconds since the epoch: when locks and counters expire. Set by the adapter.
    clock: Callable[[], float]

    def batch(self) -> AbstractContextManager[None]:
        """A block whose notes may be held and written together when it ends.

        A store writes at once; the runtime's writer state (`cpsync._batch_state.BatchState`)
        holds the notes of a batch and writes one call per kind at its end.
        """
        return nullcontext()

    # --- primitives for adapters -------------------------------------------------------
    @abstractmethod
    def _get_values(self, space: Space, kind: str, keys: list[str] | None) -> dict[str, Any]:
        """Stored values of `keys`, or of every key of the kind when None."""

    @abstractmethod
    def _put_values(self, space: Space, kind: str, values: dict[str, Any]) -> None:
        """Store (replace) values; never called with none."""

    @abstractmethod
    def _delete_values(self, space: Space, kind: str, keys: list[str]) -> None:
        """Remove keys; unknown keys are ignored."""

    @abstractmethod
    def _get_applied(self, kind: str, keys: list[str]) -> dict[str, AppliedRecord]:
        """The applied records stored for `keys`."""

    @abstractmethod
    def _put_applied(self, kind: str, records: dict[str, AppliedRecord], now: float) -> None:
        """Store each record unless the stored version is not older (atomic per record).

        Never called with no records.
        """

    @abstractmethod
    def _save_run(self, run: RunRecord) -> None:
        """Insert a run, or replace the one with its run id."""

    @abstractmethod
    def _write_lock(self, name: str, owner: str, expires: float, now: float) -> bool:
        """Write (owner, expires) in one atomic step, unless another owner's lock outlives `now`.

        Returns:
            True when written.
        """

    @abstractmethod
    def _read_lock(self, name: str) -> tuple[str, float] | None:
        """(owner, expires) of the stored lock, expired or not."""

    @abstractmethod
    def _add_counter(self, name: str, delta: int, start: int, now: float, expires: float) -> int:
        """Add `delta` to a live counter, or start an expired or missing one at `start`.

        One atomic step; live means expiring after `now`. The expiry becomes `expires`.

        Returns:
            The counter's new value.
        """

    @abstractmethod
    def _read_counters(self, names: list[str]) -> dict[str, tuple[int, float]]:
        """(value, expires) of the stored counters among `names`, expired or not."""

    # --- watermarks -------------------------------------------------------------------
    @abstractmethod
    def get_watermark(self, task: str) -> datetime | None:
        """The stored watermark (naive UTC), or None before the first complete run."""

    @abstractmethod
    def set_watermark(self, task: str, value: datetime) -> None:
        """Move the watermark; called only after the run's Changes are queued."""

    # --- fingerprints of what was last sent ----------------------------------------------
    @final
    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        """Fingerprints last queued, for `keys` or for every key of the kind."""
        found = self._get_values("sent", kind, None if keys is None else _unique(keys))
        return {k: str(v) for k, v in found.items()}

    @final
    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        """Remember what was queued."""
        if fingerprints:
            self._put_values("sent", kind, dict(fingerprints))

    @final
    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        """Forget keys, so the next detection sends them again."""
        if wanted := _unique(keys):
            self._delete_values("sent", kind, wanted)

    # --- applied versions ---------------------------------------------------------------
    @final
    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        """What was applied to Magento for these keys."""
        wanted = _unique(keys)
        return self._get_applied(kind, wanted) if wanted else {}

    @final
    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        """Record applied versions; an older version never overwrites a newer one."""
        if records:
            self._put_applied(kind, records, self.clock())

    # --- Magento ids --------------------------------------------------------------------
    @final
    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        """Magento entity ids known for these keys."""
        wanted = _unique(keys)
        found = self._get_values("mid", kind, wanted) if wanted else {}
        return {k: int(v) for k, v in found.items()}

    @final
    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        """Remember Magento entity ids."""
        if ids:
            self._put_values("mid", kind, {k: int(v) for k, v in ids.items()})

    # --- run log ------------------------------------------------------------------------
    @final
    def start_run(self, run: RunRecord) -> None:
        """Open a run in the log."""
        self._save_run(run)

    @final
    def finish_run(self, run: RunRecord) -> None:
        """Close a run with its status and counts (finished now unless `finished_at` is set)."""
        if run.finished_at is None:
            run.finished_at = datetime.now(UTC)
        self._save_run(run)

    @abstractmethod
    def add_errors(self, errors: Sequence[RunError]) -> None:
        """Log per-record errors."""

    @abstractmethod
    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Latest runs first."""

    @abstractmethod
    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        """Latest errors first."""

    # --- documents: small JSON records per (kind, key) -----------------------------------
    @final
    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Stored documents of a kind, for `keys` or all of them.

        Used for what does not fit the maps above: image scan results, gallery entry ids,
        task settings and the master switch (kind "option").
        """
        wanted = None if keys is None else _unique(keys)
        if wanted == []:
            return {}
        return {k: json.loads(v) for k, v in self._get_values("doc", kind, wanted).items()}

    @final
    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        """Store (replace) documents."""
        if docs:
            self._put_values("doc", kind, {k: json.dumps(v) for k, v in docs.items()})

    @final
    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        """Remove documents; unknown keys are ignored."""
        if wanted := _unique(keys):
            self._delete_values("doc", kind, wanted)

    # --- locks --------------------------------------------------------------------------
    @final
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lock `name` for `owner` unless someone else holds an unexpired one.

        Re-acquiring a lock one already holds extends it. Used so a task never runs twice at
        once; the expiry frees the lock of a process that died holding it.
        """
        now = self.clock()
        return self._write_lock(name, owner, now + ttl_seconds, now)

    @abstractmethod
    def release_lock(self, name: str, owner: str) -> None:
        """Give the lock back; releasing a lock held by another owner does nothing."""

    @final
    def lock_holder(self, name: str) -> str | None:
        """The owner of the unexpired lock `name`, or None when nobody holds it."""
        found = self._read_lock(name)
        return None if found is None or found[1] <= self.clock() else found[0]

    # --- counters -----------------------------------------------------------------------
    @final
    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        """Add `delta` to the counter `name` in one atomic step and return the new value.

        Parallel callers never lose an update, so a limit checked on the returned value holds
        however many processes count at once (sign-in lockouts). A counter left unchanged for
        `ttl_seconds` is forgotten: the next add starts again from `max(delta, 0)`. Every add
        restarts that time.
        """
        now = self.clock()
        return self._add_counter(name, delta, max(delta, 0), now, now + ttl_seconds)

    @abstractmethod
    def reset_counter(self, name: str) -> None:
        """Forget the counter `name`; unknown names are ignored."""

    @final
    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        """The live value of each counter in `names` (0 when missing or expired).

        Read only: reading neither creates a counter nor restarts its time.
        """
        wanted = _unique(names)
        found = self._read_counters(wanted) if wanted else {}
        now = self.clock()
        return {n: found[n][0] if n in found and found[n][1] > now else 0 for n in wanted}

    # --- logic --------------------------------------------------------------------------
    def get_option(self, name: str, default: Any = None) -> Any:
        """A persisted operator setting (task enabled, schedule, master switch)."""
        doc = self.get_docs("option", [name]).get(name)
        return default if doc is None else doc.get("value", default)

    def set_option(self, name: str, value: Any) -> None:
        """Persist an operator setting; `value` must be JSON-serialisable."""
        self.put_docs("option", {name: {"value": value}})

    def split_applied(
        self, changes: Sequence[Change]
    ) -> tuple[list[Change], list[Change], list[Change]]:
        """Split Changes into (fresh, stale, repeats) with one read of applied versions.

        Stale: not newer than what was applied. Repeat: newer, but Magento already has this
        fingerprint (a rerun after a crash); a forced Change is never a repeat.
        """
        fresh: list[Change] = []
        stale: list[Change] = []
        repeats: list[Change] = []
        by_kind: dict[str, list[Change]] = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change)
        for kind, group in by_kind.items():
            applied = self.get_applied(kind, [c.key for c in group])
            for change in group:
                done = applied.get(change.key)
                if done is not None and done.version >= change.version:
                    stale.append(change)
                elif (
                    done is not None and not change.force and done.fingerprint == change.fingerprint
                ):
                    repeats.append(change)
                else:
                    fresh.append(change)
        return fresh, stale, repeats

    def last_run(self, task: str) -> RunRecord | None:
        """The newest run of a task, if any."""
        found = self.runs(task=task, limit=1)
        return found[0] if found else None
