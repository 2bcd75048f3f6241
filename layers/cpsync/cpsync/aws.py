"""AWS adapters of the ports: SQS for the queue, one DynamoDB table for state, S3 for blobs.

They implement only the primitives of `ports.py`; the logic (receive limits, dead-letter
reasons, stale versions) stays in the ports, and the contract suite in `tests/contract` runs
against these adapters (moto over HTTP) exactly as against the SQLite ones.

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

DynamoDB layout (one table, `pk`/`sk` strings, on-demand, TTL attribute `ttl`):

    pk                 sk                       what
    watermark          <task>                   v = ISO time
    sent#<kind>        <key>                    v = fingerprint
    applied#<kind>     <key>                    version, fp, at
    mid#<kind>         <key>                    v = Magento id (N)
    doc#<kind>         <key>                    v = JSON (options are kind "option")
    lock               <name>                   owner, expires (N)
    counter            <name>                   n (N), expires (N), ttl
    run / run#<task>   <started ISO>#<run id>   body = JSON, ttl   (two copies: all / per task)
    err / err#<task>   <at ISO>#<uuid>          body = JSON, run_id, ttl

Environment variables read here: none directly; boto3 reads `AWS_REGION`,
`AWS_ENDPOINT_URL` and the credentials chain.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from cpsync.errors import ConfigurationError, CpsyncError, RetryableError
from cpsync.ports import (
    AppliedRecord,
    BlobNotFound,
    BlobPort,
    DeadLetter,
    QueueDepth,
    QueueMessage,
    QueuePort,
    RunError,
    RunRecord,
    StatePort,
    newest_per_record,
)
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

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
SQS_MAX_BYTES = 256 * 1024
# Room for the message attributes (reason, overflow pointer) inside the SQS size limit.
_ATTRIBUTE_ROOM = 8 * 1024
_OVERFLOW = "cpsync-overflow"
_REASON_CHARS = 4000
_DEAD_HOLD_SECONDS = 30


class MessageTooLarge(CpsyncError):
    """A Change is bigger than SQS takes and no overflow store is configured."""


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client with bounded retries and timeouts (standard retry mode: throttling and
    5xx are retried with backoff, 8 attempts); imported lazily so the embedded mode never
    needs boto3. The read timeout leaves room for a 20 s SQS long poll."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=40,
        max_pool_connections=16,
    )
    return boto3.client(service, config=config, **kwargs)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_name(body: str) -> str:
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
        """The body to send and its attributes: big bodies become a pointer to S3."""
        size = len(body.encode())
        if size <= self.max_body_bytes - _ATTRIBUTE_ROOM:
            return body, {}
        if self.overflow is None:
            raise MessageTooLarge(
                f"{_record_name(body)}: the Change is {size} bytes, more than SQS takes "
                f"({self.max_body_bytes}); set CPSYNC_BUCKET so big Changes go through S3"
            )
        digest = self.overflow.put(body.encode())
        pointer = json.dumps({_OVERFLOW: digest, "bytes": size})
        return pointer, {_OVERFLOW: {"DataType": "String", "StringValue": digest}}

    def _decode(self, raw: dict[str, Any]) -> str:
        attrs = raw.get("MessageAttributes") or {}
        pointer = attrs.get(_OVERFLOW)
        if pointer is None:
            return str(raw["Body"])
        if self.overflow is None:
            raise ConfigurationError("CPSYNC_BUCKET: a queued Change is stored in S3; set it")
        return self.overflow.get(pointer["StringValue"]).decode()

    def _send(self, url: str, entries: list[tuple[str, dict[str, Any], int]]) -> None:
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
            if batch and (len(batch) == 10 or size + length > self.max_body_bytes):
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
                response = self.sqs.send_message_batch(QueueUrl=url, Entries=pending)
                failed = {f["Id"]: f for f in response.get("Failed", [])}
                pending = [e for e in pending if e["Id"] in failed]
                if not pending:
                    break
                time.sleep(0.2 * (attempt + 1))
            if pending:
                names = ", ".join(_record_name(e["MessageBody"]) for e in pending)
                raise RetryableError(f"SQS refused {len(pending)} messages ({names})")

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
                VisibilityTimeout=min(43_200, math.ceil(visibility_seconds)),
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
        return self._with_notes(list(found.values()))

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

    def _with_notes(self, messages: list[QueueMessage]) -> list[QueueMessage]:
        """Attach the last error of messages received before (one state read)."""
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

    def with_notes(self, messages: list[QueueMessage]) -> list[QueueMessage]:
        """Public form of the note lookup, for messages that came in a Lambda event."""
        return self._with_notes(messages)

    def _forget(self, messages: Sequence[QueueMessage]) -> None:
        self._forget_notes(messages)

    def _forget_notes(self, messages: Sequence[QueueMessage]) -> None:
        again = [m.id for m in messages if m.receive_count > 1]
        if again and self.notes is not None:
            self.notes.delete_docs("queue_error", again)

    def _delete(self, messages: Sequence[QueueMessage]) -> None:
        for chunk in _chunks(list(messages), 10):
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            for failure in response.get("Failed", []):
                message = chunk[int(failure["Id"])]
                logger.info("not acked %s (outdated receipt): %s", message.id, failure)
        self._forget_notes(messages)

    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None:
        if error and self.notes is not None:
            self.notes.put_docs("queue_error", {message.id: {"error": error}})
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.url,
                ReceiptHandle=message.receipt,
                VisibilityTimeout=min(43_200, math.ceil(seconds)),
            )
        except Exception as exc:
            if _error_code(exc) not in ("ReceiptHandleIsInvalid", "MessageNotInflight"):
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
        for chunk in _chunks(list(hidden), 10):
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m.receipt,
                    "VisibilityTimeout": min(43_200, math.ceil(seconds)),
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
            "reason": {"DataType": "String", "StringValue": reason[:_REASON_CHARS]},
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
                seen[m["MessageId"]] = (self._dead_letter(m), m["ReceiptHandle"])
        return sorted(seen.values(), key=lambda d: (d[0].failed_at, d[0].id))

    def _dead_letter(self, raw: dict[str, Any]) -> DeadLetter:
        attrs = raw.get("MessageAttributes") or {}
        sent = int((raw.get("Attributes") or {}).get("SentTimestamp", 0)) / 1000
        body = self._decode(raw)
        if "reason" in attrs:
            reason = attrs["reason"]["StringValue"]
            count = int(attrs["receive-count"]["StringValue"])
            failed = float(attrs["failed-at"]["StringValue"])
        else:
            count = int((raw.get("Attributes") or {}).get("ApproximateReceiveCount", 0))
            reason = (
                f"{_record_name(body)}: moved to the dead-letter queue by SQS after too many "
                "receives (the updater failed or timed out on it; see its logs)"
            )
            failed = sent
        return DeadLetter(str(raw["MessageId"]), body, reason, count, failed)

    def _release(self, receipts: Sequence[str]) -> None:
        for chunk in _chunks(list(receipts), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                for i, r in enumerate(chunk)
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.dead_url, Entries=entries)

    def _delete_dead(self, receipts: Sequence[str]) -> None:
        for chunk in _chunks(list(receipts), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.dead_url, Entries=entries)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
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

    def _unpark(self, ids: Sequence[str]) -> list[str]:
        wanted = set(ids)
        found = self._scan_dead()
        chosen = [(d, r) for d, r in found if d.id in wanted]
        self._release([r for d, r in found if d.id not in wanted])
        if chosen:
            self._put([d.body for d, _ in chosen])
            self._delete_dead([r for _, r in chosen])
        return [d.id for d, _ in chosen]

    def discard_dead(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        found = self._scan_dead()
        self._release([r for d, r in found if d.id not in wanted])
        chosen = [r for d, r in found if d.id in wanted]
        self._delete_dead(chosen)
        return len(chosen)

    # --- depth ----------------------------------------------------------------------------
    def depth(self) -> QueueDepth:
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


# --- DynamoDB ------------------------------------------------------------------------------
def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


class DynamoState(StatePort):
    """The state port on one DynamoDB table (layout in the module docstring).

    Args:
        table: Table name.
        dynamodb: A boto3 DynamoDB client.
        clock: Seconds since the epoch (locks and TTLs); injected by tests.
        run_log_days: How long runs and errors are kept (the TTL).
    """

    def __init__(
        self, table: str, dynamodb: Any, clock: Clock = time.time, run_log_days: int = 30
    ) -> None:
        self.table = table
        self.db = dynamodb
        self.clock = clock
        self.run_log_days = run_log_days

    # --- helpers --------------------------------------------------------------------------
    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {"pk": _s(pk), "sk": _s(sk)}

    def _query(self, pk: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(pk)},
            **kwargs,
        }
        if "ExpressionAttributeValues" in kwargs:
            args["ExpressionAttributeValues"] = {
                ":pk": _s(pk),
                **kwargs["ExpressionAttributeValues"],
            }
        while True:
            page = self.db.query(**args)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get_many(self, pk: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), 100):
            request: dict[str, Any] = {
                self.table: {"Keys": [self._key(pk, k) for k in chunk], "ConsistentRead": True}
            }
            attempt = 0
            while request:
                response = self.db.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["sk"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
                attempt = self._pause(attempt) if request else 0
        return found

    def _write_many(self, requests: list[dict[str, Any]]) -> None:
        for chunk in _chunks(requests, 25):
            pending: dict[str, Any] = {self.table: list(chunk)}
            attempt = 0
            while pending:
                response = self.db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                attempt = self._pause(attempt) if pending else 0

    @staticmethod
    def _pause(attempt: int) -> int:
        """Back off before resending unprocessed items (throttling).

        Raises:
            RetryableError: DynamoDB kept refusing.
        """
        if attempt >= 8:
            raise RetryableError("DynamoDB kept throttling a batch; try again later")
        time.sleep(min(2.0, 0.05 * 2**attempt))
        return attempt + 1

    def _put_values(self, pk: str, values: dict[str, dict[str, Any]]) -> None:
        """Put items `{sk: attributes}` under one pk."""
        self._write_many(
            [{"PutRequest": {"Item": {**self._key(pk, k), **v}}} for k, v in values.items()]
        )

    def _delete_keys(self, pk: str, keys: Iterable[str]) -> None:
        self._write_many(
            [{"DeleteRequest": {"Key": self._key(pk, k)}} for k in dict.fromkeys(keys)]
        )

    def _ttl(self) -> dict[str, str]:
        return _n(int(self.clock() + self.run_log_days * 86_400))

    # --- watermarks -----------------------------------------------------------------------
    def get_watermark(self, task: str) -> datetime | None:
        item = self.db.get_item(
            TableName=self.table, Key=self._key("watermark", task), ConsistentRead=True
        ).get("Item")
        return None if item is None else datetime.fromisoformat(item["v"]["S"])

    def set_watermark(self, task: str, value: datetime) -> None:
        self.db.put_item(
            TableName=self.table,
            Item={**self._key("watermark", task), "v": _s(value.isoformat())},
        )

    # --- sent fingerprints ----------------------------------------------------------------
    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        pk = f"sent#{kind}"
        if keys is None:
            return {i["sk"]["S"]: i["v"]["S"] for i in self._query(pk, ConsistentRead=True)}
        return {k: i["v"]["S"] for k, i in self._get_many(pk, keys).items()}

    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        self._put_values(f"sent#{kind}", {k: {"v": _s(f)} for k, f in fingerprints.items()})

    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        self._delete_keys(f"sent#{kind}", keys)

    # --- applied versions -----------------------------------------------------------------
    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        found = self._get_many(f"applied#{kind}", keys)
        return {k: AppliedRecord(i["version"]["S"], i["fp"]["S"]) for k, i in found.items()}

    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        now = self.clock()

        def put(item: tuple[str, AppliedRecord]) -> None:
            key, record = item
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={
                        **self._key(f"applied#{kind}", key),
                        "version": _s(record.version),
                        "fp": _s(record.fingerprint),
                        "at": _n(now),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR version < :v",
                    ExpressionAttributeValues={":v": _s(record.version)},
                )
            except Exception as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise

        items = list(records.items())
        if len(items) <= 1:
            for item in items:
                put(item)
            return
        # A conditional write per record (batch writes take no conditions), in parallel.
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            list(pool.map(put, items))

    # --- Magento ids ----------------------------------------------------------------------
    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        return {k: int(i["v"]["N"]) for k, i in self._get_many(f"mid#{kind}", keys).items()}

    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        self._put_values(f"mid#{kind}", {k: {"v": _n(v)} for k, v in ids.items()})

    # --- run log --------------------------------------------------------------------------
    def _put_run(self, run: RunRecord) -> None:
        body = json.dumps(
            {
                "run_id": run.run_id,
                "task": run.task,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "status": run.status,
                "counts": run.counts,
            }
        )
        sk = f"{run.started_at.isoformat()}#{run.run_id}"
        values = {"body": _s(body), "ttl": self._ttl()}
        self._write_many(
            [
                {"PutRequest": {"Item": {**self._key(pk, sk), **values}}}
                for pk in ("run", f"run#{run.task}")
            ]
        )

    def start_run(self, run: RunRecord) -> None:
        self._put_run(run)

    def finish_run(self, run: RunRecord) -> None:
        if run.finished_at is None:
            run.finished_at = datetime.now(UTC)
        self._put_run(run)

    def add_errors(self, errors: Sequence[RunError]) -> None:
        requests = []
        for e in errors:
            sk = f"{e.at.isoformat()}#{uuid.uuid4().hex}"
            body = json.dumps(
                {
                    "run_id": e.run_id,
                    "task": e.task,
                    "key": e.key,
                    "message": e.message,
                    "at": e.at.isoformat(),
                    "level": e.level,
                }
            )
            values = {"body": _s(body), "run_id": _s(e.run_id), "ttl": self._ttl()}
            for pk in ("err", f"err#{e.task}"):
                requests.append({"PutRequest": {"Item": {**self._key(pk, sk), **values}}})
        self._write_many(requests)

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        pk = "run" if task is None else f"run#{task}"
        found: list[RunRecord] = []
        for item in self._query(pk, ScanIndexForward=False, Limit=limit):
            data = json.loads(item["body"]["S"])
            finished = data["finished_at"]
            found.append(
                RunRecord(
                    run_id=data["run_id"],
                    task=data["task"],
                    started_at=datetime.fromisoformat(data["started_at"]),
                    finished_at=None if finished is None else datetime.fromisoformat(finished),
                    status=data["status"],
                    counts=data["counts"],
                )
            )
            if len(found) >= limit:
                break
        return found

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        pk = "err" if task is None else f"err#{task}"
        kwargs: dict[str, Any] = {"ScanIndexForward": False}
        if run_id is not None:
            kwargs["FilterExpression"] = "run_id = :r"
            kwargs["ExpressionAttributeValues"] = {":r": _s(run_id)}
        found: list[RunError] = []
        for item in self._query(pk, **kwargs):
            d = json.loads(item["body"]["S"])
            found.append(
                RunError(
                    d["run_id"],
                    d["task"],
                    d["key"],
                    d["message"],
                    datetime.fromisoformat(d["at"]),
                    d.get("level", "error"),
                )
            )
            if len(found) >= limit:
                break
        return found

    # --- documents ------------------------------------------------------------------------
    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        pk = f"doc#{kind}"
        items = (
            {i["sk"]["S"]: i for i in self._query(pk, ConsistentRead=True)}
            if keys is None
            else self._get_many(pk, keys)
        )
        return {k: json.loads(i["v"]["S"]) for k, i in items.items()}

    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        self._put_values(f"doc#{kind}", {k: {"v": _s(json.dumps(v))} for k, v in docs.items()})

    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        self._delete_keys(f"doc#{kind}", keys)

    # --- locks ----------------------------------------------------------------------------
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        now = self.clock()
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    **self._key("lock", name),
                    "owner": _s(owner),
                    "expires": _n(now + ttl_seconds),
                },
                ConditionExpression="attribute_not_exists(pk) OR #o = :o OR #e <= :now",
                ExpressionAttributeNames={"#o": "owner", "#e": "expires"},
                ExpressionAttributeValues={":o": _s(owner), ":now": _n(now)},
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lock(self, name: str, owner: str) -> None:
        try:
            self.db.delete_item(
                TableName=self.table,
                Key=self._key("lock", name),
                ConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": _s(owner)},
            )
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise

    def lock_holder(self, name: str) -> str | None:
        item = self.db.get_item(
            TableName=self.table, Key=self._key("lock", name), ConsistentRead=True
        ).get("Item")
        if not item or float(item["expires"]["N"]) <= self.clock():
            return None
        return str(item["owner"]["S"])

    # --- counters -------------------------------------------------------------------------
    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        # ADD on a live counter is atomic in DynamoDB. A missing or expired one (TTL deletion
        # is lazy) is started by a conditional put; losing that race to another starter just
        # means adding to the counter it made.
        for _ in range(10):
            now = self.clock()
            expires = _n(now + ttl_seconds)
            try:
                item = self.db.update_item(
                    TableName=self.table,
                    Key=self._key("counter", name),
                    UpdateExpression="ADD n :d SET expires = :e, #t = :t",
                    ConditionExpression="expires > :now",
                    ExpressionAttributeNames={"#t": "ttl"},
                    ExpressionAttributeValues={
                        ":d": _n(delta),
                        ":e": expires,
                        ":t": _n(int(now + ttl_seconds) + 1),
                        ":now": _n(now),
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
                return int(item["n"]["N"])
            except Exception as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
            start = max(delta, 0)
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={
                        **self._key("counter", name),
                        "n": _n(start),
                        "expires": expires,
                        "ttl": _n(int(now + ttl_seconds) + 1),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires <= :now",
                    ExpressionAttributeValues={":now": _n(now)},
                )
                return start
            except Exception as exc:
                if _error_code(exc) != "ConditionalCheckFailedException":
                    raise
        raise RetryableError(f"counter {name!r} kept changing under us; try again")

    def reset_counter(self, name: str) -> None:
        self.db.delete_item(TableName=self.table, Key=self._key("counter", name))

    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(names))
        now = self.clock()
        found = self._get_many("counter", wanted)
        return {
            n: int(found[n]["n"]["N"])
            if n in found and float(found[n]["expires"]["N"]) > now
            else 0
            for n in wanted
        }


# --- S3 -------------------------------------------------------------------------------------
class S3Blobs(BlobPort):
    """Blobs as S3 objects `<prefix><2 hex>/<digest>` in a private, encrypted bucket.

    Args:
        bucket: The bucket.
        s3: A boto3 S3 client.
        prefix: Key prefix (`blobs/` for images, `overflow/` for big queue messages).
    """

    def __init__(self, bucket: str, s3: Any, prefix: str = "blobs/") -> None:
        self.bucket = bucket
        self.s3 = s3
        self.prefix = prefix

    def _object_key(self, digest: str) -> str:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BlobNotFound(digest)
        return f"{self.prefix}{digest[:2]}/{digest}"

    def put(self, data: bytes) -> str:
        digest = self.digest(data)
        if not self.exists(digest):
            self.s3.put_object(Bucket=self.bucket, Key=self._object_key(digest), Body=data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self._object_key(digest))
        except Exception as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise BlobNotFound(digest) from None
            raise
        return bytes(response["Body"].read())

    def exists(self, digest: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._object_key(digest))
        except BlobNotFound:
            return False
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


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


# --- EventBridge Scheduler: the API's schedule mover in AWS -----------------------------------
class EventBridgeScheduleMover:
    """Moves a task's EventBridge Scheduler schedule (`<stack>-<task>`, as the template names it)
    when the operator changes its expression or switch in the sync interface.

    Args:
        stack: The stack name (`CPSYNC_STACK_NAME`, set by the template).
        scheduler: A boto3 EventBridge Scheduler client.
        cloud_runs: False in agent mode: the agent runs the tasks on the stored schedules, so
            the cloud schedule takes the expression but always stays disabled.
    """

    def __init__(self, stack: str, scheduler: Any, cloud_runs: bool = True) -> None:
        self.stack = stack
        self.scheduler = scheduler
        self.cloud_runs = cloud_runs

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Apply the expression and the switch to the real schedule (time zone kept).

        Raises:
            ValueError: The expression is not a schedule EventBridge would take.
        """
        from zoneinfo import ZoneInfo

        from cpsync.schedules import parse_schedule

        parse_schedule(schedule, ZoneInfo("UTC"))  # ScheduleError is a ValueError
        name = f"{self.stack}-{task.replace('_', '-')}"
        current = self.scheduler.get_schedule(Name=name)
        update = {
            key: current[key]
            for key in ("GroupName", "Target", "FlexibleTimeWindow", "ScheduleExpressionTimezone")
            if key in current
        }
        self.scheduler.update_schedule(
            Name=name,
            ScheduleExpression=schedule,
            State="ENABLED" if enabled and self.cloud_runs else "DISABLED",
            **update,
        )
