"""The queue port's contract: what the updater relies on, for every adapter."""

from __future__ import annotations

from cpsync.model import Change
from cpsync.ports import QueuePort


def test_sent_changes_come_back_in_batches(queue: QueuePort, make_change) -> None:
    assert queue.send(make_change(f"K{i}") for i in range(25)) == 25
    first = queue.receive(10)
    second = queue.receive(100)
    assert len(first) == 10
    assert len(second) == 15
    assert {Change.from_json(m.body).key for m in first + second} == {f"K{i}" for i in range(25)}


def test_a_received_message_is_hidden_until_its_visibility_ends(
    queue: QueuePort, clock, make_change
) -> None:
    queue.send([make_change("A")])
    (message,) = queue.receive()
    assert queue.receive() == []
    clock.advance(31)
    (again,) = queue.receive()
    assert again.id == message.id
    assert again.receive_count == 2


def test_an_acked_message_is_gone_but_an_outdated_receipt_cannot_ack(
    queue: QueuePort, clock, make_change
) -> None:
    queue.send([make_change("A"), make_change("B")])
    first = queue.receive()
    clock.advance(31)
    second = queue.receive()
    queue.ack(first)  # receipts from before the timeout: the messages stay
    assert queue.depth().in_flight == 2
    queue.ack(second)
    assert queue.depth().in_flight + queue.depth().visible == 0


def test_retry_later_hides_a_message_for_the_delay_and_keeps_the_error(
    queue: QueuePort, clock, make_change
) -> None:
    queue.send([make_change("A")])
    (message,) = queue.receive()
    queue.retry_later(message, "HTTP 503", delay_seconds=5)
    assert queue.receive() == []
    clock.advance(6)
    (again,) = queue.receive()
    assert again.last_error == "HTTP 503"


def test_a_message_received_too_often_is_parked_with_its_last_error(
    queue: QueuePort, clock, make_change
) -> None:
    queue.send([make_change("A")])
    for _ in range(3):
        (message,) = queue.receive()
        queue.retry_later(message, "HTTP 503 maintenance", delay_seconds=0)
    assert queue.receive() == []
    (dead,) = queue.dead_letters()
    assert "3 attempts" in dead.reason
    assert "HTTP 503 maintenance" in dead.reason


def test_dead_letters_keep_the_reason_and_can_be_redriven_or_discarded(
    queue: QueuePort, make_change
) -> None:
    queue.send([make_change("A"), make_change("B")])
    a, b = queue.receive(10)
    queue.dead_letter(a, "Invalid product data: name")
    queue.dead_letter(b, "URL key for specified store already exists.")
    dead = queue.dead_letters()
    assert [d.reason for d in dead] == [
        "Invalid product data: name",
        "URL key for specified store already exists.",
    ]
    assert queue.depth().dead == 2
    assert queue.redrive([dead[0].id]) == [dead[0].id]
    (back,) = queue.receive()
    assert Change.from_json(back.body).key == "A"
    assert back.receive_count == 1
    assert queue.discard_dead([dead[1].id]) == 1
    assert queue.dead_letters() == []


def test_depth_reports_the_oldest_message_age(queue: QueuePort, clock, make_change) -> None:
    queue.send([make_change("A")])
    clock.advance(42)
    assert queue.depth().oldest_age_seconds == 42
    assert queue.depth().visible == 1


def test_peek_lists_waiting_messages_without_receiving_them(
    queue: QueuePort, clock, make_change
) -> None:
    """The sync interface lists the queue; looking must not count as a try.

    An adapter that cannot list (SQS) answers an empty list; one that lists shows every
    waiting message oldest first, hidden ones included, and receives nothing.
    """
    queue.send([make_change("A"), make_change("B"), make_change("C")])
    assert len(queue.receive(1)) == 1
    listed = queue.peek(10)
    if not listed:
        return
    assert [Change.from_json(m.body).key for m in listed] == ["A", "B", "C"]
    assert [m.receive_count for m in listed] == [1, 0, 0]
    assert len(queue.peek(2)) == 2
    assert len(queue.receive(10)) == 2  # B and C were not hidden by peeking
    assert queue.depth().in_flight == 3


def test_a_record_parked_again_keeps_one_dead_letter_the_newest(
    queue: QueuePort, make_change
) -> None:
    for reason in ("first refusal", "second refusal"):
        queue.send([make_change("A")])
        (message,) = queue.receive()
        queue.dead_letter(message, reason)
    queue.send([make_change("B")])
    (other,) = queue.receive()
    queue.dead_letter(other, "another record")
    parked = queue.parked()
    assert [(Change.from_json(d.body).key, d.reason) for d in parked] == [
        ("A", "second refusal"),
        ("B", "another record"),
    ]
    assert queue.depth().dead == 2
