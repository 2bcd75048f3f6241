"""Dead letters a person can fix: choose them by filter, and retry them from Counterpoint.

A parked Change is only a pointer to a record (kind, key, task). Retrying it re-detects the
record with its task, forced, so what is queued is what Counterpoint holds now (the item the
user just fixed), not the parked body. A record Counterpoint no longer has (or no longer for
e-commerce) is dropped, and the outcome says so.

The retry runs where Counterpoint is (this process, the task's Lambda, the agent in the store),
and the agent may not touch the dead-letter queue. So the API chooses the letters and hands the
job only their records (task and keys); the job leaves a *mark* per record in state (the
version it queued, or "now" for a record that is gone), and `current`, which runs where the
dead letters are listed, discards every letter older than its record's mark, or older than
what Magento has applied since.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cpsync.control import run_locked
from cpsync.magento.refusals import group_of
from cpsync.model import Change, make_version
from cpsync.ports import DeadLetter, QueuePort, StatePort, record_of
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS, RunResult, Task

__all__ = [
    "RETRY_MARK",
    "DeadFilter",
    "RetryOutcome",
    "choose",
    "current",
    "records_of",
    "retry_from_counterpoint",
]

#: State documents (kind) a retry leaves per record: "<kind>:<key>" -> {"version": ...}.
RETRY_MARK = "dead_retry"


@dataclass(frozen=True)
class DeadFilter:
    """Which dead letters: by id, or by task, reason group and key (case-insensitive part)."""

    ids: Collection[str] | None = None
    task: str | None = None
    group: str | None = None
    key: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """Whether `letter` passes every criterion that is set.

        A letter whose record cannot be read never matches a task or key criterion.
        """
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

    A letter is settled, and discarded here, when its record was queued again since (a retry's
    mark, newer than the letter), was found gone by a retry, or reached Magento in a newer
    version (a Sync Item, a later Change that went through).
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
    used_marks: set[str] = set()
    for kind, found in pointers.items():
        keys = {key for _, key, _ in found}
        applied = state.get_applied(kind, keys)
        marks = state.get_docs(RETRY_MARK, [f"{kind}:{k}" for k in keys])
        for ident, key, version in found:
            done = applied.get(key)
            mark = marks.get(f"{kind}:{key}")
            if mark is not None and str(mark.get("version", "")) > version:
                settled.add(ident)
                used_marks.add(f"{kind}:{key}")
            elif done is not None and done.version > version:
                settled.add(ident)
    if settled:
        queue.discard_dead(sorted(settled))
    if used_marks:
        state.delete_docs(RETRY_MARK, sorted(used_marks))
    return [d for d in letters if d.id not in settled]


def records_of(letters: Sequence[DeadLetter]) -> dict[str, list[str]]:
    """The records of `letters` by task (keys once each), as a retry job takes them."""
    found: dict[str, dict[str, None]] = {}
    for letter in letters:
        record = record_of(letter.body)
        if record is not None and record[2] in TASKS:
            found.setdefault(record[2], {})[record[1]] = None
    return {task: list(keys) for task, keys in found.items()}


@dataclass
class RetryOutcome:
    """What a retry did, record by record ("product 123")."""

    queued: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The outcome as the API answers it: the lists and the `summary` sentence."""
        return {
            "queued": self.queued,
            "gone": self.gone,
            "failed": self.failed,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """One sentence for the operator: how many records were queued, gone, failed."""
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


def retry_from_counterpoint(runtime: Runtime, records: dict[str, list[str]]) -> RetryOutcome:
    """Re-detect `records` (keys by task), forced, and queue what Counterpoint holds now.

    Each record is marked so its older dead letters are discarded where they are listed
    (`current`).

    Raises:
        TaskBusy: A task of these records is running; nothing of that task was retried.
    """
    outcome = RetryOutcome()
    for name, keys in records.items():
        if name not in TASKS:
            outcome.failed.append({"record": name, "error": f"there is no task {name!r}"})
            continue
        found: list[Change] = []
        kind = TASKS[name].kind

        def detect(task: Task, keys: list[str] = keys, found: list[Change] = found) -> RunResult:
            return task.run(keys=keys, force=True, emit=found.extend)

        result = run_locked(runtime.state, runtime.task(name), detect)
        if found:
            runtime.queue.send(found)
        queued = {c.key: c.version for c in found}
        errors = {e.key: e.message for e in result.errors if e.level == "error"}
        gone_version = make_version(None, datetime.now(UTC))
        marks: dict[str, dict[str, Any]] = {}
        for key in keys:
            label = f"{kind} {key}"
            if key in queued:
                outcome.queued.append(label)
                marks[f"{kind}:{key}"] = {"version": queued[key]}
            elif key in errors:
                outcome.failed.append({"record": label, "error": errors[key]})
            else:
                outcome.gone.append(label)
                marks[f"{kind}:{key}"] = {"version": gone_version}
        runtime.state.put_docs(RETRY_MARK, marks)
    return outcome
