"""SQS messages on the wire.

Bodies too big for SQS go through S3, batches stay within the SQS limits, and a dead letter's
reason travels as message attributes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cpsync.errors import ConfigurationError, CpsyncError, RetryableError
from cpsync.ports import BlobPort, DeadLetter

__all__ = [
    "REASON_CHARS",
    "SQS_MAX_BYTES",
    "MessageTooLarge",
    "dead_letter_of",
    "dead_letter_url_of",
    "decode",
    "encode",
    "record_name",
    "send_batches",
]

SQS_MAX_BYTES = 256 * 1024
# Room for the message attributes (reason, overflow pointer) inside the SQS size limit.
_ATTRIBUTE_ROOM = 8 * 1024
_OVERFLOW = "cpsync-overflow"
REASON_CHARS = 4000


class MessageTooLarge(CpsyncError):
    """A Change is bigger than SQS takes and no overflow store is configured."""


def record_name(body: str) -> str:
    """'kind key' of a Change body, for error messages (best effort)."""
    try:
        data = json.loads(body)
        return f"{data.get('kind', '?')} {data.get('key', '?')}"
    except (ValueError, AttributeError):
        return "an unreadable message"


def dead_letter_url_of(sqs: Any, queue_url: str) -> str:
    """The DLQ URL named by a queue's redrive policy.

    Raises:
        ConfigurationError: The queue has no redrive policy.
    """
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = attrs.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        raise ConfigurationError(
            f"CPSYNC_QUEUE_URL: queue {queue_url} has no dead-letter queue (redrive policy); "
            "set CPSYNC_DEAD_LETTER_QUEUE_URL or add one"
        )
    arn = json.loads(policy)["deadLetterTargetArn"]
    name, account = arn.split(":")[-1], arn.split(":")[-2]
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def encode(body: str, overflow: BlobPort | None, max_body_bytes: int) -> tuple[str, dict[str, Any]]:
    """The body to send and its attributes: big bodies become a pointer to S3."""
    size = len(body.encode())
    if size <= max_body_bytes - _ATTRIBUTE_ROOM:
        return body, {}
    if overflow is None:
        raise MessageTooLarge(
            f"{record_name(body)}: the Change is {size} bytes, more than SQS takes "
            f"({max_body_bytes}); set CPSYNC_BUCKET so big Changes go through S3"
        )
    digest = overflow.put(body.encode())
    pointer = json.dumps({_OVERFLOW: digest, "bytes": size})
    return pointer, {_OVERFLOW: {"DataType": "String", "StringValue": digest}}


def decode(raw: dict[str, Any], overflow: BlobPort | None) -> str:
    """The body of a received message, read from S3 when it was sent as a pointer."""
    attrs = raw.get("MessageAttributes") or {}
    pointer = attrs.get(_OVERFLOW)
    if pointer is None:
        return str(raw["Body"])
    if overflow is None:
        raise ConfigurationError("CPSYNC_BUCKET: a queued Change is stored in S3; set it")
    return overflow.get(pointer["StringValue"]).decode()


def send_batches(
    sqs: Any, url: str, entries: list[tuple[str, dict[str, Any], int]], max_body_bytes: int
) -> None:
    """Send (body, attributes, delay) entries in batches within the SQS limits.

    Raises:
        RetryableError: SQS refused some entries twice.
    """
    batch: list[dict[str, Any]] = []
    size = 0
    batches: list[list[dict[str, Any]]] = []
    for body, attrs, delay in entries:
        entry: dict[str, Any] = {"Id": str(len(batch)), "MessageBody": body}
        if attrs:
            entry["MessageAttributes"] = attrs
        if delay:
            entry["DelaySeconds"] = delay
        length = len(body.encode()) + sum(len(json.dumps(a)) for a in attrs.values()) + 64
        if batch and (len(batch) == 10 or size + length > max_body_bytes):
            batches.append(batch)
            batch, size = [], 0
            entry["Id"] = "0"
        batch.append(entry)
        size += length
    if batch:
        batches.append(batch)
    for chunk in batches:
        pending = chunk
        for attempt in range(3):
            response = sqs.send_message_batch(QueueUrl=url, Entries=pending)
            failed = {f["Id"]: f for f in response.get("Failed", [])}
            pending = [e for e in pending if e["Id"] in failed]
            if not pending:
                break
            time.sleep(0.2 * (attempt + 1))
        if pending:
            names = ", ".join(record_name(e["MessageBody"]) for e in pending)
            raise RetryableError(f"SQS refused {len(pending)} messages ({names})")


def dead_letter_of(raw: dict[str, Any], body: str) -> DeadLetter:
    """A DeadLetter from a message of the DLQ whose body is `body` (reason from its attributes)."""
    attrs = raw.get("MessageAttributes") or {}
    sent = int((raw.get("Attributes") or {}).get("SentTimestamp", 0)) / 1000
    if "reason" in attrs:
        reason = attrs["reason"]["StringValue"]
        count = int(attrs["receive-count"]["StringValue"])
        failed = float(attrs["failed-at"]["StringValue"])
    else:
        count = int((raw.get("Attributes") or {}).get("ApproximateReceiveCount", 0))
        reason = (
            f"{record_name(body)}: moved to the dead-letter queue by SQS after too many "
            "receives (the updater failed or timed out on it; see its logs)"
        )
        failed = sent
    return DeadLetter(str(raw["MessageId"]), body, reason, count, failed)
