"""The SQLite tables of the queue and the state, and the engine that creates them."""

from __future__ import annotations

from collections.abc import Callable
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
    create_engine,
    event,
    inspect,
)

__all__ = ["CHUNK", "Clock", "sqlite_engine"]

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

#: Rows or keys per statement: SQLite limits the variables of a statement.
CHUNK = 500


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
