"""The one way cpsync splits work for a limit.

SQS and DynamoDB batch sizes, SQLite's statement variables, Magento's array input limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["chunks"]

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in order, in lists of at most `size` (none for no items).

    Raises:
        ValueError: `size` is below 1.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
