"""The ports every adapter implements: the queue of Changes, cpsync's own state, and blobs.

The logic (receive limits, dead-letter reasons, stale-version checks) lives here; an adapter
(`embedded.py` for SQLite, `aws.py` for SQS/DynamoDB) implements only small primitives. One
contract test suite runs against every adapter.
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cpsync.model import Change
from cpsync.redact import redact

__all__ = [
    "AppliedRecord",
    "BlobNotFound",
    "BlobPort",
    "ChangeResult",
    "DeadLetter",
    "Fate",
    "QueueDepth",
    "QueueMessage",
    "QueuePort",
    "RunError",
    "RunRecord",
    "StatePort",
    "WaitingMessage",
    "newest_per_record",
    "record_of",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueMessage:
    """A received message: `receipt` proves this receive and is needed to ack it."""

    id: str
    receipt: str
    body: str
    receive_count: int
    sent_at: float
    last_error: str | None = None


class Fate(StrEnum):
    """What became of one Change."""

    APPLIED = "applied"  # Magento holds it now
    SKIPPED = "skipped"  # nothing to do: stale, a repeat, or a newer copy came in the same batch
    RETRY = "retry"  # failed transiently: try again later
    PARKED = "parked"  # cannot succeed as it is: a person must look (the reason says why)


@dataclass(frozen=True)
class ChangeResult:
    """The result of one Change; `reason` names the record (`<kind> <key>: ...`)."""

    fate: Fate
    reason: str | None = None
    #: For RETRY: how long Magento asked us to wait (Retry-After), else None.
    retry_after: float | None = None

    @property
    def done(self) -> bool:
        """Finished: nothing is left to do for this Change (applied or skipped)."""
        return self.fate in (Fate.APPLIED, Fate.SKIPPED)


@dataclass(frozen=True)
class DeadLetter:
    """A message parked for a person, with the reason in words."""

    id: str
    body: str
    reason: str
    receive_count: int
    failed_at: float


def record_of(body: str) -> tuple[str, str, str] | None:
    """(kind, key, task) of a queued Change body, or None when it cannot be read."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("kind") or not data.get("key"):
        return None
    return str(data["kind"]), str(data["key"]), str(data.get("task") or "")


def newest_per_record(
    found: Sequence[DeadLetter],
) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """(kept, older): the newest dead letter of each (kind, key), oldest first, and the
    older copies. Letters whose body cannot be read are all kept."""
    newest: dict[tuple[str, str], DeadLetter] = {}
    kept: list[DeadLetter] = []
    older: list[DeadLetter] = []
    for letter in sorted(found, key=lambda d: (d.failed_at, d.id)):
        record = record_of(letter.body)
        if record is None:
            kept.append(letter)
            continue
        before = newest.get(record[:2])
        if before is not None:
            older.append(before)
        newest[record[:2]] = letter
    kept.extend(newest.values())
    return sorted(kept, key=lambda d: (d.failed_at, d.id)), older


@dataclass(frozen=True)
class WaitingMessage:
    """A queued message as the sync interface lists it, without receiving it."""

    id: str
    body: str
    receive_count: int
    sent_at: float
    visible_at: float
    last_error: str | None = None


@dataclass(frozen=True)
class QueueDepth:
    """How much work is waiting: visible now, in flight, delayed, parked."""

    visible: int
    in_flight: int
    delayed: int
    dead: int
    oldest_age_seconds: float


class QueuePort(ABC):
    """A queue of Change messages with visibility timeouts and a dead-letter queue.

    Args:
        visibility_seconds: How long a received message stays hidden before it reappears.
        max_receives: After this many receives without an ack, the next receive parks it.
    """

    def __init__(self, visibility_seconds: float = 120, max_receives: int = 8) -> None:
        self.visibility_seconds = visibility_seconds
        self.max_receives = max_receives

    # --- primitives for adapters -------------------------------------------------------
    @abstractmethod
    def _put(self, bodies: Sequence[str], delay_seconds: float = 0) -> None: ...

    @abstractmethod
    def _take(self, max_messages: int, visibility_seconds: float) -> list[QueueMessage]: ...

    @abstractmethod
    def _delete(self, messages: Sequence[QueueMessage]) -> None: ...

    @abstractmethod
    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None: ...

    @abstractmethod
    def _park(self, message: QueueMessage, reason: str) -> None: ...

    def _hide_many(self, hidden: Sequence[tuple[QueueMessage, float, str | None]]) -> None:
        """`_hide` for a whole batch of (message, seconds, error); adapters that can batch
        (SQS: 10 per call, one note write) override it, so a big batch settles in time."""
        for message, seconds, error in hidden:
            self._hide(message, seconds, error)

    def _park_many(self, parked: Sequence[tuple[QueueMessage, str]]) -> None:
        """`_park` for a whole batch of (message, reason); adapters that can batch override it."""
        for message, reason in parked:
            self._park(message, reason)

    @abstractmethod
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The parked messages, oldest first."""

    @abstractmethod
    def _unpark(self, ids: Sequence[str]) -> list[str]: ...

    @abstractmethod
    def discard_dead(self, ids: Sequence[str]) -> int:
        """Delete parked messages for good; returns how many were deleted."""

    @abstractmethod
    def depth(self) -> QueueDepth:
        """Counts for the dashboard and alarms."""

    def peek(self, limit: int = 100) -> list[WaitingMessage]:
        """Up to `limit` queued messages, oldest first, without receiving them.

        An adapter that can list cheaply overrides this. SQS cannot list a queue without
        receiving (which would count as a try), so its default answer is empty and the sync
        interface shows the depth only.
        """
        return []

    # --- the logic --------------------------------------------------------------------
    def send(self, changes: Iterable[Change]) -> int:
        """Queue Changes; returns how many were sent."""
        bodies = [c.to_json() for c in changes]
        if bodies:
            self._put(bodies)
        return len(bodies)

    def receive(self, max_messages: int = 10) -> list[QueueMessage]:
        """Take up to `max_messages`; messages received too often are parked, not returned."""
        return self.park_exhausted(self._take(max_messages, self.visibility_seconds))

    def park_exhausted(self, messages: Sequence[QueueMessage]) -> list[QueueMessage]:
        """Park the messages received more than `max_receives` times (with their last error)
        and return the others, to be applied."""
        ready = []
        for message in messages:
            if message.receive_count > self.max_receives:
                reason = f"gave up after {message.receive_count - 1} attempts"
                if message.last_error:
                    reason += f": {message.last_error}"
                self._park(message, reason)
            else:
                ready.append(message)
        return ready

    def ack(self, messages: Sequence[QueueMessage]) -> None:
        """Remove messages that were handled (applied, stale or superseded)."""
        if messages:
            self._delete(messages)

    def retry_later(self, message: QueueMessage, error: str, delay_seconds: float) -> None:
        """Hide a message that failed transiently; it comes back after `delay_seconds`."""
        self._hide(message, delay_seconds, redact(error))

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        """Park a message that cannot succeed, with a reason a person can act on."""
        reason = redact(reason)
        logger.warning("dead-lettered message %s: %s", message.id, reason)
        self._park(message, reason)

    def settle(
        self,
        settled: Sequence[tuple[QueueMessage, ChangeResult]],
        delay: Callable[[QueueMessage, ChangeResult], float],
        delete_done: bool = True,
    ) -> None:
        """Turn the updater's results into queue operations: ack what is done, hide what is
        retried for `delay(...)` seconds, park what cannot succeed (with its reason).

        `delete_done=False` is for a Lambda batch, whose event source mapping deletes every
        message not reported as failed: done messages then only lose their notes.
        """
        done = [m for m, r in settled if r.done]
        if delete_done:
            self.ack(done)
        else:
            self._forget(done)
        retried = [
            (m, delay(m, r), redact(r.reason or "transient failure"))
            for m, r in settled
            if r.fate is Fate.RETRY
        ]
        if retried:
            self._hide_many(retried)
        parked = [(m, redact(r.reason or "refused")) for m, r in settled if r.fate is Fate.PARKED]
        for message, reason in parked:
            logger.warning("dead-lettered message %s: %s", message.id, reason)
        if parked:
            self._park_many(parked)

    def _forget(self, messages: Sequence[QueueMessage]) -> None:
        """Drop what an adapter keeps about finished messages it does not delete itself."""
        return None

    def parked(self) -> list[DeadLetter]:
        """Every dead letter, oldest first, one per record.

        A record parked again (each Queue All sends it anew) leaves older copies behind: here
        the newest stays and the older ones are discarded. This is done when listing rather
        than when parking because SQS cannot find a record's dead letter without scanning the
        whole DLQ, and listing scans it anyway; SqsQueue overrides this to do it in that scan.
        """
        kept, older = newest_per_record(self.dead_letters(limit=1_000_000))
        if older:
            self.discard_dead([d.id for d in older])
        return kept

    def redrive(self, ids: Sequence[str] | None = None) -> list[str]:
        """Put parked messages back on the queue (all of them when `ids` is None)."""
        if ids is None:
            ids = [d.id for d in self.dead_letters(limit=1_000_000)]
        return self._unpark(ids)


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


class BlobNotFound(KeyError):
    """No blob has this digest."""


class BlobPort(ABC):
    """Content-addressed storage for image bytes: messages carry the sha256, never the bytes."""

    @staticmethod
    def digest(data: bytes) -> str:
        """The key of `data`: its sha256 in hex."""
        return hashlib.sha256(data).hexdigest()

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data` (a no-op when already stored) and return its digest."""

    @abstractmethod
    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`.

        Raises:
            BlobNotFound: Nothing is stored under it.
        """

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether `digest` is stored."""
