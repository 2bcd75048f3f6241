"""What the list routes share: their query parameters, one page of rows, and times as text.

Every list pages on the server (`limit`, `offset`, `total`) and filters by task and key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query

__all__ = ["KeyFilter", "Limit", "Offset", "TaskFilter", "iso_time", "key_matches", "page_of"]

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
TaskFilter = Annotated[str | None, Query(max_length=40, description="Only this task's records.")]
KeyFilter = Annotated[
    str | None, Query(max_length=255, description="Records whose key contains this (any case).")
]


def page_of(rows: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """The answer of a list route: `items` holds the rows of the page, `total` counts all."""
    return {"total": len(rows), "limit": limit, "offset": offset, "items": rows[offset:][:limit]}


def key_matches(key: Any, wanted: str | None) -> bool:
    """Whether a record's key contains `wanted`, in any case (always, when nothing is wanted)."""
    return not wanted or wanted.strip().lower() in str(key or "").lower()


def iso_time(value: datetime | float | None) -> str | None:
    """ISO 8601 of a datetime or of seconds since the epoch (UTC), None for None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.isoformat()
