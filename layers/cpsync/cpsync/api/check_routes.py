"""JSON routes of the setup check (`cpsync check` from the dashboard).

`POST /api/check` starts the check as a job (it reads Counterpoint and the image files, so it
runs where they are); its result is a CheckReport, also kept for `GET /api/check`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from cpsync.api import schemas as S
from cpsync.api.actions import start_job
from cpsync.api.context import Ctx, require_user
from cpsync.check import CHECK_REPORT
from cpsync.jobs import JobRequest

__all__ = ["router"]

router = APIRouter(prefix="/api/check", dependencies=[Depends(require_user)], responses=S.ERRORS)


class CheckFinding(BaseModel):
    """One thing the check found, and how to fix it."""

    area: Literal["counterpoint", "magento", "images"]
    level: Literal["ok", "warning", "blocking"]
    sentence: str
    fix: str = ""


class CheckReport(BaseModel):
    """The latest check: `ok` is None until one has run, false when something blocks a sync."""

    ok: bool | None
    checked_at: str | None = None
    seconds: float | None = None
    counts: dict[str, int] = {}
    findings: list[CheckFinding] = []


@router.get("", summary="The latest setup check's findings", response_model=CheckReport)
def latest_check(ctx: Ctx) -> dict[str, Any]:
    found = ctx.runtime.state.get_option(CHECK_REPORT)
    if not isinstance(found, dict):
        return {"ok": None, "checked_at": None, "findings": []}
    return found


@router.post(
    "",
    summary="Check Counterpoint, Magento and the images (a job; its result is a CheckReport)",
    response_model=S.JobStarted,
    status_code=202,
)
def start_check(ctx: Ctx, response: Response) -> dict[str, Any]:
    return start_job(ctx, response, JobRequest(action="check"))
