"""The schedule preview: what a schedule would do, in the store's time, before it is saved.

`GET /api/schedules/preview?expression=...` reads the expression as the scheduler will
(`cpsync.schedules`, in `settings.zone`); a 5-field Unix cron (`0 1 * * *`) is turned into the
EventBridge form first, and the answer says which expression would be stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from cpsync.api import schemas as S
from cpsync.api.context import Ctx, require_user
from cpsync.schedules import ScheduleError, from_unix_cron, upcoming

__all__ = ["router"]

router = APIRouter(
    prefix="/api/schedules", dependencies=[Depends(require_user)], responses=S.ERRORS
)


@router.get(
    "/preview",
    summary="The next three run times of a schedule, in the store's time zone (saves nothing)",
    response_model=S.SchedulePreview,
)
def preview(
    expression: Annotated[str, Query(min_length=1, max_length=200)], ctx: Ctx
) -> dict[str, Any]:
    zone = ctx.runtime.settings.zone
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    try:
        stored = from_unix_cron(expression)
        times = upcoming(stored, zone, now)
    except ScheduleError as exc:
        raise HTTPException(400, f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from exc
    return {
        "expression": stored,
        "zone": zone.key,
        "next_runs": [t.astimezone(zone).isoformat() for t in times],
    }
