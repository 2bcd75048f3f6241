"""The one apply path: Changes in, one result per Change out.

`apply_changes()` is what the updater, "Sync Item", "Sync now" and new products all go
through: keep only the newest version per (kind, key), skip versions not newer than what was
applied and records whose applied fingerprint already matches (a repeat), group by kind across
the whole batch, hand each group to that kind's writer (kinds in `STAGES` order, the kinds of
a stage at the same time), record what was applied (one state write per kind and batch), and
return per Change: applied, skipped, retry (transient, with Magento's Retry-After when it gave
one) or parked (for good, with Magento's own message). Everything a record needs in Magento
(a new product's images included) is inside its writer, so it is retried and acknowledged with
that record.

`Updater.process()` reads queue messages, applies them, and lets the queue adapter's
`settle()` turn the results into acks, visibility changes and dead letters. Every message ends
acked, retried or parked: nothing is dropped silently.

What reached Magento is tallied per detection run (`run_tally`): one atomic counter per run and
fate, added to once per batch, so the dashboard can say "applied 12, 3 parked" for a task's last
run and not only what detection queued.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change
from cpsync.ports import (
    AppliedRecord,
    ChangeResult,
    Fate,
    QueueMessage,
    QueuePort,
    StatePort,
)

__all__ = [
    "LAST_WRITE",
    "STAGES",
    "BatchResult",
    "ChangeResult",
    "DrainResult",
    "Fate",
    "Updater",
    "apply_changes",
    "backoff_seconds",
    "run_tally",
]

logger = logging.getLogger(__name__)

#: The option holding when a write to Magento last succeeded (ISO, UTC): the Magento card's.
LAST_WRITE = "magento_last_write"


def backoff_seconds(
    receive_count: int, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Delay before a failed record is tried again: exponential with jitter, Retry-After wins."""
    if retry_after is not None:
        return min(max(retry_after, base), cap) if cap else retry_after
    ceiling = min(cap, base * 2 ** max(0, receive_count - 1))
    return random.uniform(ceiling / 2, ceiling) if ceiling else 0.0


def _result_of(change: Change, outcome: Outcome) -> ChangeResult:
    if outcome.applied:
        return ChangeResult(Fate.APPLIED)
    where = f"{change.kind} {change.key}"
    if outcome.retryable:
        error = outcome.error or "transient failure"
        return ChangeResult(Fate.RETRY, f"{where}: {error}", outcome.retry_after)
    return ChangeResult(Fate.PARKED, f"{where}: {outcome.error or 'refused by Magento'}")


#: The order kinds are written in within one batch: a category exists before products are
#: created in it and before links to it; a product exists before its stock, prices, images and
#: category links. The kinds of one stage are written at the same time (their requests share
#: the client's limiter); a kind not named here goes with the last stage.
STAGES: tuple[tuple[str, ...], ...] = (
    ("category",),
    ("product",),
    ("stock", "price", "image", "category_links"),
)


def _stage_of(kind: str) -> int:
    for index, kinds in enumerate(STAGES):
        if kind in kinds:
            return index
    return len(STAGES) - 1


def apply_changes(
    changes: Sequence[Change], state: StatePort, writers: Mapping[str, Writer]
) -> list[ChangeResult]:
    """Apply Changes to Magento; one result per Change, in the order given.

    Raises:
        ConfigurationError: Magento refused cpsync's credentials; no record is at fault.
    """
    # The writers' notes (Magento ids, documents, applied versions) are written once per kind
    # when the batch ends, when the state batches them (the runtime's does).
    with state.batch():
        return _apply(changes, state, writers)


def _apply(
    changes: Sequence[Change], state: StatePort, writers: Mapping[str, Writer]
) -> list[ChangeResult]:
    # Superseded copies, stale versions and repeats stay SKIPPED; the writers decide the rest.
    results = [ChangeResult(Fate.SKIPPED)] * len(changes)
    newest: dict[tuple[str, str], int] = {}
    for index, change in enumerate(changes):
        current = newest.get((change.kind, change.key))
        if current is None or change.version > changes[current].version:
            newest[(change.kind, change.key)] = index
    fresh, _, repeats = state.split_applied([changes[i] for i in newest.values()])

    # Repeats move their applied version forward too, so older copies count as stale.
    applied: dict[str, dict[str, AppliedRecord]] = {}
    _note_applied(applied, repeats)
    stages: list[dict[str, list[Change]]] = [{} for _ in STAGES]
    for change in fresh:
        stages[_stage_of(change.kind)].setdefault(change.kind, []).append(change)
    wrote = False
    rechecked: set[str] = set()  # kinds an earlier stage's writer may have applied
    try:
        for stage in stages:
            for kind in [k for k in stage if k in rechecked]:
                # a create carries its stock, prices and links: those now count as repeats
                stage[kind], _, again = state.split_applied(stage[kind])
                _note_applied(applied, again)
                if not stage[kind]:
                    del stage[kind]
            for kind in stage:
                writer = writers.get(kind)
                if writer is not None:
                    rechecked.update(writer.also_applies)
            for kind, outcomes in _write_stage(stage, writers).items():
                for change in stage[kind]:
                    outcome = outcomes[change.key]
                    if outcome.applied:
                        _note_applied(applied, [change])
                        wrote = True
                    results[newest[(kind, change.key)]] = _result_of(change, outcome)
    finally:  # what an earlier stage applied stays recorded when a later one stops the batch
        for kind, records in applied.items():  # one write per kind and batch
            state.put_applied(kind, records)
    if wrote:  # one small write per batch, for the dashboard's Magento card
        state.set_option(LAST_WRITE, datetime.now(UTC).isoformat())
    return results


def _note_applied(applied: dict[str, dict[str, AppliedRecord]], changes: list[Change]) -> None:
    """Add `changes` to the applied versions the batch writes when it ends."""
    for change in changes:
        applied.setdefault(change.kind, {})[change.key] = AppliedRecord(
            change.version, change.fingerprint
        )


def _write_stage(
    stage: Mapping[str, list[Change]], writers: Mapping[str, Writer]
) -> dict[str, dict[str, Outcome]]:
    """Write the kinds of one stage at the same time; the outcomes of each kind's records.

    Raises:
        ConfigurationError: Magento refused cpsync's credentials (from any writer).
    """

    def write(kind: str) -> dict[str, Outcome]:
        group = stage[kind]
        writer = writers.get(kind)
        if writer is None:
            reason = f"this cpsync has no writer for {kind!r} changes"
            return {c.key: Outcome(c.key, False, reason) for c in group}
        return writer.write(group)

    kinds = list(stage)
    if len(kinds) <= 1:
        return {kind: write(kind) for kind in kinds}
    with ThreadPoolExecutor(max_workers=len(kinds), thread_name_prefix="kind") as pool:
        return dict(zip(kinds, pool.map(write, kinds), strict=True))


@dataclass
class BatchResult:
    """What one batch did, message by message."""

    applied: int = 0
    skipped: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        """Add another batch's counts and errors to these."""
        self.applied += other.applied
        self.skipped += other.skipped
        self.retried += other.retried
        self.dead += other.dead
        self.errors.extend(other.errors)

    @classmethod
    def of(cls, settled: Sequence[tuple[QueueMessage, ChangeResult]]) -> BatchResult:
        """The counts of a settled batch."""
        result = cls()
        for _, outcome in settled:
            result.count(outcome)
        return result

    def count(self, result: ChangeResult) -> None:
        """Count one message under its fate."""
        if result.fate is Fate.APPLIED:
            self.applied += 1
        elif result.fate is Fate.SKIPPED:
            self.skipped += 1
        elif result.fate is Fate.RETRY:
            self.retried += 1
        else:
            self.dead += 1
            self.errors.append(result.reason or "parked")


@dataclass
class DrainResult(BatchResult):
    """A whole drain: the batch totals plus how long it took."""

    batches: int = 0
    seconds: float = 0.0


REPLY_DOC = "reply"
#: How long a run's tally is kept after its last change (the log shows older runs without it).
TALLY_SECONDS = 30 * 86400
_TALLIED = (Fate.APPLIED, Fate.SKIPPED, Fate.RETRY, Fate.PARKED)


def _tally_name(run_id: str, fate: Fate) -> str:
    return f"tally:{run_id}:{fate.value}"


def run_tally(state: StatePort, run_id: str) -> dict[str, int]:
    """What became of the Changes a run queued so far.

    Returns:
        Counts by fate: applied, skipped, retry (attempts that failed transiently), parked.
    """
    names = {f.value: _tally_name(run_id, f) for f in _TALLIED}
    found = state.get_counters(names.values())
    return {fate: found[name] for fate, name in names.items()}


def _tally(state: StatePort, changes: Sequence[Change], results: Sequence[ChangeResult]) -> None:
    """Add a batch's results to the tallies of the runs that queued them.

    A few counter adds per batch. A failure here is logged, never raised: the records are
    already in Magento.
    """
    counts = Counter((c.run_id, r.fate) for c, r in zip(changes, results, strict=True) if c.run_id)
    try:
        for (run_id, fate), n in counts.items():
            state.add_counter(_tally_name(run_id, fate), n, TALLY_SECONDS)
    except Exception:  # the batch is done: a lost tally only dims the dashboard
        logger.warning("could not tally a batch's outcomes", exc_info=True)


def reply_key(change: Change) -> str:
    """Where the outcome of a Change with a `reply` id is noted."""
    return f"{change.reply}:{change.kind}:{change.key}"


class Updater:
    """Applies queued Changes with the writers (through `apply_changes`).

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

    def apply(self, messages: Sequence[QueueMessage]) -> list[tuple[QueueMessage, ChangeResult]]:
        """Apply a received batch; one result per message (an unreadable one is parked)."""
        readable: list[tuple[QueueMessage, Change]] = []
        unreadable: list[tuple[QueueMessage, ChangeResult]] = []
        for message in messages:
            try:
                readable.append((message, Change.from_json(message.body)))
            except ValidationError as exc:
                reason = f"unreadable message {message.id}: {exc.errors()[0]['msg']}"
                unreadable.append((message, ChangeResult(Fate.PARKED, reason)))
        changes = [c for _, c in readable]
        results = apply_changes(changes, self.state, self.writers)
        self._note_replies(changes, results)
        _tally(self.state, changes, results)
        return unreadable + [(m, r) for (m, _), r in zip(readable, results, strict=True)]

    def _note_replies(self, changes: Sequence[Change], results: Sequence[ChangeResult]) -> None:
        """Note the outcome of Changes someone waits for.

        `Change.reply` marks them: the agent's "sync now", answered by this updater because
        only the cloud writes Magento.
        """
        notes = {
            reply_key(c): {"fate": r.fate.value, "reason": r.reason}
            for c, r in zip(changes, results, strict=True)
            if c.reply
        }
        if notes:
            self.state.put_docs(REPLY_DOC, notes)

    def delay_of(self, message: QueueMessage, result: ChangeResult) -> float:
        """The backoff before a retried message comes back."""
        return backoff_seconds(
            message.receive_count,
            self.retry_base_seconds,
            self.retry_max_seconds,
            result.retry_after,
        )

    def process(self, messages: Sequence[QueueMessage]) -> BatchResult:
        """Handle one received batch; every message is acked, retried or parked."""
        settled = self.apply(messages)
        self.queue.settle(settled, self.delay_of)
        return BatchResult.of(settled)

    def drain(
        self,
        batch_size: int = 1000,
        max_wait_seconds: float = 60.0,
        progress: Callable[[BatchResult], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ) -> DrainResult:
        """Process batches until the queue is empty, or `stop` is set.

        Messages waiting for a retry are waited for, up to `max_wait_seconds` without any
        progress; after that they stay queued for the next drain. Once `stop` is set no new
        batch is received (`cpsync serve` shutting down).
        """
        total = DrainResult()
        started = time.monotonic()
        idle_since: float | None = None
        while stop is None or not stop.is_set():
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
