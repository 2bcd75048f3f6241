"""The updater: drains Changes from the queue into Magento.

For each batch: parse, keep only the newest version per (kind, key), skip versions not newer
than what was applied, skip records whose applied fingerprint already matches (a repeat),
group by kind, hand each group to that kind's writer, then per record: ack what was applied,
retry what failed transiently (with backoff), dead-letter what failed for good with Magento's
own message. Every message ends acked, retried or parked: nothing is dropped silently.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change
from cpsync.ports import AppliedRecord, QueueMessage, QueuePort, StatePort

__all__ = ["BatchResult", "DrainResult", "Updater", "backoff_seconds"]

logger = logging.getLogger(__name__)


def backoff_seconds(
    receive_count: int, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Delay before a failed record is tried again: exponential with jitter, Retry-After wins."""
    if retry_after is not None:
        return min(max(retry_after, base), cap) if cap else retry_after
    ceiling = min(cap, base * 2 ** max(0, receive_count - 1))
    return random.uniform(ceiling / 2, ceiling) if ceiling else 0.0


@dataclass
class BatchResult:
    """What one batch did, message by message."""

    applied: int = 0
    skipped: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.applied += other.applied
        self.skipped += other.skipped
        self.retried += other.retried
        self.dead += other.dead
        self.errors.extend(other.errors)


@dataclass
class DrainResult(BatchResult):
    """A whole drain: the batch totals plus how long it took."""

    batches: int = 0
    seconds: float = 0.0


class Updater:
    """Applies queued Changes with the writers.

    Args:
        queue: Where Changes wait.
        state: Applied versions (for stale checks and repeats).
        writers: One writer per kind.
        retry_base_seconds: First backoff of a transient failure; doubles per receive.
        retry_max_seconds: Longest backoff.
    """

    def __init__(
        self,
        queue: QueuePort,
        state: StatePort,
        writers: Mapping[str, Writer],
        retry_base_seconds: float = 5.0,
        retry_max_seconds: float = 900.0,
    ) -> None:
        self.queue = queue
        self.state = state
        self.writers = dict(writers)
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds

    def process(self, messages: Sequence[QueueMessage]) -> BatchResult:
        """Handle one received batch; every message is acked, retried or parked."""
        result = BatchResult()
        newest: dict[tuple[str, str], tuple[Change, QueueMessage]] = {}
        superseded: dict[tuple[str, str], list[QueueMessage]] = {}
        for message in messages:
            try:
                change = Change.from_json(message.body)
            except ValidationError as exc:
                self._park(message, f"unreadable message: {exc.errors()[0]['msg']}", result)
                continue
            slot = (change.kind, change.key)
            current = newest.get(slot)
            if current is None or change.version > current[0].version:
                if current is not None:
                    superseded.setdefault(slot, []).append(current[1])
                newest[slot] = (change, message)
            else:
                superseded.setdefault(slot, []).append(message)

        fresh, stale, repeats = self.state.split_applied([c for c, _ in newest.values()])
        self._record_repeats(repeats)
        done = [newest[(c.kind, c.key)][1] for c in stale + repeats]
        done += [m for ms in superseded.values() for m in ms]
        self.queue.ack(done)
        result.skipped += len(done)

        by_kind: dict[str, list[Change]] = {}
        for change in fresh:
            by_kind.setdefault(change.kind, []).append(change)
        for kind, changes in by_kind.items():
            writer = self.writers.get(kind)
            if writer is None:
                for change in changes:
                    message = newest[(kind, change.key)][1]
                    reason = f"{kind} {change.key}: this cpsync has no writer for {kind!r} changes"
                    self._park(message, reason, result)
                continue
            outcomes = writer.write(changes)
            self._settle(changes, outcomes, newest, result)
        return result

    def _record_repeats(self, repeats: list[Change]) -> None:
        """Move the applied version forward for repeats, so older copies count as stale."""
        by_kind: dict[str, dict[str, AppliedRecord]] = {}
        for change in repeats:
            record = AppliedRecord(change.version, change.fingerprint)
            by_kind.setdefault(change.kind, {})[change.key] = record
        for kind, records in by_kind.items():
            self.state.put_applied(kind, records)

    def _settle(
        self,
        changes: list[Change],
        outcomes: dict[str, Outcome],
        newest: dict[tuple[str, str], tuple[Change, QueueMessage]],
        result: BatchResult,
    ) -> None:
        applied: dict[str, AppliedRecord] = {}
        acks: list[QueueMessage] = []
        for change in changes:
            message = newest[(change.kind, change.key)][1]
            outcome = outcomes[change.key]
            if outcome.applied:
                applied[change.key] = AppliedRecord(change.version, change.fingerprint)
                acks.append(message)
            elif outcome.retryable:
                delay = backoff_seconds(
                    message.receive_count,
                    self.retry_base_seconds,
                    self.retry_max_seconds,
                    outcome.retry_after,
                )
                error = f"{change.kind} {change.key}: {outcome.error or 'transient failure'}"
                self.queue.retry_later(message, error, delay)
                result.retried += 1
            else:
                reason = f"{change.kind} {change.key}: {outcome.error or 'refused by Magento'}"
                self._park(message, reason, result)
        if applied:
            self.state.put_applied(changes[0].kind, applied)
        self.queue.ack(acks)
        result.applied += len(acks)

    def _park(self, message: QueueMessage, reason: str, result: BatchResult) -> None:
        self.queue.dead_letter(message, reason)
        result.dead += 1
        result.errors.append(reason)

    def drain(
        self,
        batch_size: int = 100,
        max_wait_seconds: float = 60.0,
        progress: Callable[[BatchResult], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> DrainResult:
        """Process batches until the queue is empty.

        Messages waiting for a retry are waited for, up to `max_wait_seconds` without any
        progress; after that they stay queued for the next drain.
        """
        total = DrainResult()
        started = time.monotonic()
        idle_since: float | None = None
        while True:
            messages = self.queue.receive(batch_size)
            if messages:
                idle_since = None
                batch = self.process(messages)
                total.add(batch)
                total.batches += 1
                if progress:
                    progress(batch)
                continue
            depth = self.queue.depth()
            if depth.visible + depth.in_flight + depth.delayed == 0:
                break
            now = time.monotonic()
            idle_since = idle_since or now
            if now - idle_since > max_wait_seconds:
                logger.info("drain stops with %d messages waiting for a retry", depth.delayed)
                break
            sleep(0.05)
        total.seconds = time.monotonic() - started
        return total
