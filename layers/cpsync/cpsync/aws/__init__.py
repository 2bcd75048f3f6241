"""AWS adapters of the ports, one module per service.

SQS for the queue (`sqs`), one DynamoDB table for state (`dynamodb`), S3 for blobs (`s3`), and
EventBridge Scheduler for the API's schedule mover (`scheduler`).

They implement only the primitives of `ports/`; the logic (receive limits, dead-letter
reasons, stale versions) stays in the ports, and the contract suite in `tests/contract` runs
against these adapters (moto over HTTP) exactly as against the SQLite ones.

Environment variables read here: none directly; boto3 reads `AWS_REGION`,
`AWS_ENDPOINT_URL` and the credentials chain.
"""

from __future__ import annotations

from cpsync.aws._boto import client
from cpsync.aws.dynamodb import DynamoState
from cpsync.aws.s3 import S3Blobs
from cpsync.aws.scheduler import EventBridgeScheduleMover
from cpsync.aws.sqs import SQS_MAX_BYTES, MessageTooLarge, SqsQueue, dead_letter_url_of
from cpsync.ports import StatePort
from cpsync.settings import Settings

__all__ = [
    "SQS_MAX_BYTES",
    "DynamoState",
    "EventBridgeScheduleMover",
    "MessageTooLarge",
    "S3Blobs",
    "SqsQueue",
    "blobs_from_settings",
    "client",
    "dead_letter_url_of",
    "queue_from_settings",
    "state_from_settings",
]


# --- wiring from Settings (used by runtime.py) ------------------------------------------------
def state_from_settings(settings: Settings) -> DynamoState:
    """The DynamoDB state named by `CPSYNC_TABLE_NAME`."""
    assert settings.table_name
    return DynamoState(settings.table_name, client("dynamodb"), run_log_days=settings.run_log_days)


def blobs_from_settings(settings: Settings, prefix: str = "blobs/") -> S3Blobs:
    """The S3 blobs in `CPSYNC_BUCKET`."""
    assert settings.bucket
    return S3Blobs(settings.bucket, client("s3"), prefix=prefix)


def queue_from_settings(settings: Settings, notes: StatePort | None) -> SqsQueue:
    """The SQS queue named by `CPSYNC_QUEUE_URL` (DLQ from the redrive policy if unset)."""
    assert settings.queue_url
    sqs = client("sqs")
    dead = settings.dead_letter_queue_url or dead_letter_url_of(sqs, settings.queue_url)
    overflow = blobs_from_settings(settings, "overflow/") if settings.bucket else None
    return SqsQueue(
        settings.queue_url,
        dead,
        sqs,
        notes=notes,
        overflow=overflow,
        cloudwatch=client("cloudwatch"),
        visibility_seconds=settings.queue_visibility_seconds,
        max_receives=settings.queue_max_receives,
        wait_seconds=1,
    )
