"""The exceptions cpsync raises, arranged by what the caller should do next.

    CpsyncError
    ├── ConfigurationError   settings are wrong: stop and tell the operator which one
    ├── RetryableError       try again later (timeouts, 429, 5xx, lock waits)
    ├── RecordError          this record cannot be applied as it is: dead-letter it with the reason
    │   └── DataError        the Counterpoint row itself is bad (NULL name, negative weight)
    └── SkippableError       nothing to do for this record (stale version, superseded)

Errors from drivers, httpx and boto are mapped to these at the boundary (`raise ... from exc`).
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "CpsyncError",
    "DataError",
    "NothingToSend",
    "RecordError",
    "RetryableError",
    "SkippableError",
]


class CpsyncError(Exception):
    """Root of every error cpsync raises on purpose."""


class NothingToSend(CpsyncError):
    """The request is understood but there is nothing that can be sent (answered 409).

    The message says why.
    """


class ConfigurationError(CpsyncError):
    """A setting is missing or invalid; nothing can run until it is fixed."""


class RetryableError(CpsyncError):
    """A transient failure: the same request may succeed later.

    Args:
        message: What happened, for the operator.
        retry_after: Seconds the far side asked us to wait, when it said so.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(CpsyncError):
    """A permanent failure for one record: retrying the same input cannot help."""


class DataError(RecordError):
    """The Counterpoint data of one record is unusable (names the record and the column)."""


class SkippableError(CpsyncError):
    """The record needs no work (already applied, superseded)."""
