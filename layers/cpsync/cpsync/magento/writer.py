"""Writers turn a group of Changes of one kind into as few Magento requests as the API allows.

`Writer.write()` is the one entry point and is not overridden: it runs the kind's `apply()`
and turns every exception into a per-record `Outcome`, so one bad record never fails the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar, final

from cpsync.errors import ConfigurationError, RecordError, RetryableError
from cpsync.model import Change, Kind

__all__ = ["Outcome", "Writer"]


@dataclass(frozen=True)
class Outcome:
    """The result of one record: applied, or failed (transiently or for good) with a reason."""

    key: str
    applied: bool
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None

    @classmethod
    def ok(cls, key: str) -> Outcome:
        """The record was applied."""
        return cls(key, True)

    @classmethod
    def from_exception(cls, key: str, exc: Exception) -> Outcome:
        """Map an exception to an outcome: retryable errors retry, everything else parks."""
        if isinstance(exc, ConfigurationError):
            raise exc
        if isinstance(exc, RetryableError):
            return cls(key, False, str(exc), retryable=True, retry_after=exc.retry_after)
        if isinstance(exc, RecordError):
            return cls(key, False, str(exc))
        return cls(key, False, f"unexpected {type(exc).__name__}: {exc}")


class Writer(ABC):
    """Applies Changes of one kind to Magento.

    Args:
        concurrency: How many records of a group may be in flight at once.
    """

    kind: ClassVar[Kind]
    #: Other kinds this writer may apply too (a new product carries its price, stock, links
    #: and images): the updater checks queued Changes of those kinds again after it ran.
    also_applies: ClassVar[tuple[Kind, ...]] = ()

    def __init__(self, concurrency: int = 4) -> None:
        self.concurrency = concurrency

    @final
    def write(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Apply the newest Change of each key; one Outcome per key, never an exception.

        Raises:
            ConfigurationError: Magento refused our credentials; no record is at fault.
        """
        try:
            outcomes = self.apply(changes)
        except ConfigurationError:
            raise
        except Exception as exc:
            return {c.key: Outcome.from_exception(c.key, exc) for c in changes}
        missing = [c.key for c in changes if c.key not in outcomes]
        for key in missing:
            outcomes[key] = Outcome(key, False, "writer returned no outcome", retryable=True)
        return outcomes

    @abstractmethod
    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Write a group of Changes (one per key) and report each record's outcome."""

    def map_records(
        self, changes: Sequence[Change], one: Callable[[Change], None]
    ) -> dict[str, Outcome]:
        """Run `one(change)` for each Change, `concurrency` at a time, catching per record."""

        def guarded(change: Change) -> Outcome:
            try:
                one(change)
            except ConfigurationError:
                raise
            except Exception as exc:
                return Outcome.from_exception(change.key, exc)
            return Outcome.ok(change.key)

        if self.concurrency <= 1 or len(changes) <= 1:
            results = [guarded(c) for c in changes]
        else:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                results = list(pool.map(guarded, changes))
        return {o.key: o for o in results}
