"""The state port on one DynamoDB table.

It implements only the primitives of `ports/state.py`; the logic (stale versions, expiry,
options) stays in the port, and the contract suite in `tests/contract` runs against it (moto
over HTTP) exactly as against the SQLite state.

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
from datetime import datetime
from typing import Any

from cpsync._chunks import chunks
from cpsync.aws._boto import Clock, error_code
from cpsync.errors import RetryableError
from cpsync.ports import AppliedRecord, RunError, RunRecord, Space, StatePort

__all__ = ["DynamoState"]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _value(attribute: dict[str, str]) -> str | int:
    """A stored string, or a stored number (Magento ids)."""
    return attribute["S"] if "S" in attribute else int(attribute["N"])


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
            **kwargs,
            "ExpressionAttributeValues": {
                ":pk": _s(pk),
                **kwargs.get("ExpressionAttributeValues", {}),
            },
        }
        while True:
            page = self.db.query(**args)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get_many(self, pk: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(dict.fromkeys(keys), 100):
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
        for chunk in chunks(requests, 25):
            pending: dict[str, Any] = {self.table: chunk}
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

    def _put_items(self, pk: str, values: dict[str, dict[str, Any]]) -> None:
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

    # --- primitives -----------------------------------------------------------------------
    def _get_values(self, space: Space, kind: str, keys: list[str] | None) -> dict[str, Any]:
        pk = f"{space}#{kind}"
        items = (
            {i["sk"]["S"]: i for i in self._query(pk, ConsistentRead=True)}
            if keys is None
            else self._get_many(pk, keys)
        )
        return {k: _value(i["v"]) for k, i in items.items()}

    def _put_values(self, space: Space, kind: str, values: dict[str, Any]) -> None:
        wrap = _n if space == "mid" else _s
        self._put_items(f"{space}#{kind}", {k: {"v": wrap(v)} for k, v in values.items()})

    def _delete_values(self, space: Space, kind: str, keys: list[str]) -> None:
        self._delete_keys(f"{space}#{kind}", keys)

    def _get_applied(self, kind: str, keys: list[str]) -> dict[str, AppliedRecord]:
        found = self._get_many(f"applied#{kind}", keys)
        return {k: AppliedRecord(i["version"]["S"], i["fp"]["S"]) for k, i in found.items()}

    def _put_applied(self, kind: str, records: dict[str, AppliedRecord], now: float) -> None:
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
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

        items = list(records.items())
        if len(items) == 1:
            put(items[0])
            return
        # A conditional write per record (batch writes take no conditions), in parallel.
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            list(pool.map(put, items))

    def _save_run(self, run: RunRecord) -> None:
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

    def _write_lock(self, name: str, owner: str, expires: float, now: float) -> bool:
        try:
            self.db.put_item(
                TableName=self.table,
                Item={**self._key("lock", name), "owner": _s(owner), "expires": _n(expires)},
                ConditionExpression="attribute_not_exists(pk) OR #o = :o OR #e <= :now",
                ExpressionAttributeNames={"#o": "owner", "#e": "expires"},
                ExpressionAttributeValues={":o": _s(owner), ":now": _n(now)},
            )
        except Exception as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _read_lock(self, name: str) -> tuple[str, float] | None:
        item = self.db.get_item(
            TableName=self.table, Key=self._key("lock", name), ConsistentRead=True
        ).get("Item")
        return None if not item else (str(item["owner"]["S"]), float(item["expires"]["N"]))

    def _add_counter(self, name: str, delta: int, start: int, now: float, expires: float) -> int:
        # ADD on a live counter is atomic in DynamoDB. A missing or expired one (TTL deletion
        # is lazy) is started by a conditional put; losing that race to another starter just
        # means adding to the counter it made.
        for _ in range(10):
            try:
                item = self.db.update_item(
                    TableName=self.table,
                    Key=self._key("counter", name),
                    UpdateExpression="ADD n :d SET expires = :e, #t = :t",
                    ConditionExpression="expires > :now",
                    ExpressionAttributeNames={"#t": "ttl"},
                    ExpressionAttributeValues={
                        ":d": _n(delta),
                        ":e": _n(expires),
                        ":t": _n(int(expires) + 1),
                        ":now": _n(now),
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
                return int(item["n"]["N"])
            except Exception as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
            try:
                self.db.put_item(
                    TableName=self.table,
                    Item={
                        **self._key("counter", name),
                        "n": _n(start),
                        "expires": _n(expires),
                        "ttl": _n(int(expires) + 1),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires <= :now",
                    ExpressionAttributeValues={":now": _n(now)},
                )
                return start
            except Exception as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
            now = self.clock()
        raise RetryableError(f"counter {name!r} kept changing under us; try again")

    def _read_counters(self, names: list[str]) -> dict[str, tuple[int, float]]:
        found = self._get_many("counter", names)
        return {n: (int(i["n"]["N"]), float(i["expires"]["N"])) for n, i in found.items()}

    # --- one request each ------------------------------------------------------------------
    def get_watermark(self, task: str) -> datetime | None:
        """The watermark item (`watermark`, task), read consistently."""
        item = self.db.get_item(
            TableName=self.table, Key=self._key("watermark", task), ConsistentRead=True
        ).get("Item")
        return None if item is None else datetime.fromisoformat(item["v"]["S"])

    def set_watermark(self, task: str, value: datetime) -> None:
        """Put the watermark item."""
        self.db.put_item(
            TableName=self.table,
            Item={**self._key("watermark", task), "v": _s(value.isoformat())},
        )

    def add_errors(self, errors: Sequence[RunError]) -> None:
        """Two copies of each error (all tasks, and the task's), batched, with the log's TTL."""
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
        """Newest runs first: a query on all runs or on one task's."""
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
        """Newest errors first: a query on all errors or one task's, filtered by run id."""
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

    def release_lock(self, name: str, owner: str) -> None:
        """Delete the lock item when `owner` holds it."""
        try:
            self.db.delete_item(
                TableName=self.table,
                Key=self._key("lock", name),
                ConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": _s(owner)},
            )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def reset_counter(self, name: str) -> None:
        """Delete the counter item."""
        self.db.delete_item(TableName=self.table, Key=self._key("counter", name))
