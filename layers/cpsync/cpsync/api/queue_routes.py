"""JSON routes of the Queue and Dead letters tabs.

What waits, what was parked and why, and retrying or discarding parked Changes.

Every route here needs a signed-in user or an API key (`require_user` on the router).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from cpsync.api import schemas as S
from cpsync.api.actions import start_job
from cpsync.api.context import Ctx, require_user
from cpsync.api.paging import KeyFilter, Limit, Offset, TaskFilter, iso_time, key_matches, page_of
from cpsync.deadletters import DeadFilter, choose, current, records_of
from cpsync.jobs import JobRequest
from cpsync.magento.client import search_params
from cpsync.magento.refusals import GROUP_TITLES, explain, group_of
from cpsync.ports import DeadLetter
from cpsync.redact import describe

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", dependencies=[Depends(require_user)], responses=S.ERRORS)

ReasonFilter = Annotated[
    str | None,
    Query(max_length=40, description="Only this reason group (see `groups` in the answer)."),
]


def _body_fields(body: str) -> dict[str, Any]:
    """Kind, key and task of a queued Change, for people (the body itself stays internal)."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"kind": None, "key": None, "task": None}
    if not isinstance(data, dict):
        return {"kind": None, "key": None, "task": None}
    return {"kind": data.get("kind"), "key": data.get("key"), "task": data.get("task")}


# The queue and the dead letters are read whole and cut into pages here: SQS can only scan its
# DLQ, and a filter by reason needs every reason.


@router.get(
    "/queue",
    summary="Queue depth, oldest age and the waiting messages (paged, filtered)",
    response_model=S.QueueList,
)
def queue(
    ctx: Ctx,
    limit: Limit = 100,
    offset: Offset = 0,
    task: TaskFilter = None,
    key: KeyFilter = None,
) -> dict[str, Any]:
    runtime = ctx.runtime
    waiting = [
        {
            "id": m.id,
            **_body_fields(m.body),
            "receive_count": m.receive_count,
            "sent_at": iso_time(m.sent_at),
            "last_error": m.last_error,
        }
        for m in runtime.queue.peek(1_000_000)
    ]
    chosen = [w for w in waiting if (not task or w["task"] == task) and key_matches(w["key"], key)]
    page = page_of(chosen, limit, offset)
    return {"depth": asdict(runtime.queue.depth()), "messages": page.pop("items"), **page}


def _url_key_holders(ctx: Ctx, letters: list[DeadLetter]) -> dict[str, str]:
    """The product holding each clashing URL key, with one product search for the page.

    Empty when Magento cannot be asked: the reason then names no product.
    """
    wanted: dict[str, str] = {}
    for letter in letters:
        if group_of(letter.reason) != "url_key":
            continue
        try:
            payload = json.loads(letter.body).get("payload") or {}
        except (ValueError, AttributeError):
            continue
        url_key = payload.get("url_key") if isinstance(payload, dict) else None
        if isinstance(url_key, str) and url_key and "," not in url_key:
            wanted[letter.id] = url_key
    if not wanted:
        return {}
    try:
        found = ctx.runtime.magento.search_products(
            search_params([[("url_key", ",".join(set(wanted.values())), "in")]], page_size=300)
        )
    except Exception as exc:  # a hint only: the reason is shown without it
        logger.info("no URL key holders from Magento: %s", describe(exc))
        return {}
    holders: dict[str, str] = {}
    for item in found.get("items") or []:
        custom = item.get("custom_attributes") or []
        attrs = {a.get("attribute_code"): a.get("value") for a in custom}
        url_key = attrs.get("url_key") or item.get("url_key")
        if url_key:
            holders[str(url_key)] = f"SKU {item.get('sku')}, \u201c{item.get('name')}\u201d"
    return {i: holders[k] for i, k in wanted.items() if k in holders}


def _dead_row(letter: DeadLetter, holder: str | None) -> dict[str, Any]:
    told = explain(letter.reason, holder)
    return {
        "id": letter.id,
        **_body_fields(letter.body),
        "reason": told.raw,
        "group": told.group,
        "title": told.title,
        "cause": told.cause,
        "next_step": told.next_step,
        "receive_count": letter.receive_count,
        "failed_at": iso_time(letter.failed_at),
    }


@router.get(
    "/dead-letters",
    summary="Parked records (one per record), the reason in words, grouped, paged, filtered",
    response_model=S.DeadLetterPage,
)
def dead_letters(
    ctx: Ctx,
    limit: Limit = 100,
    offset: Offset = 0,
    task: TaskFilter = None,
    reason: ReasonFilter = None,
    key: KeyFilter = None,
) -> dict[str, Any]:
    letters = current(ctx.runtime.queue, ctx.runtime.state)
    # Groups count what the task and key filters leave, so a group's count is what its
    # Retry all would take.
    narrowed = choose(letters, DeadFilter(task=task, key=key))
    counts: dict[str, int] = {}
    for letter in narrowed:
        group = group_of(letter.reason)
        counts[group] = counts.get(group, 0) + 1
    chosen = choose(narrowed, DeadFilter(group=reason)) if reason else narrowed
    page = page_of(chosen, limit, offset)
    holders = _url_key_holders(ctx, page["items"])
    page["items"] = [_dead_row(d, holders.get(d.id)) for d in page["items"]]
    page["groups"] = [
        {"group": g, "title": GROUP_TITLES.get(g, g), "count": n}
        for g, n in sorted(counts.items(), key=lambda c: -c[1])
    ]
    return page


class DeadLetterChoice(BaseModel):
    """Dead letters to act on: by `ids`, or every one the filter (task, reason, key) selects.

    Nothing given retries all of them (discard needs `all`).
    """

    ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=10_000
    )
    task: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=40)
    key: str | None = Field(default=None, max_length=255)
    #: Discard needs a choice: ids, a filter, or `all` said out loud.
    all: bool = False


#: Most records one retry job takes (its request is one state document, under 400 KB).
RETRY_MAX = 20_000


def _retry_job(ctx: Ctx, response: Response, choice: DeadLetterChoice) -> dict[str, Any]:
    """Choose the letters here, where the dead-letter queue is, and start a retry job.

    The job reads their records again where Counterpoint is (see `cpsync.deadletters`).
    """
    where = DeadFilter(choice.ids, choice.task, choice.reason, choice.key)
    records = records_of(choose(current(ctx.runtime.queue, ctx.runtime.state), where))
    count = sum(len(keys) for keys in records.values())
    if count > RETRY_MAX:
        raise HTTPException(
            400,
            f"That is {count:,} records; retry at most {RETRY_MAX:,} at once "
            "(filter by task or reason).",
        )
    # The job runs in the function of the records' task when there is one task.
    task = next(iter(records)) if len(records) == 1 else None
    request = JobRequest(action="retry_dead", task=task, records=records)
    return start_job(ctx, response, request)


@router.post(
    "/dead-letters/retry",
    summary="Read the chosen records again from Counterpoint and queue them (a job; its result "
    "is a Retried)",
    response_model=S.JobStarted,
    status_code=202,
)
def retry_dead(body: DeadLetterChoice, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _retry_job(ctx, response, body)


@router.post(
    "/dead-letters/discard", summary="Delete dead letters for good", response_model=S.Discarded
)
def discard_dead(body: DeadLetterChoice, ctx: Ctx) -> dict[str, int]:
    if body.ids is None and not (body.task or body.reason or body.key or body.all):
        raise HTTPException(400, "Name the dead letters to discard (ids, a filter, or all).")
    where = DeadFilter(body.ids, body.task, body.reason, body.key)
    ids = [d.id for d in choose(current(ctx.runtime.queue, ctx.runtime.state), where)]
    return {"discarded": ctx.runtime.queue.discard_dead(ids) if ids else 0}


def _one_dead(ctx: Ctx, ident: str) -> list[str]:
    found = [d.id for d in current(ctx.runtime.queue, ctx.runtime.state) if d.id == ident]
    if not found:
        raise HTTPException(
            404, f"There is no dead letter {ident!r} (it may have been retried or discarded)."
        )
    return found


@router.post(
    "/dead-letters/{ident}/retry",
    summary="Read one dead letter's record again from Counterpoint and queue it (a job)",
    response_model=S.JobStarted,
    status_code=202,
)
def retry_one(
    ident: Annotated[str, Path(max_length=100)], ctx: Ctx, response: Response
) -> dict[str, Any]:
    return _retry_job(ctx, response, DeadLetterChoice(ids=_one_dead(ctx, ident)))


@router.delete(
    "/dead-letters/{ident}", summary="Discard one dead letter", response_model=S.Discarded
)
def discard_one(ident: Annotated[str, Path(max_length=100)], ctx: Ctx) -> dict[str, Any]:
    return {"discarded": ctx.runtime.queue.discard_dead(_one_dead(ctx, ident))}
