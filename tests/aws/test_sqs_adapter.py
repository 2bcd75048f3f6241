"""What the SQS adapter does beyond the shared contract: real visibility time, big Changes,
and messages SQS itself moved to the dead-letter queue. Against moto server over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from cpsync.aws import DynamoState, MessageTooLarge, S3Blobs, SqsQueue
from cpsync.model import Change, make_version
from cpsync.ports import ChangeResult, Fate, QueueMessage


def _change(key: str, payload_bytes: int = 10) -> Change:
    return Change(
        kind="product",
        key=key,
        version=make_version(None),
        fingerprint="f",
        payload={"sku": key, "description": "x" * payload_bytes},
        task="items",
        run_id="r",
        detected_at=datetime.now(UTC),
    )


def _queue(aws, overflow: bool = True, visibility: float = 1) -> SqsQueue:
    return SqsQueue(
        aws.queue_url,
        aws.dead_letter_url,
        aws.client("sqs"),
        notes=DynamoState(aws.table, aws.client("dynamodb")),
        overflow=S3Blobs(aws.bucket, aws.client("s3"), prefix="overflow/") if overflow else None,
        visibility_seconds=visibility,
        max_receives=3,
    )


def test_given_sqs_when_the_visibility_ends_then_the_message_is_back_with_a_higher_count(
    aws,
) -> None:
    queue = _queue(aws, visibility=2)
    queue.send([_change("A")])
    (first,) = queue.receive()
    assert queue.receive() == []
    time.sleep(2.5)
    (again,) = queue.receive()
    assert (again.id, again.receive_count) == (first.id, 2)
    queue.ack([again])
    assert queue.depth().visible + queue.depth().in_flight == 0


def test_given_a_retried_message_when_it_returns_then_it_carries_the_last_error(aws) -> None:
    queue = _queue(aws, visibility=30)
    queue.send([_change("A")])
    (message,) = queue.receive()
    queue.retry_later(message, "product A: HTTP 503", delay_seconds=2)
    assert queue.receive() == []
    time.sleep(2.5)
    (again,) = queue.receive()
    assert again.last_error == "product A: HTTP 503"
    queue.ack([again])
    assert DynamoState(aws.table, aws.client("dynamodb")).get_docs("queue_error") == {}


def test_given_a_change_over_the_sqs_limit_when_sent_then_it_travels_through_s3_intact(
    aws,
) -> None:
    queue = _queue(aws)
    big = _change("BIG", payload_bytes=400_000)
    queue.send([big, _change("SMALL")])
    received = {Change.from_json(m.body).key: m for m in queue.receive(10)}
    assert Change.from_json(received["BIG"].body) == big
    assert aws.client("s3").list_objects_v2(Bucket=aws.bucket, Prefix="overflow/")["KeyCount"] == 1
    queue.dead_letter(received["BIG"], "product BIG: refused")
    (dead,) = queue.dead_letters()
    assert Change.from_json(dead.body) == big


def test_given_no_overflow_store_when_a_change_is_too_big_then_the_send_names_it_and_queues_nothing(
    aws,
) -> None:
    queue = _queue(aws, overflow=False)
    with pytest.raises(MessageTooLarge, match="product BIG"):
        queue.send([_change("OK"), _change("BIG", payload_bytes=400_000)])
    assert queue.depth().visible == 0


def test_given_a_message_sqs_moved_to_the_dlq_then_its_dead_letter_says_why(aws) -> None:
    queue = _queue(aws)
    aws.client("sqs").send_message(QueueUrl=aws.dead_letter_url, MessageBody=_change("Z").to_json())
    (dead,) = queue.dead_letters()
    assert dead.reason.startswith("product Z: moved to the dead-letter queue by SQS")
    assert queue.redrive() == [dead.id]
    (back,) = queue.receive()
    assert Change.from_json(back.body).key == "Z"


def test_given_many_changes_when_sent_then_they_go_in_batches_and_all_arrive(aws) -> None:
    queue = _queue(aws, visibility=30)
    assert queue.send(_change(f"K{i}", payload_bytes=40_000) for i in range(30)) == 30
    keys = set()
    while batch := queue.receive(100):
        keys |= {Change.from_json(m.body).key for m in batch}
    assert keys == {f"K{i}" for i in range(30)}


def test_given_a_big_change_whose_s3_part_is_gone_then_it_is_parked_with_the_reason(aws) -> None:
    queue = _queue(aws, visibility=30)
    queue.send([_change("BIG", payload_bytes=400_000), _change("OK")])
    s3 = aws.client("s3")
    (obj,) = s3.list_objects_v2(Bucket=aws.bucket, Prefix="overflow/")["Contents"]
    s3.delete_object(Bucket=aws.bucket, Key=obj["Key"])
    (ok,) = queue.receive(10)
    assert Change.from_json(ok.body).key == "OK"
    (dead,) = queue.dead_letters()
    assert "cannot be read" in dead.reason and "BlobNotFound" in dead.reason


def test_given_a_big_batch_when_settled_then_every_message_is_acked_retried_or_parked(
    aws,
) -> None:
    # GIVEN 300 received Changes: a third applied, a third failing transiently, a third refused
    queue = _queue(aws, visibility=60)
    queue.send([_change(f"K{i:03d}") for i in range(300)])
    received = queue.receive(300)
    assert len(received) == 300
    fates = [Fate.APPLIED, Fate.RETRY, Fate.PARKED]
    settled = [
        (m, ChangeResult(fates[i % 3], f"product {m.id}: no. {i % 3}"))
        for i, m in enumerate(received)
    ]
    calls: list[str] = []
    queue.sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    # WHEN the batch is settled in one go (the retried ones hidden for 5 s: settling and
    # listing the letters take about a second here, several on a loaded machine)
    queue.settle(settled, lambda message, result: 5)
    # THEN SQS is called in batches of 10, so a batch of thousands settles within the timeout
    assert calls.count("ChangeMessageVisibilityBatch") == 10
    assert "ChangeMessageVisibility" not in calls
    assert calls.count("SendMessageBatch") == 10
    # AND the refused ones are parked with their reasons, the others wait for their retry
    dead = queue.dead_letters(limit=1000)
    assert len(dead) == 100
    assert {d.reason for d in dead} == {
        f"product {m.id}: no. 2" for m, r in settled if r.fate is Fate.PARKED
    }
    assert queue.receive(10) == []
    # AND only the retried ones come back, each with its own last error
    retried = {m.id: r.reason for m, r in settled if r.fate is Fate.RETRY}
    again: list[QueueMessage] = []
    deadline = time.monotonic() + 60
    while len(again) < len(retried) and time.monotonic() < deadline:
        again += queue.receive(300)
        time.sleep(0.5)
    assert {m.id: m.last_error for m in again} == retried
    queue.ack(again)
    assert queue.depth().visible + queue.depth().in_flight == 0
