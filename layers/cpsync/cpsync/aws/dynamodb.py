"""The state port on one DynamoDB table.

It implements only the primitives of `ports.py`; the logic (stale versions, options) stays in
the port, and the contract suite in `tests/contract` runs against it (moto over HTTP) exactly
as against the SQLite state.

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
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from cpsync.aws._boto import Clock, _chunks, _error_code
from cpsync.errors import RetryableError
from cpsync.ports import AppliedRecord, RunError, RunRecord, StatePort

__all__ = ["DynamoState"]


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
