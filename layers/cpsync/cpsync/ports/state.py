"""The state port: cpsync's own memory."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cpsync.model import Change

__all__ = ["AppliedRecord", "RunError", "RunRecord", "StatePort"]


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


class StatePort(ABC):
    """cpsync's own memory: watermarks, fingerprints, applied versions, Magento ids, run log."""

    # --- watermarks -------------------------------------------------------------------
    @abstractmethod
    def get_watermark(self, task: str) -> datetime | None:
        """The stored watermark (naive UTC), or None before the first complete run."""

    @abstractmethod
    def set_watermark(self, task: str, value: datetime) -> None:
        """Move the watermark; called only after the run's Changes are queued."""

    # --- fingerprints of what was last sent ----------------------------------------------
    @abstractmethod
    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        """Fingerprints last queued, for `keys` or for every key of the kind."""

    @abstractmethod
    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        """Remember what was queued."""

    @abstractmethod
    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        """Forget keys, so the next detection sends them again."""

    # --- applied versions ---------------------------------------------------------------
    @abstractmethod
    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        """What was applied to Magento for these keys."""

    @abstractmethod
    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        """Record applied versions; an older version never overwrites a newer one."""

    # --- Magento ids --------------------------------------------------------------------
    @abstractmethod
    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        """Magento entity ids known for these keys."""

    @abstractmethod
    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        """Remember Magento entity ids."""

    # --- run log ------------------------------------------------------------------------
    @abstractmethod
    def start_run(self, run: RunRecord) -> None:
        """Open a run in the log."""

    @abstractmethod
    def finish_run(self, run: RunRecord) -> None:
        """Close a run with its status and counts."""

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
    @abstractmethod
    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Stored documents of a kind, for `keys` or all of them.

        Used for what does not fit the maps above: image scan results, gallery entry ids,
        task settings and the master switch (kind "option").
        """

    @abstractmethod
    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        """Store (replace) documents."""

    @abstractmethod
    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        """Remove documents; unknown keys are ignored."""

    # --- locks --------------------------------------------------------------------------
    @abstractmethod
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lock `name` for `owner` unless someone else holds an unexpired one.

        Re-acquiring a lock one already holds extends it. Used so a task never runs twice at
        once; the expiry frees the lock of a process that died holding it.
        """

    @abstractmethod
    def release_lock(self, name: str, owner: str) -> None:
        """Give the lock back; releasing a lock held by another owner does nothing."""

    @abstractmethod
    def lock_holder(self, name: str) -> str | None:
        """The owner of the unexpired lock `name`, or None when nobody holds it."""

    # --- counters -----------------------------------------------------------------------
    @abstractmethod
    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        """Add `delta` to the counter `name` in one atomic step and return the new value.

        Parallel callers never lose an update, so a limit checked on the returned value holds
        however many processes count at once (sign-in lockouts). A counter left unchanged for
        `ttl_seconds` is forgotten: the next add starts again from `max(delta, 0)`. Every add
        restarts that time.
        """

    @abstractmethod
    def reset_counter(self, name: str) -> None:
        """Forget the counter `name`; unknown names are ignored."""

    @abstractmethod
    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        """The live value of each counter in `names` (0 when missing or expired), read only:
        reading neither creates a counter nor restarts its time."""

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
