"""The queue port: Changes with visibility timeouts and a dead-letter queue."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cpsync.model import Change
from cpsync.redact import redact

__all__ = [
    "ChangeResult",
    "DeadLetter",
    "Fate",
    "QueueDepth",
    "QueueMessage",
    "QueuePort",
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
    """Split dead letters into the newest of each record and the older copies.

    Returns:
        (kept, older): the newest dead letter of each (kind, key), oldest first, and the older
        copies. Letters whose body cannot be read are all kept.
    """
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
        """`_hide` for a whole batch of (message, seconds, error).

        Adapters that can batch (SQS: 10 per call, one note write) override it, so a big batch
        settles in time.
        """
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
        """Park the messages received more than `max_receives` times, with their last error.

        Returns:
            The other messages, to be applied.
        """
        ready = []
        exhausted = []
        for message in messages:
            if message.receive_count > self.max_receives:
                reason = f"gave up after {message.receive_count - 1} attempts"
                if message.last_error:
                    reason += f": {message.last_error}"
                exhausted.append((message, reason))
            else:
                ready.append(message)
        if exhausted:  # one batch: SQS sends and deletes 10 per call
            self._park_many(exhausted)
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
        """Turn the updater's results into queue operations.

        Ack what is done, hide what is retried for `delay(...)` seconds, park what cannot
        succeed (with its reason).

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
