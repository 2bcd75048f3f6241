"""The state port on SQLite tables."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    and_,
    case,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cpsync._chunks import chunks
from cpsync.embedded._tables import (
    CHUNK,
    Clock,
    applied,
    counters,
    documents,
    locks,
    magento_ids,
    run_errors,
    runs,
    sent,
    watermarks,
)
from cpsync.ports import (
    AppliedRecord,
    RunError,
    RunRecord,
    Space,
    StatePort,
)

__all__ = ["SqliteState"]


def _iso(value: datetime) -> str:
    return value.isoformat()


#: The table and value column of each plain map.
_SPACES: dict[Space, tuple[Table, str]] = {
    "sent": (sent, "fingerprint"),
    "mid": (magento_ids, "magento_id"),
    "doc": (documents, "body"),
}


class SqliteState(StatePort):
    """The state port's primitives on SQLite tables (`embedded/_tables.py`)."""

    def __init__(self, engine: Engine, clock: Clock = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # --- primitives -----------------------------------------------------------------------
    def _get_values(self, space: Space, kind: str, keys: list[str] | None) -> dict[str, Any]:
        table, column = _SPACES[space]
        result: dict[str, Any] = {}
        base = select(table.c.key, table.c[column]).where(table.c.kind == kind)
        with self.engine.connect() as conn:
            if keys is None:
                return {r[0]: r[1] for r in conn.execute(base)}
            for chunk in chunks(keys, CHUNK):
                stmt = base.where(table.c.key.in_(chunk))
                result.update({r[0]: r[1] for r in conn.execute(stmt)})
        return result

    def _put_values(self, space: Space, kind: str, values: dict[str, Any]) -> None:
        table, column = _SPACES[space]
        rows = [{"kind": kind, "key": k, column: v} for k, v in values.items()]
        with self.engine.begin() as conn:
            for chunk in chunks(rows, CHUNK):
                stmt = sqlite_insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["kind", "key"], set_={column: stmt.excluded[column]}
                )
                conn.execute(stmt, chunk)

    def _delete_values(self, space: Space, kind: str, keys: list[str]) -> None:
        table, _ = _SPACES[space]
        with self.engine.begin() as conn:
            for chunk in chunks(keys, CHUNK):
                conn.execute(
                    delete(table).where(and_(table.c.kind == kind, table.c.key.in_(chunk)))
                )

    def _get_applied(self, kind: str, keys: list[str]) -> dict[str, AppliedRecord]:
        result: dict[str, AppliedRecord] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(keys, CHUNK):
                stmt = select(applied.c.key, applied.c.version, applied.c.fingerprint).where(
                    and_(applied.c.kind == kind, applied.c.key.in_(chunk))
                )
                result.update(
                    {r.key: AppliedRecord(r.version, r.fingerprint) for r in conn.execute(stmt)}
                )
        return result

    def _put_applied(self, kind: str, records: dict[str, AppliedRecord], now: float) -> None:
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
            for chunk in chunks(rows, CHUNK):
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
                conn.execute(stmt, chunk)

    def _save_run(self, run: RunRecord) -> None:
        finished = None if run.finished_at is None else _iso(run.finished_at)
        counts = json.dumps(run.counts)
        stmt = sqlite_insert(runs).values(
            run_id=run.run_id,
            task=run.task,
            started_at=_iso(run.started_at),
            finished_at=finished,
            status=run.status,
            counts=counts,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id"],
            set_={"finished_at": finished, "status": run.status, "counts": counts},
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def _write_lock(self, name: str, owner: str, expires: float, now: float) -> bool:
        stmt = sqlite_insert(locks).values(name=name, owner=owner, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"owner": owner, "expires_at": expires},
            where=(locks.c.owner == owner) | (locks.c.expires_at <= now),
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
            holder = conn.scalar(select(locks.c.owner).where(locks.c.name == name))
        return bool(holder == owner)

    def _read_lock(self, name: str) -> tuple[str, float] | None:
        query = select(locks.c.owner, locks.c.expires_at).where(locks.c.name == name)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else (str(row.owner), float(row.expires_at))

    def _add_counter(self, name: str, delta: int, start: int, now: float, expires: float) -> int:
        # One upsert, then a read in the same transaction: the upsert holds SQLite's write
        # lock until commit, so no other writer can slip in between.
        stmt = sqlite_insert(counters).values(name=name, value=start, expires_at=expires)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "value": case(
                    (counters.c.expires_at <= now, start), else_=counters.c.value + delta
                ),
                "expires_at": expires,
            },
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
            value = conn.execute(
                select(counters.c.value).where(counters.c.name == name)
            ).scalar_one()
        return int(value)

    def _read_counters(self, names: list[str]) -> dict[str, tuple[int, float]]:
        found: dict[str, tuple[int, float]] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(names, CHUNK):
                query = select(counters.c.name, counters.c.value, counters.c.expires_at).where(
                    counters.c.name.in_(chunk)
                )
                found.update({str(r[0]): (int(r[1]), float(r[2])) for r in conn.execute(query)})
        return found

    # --- one statement each -----------------------------------------------------------------
    def get_watermark(self, task: str) -> datetime | None:
        """The task's watermark row."""
        with self.engine.connect() as conn:
            value = conn.scalar(select(watermarks.c.value).where(watermarks.c.task == task))
        return None if value is None else datetime.fromisoformat(value)

    def set_watermark(self, task: str, value: datetime) -> None:
        """Insert or replace the task's watermark row."""
        stmt = sqlite_insert(watermarks).values(task=task, value=_iso(value))
        stmt = stmt.on_conflict_do_update(index_elements=["task"], set_={"value": _iso(value)})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def add_errors(self, errors: Sequence[RunError]) -> None:
        """Insert the error rows, in chunks."""
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
                for chunk in chunks(rows, CHUNK):
                    conn.execute(insert(run_errors), chunk)

    def runs(self, task: str | None = None, limit: int = 20) -> list[RunRecord]:
        """Newest runs first, by start time."""
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
        """Newest errors first, by row id."""
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

    def release_lock(self, name: str, owner: str) -> None:
        """Delete the lock row when `owner` holds it."""
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(and_(locks.c.name == name, locks.c.owner == owner)))

    def reset_counter(self, name: str) -> None:
        """Delete the counter row."""
        with self.engine.begin() as conn:
            conn.execute(delete(counters).where(counters.c.name == name))
