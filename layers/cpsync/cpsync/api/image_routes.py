"""JSON routes of the Images tab: search image files, check one item, sync or queue one file."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, field_validator

from cpsync.api.context import Ctx, require_user
from cpsync.api.images import check_file_name

__all__ = ["router"]

router = APIRouter(prefix="/api/images", dependencies=[Depends(require_user)])


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

    @field_validator("file_name")
    @classmethod
    def _valid(cls, value: str) -> str:
        return _clean(value)


def _search_text(q: Annotated[str, Query(max_length=255)]) -> str:
    try:
        return _clean(q)
    except ValueError as exc:
        raise HTTPException(400, f"{exc}.") from exc


@router.get("", summary="Image files of an item, or whose name starts with the text")
def search(q: Annotated[str, Depends(_search_text)], ctx: Ctx) -> list[dict[str, Any]]:
    return [asdict(row) for row in ctx.images.search(q)]


@router.post("/check", summary="Look for new or changed images of one item and queue them")
def check(body: ItemNo, ctx: Ctx) -> dict[str, Any]:
    return {"item_no": body.item_no, "queued": ctx.images.check(body.item_no)}


@router.post("/sync", summary="Send one image to Magento now")
def sync(body: FileName, ctx: Ctx) -> dict[str, Any]:
    outcomes = ctx.images.sync(body.file_name)
    if not outcomes:
        raise HTTPException(404, f"Image {body.file_name}: nothing to send (is the file there?).")
    return {
        "file_name": body.file_name,
        "applied": all(o.applied for o in outcomes),
        "outcomes": [asdict(o) for o in outcomes],
    }


@router.post("/queue", summary="Queue one image")
def queue(body: FileName, ctx: Ctx) -> dict[str, Any]:
    return {"file_name": body.file_name, "queued": ctx.images.queue(body.file_name)}
