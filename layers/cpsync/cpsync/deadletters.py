"""Dead letters a person can fix: choose them by filter, and retry them from Counterpoint.

A parked Change is only a pointer to a record (kind, key, task). Retrying it re-detects the
record with its task, forced, so what is queued is what Counterpoint holds now (the item the
user just fixed), not the parked body; the dead letters it replaced are then discarded. A
record Counterpoint no longer has (or no longer for e-commerce) is discarded, and the outcome
says so.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cpsync.control import run_locked
from cpsync.magento.refusals import group_of
from cpsync.model import Change
from cpsync.ports import DeadLetter, QueuePort, StatePort, record_of
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS, RunResult, Task

__all__ = ["DeadFilter", "RetryOutcome", "choose", "current", "retry_from_counterpoint"]


@dataclass(frozen=True)
class DeadFilter:
    """Which dead letters: by id, or by task, reason group and key (case-insensitive part)."""

    ids: Collection[str] | None = None
    task: str | None = None
    group: str | None = None
    key: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids is not None and letter.id not in self.ids:
            return False
        record = record_of(letter.body)
        if self.task and (record is None or record[2] != self.task):
            return False
        if self.key and (record is None or self.key.strip().lower() not in record[1].lower()):
            return False
        return not (self.group and group_of(letter.reason) != self.group)


def choose(letters: Sequence[DeadLetter], where: DeadFilter) -> list[DeadLetter]:
    """The letters `where` selects, in their order."""
    if where.ids is not None and not isinstance(where.ids, frozenset):
        where = replace(where, ids=frozenset(where.ids))
    return [d for d in letters if where.matches(d)]


def current(queue: QueuePort, state: StatePort) -> list[DeadLetter]:
    """The dead letters a person still has to look at, oldest first, one per record.

    A letter whose record Magento has received since in a newer version (a Sync Item, a later
    Change that went through) has nothing left to fix: it is discarded here.
    """
    letters = queue.parked()
    pointers: dict[str, list[tuple[str, str, str]]] = {}  # kind: (letter id, key, version)
    for letter in letters:
        try:
            data = json.loads(letter.body)
            pointer = (letter.id, str(data["key"]), str(data["version"]))
        except (ValueError, KeyError, TypeError):
            continue
        pointers.setdefault(str(data["kind"]), []).append(pointer)
    settled: set[str] = set()
    for kind, found in pointers.items():
        applied = state.get_applied(kind, {key for _, key, _ in found})
        for ident, key, version in found:
            done = applied.get(key)
            if done is not None and done.version > version:
                settled.add(ident)
    if settled:
        queue.discard_dead(sorted(settled))
    return [d for d in letters if d.id not in settled]


@dataclass
class RetryOutcome:
    """What a retry did, record by record ("product 123")."""

    queued: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "queued": self.queued,
            "gone": self.gone,
            "failed": self.failed,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        parts = []
        if self.queued:
            n = len(self.queued)
            what = f"1 record ({self.queued[0]})" if n == 1 else f"{n:,} records"
            parts.append(f"{what} read again from Counterpoint and queued")
        if self.gone:
            shown = ", ".join(self.gone[:5]) + (" …" if len(self.gone) > 5 else "")
            parts.append(
                f"{len(self.gone):,} no longer in Counterpoint for e-commerce, discarded ({shown})"
            )
        if self.failed:
            parts.append(
                f"{len(self.failed):,} could not be read: "
                + "; ".join(f["error"] for f in self.failed[:3])
            )
        return ("; ".join(parts) or "Nothing to retry") + "."


def retry_from_counterpoint(runtime: Runtime, letters: Sequence[DeadLetter]) -> RetryOutcome:
    """Re-detect the records of `letters` with their tasks (forced), queue what Counterpoint
    holds now, and discard the letters that were replaced or whose record is gone.

    Raises:
        TaskBusy: A task of these records is running; nothing of that task was retried.
    """
    outcome = RetryOutcome()
    by_task: dict[str, dict[str, list[DeadLetter]]] = {}
    for letter in letters:
        record = record_of(letter.body)
        if record is None or record[2] not in TASKS:
            outcome.failed.append(
                {"record": letter.id, "error": f"dead letter {letter.id} names no known task"}
            )
            continue
        kind, key, task = record
        by_task.setdefault(task, {}).setdefault(key, []).append(letter)
    for name, by_key in by_task.items():
        found: list[Change] = []
        keys = list(by_key)
        kind = TASKS[name].kind

        def detect(task: Task, keys: list[str] = keys, found: list[Change] = found) -> RunResult:
            return task.run(keys=keys, force=True, emit=found.extend)

        result = run_locked(runtime.state, runtime.task(name), detect)
        if found:
            runtime.queue.send(found)
        present = {c.key for c in found}
        errors = {e.key: e.message for e in result.errors if e.level == "error"}
        done: list[str] = []
        for key, replaced in by_key.items():
            label = f"{kind} {key}"
            if key in present:
                outcome.queued.append(label)
            elif key in errors:
                outcome.failed.append({"record": label, "error": errors[key]})
                continue
            else:
                outcome.gone.append(label)
            done.extend(d.id for d in replaced)
        if done:
            runtime.queue.discard_dead(done)
    return outcome
