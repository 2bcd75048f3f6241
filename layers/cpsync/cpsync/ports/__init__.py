"""The ports every adapter implements: the queue of Changes, cpsync's own state, and blobs.

The logic (receive limits, dead-letter reasons, stale-version checks) lives here; an adapter
(`embedded/` for SQLite, `aws/` for SQS/DynamoDB/S3) implements only small primitives. One
contract test suite runs against every adapter.
"""

from cpsync.ports.blobs import BlobNotFound, BlobPort
from cpsync.ports.queue import (
    ChangeResult,
    DeadLetter,
    Fate,
    QueueDepth,
    QueueMessage,
    QueuePort,
    WaitingMessage,
    newest_per_record,
    record_of,
)
from cpsync.ports.state import AppliedRecord, RunError, RunRecord, Space, StatePort

__all__ = [
    "AppliedRecord",
    "BlobNotFound",
    "BlobPort",
    "ChangeResult",
    "DeadLetter",
    "Fate",
    "QueueDepth",
    "QueueMessage",
    "QueuePort",
    "RunError",
    "RunRecord",
    "Space",
    "StatePort",
    "WaitingMessage",
    "newest_per_record",
    "record_of",
]
