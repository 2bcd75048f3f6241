"""The manual actions behind the buttons: queue changed, queue all, queue item, sync item.

Manual actions ignore the master switch and the task switch (an operator asked for them) but
take the task's lock, so they never overlap a scheduled run (`cpsync.control.run_locked`).
"Sync item" bypasses the queue: the task detects the one record with `force`, the Changes are
captured instead of queued, and the writers apply them at once; the answer is the outcome.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cpsync.control import run_locked
from cpsync.magento.writer import Outcome
from cpsync.model import Change
from cpsync.ports import AppliedRecord, DeadLetter, QueueDepth, QueueMessage, QueuePort
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS, RunResult

__all__ = [
    "CaptureQueue",
    "ItemOutcome",
    "SyncResult",
    "apply_now",
    "queue_run",
    "run_json",
    "sync_item",
]


class CaptureQueue(QueuePort):
    """A queue that only collects what is sent (sync item applies it directly)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []

    def _put(self, bodies: Sequence[str], delay_seconds: float = 0) -> None:
        self.bodies.extend(bodies)

    def _take(self, max_messages: int, visibility_seconds: float) -> list[QueueMessage]:
        return []

    def _delete(self, messages: Sequence[QueueMessage]) -> None:
        return None

    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None:
        return None

    def _park(self, message: QueueMessage, reason: str) -> None:
        return None

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return []

    def _unpark(self, ids: Sequence[str]) -> list[str]:
        return []

    def discard_dead(self, ids: Sequence[str]) -> int:
        return 0

    def depth(self) -> QueueDepth:
        return QueueDepth(len(self.bodies), 0, 0, 0, 0.0)


def queue_run(runtime: Runtime, name: str, mode: str, key: str | None = None) -> RunResult:
    """Run task `name` now: `changed`, `all` (every record, forced) or `item` (one key, forced).

    Raises:
        TaskBusy: A run of the task is already going on.
        ValueError: Mode `item` without a key.
    """
    task = runtime.task(name)
    if mode == "all":
        return run_locked(runtime.state, task, lambda t: t.run(full=True, force=True))
    if mode == "item":
        if key is None:
            raise ValueError("queue item needs a key")
        return run_locked(runtime.state, task, lambda t: t.run(keys=[key], force=True))
    return run_locked(runtime.state, task, lambda t: t.run())


@dataclass(frozen=True)
class ItemOutcome:
    """One record's result, as the page shows it."""

    kind: str
    key: str
    applied: bool
    error: str | None = None


@dataclass
class SyncResult:
    """What "sync item" found and did."""

    run: RunResult
    outcomes: list[ItemOutcome] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return bool(self.outcomes) and all(o.applied for o in self.outcomes)


def apply_now(runtime: Runtime, changes: Sequence[Change]) -> list[ItemOutcome]:
    """Apply Changes with the writers directly, recording applied versions like the updater.

    A record that fails is forgotten by the fingerprint filter, so the next detection sends
    it again instead of believing it arrived.
    """
    results: list[ItemOutcome] = []
    by_kind: dict[str, list[Change]] = {}
    for change in changes:
        by_kind.setdefault(change.kind, []).append(change)
    for kind, group in by_kind.items():
        writer = runtime.writers.get(kind)
        if writer is None:
            outcomes = {
                c.key: Outcome(c.key, False, f"this cpsync has no writer for {kind!r}")
                for c in group
            }
        else:
            outcomes = writer.write(group)
        applied = {
            c.key: AppliedRecord(c.version, c.fingerprint) for c in group if outcomes[c.key].applied
        }
        if applied:
            runtime.state.put_applied(kind, applied)
        failed = [c.key for c in group if not outcomes[c.key].applied]
        if failed:
            runtime.state.forget_sent(kind, failed)
        results.extend(
            ItemOutcome(kind, c.key, outcomes[c.key].applied, outcomes[c.key].error) for c in group
        )
    return results


def sync_item(runtime: Runtime, name: str, key: str) -> SyncResult:
    """Detect one record with task `name` (forced) and apply it to Magento now.

    Raises:
        TaskBusy: A run of the task is already going on.
    """
    capture = CaptureQueue()
    context = dataclasses.replace(runtime.context, queue=capture)
    task = TASKS[name](context)
    run = run_locked(runtime.state, task, lambda t: t.run(keys=[key], force=True))
    changes = [Change.from_json(body) for body in capture.bodies]
    return SyncResult(run, apply_now(runtime, changes))


def run_json(result: RunResult) -> dict[str, Any]:
    """A run result for the API."""
    return {
        "task": result.task,
        "run_id": result.run_id,
        "mode": result.mode,
        "read": result.read,
        "queued": result.queued,
        "unchanged": result.unchanged,
        "removed": result.removed,
        "errors": [{"key": e.key, "message": e.message} for e in result.errors],
    }
