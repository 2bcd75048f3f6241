"""The queue port on a SQLite table.

It behaves like SQS: a receive hides messages for a visibility timeout under a new
receipt, counts receives, and a message acked with an outdated receipt stays. Each operation
is one statement or one transaction, so two processes can share the file.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from cpsync._chunks import chunks
from cpsync.embedded._tables import CHUNK, Clock, dead_letters, queue_messages
from cpsync.ports import (
    DeadLetter,
    QueueDepth,
    QueueMessage,
    QueuePort,
    WaitingMessage,
    record_of,
)

__all__ = ["SqliteQueue"]


def _received(message: QueueMessage) -> ColumnElement[bool]:
    """The row of a message, as long as `message.receipt` is still its latest receive."""
    return and_(queue_messages.c.id == int(message.id), queue_messages.c.receipt == message.receipt)


def _json_field(column: Any, path: str) -> Any:
    """A field of a JSON column, NULL for a body that is not JSON (json_extract would fail)."""
    return case((func.json_valid(column) == 1, func.json_extract(column, path)), else_=None)


class SqliteQueue(QueuePort):
    """The queue port's primitives on a SQLite table (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        visibility_seconds: float = 120,
        max_receives: int = 8,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(visibility_seconds, max_receives)
        self.engine = engine
        self.clock = clock

    def _put(self, bodies: Sequence[str], delay_seconds: float = 0) -> None:
        now = self.clock()
        rows = [
            {"body": b, "sent_at": now, "visible_at": now + delay_seconds, "receive_count": 0}
            for b in bodies
        ]
        with self.engine.begin() as conn:
            for chunk in chunks(rows, CHUNK):
                conn.execute(insert(queue_messages), chunk)

    def _take(self, max_messages: int, visibility_seconds: float) -> list[QueueMessage]:
        now = self.clock()
        receipt = uuid.uuid4().hex
        ids = (
            select(queue_messages.c.id)
            .where(queue_messages.c.visible_at <= now)
            .order_by(queue_messages.c.id)
            .limit(max_messages)
            .scalar_subquery()
        )
        stmt = (
            update(queue_messages)
            .where(queue_messages.c.id.in_(ids))
            .values(
                receipt=receipt,
                visible_at=now + visibility_seconds,
                receive_count=queue_messages.c.receive_count + 1,
            )
            .returning(
                queue_messages.c.id,
                queue_messages.c.body,
                queue_messages.c.receive_count,
                queue_messages.c.sent_at,
                queue_messages.c.last_error,
            )
        )
        with self.engine.begin() as conn:
            rows = conn.execute(stmt).all()
        found = [
            QueueMessage(str(r.id), receipt, r.body, r.receive_count, r.sent_at, r.last_error)
            for r in rows
        ]
        return sorted(found, key=lambda m: int(m.id))

    def _delete(self, messages: Sequence[QueueMessage]) -> None:
        pairs = [(int(m.id), m.receipt) for m in messages]
        with self.engine.begin() as conn:
            for chunk in chunks(pairs, CHUNK):
                conn.execute(
                    delete(queue_messages).where(
                        tuple_(queue_messages.c.id, queue_messages.c.receipt).in_(chunk)
                    )
                )

    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None:
        self._hide_many([(message, seconds, error)])

    def _hide_many(self, hidden: Sequence[tuple[QueueMessage, float, str | None]]) -> None:
        now = self.clock()
        with self.engine.begin() as conn:  # one transaction for a whole batch's retries
            for message, seconds, error in hidden:
                conn.execute(
                    update(queue_messages)
                    .where(_received(message))
                    .values(visible_at=now + seconds, last_error=error)
                )

    def _park(self, message: QueueMessage, reason: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(queue_messages).where(_received(message))).rowcount
            if gone:
                # One dead letter per record: the newest replaces older ones (SQLite can find
                # them by the body's kind and key; SQS does it when listing, see `parked`).
                record = record_of(message.body)
                if record is not None:
                    conn.execute(
                        delete(dead_letters).where(
                            and_(
                                _json_field(dead_letters.c.body, "$.kind") == record[0],
                                _json_field(dead_letters.c.body, "$.key") == record[1],
                            )
                        )
                    )
                conn.execute(
                    insert(dead_letters).values(
                        body=message.body,
                        reason=reason,
                        receive_count=message.receive_count,
                        sent_at=message.sent_at,
                        failed_at=self.clock(),
                    )
                )

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Parked rows, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(dead_letters).order_by(dead_letters.c.id).limit(limit)).all()
        return [DeadLetter(str(r.id), r.body, r.reason, r.receive_count, r.failed_at) for r in rows]

    def _unpark(self, ids: Sequence[str]) -> list[str]:
        moved: list[str] = []
        now = self.clock()
        with self.engine.begin() as conn:
            for chunk in chunks([int(i) for i in ids], CHUNK):
                rows = conn.execute(
                    delete(dead_letters)
                    .where(dead_letters.c.id.in_(chunk))
                    .returning(dead_letters.c.id, dead_letters.c.body)
                ).all()
                if rows:
                    conn.execute(
                        insert(queue_messages),
                        [
                            {"body": r.body, "sent_at": now, "visible_at": now, "receive_count": 0}
                            for r in rows
                        ],
                    )
                moved.extend(str(r.id) for r in rows)
        return moved

    def discard_dead(self, ids: Sequence[str]) -> int:
        """Delete parked rows.

        Returns:
            How many were deleted.
        """
        with self.engine.begin() as conn:
            return sum(
                conn.execute(
                    delete(dead_letters).where(dead_letters.c.id.in_([int(i) for i in chunk]))
                ).rowcount
                for chunk in chunks(ids, CHUNK)
            )

    def peek(self, limit: int = 100) -> list[WaitingMessage]:
        """Queued rows, oldest first, without receiving them."""
        q = queue_messages.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(queue_messages).order_by(q.id).limit(limit)).all()
        return [
            WaitingMessage(
                str(r.id), r.body, r.receive_count, r.sent_at, r.visible_at, r.last_error
            )
            for r in rows
        ]

    def depth(self) -> QueueDepth:
        """Counts of visible, received, delayed and parked rows, and the oldest row's age."""
        now = self.clock()
        q = queue_messages.c
        hidden = q.visible_at > now

        def count(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0))

        # One statement, so one snapshot: a message received or sent between separate counts
        # would be counted nowhere (and a drain would stop with it still queued).
        dead_count = select(func.count()).select_from(dead_letters).scalar_subquery()
        stmt = select(
            count(q.visible_at <= now),
            count(and_(hidden, q.receive_count > 0)),
            count(and_(hidden, q.receive_count == 0)),
            func.min(q.sent_at),
            dead_count,
        ).select_from(queue_messages)
        with self.engine.connect() as conn:
            visible, hidden_received, delayed, oldest, dead = conn.execute(stmt).one()
        return QueueDepth(
            visible=visible or 0,
            in_flight=hidden_received or 0,
            delayed=delayed or 0,
            dead=dead or 0,
            oldest_age_seconds=0.0 if oldest is None else max(0.0, now - oldest),
        )
