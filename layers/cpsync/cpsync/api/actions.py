"""The manual actions behind the buttons: queue changed, queue all, queue item, sync item.

Manual actions ignore the master switch and the task switch (an operator asked for them) but
take the task's lock, so they never overlap a scheduled run (`cpsync.control.run_locked`).
"Sync item" bypasses the queue: the task detects the one record with `force`, its Changes go
straight to the one apply path (`Runtime.apply`), and the answer is the outcome.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Response

from cpsync.api.context import ApiContext
from cpsync.control import run_locked
from cpsync.jobs import JobError, JobRequest, Jobs
from cpsync.model import Change
from cpsync.ports import Fate
from cpsync.redact import describe
from cpsync.runtime import Runtime
from cpsync.tasks import RunResult
from cpsync.updater import REPLY_DOC, reply_key

__all__ = [
    "ItemOutcome",
    "SyncResult",
    "apply_now",
    "queue_run",
    "run_json",
    "start_job",
    "sync_item",
]


def queue_run(runtime: Runtime, name: str, mode: str, key: str | None = None) -> RunResult:
    """Run task `name` now: `changed`, `all` (every record, forced) or `item` (one key, forced).

    Raises:
        TaskBusy: A run of the task is already going on.
        ValueError: Mode `item` without a key.
    """
    task = runtime.task(name)
    if mode == "all":
        return run_locked(
            runtime.state, task, lambda t: t.run(full=True, force=True, trigger="queue_all")
        )
    if mode == "item":
        if key is None:
            raise ValueError("queue item needs a key")
        return run_locked(
            runtime.state, task, lambda t: t.run(keys=[key], force=True, trigger="queue_item")
        )
    return run_locked(runtime.state, task, lambda t: t.run(trigger="queue_changed"))


@dataclass(frozen=True)
class ItemOutcome:
    """One record's result, as the page shows it."""

    kind: str
    key: str
    applied: bool
    error: str | None = None
    #: Failed transiently and queued: the updater tries it again.
    queued: bool = False


@dataclass
class SyncResult:
    """What "sync item" found and did."""

    run: RunResult
    outcomes: list[ItemOutcome] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        """Whether every record reached Magento; False when nothing was found to apply."""
        return bool(self.outcomes) and all(o.applied for o in self.outcomes)


def apply_now(runtime: Runtime, changes: Sequence[Change]) -> list[ItemOutcome]:
    """Apply Changes at once through the one apply path (`Runtime.apply`).

    A record that failed transiently is queued, so the updater retries it like any other; a
    record Magento refused is forgotten by the fingerprint filter, so the next detection sends
    it again instead of believing it arrived. The answer says which.
    """
    if not runtime.writes_magento:
        return _apply_through_queue(runtime, changes)
    results = runtime.apply(changes)
    retry = [c for c, r in zip(changes, results, strict=True) if r.fate is Fate.RETRY]
    if retry:
        runtime.queue.send(retry)
    by_kind: dict[str, list[str]] = {}
    for change, result in zip(changes, results, strict=True):
        if result.fate is Fate.PARKED:
            by_kind.setdefault(change.kind, []).append(change.key)
    for kind, keys in by_kind.items():
        runtime.state.forget_sent(kind, keys)
    return [
        ItemOutcome(
            c.kind,
            c.key,
            r.done,
            None if r.done else (r.reason or "failed").removeprefix(f"{c.kind} {c.key}: "),
            queued=r.fate is Fate.RETRY,
        )
        for c, r in zip(changes, results, strict=True)
    ]


def _apply_through_queue(
    runtime: Runtime, changes: Sequence[Change], poll_seconds: float = 0.5
) -> list[ItemOutcome]:
    """The agent's "apply now": send the Changes with a reply id and wait for the outcome.

    Waits up to `sync_now_wait_seconds` for the cloud's updater to note what became of each.
    """
    reply = uuid.uuid4().hex
    tagged = [c.model_copy(update={"reply": reply}) for c in changes]
    runtime.queue.send(tagged)
    keys = {reply_key(c): c for c in tagged}
    notes: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + runtime.settings.sync_now_wait_seconds
    while True:
        found = runtime.state.get_docs(REPLY_DOC, list(keys))
        notes = {k: v for k, v in found.items() if v.get("fate") != Fate.RETRY.value}
        if len(notes) == len(keys) or time.monotonic() >= deadline:
            break
        time.sleep(poll_seconds)
    runtime.state.delete_docs(REPLY_DOC, list(notes))
    outcomes = []
    for key, change in keys.items():
        note = notes.get(key) or found.get(key)
        fate = note.get("fate") if note else None
        if fate in (Fate.APPLIED.value, Fate.SKIPPED.value):
            outcomes.append(ItemOutcome(change.kind, change.key, True))
            continue
        reason = str((note or {}).get("reason") or "")
        reason = reason.removeprefix(f"{change.kind} {change.key}: ")
        if fate == Fate.PARKED.value:
            outcomes.append(ItemOutcome(change.kind, change.key, False, reason or "refused"))
        else:
            waiting = reason or "sent; the updater has not applied it yet"
            outcomes.append(ItemOutcome(change.kind, change.key, False, waiting, queued=True))
    return outcomes


def sync_item(runtime: Runtime, name: str, key: str) -> SyncResult:
    """Detect one record with task `name` (forced) and apply it to Magento now.

    Raises:
        TaskBusy: A run of the task is already going on.
    """
    found: list[Change] = []
    task = runtime.task(name)
    run = run_locked(
        runtime.state,
        task,
        lambda t: t.run(keys=[key], force=True, emit=found.extend, trigger="sync_item"),
    )
    return SyncResult(run, apply_now(runtime, found))


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
        "disabled": result.disabled,
        "errors": [{"key": e.key, "message": e.message, "level": e.level} for e in result.errors],
    }


def start_job(ctx: ApiContext, response: Response, request: JobRequest) -> dict[str, Any]:
    """Store the job, hand it to the runtime's runner and answer 202 at once."""
    jobs = Jobs(ctx.runtime.state, ctx.clock)
    job = jobs.create(request, ctx.jobs.runner, ctx.jobs.timeout)
    try:
        ctx.jobs.start(job)
    except Exception as exc:  # the invoke or the command could not be sent
        job = jobs.finish(
            job, error=JobError(status=503, detail=f"The action could not start: {describe(exc)}.")
        )
    response.status_code = 202
    return {"job": job.public(ctx.clock())}
