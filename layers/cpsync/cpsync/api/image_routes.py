"""JSON routes of the Images tab: search image files, check one item, sync or queue one file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field, field_validator

from cpsync.api import schemas as S
from cpsync.api.actions import start_job
from cpsync.api.context import Ctx, require_user
from cpsync.api.images import check_file_name
from cpsync.jobs import JobRequest

__all__ = ["router"]

router = APIRouter(prefix="/api/images", dependencies=[Depends(require_user)], responses=S.ERRORS)


def _clean(value: str) -> str:
    return check_file_name(value)


class ItemNo(BaseModel):
    """An item number (the Item No field)."""

    item_no: str = Field(max_length=255)

    @field_validator("item_no")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("enter an item number")
        return value.strip()


class FileName(BaseModel):
    """One image file name, as listed by the search."""

    file_name: str = Field(max_length=255)
    item_no: str | None = Field(
        default=None, max_length=255, description="Whose file it is (for custom file names)."
    )


def _search_text(
    item_no: Annotated[str | None, Query(max_length=255, description="An item number")] = None,
    file_name: Annotated[
        str | None, Query(max_length=255, description="`12345`, `12345^YELLOW` or a file name")
    ] = None,
) -> str:
    """The text to search: an item number (may hold '/') or a file name (may not).

    Raises:
        HTTPException: 400 when neither or both are given, or the text could leave the folder.
    """
    if (item_no is None) == (file_name is None):
        raise HTTPException(400, "Give either item_no or file_name.")
    try:
        if file_name is not None:
            return _clean(file_name)
        text = (item_no or "").strip()
        if not text:
            raise ValueError("enter an item number")
        if ".." in text or "\\" in text or any(ord(c) < 32 for c in text):
            raise ValueError(f"{text!r} is not an item number")
        return text
    except ValueError as exc:
        raise HTTPException(400, str(exc)[:1].upper() + str(exc)[1:] + ".") from exc


def _file_name(body: FileName) -> str:
    """The body's file name, or 400 when it is empty or could leave the image folder.

    Raises:
        HTTPException: 400 naming what is wrong.
    """
    try:
        return _clean(body.file_name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)[:1].upper() + str(exc)[1:] + ".") from exc


def _item_or_none(value: str | None) -> str | None:
    text = (value or "").strip()
    return text if text and ".." not in text and all(ord(c) >= 32 for c in text) else None


def _job(
    ctx: Ctx,
    response: Response,
    action: str,
    key: str,
    item_no: str | None = None,
    **page: int | None,
) -> dict[str, Any]:
    request = JobRequest.model_validate({"action": action, "key": key, "item_no": item_no, **page})
    return start_job(ctx, response, request)


@router.get(
    "",
    summary="Image files of an item, or of one grid value (`12345^YELLOW`) (a job; its result "
    "is a list of ImageFile, or with offset or limit one page: rows, total, offset, limit)",
    response_model=S.JobStarted,
    status_code=202,
)
def search(
    q: Annotated[str, Depends(_search_text)],
    ctx: Ctx,
    response: Response,
    offset: Annotated[
        int | None, Query(ge=0, description="First file of the page (paged when given)")
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=1000, description="Files per page (100 when only offset)")
    ] = None,
) -> dict[str, Any]:
    return _job(ctx, response, "image_search", q, offset=offset, limit=limit)


@router.post(
    "/check",
    summary="Look for new or changed images of one item and queue them (a job; its result is "
    "an ImageCheck)",
    response_model=S.JobStarted,
    status_code=202,
)
def check(body: ItemNo, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _job(ctx, response, "image_check", body.item_no)


@router.post(
    "/sync",
    summary="Send one image to Magento now (a job; its result is an ImageSync)",
    response_model=S.JobStarted,
    status_code=202,
)
def sync(body: FileName, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _job(ctx, response, "image_sync", _file_name(body), _item_or_none(body.item_no))


@router.post(
    "/queue",
    summary="Queue one image (a job; its result is an ImageQueued)",
    response_model=S.JobStarted,
    status_code=202,
)
def queue(body: FileName, ctx: Ctx, response: Response) -> dict[str, Any]:
    return _job(ctx, response, "image_queue", _file_name(body), _item_or_none(body.item_no))
