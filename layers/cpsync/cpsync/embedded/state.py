"""The state port on SQLite tables."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    and_,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cpsync.embedded._tables import (
    Clock,
    _chunks,
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
    StatePort,
)

__all__ = ["SqliteState"]


def _iso(value: datetime) -> str:
    return value.isoformat()


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
