"""The queue port on SQS: a standard queue and its dead-letter queue.

It implements only the primitives of `ports/queue.py`; the logic (receive limits, dead-letter
reasons) stays in the port, and the contract suite in `tests/contract` runs against it (moto
over HTTP) exactly as against the SQLite queue.

Choices where SQS cannot do what the port asks directly:
- A message cannot be edited, so the last error of a retried message is kept as a state
  document (kind `queue_error`, key = message id) and read back only for messages received
  more than once.
- Dead letters go to the SQS dead-letter queue with the reason as a message attribute. The
  queue's own redrive policy is the backstop (a crashed updater); such messages get a reason
  that says so. Listing dead letters receives the whole DLQ and makes it visible again.
- A body over `max_body_bytes` (SQS: 256 KiB per message and per batch) is stored in S3
  (`overflow` blobs) and a pointer is sent; without an overflow store the send is refused
  with an error naming the record, before anything of the batch is queued.
- SQS keeps no age of the oldest message; `depth()` reads CloudWatch's
  ApproximateAgeOfOldestMessage when a CloudWatch client is given (0 otherwise).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cpsync._chunks import chunks
from cpsync.aws._boto import error_code
from cpsync.aws._sqs_wire import (
    REASON_CHARS,
    SQS_MAX_BYTES,
    MessageTooLarge,
    dead_letter_of,
    dead_letter_url_of,
    decode,
    encode,
    send_batches,
)
from cpsync.errors import ConfigurationError, RetryableError
from cpsync.ports import (
    BlobNotFound,
    BlobPort,
    DeadLetter,
    QueueDepth,
    QueueMessage,
    QueuePort,
    StatePort,
    newest_per_record,
)

__all__ = ["SQS_MAX_BYTES", "MessageTooLarge", "SqsQueue", "dead_letter_url_of"]

logger = logging.getLogger(__name__)

_DEAD_HOLD_SECONDS = 30


def _visibility(seconds: float) -> int:
    """`seconds` as an SQS visibility timeout: whole seconds, at most SQS's 12 hours."""
    return min(43_200, math.ceil(seconds))


class SqsQueue(QueuePort):
    """The queue port on an SQS standard queue and its dead-letter queue.

    Args:
        queue_url: The Change queue.
        dead_letter_url: Its dead-letter queue (the redrive policy target).
        sqs: A boto3 SQS client.
        notes: Where last errors of retried messages are kept (the state port).
        overflow: Where bodies too big for SQS go (an S3 prefix); None refuses them.
        cloudwatch: A CloudWatch client, for the age of the oldest message.
        wait_seconds: Long-poll wait of a receive (0 in tests, 1-20 in production).
        max_body_bytes: The SQS size limit.
    """

    def __init__(
        self,
        queue_url: str,
        dead_letter_url: str,
        sqs: Any,
        notes: StatePort | None = None,
        overflow: BlobPort | None = None,
        cloudwatch: Any = None,
        visibility_seconds: float = 120,
        max_receives: int = 8,
        wait_seconds: int = 0,
        max_body_bytes: int = SQS_MAX_BYTES,
    ) -> None:
        super().__init__(visibility_seconds, max_receives)
        self.url = queue_url
        self.dead_url = dead_letter_url
        self.sqs = sqs
        self.notes = notes
        self.overflow = overflow
        self.cloudwatch = cloudwatch
        self.wait_seconds = wait_seconds
        self.max_body_bytes = max_body_bytes

    # --- bodies ---------------------------------------------------------------------------
    def _encode(self, body: str) -> tuple[str, dict[str, Any]]:
        return encode(body, self.overflow, self.max_body_bytes)

    def _decode(self, raw: dict[str, Any]) -> str:
        return decode(raw, self.overflow)

    def _send(self, url: str, entries: list[tuple[str, dict[str, Any], int]]) -> None:
        send_batches(self.sqs, url, entries, self.max_body_bytes)

    # --- primitives -----------------------------------------------------------------------
    def _put(self, bodies: Sequence[str], delay_seconds: float = 0) -> None:
        encoded = [self._encode(b) for b in bodies]  # refuse before anything is queued
        delay = min(900, math.ceil(delay_seconds))
        self._send(self.url, [(body, attrs, delay) for body, attrs in encoded])

    def _take(self, max_messages: int, visibility_seconds: float) -> list[QueueMessage]:
        found: dict[str, QueueMessage] = {}  # by id: a message seen twice keeps its newest receipt
        wait = self.wait_seconds
        while len(found) < max_messages:
            response = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, max_messages - len(found)),
                VisibilityTimeout=_visibility(visibility_seconds),
                WaitTimeSeconds=wait,
                AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"],
            )
            raw = response.get("Messages", [])
            if not raw:
                break
            wait = 0
            for m in raw:
                try:
                    message = self.from_sqs(m)
                except (BlobNotFound, ConfigurationError, UnicodeDecodeError) as exc:
                    self._park_unreadable(m, exc)
                    continue
                found[message.id] = message
        return self.with_notes(list(found.values()))

    def _park_unreadable(self, raw: dict[str, Any], exc: Exception) -> None:
        """A message whose body cannot be had (its S3 part is gone) is parked, not retried."""
        attrs = raw.get("Attributes") or {}
        stub = QueueMessage(
            id=str(raw["MessageId"]),
            receipt=str(raw["ReceiptHandle"]),
            body=str(raw["Body"]),
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            sent_at=0.0,
        )
        self._park(stub, f"message {stub.id} cannot be read: {type(exc).__name__} {exc}")

    def from_sqs(self, raw: dict[str, Any]) -> QueueMessage:
        """A QueueMessage from an SQS message (a receive, or a record of a Lambda event)."""
        attrs = raw.get("Attributes") or raw.get("attributes") or {}
        if "Body" not in raw and "body" in raw:  # a Lambda SQS event record
            raw = {
                "Body": raw["body"],
                "MessageAttributes": {
                    k: {"StringValue": v.get("stringValue")}
                    for k, v in (raw.get("messageAttributes") or {}).items()
                },
                "MessageId": raw["messageId"],
                "ReceiptHandle": raw["receiptHandle"],
            }
        return QueueMessage(
            id=str(raw["MessageId"]),
            receipt=str(raw["ReceiptHandle"]),
            body=self._decode(raw),
            receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
            sent_at=int(attrs.get("SentTimestamp", 0)) / 1000,
        )

    def with_notes(self, messages: list[QueueMessage]) -> list[QueueMessage]:
        """Attach the last error of messages received before (one state read).

        Public for messages that came in a Lambda event; `_take` calls it too.
        """
        again = [m.id for m in messages if m.receive_count > 1]
        if not again or self.notes is None:
            return messages
        notes = self.notes.get_docs("queue_error", again)
        return [
            QueueMessage(m.id, m.receipt, m.body, m.receive_count, m.sent_at, e.get("error"))
            if (e := notes.get(m.id))
            else m
            for m in messages
        ]

    def _forget(self, messages: Sequence[QueueMessage]) -> None:
        again = [m.id for m in messages if m.receive_count > 1]
        if again and self.notes is not None:
            self.notes.delete_docs("queue_error", again)

    def _delete(self, messages: Sequence[QueueMessage]) -> None:
        for chunk in chunks(messages, 10):
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            for failure in response.get("Failed", []):
                message = chunk[int(failure["Id"])]
                logger.info("not acked %s (outdated receipt): %s", message.id, failure)
        self._forget(messages)

    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None:
        if error and self.notes is not None:
            self.notes.put_docs("queue_error", {message.id: {"error": error}})
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.url,
                ReceiptHandle=message.receipt,
                VisibilityTimeout=_visibility(seconds),
            )
        except Exception as exc:
            if error_code(exc) not in ("ReceiptHandleIsInvalid", "MessageNotInflight"):
                raise
            logger.info("message %s was received again meanwhile: %s", message.id, exc)

    def _park(self, message: QueueMessage, reason: str) -> None:
        # Into the DLQ first, then out of the queue: at worst a copy, never a loss.
        self.send_dead(message, reason)
        self._delete([message])

    def _hide_many(self, hidden: Sequence[tuple[QueueMessage, float, str | None]]) -> None:
        """A batch's retries: one note write, then visibility changes 10 per call.

        Raises:
            RetryableError: SQS refused a change for another reason than a newer receive.
        """
        notes = {m.id: {"error": error} for m, _, error in hidden if error}
        if notes and self.notes is not None:
            self.notes.put_docs("queue_error", notes)
        for chunk in chunks(hidden, 10):
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m.receipt,
                    "VisibilityTimeout": _visibility(seconds),
                }
                for i, (m, seconds, _) in enumerate(chunk)
            ]
            response = self.sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            for failure in response.get("Failed", []):
                message = chunk[int(failure["Id"])][0]
                if failure.get("Code") not in ("ReceiptHandleIsInvalid", "MessageNotInflight"):
                    raise RetryableError(
                        f"SQS did not delay the retry of message {message.id}: {failure}"
                    )
                logger.info("message %s was received again meanwhile: %s", message.id, failure)

    def _park_many(self, parked: Sequence[tuple[QueueMessage, str]]) -> None:
        """A batch's dead letters: into the DLQ in batches first, then out of the queue."""
        self._send(self.dead_url, [self._dead_entry(m, reason) for m, reason in parked])
        self._delete([m for m, _ in parked])

    def send_dead(self, message: QueueMessage, reason: str) -> None:
        """Put a copy of `message` on the dead-letter queue with `reason` (no delete)."""
        self._send(self.dead_url, [self._dead_entry(message, reason)])

    def _dead_entry(self, message: QueueMessage, reason: str) -> tuple[str, dict[str, Any], int]:
        body, attrs = self._encode(message.body)
        attrs = {
            **attrs,
            "reason": {"DataType": "String", "StringValue": reason[:REASON_CHARS]},
            "receive-count": {"DataType": "Number", "StringValue": str(message.receive_count)},
            "failed-at": {"DataType": "Number", "StringValue": repr(time.time())},
        }
        return body, attrs, 0

    # --- dead letters ---------------------------------------------------------------------
    def _scan_dead(self) -> list[tuple[DeadLetter, str]]:
        """Every dead letter with its receipt; the caller must `_release` what it keeps."""
        seen: dict[str, tuple[DeadLetter, str]] = {}
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.dead_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_DEAD_HOLD_SECONDS,
                AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames=["All"],
            )
            raw = response.get("Messages", [])
            if not raw:
                break
            for m in raw:
                seen[m["MessageId"]] = (dead_letter_of(m, self._decode(m)), m["ReceiptHandle"])
        return sorted(seen.values(), key=lambda d: (d[0].failed_at, d[0].id))

    def _release(self, receipts: Sequence[str]) -> None:
        for chunk in chunks(receipts, 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                for i, r in enumerate(chunk)
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.dead_url, Entries=entries)

    def _delete_dead(self, receipts: Sequence[str]) -> None:
        for chunk in chunks(receipts, 10):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.dead_url, Entries=entries)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Scan the whole DLQ (SQS cannot list one) and make every letter visible again."""
        found = self._scan_dead()
        self._release([r for _, r in found])
        return [d for d, _ in found[:limit]]

    def parked(self) -> list[DeadLetter]:
        """One scan: the newest dead letter of each record is released, older copies deleted."""
        found = self._scan_dead()
        receipts = {d.id: r for d, r in found}
        kept, older = newest_per_record([d for d, _ in found])
        self._release([receipts[d.id] for d in kept])
        self._delete_dead([receipts[d.id] for d in older])
        return kept

    def _hold_dead(self, ids: Sequence[str]) -> list[tuple[DeadLetter, str]]:
        """Scan the DLQ; release every letter but those of `ids`, which stay held."""
        wanted = set(ids)
        found = self._scan_dead()
        self._release([r for d, r in found if d.id not in wanted])
        return [(d, r) for d, r in found if d.id in wanted]

    def _unpark(self, ids: Sequence[str]) -> list[str]:
        chosen = self._hold_dead(ids)
        if chosen:
            self._put([d.body for d, _ in chosen])
            self._delete_dead([r for _, r in chosen])
        return [d.id for d, _ in chosen]

    def discard_dead(self, ids: Sequence[str]) -> int:
        """Scan the DLQ and delete the chosen letters.

        Returns:
            How many were deleted.
        """
        chosen = [r for _, r in self._hold_dead(ids)]
        self._delete_dead(chosen)
        return len(chosen)

    # --- depth ----------------------------------------------------------------------------
    def depth(self) -> QueueDepth:
        """SQS's approximate counts of both queues, and CloudWatch's age of the oldest message."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        main = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        dead = self.sqs.get_queue_attributes(QueueUrl=self.dead_url, AttributeNames=names)
        m, d = main["Attributes"], dead["Attributes"]
        return QueueDepth(
            visible=int(m.get(names[0], 0)),
            in_flight=int(m.get(names[1], 0)),
            delayed=int(m.get(names[2], 0)),
            dead=int(d.get(names[0], 0)) + int(d.get(names[1], 0)),
            oldest_age_seconds=self._oldest_age(),
        )

    def _oldest_age(self) -> float:
        if self.cloudwatch is None:
            return 0.0
        now = datetime.now(UTC)
        try:
            stats = self.cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": self.url.rsplit("/", 1)[-1]}],
                StartTime=now - timedelta(minutes=10),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
        except Exception as exc:  # a dashboard figure: never fail the caller for it
            logger.info("no age of the oldest message from CloudWatch: %s", exc)
            return 0.0
        points = sorted(stats.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1]["Maximum"]) if points else 0.0
