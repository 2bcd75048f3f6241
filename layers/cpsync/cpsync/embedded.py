"""SQLite adapters of the queue and state ports, for one machine (`make demo`, small shops).

Both live in one SQLite file (`CPSYNC_STATE_URL`). The queue behaves like SQS: a receive
hides messages for a visibility timeout under a new receipt, counts receives, and a message
acked with an outdated receipt stays. Each operation is one statement or one transaction, so
two processes can share the file.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

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
    WaitingMessage,
    record_of,
)

__all__ = ["LocalBlobs", "SqliteQueue", "SqliteState", "sqlite_engine"]

Clock = Callable[[], float]

_meta = MetaData()

queue_messages = Table(
    "queue_messages",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", Text, nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("visible_at", Float, nullable=False, index=True),
    Column("receive_count", Integer, nullable=False, default=0),
    Column("receipt", String(40)),
    Column("last_error", Text),
)
dead_letters = Table(
    "dead_letters",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("receive_count", Integer, nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("failed_at", Float, nullable=False),
)
documents = Table(
    "documents",
    _meta,
    Column("kind", String(40), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("body", Text, nullable=False),
)
locks = Table(
    "locks",
    _meta,
    Column("name", String(255), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("expires_at", Float, nullable=False),
)
counters = Table(
    "counters",
    _meta,
    Column("name", String(255), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)
watermarks = Table(
    "watermarks",
    _meta,
    Column("task", String(40), primary_key=True),
    Column("value", String(32), nullable=False),
)
sent = Table(
    "sent_fingerprints",
    _meta,
    Column("kind", String(20), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)
applied = Table(
    "applied_versions",
    _meta,
    Column("kind", String(20), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("applied_at", Float, nullable=False),
)
magento_ids = Table(
    "magento_ids",
    _meta,
    Column("kind", String(20), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("magento_id", Integer, nullable=False),
)
runs = Table(
    "runs",
    _meta,
    Column("run_id", String(80), primary_key=True),
    Column("task", String(40), nullable=False, index=True),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("status", String(20), nullable=False),
    Column("counts", Text, nullable=False),
)
run_errors = Table(
    "run_errors",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(80), nullable=False, index=True),
    Column("task", String(40), nullable=False),
    Column("key", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("level", String(10), nullable=False, server_default="error"),
)

_CHUNK = 500


def sqlite_engine(url: str) -> Engine:
    """An engine for cpsync's SQLite file: WAL, a busy timeout, parent folder created."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    _meta.create_all(engine)
    with engine.begin() as conn:  # files made before run errors had a level
        names = {c["name"] for c in inspect(conn).get_columns("run_errors")}
        if "level" not in names:
            conn.exec_driver_sql(
                "ALTER TABLE run_errors ADD COLUMN level VARCHAR(10) NOT NULL DEFAULT 'error'"
            )
    return engine


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _received(message: QueueMessage) -> ColumnElement[bool]:
    """The row of a message, as long as `message.receipt` is still its latest receive."""
    return and_(queue_messages.c.id == int(message.id), queue_messages.c.receipt == message.receipt)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _json_field(column: Any, path: str) -> Any:
    """A field of a JSON column, NULL for a body that is not JSON (json_extract would fail)."""
    return case((func.json_valid(column) == 1, func.json_extract(column, path)), else_=None)


class SqliteQueue(QueuePort):
    """The queue port on a SQLite table (see module docstring)."""

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
            for chunk in _chunks(rows):
                conn.execute(insert(queue_messages), list(chunk))

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
            for chunk in _chunks(pairs):
                conn.execute(
                    delete(queue_messages).where(
                        tuple_(queue_messages.c.id, queue_messages.c.receipt).in_(list(chunk))
                    )
                )

    def _hide(self, message: QueueMessage, seconds: float, error: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(queue_messages)
                .where(_received(message))
                .values(visible_at=self.clock() + seconds, last_error=error)
            )

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
        with self.engine.connect() as conn:
            rows = conn.execute(select(dead_letters).order_by(dead_letters.c.id).limit(limit)).all()
        return [DeadLetter(str(r.id), r.body, r.reason, r.receive_count, r.failed_at) for r in rows]

    def _unpark(self, ids: Sequence[str]) -> list[str]:
        moved: list[str] = []
        now = self.clock()
        with self.engine.begin() as conn:
            for chunk in _chunks([int(i) for i in ids]):
                rows = conn.execute(
                    delete(dead_letters)
                    .where(dead_letters.c.id.in_(list(chunk)))
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
        with self.engine.begin() as conn:
            return sum(
                conn.execute(
                    delete(dead_letters).where(dead_letters.c.id.in_([int(i) for i in chunk]))
                ).rowcount
                for chunk in _chunks(list(ids))
            )

    def peek(self, limit: int = 100) -> list[WaitingMessage]:
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
        now = self.clock()
        q = queue_messages.c
        with self.engine.connect() as conn:
            visible = conn.scalar(select(func.count()).where(and_(q.visible_at <= now)))
            hidden_received = conn.scalar(
                select(func.count()).where(and_(q.visible_at > now, q.receive_count > 0))
            )
            delayed = conn.scalar(
                select(func.count()).where(and_(q.visible_at > now, q.receive_count == 0))
            )
            oldest = conn.scalar(select(func.min(q.sent_at)))
            dead = conn.scalar(select(func.count()).select_from(dead_letters))
        return QueueDepth(
            visible=visible or 0,
            in_flight=hidden_received or 0,
            delayed=delayed or 0,
            dead=dead or 0,
            oldest_age_seconds=0.0 if oldest is None else max(0.0, now - oldest),
        )


class SqliteState(StatePort):
    """The state port on SQLite tables (see module docstring)."""

    def __init__(self, engine: Engine, clock: Clock = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def get_watermark(self, task: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(watermarks.c.value).where(watermarks.c.task == task))
        return None if value is None else datetime.fromisoformat(value)

    def set_watermark(self, task: str, value: datetime) -> None:
        stmt = sqlite_insert(watermarks).values(task=task, value=_iso(value))
        stmt = stmt.on_conflict_do_update(index_elements=["task"], set_={"value": _iso(value)})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def _get_map(
        self, table: Table, column: str, kind: str, keys: Iterable[str] | None
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        base = select(table.c.key, table.c[column]).where(table.c.kind == kind)
        with self.engine.connect() as conn:
            if keys is None:
                result.update({r[0]: r[1] for r in conn.execute(base)})
                return result
            for chunk in _chunks(list(dict.fromkeys(keys))):
                stmt = base.where(table.c.key.in_(list(chunk)))
                result.update({r[0]: r[1] for r in conn.execute(stmt)})
        return result

    def _upsert(self, table: Table, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = sqlite_insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["kind", "key"],
                    set_={c: stmt.excluded[c] for c in columns},
                )
                conn.execute(stmt, list(chunk))

    def get_sent(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        return self._get_map(sent, "fingerprint", kind, keys)

    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        rows = [{"kind": kind, "key": k, "fingerprint": f} for k, f in fingerprints.items()]
        self._upsert(sent, rows, ["fingerprint"])

    def forget_sent(self, kind: str, keys: Iterable[str]) -> None:
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys)):
                conn.execute(
                    delete(sent).where(and_(sent.c.kind == kind, sent.c.key.in_(list(chunk))))
                )

    def get_applied(self, kind: str, keys: Iterable[str]) -> dict[str, AppliedRecord]:
        result: dict[str, AppliedRecord] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                stmt = select(applied.c.key, applied.c.version, applied.c.fingerprint).where(
                    and_(applied.c.kind == kind, applied.c.key.in_(list(chunk)))
                )
                result.update(
                    {r.key: AppliedRecord(r.version, r.fingerprint) for r in conn.execute(stmt)}
                )
        return result

    def put_applied(self, kind: str, records: dict[str, AppliedRecord]) -> None:
        if not records:
            return
        now = self.clock()
        rows = [
            {
                "kind": kind,
                "key": k,
                "version": r.version,
                "fingerprint": r.fingerprint,
                "applied_at": now,
            }
            for k, r in records.items()
        ]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = sqlite_insert(applied)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["kind", "key"],
                    set_={
                        "version": stmt.excluded.version,
                        "fingerprint": stmt.excluded.fingerprint,
                        "applied_at": stmt.excluded.applied_at,
                    },
                    where=applied.c.version < stmt.excluded.version,
                )
                conn.execute(stmt, list(chunk))

    def get_magento_ids(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        return self._get_map(magento_ids, "magento_id", kind, keys)

    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        rows = [{"kind": kind, "key": k, "magento_id": v} for k, v in ids.items()]
        self._upsert(magento_ids, rows, ["magento_id"])

    def start_run(self, run: RunRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(runs).values(
                    run_id=run.run_id,
                    task=run.task,
                    started_at=_iso(run.started_at),
                    status=run.status,
                    counts=json.dumps(run.counts),
                )
            )

    def finish_run(self, run: RunRecord) -> None:
        finished = run.finished_at or datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run.run_id)
                .values(
                    finished_at=_iso(finished), status=run.status, counts=json.dumps(run.counts)
                )
            )

    def add_errors(self, errors: Sequence[RunError]) -> None:
        rows = [
            {
                "run_id": e.run_id,
                "task": e.task,
                "key": e.key,
                "message": e.message,
                "at": _iso(e.at),
                "level": e.level,
            }
            for e in errors
        ]
        if rows:
            with self.engine.begin() as conn:
                for chunk in _chunks(rows):
                    conn.execute(insert(run_errors), list(chunk))

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        stmt = select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(limit)
        if task is not None:
            stmt = stmt.where(runs.c.task == task)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            RunRecord(
                run_id=r.run_id,
                task=r.task,
                started_at=datetime.fromisoformat(r.started_at),
                finished_at=None
                if r.finished_at is None
                else datetime.fromisoformat(r.finished_at),
                status=r.status,
                counts=json.loads(r.counts),
            )
            for r in rows
        ]

    def errors(
        self, task: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[RunError]:
        stmt = select(run_errors).order_by(run_errors.c.id.desc()).limit(limit)
        if task is not None:
            stmt = stmt.where(run_errors.c.task == task)
        if run_id is not None:
            stmt = stmt.where(run_errors.c.run_id == run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            RunError(r.run_id, r.task, r.key, r.message, datetime.fromisoformat(r.at), r.level)
            for r in rows
        ]

    def get_docs(self, kind: str, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        raw: dict[str, str] = self._get_map(documents, "body", kind, keys)
        return {k: json.loads(v) for k, v in raw.items()}

    def put_docs(self, kind: str, docs: dict[str, dict[str, Any]]) -> None:
        rows = [{"kind": kind, "key": k, "body": json.dumps(v)} for k, v in docs.items()]
        self._upsert(documents, rows, ["body"])

    def delete_docs(self, kind: str, keys: Iterable[str]) -> None:
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys)):
                conn.execute(
                    delete(documents).where(
                        and_(documents.c.kind == kind, documents.c.key.in_(list(chunk)))
                    )
                )

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        now = self.clock()
        stmt = sqlite_insert(locks).values(name=name, owner=owner, expires_at=now + ttl_seconds)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"owner": owner, "expires_at": now + ttl_seconds},
            where=(locks.c.owner == owner) | (locks.c.expires_at <= now),
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
            holder = conn.scalar(select(locks.c.owner).where(locks.c.name == name))
        return bool(holder == owner)

    def release_lock(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(and_(locks.c.name == name, locks.c.owner == owner)))

    def lock_holder(self, name: str) -> str | None:
        query = select(locks.c.owner).where(
            and_(locks.c.name == name, locks.c.expires_at > self.clock())
        )
        with self.engine.connect() as conn:
            owner = conn.scalar(query)
        return None if owner is None else str(owner)

    def add_counter(self, name: str, delta: int, ttl_seconds: float) -> int:
        # One upsert, then a read in the same transaction: the upsert holds SQLite's write
        # lock until commit, so no other writer can slip in between.
        now = self.clock()
        start = max(delta, 0)
        stmt = sqlite_insert(counters).values(name=name, value=start, expires_at=now + ttl_seconds)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "value": case(
                    (counters.c.expires_at <= now, start), else_=counters.c.value + delta
                ),
                "expires_at": now + ttl_seconds,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
            value = conn.execute(
                select(counters.c.value).where(counters.c.name == name)
            ).scalar_one()
        return int(value)

    def reset_counter(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(counters).where(counters.c.name == name))

    def get_counters(self, names: Iterable[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(names))
        query = select(counters.c.name, counters.c.value).where(
            counters.c.name.in_(wanted), counters.c.expires_at > self.clock()
        )
        with self.engine.connect() as conn:
            live = {str(n): int(v) for n, v in conn.execute(query)}
        return {n: live.get(n, 0) for n in wanted}


class LocalBlobs(BlobPort):
    """Blobs as files named by digest in a folder (`<root>/<2 hex>/<digest>`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BlobNotFound(digest)
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = self.digest(data)
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{uuid.uuid4().hex}.part")
            partial.write_bytes(data)
            partial.replace(path)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def exists(self, digest: str) -> bool:
        try:
            return self._path(digest).exists()
        except BlobNotFound:
            return False
