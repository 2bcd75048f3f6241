"""Benchmark of the AWS adapters against moto server over HTTP, next to the SQLite ones.

`python -m bench.aws_adapters [--changes 1000] [--keys 5000] [--endpoint URL]`: against moto
server by default, or any endpoint (ministack: `GATEWAY_PORT=4599 .venv-ministack/bin/ministack`
then `--endpoint http://127.0.0.1:4599`). moto's SQS slows down as a queue grows (each send
scans the queue), so its queue figures understate SQS; ministack and real SQS do not. The
figures show calls per record more than absolute AWS speed. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cpsync.aws import DynamoState, S3Blobs, SqsQueue
from cpsync.embedded import SqliteQueue, SqliteState, sqlite_engine
from cpsync.model import Change, make_version
from cpsync.ports import AppliedRecord, QueuePort, StatePort


def _change(i: int) -> Change:
    return Change(
        kind="product",
        key=f"ITEM-{i:06d}",
        version=make_version(None),
        fingerprint=f"{i:032x}",
        payload={"sku": f"ITEM-{i:06d}", "name": f"Item {i}", "price": 9.99, "status": 1},
        task="items",
        run_id="bench",
        detected_at=datetime.now(UTC),
    )


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _queue_figures(queue: QueuePort, changes: int) -> dict[str, float]:
    batch = [_change(i) for i in range(changes)]
    send = _timed(lambda: queue.send(batch))

    def drain() -> None:
        while got := queue.receive(100):
            queue.ack(got)

    drain_s = _timed(drain)
    return {"send_per_s": changes / send, "receive_ack_per_s": changes / drain_s}


def _state_figures(state: StatePort, keys: int) -> dict[str, float]:
    prints = {f"ITEM-{i:06d}": f"{i:032x}" for i in range(keys)}
    put = _timed(lambda: state.put_sent("product", prints))
    get = _timed(lambda: state.get_sent("product", list(prints)))
    scan = _timed(lambda: state.get_sent("product"))
    applied = {k: AppliedRecord(make_version(None), v) for k, v in list(prints.items())[:1000]}
    put_applied = _timed(lambda: state.put_applied("product", applied))
    return {
        "put_sent_per_s": keys / put,
        "get_sent_by_key_per_s": keys / get,
        "get_sent_all_per_s": keys / scan,
        "put_applied_per_s": len(applied) / put_applied,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--endpoint", help="an AWS endpoint to use instead of moto")
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    server = None
    endpoint = args.endpoint
    if endpoint is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
    try:
        sqs = boto3.client("sqs", endpoint_url=endpoint)
        db = boto3.client("dynamodb", endpoint_url=endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint)
        suffix = str(int(time.time()))
        dead = sqs.create_queue(QueueName=f"dead-{suffix}")["QueueUrl"]
        queue_url = sqs.create_queue(QueueName=f"changes-{suffix}")["QueueUrl"]
        table = f"state-{suffix}"
        db.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3.create_bucket(Bucket=f"blobs-{suffix}")
        notes = DynamoState(table, db)
        overflow = S3Blobs(f"blobs-{suffix}", s3)
        aws_queue = SqsQueue(queue_url, dead, sqs, notes=notes, overflow=overflow)
        with tempfile.TemporaryDirectory() as folder:
            engine = sqlite_engine(f"sqlite:///{Path(folder)}/state.db")
            results = {
                "sqs": _queue_figures(aws_queue, args.changes),
                "sqlite_queue": _queue_figures(SqliteQueue(engine), args.changes),
                "dynamodb": _state_figures(DynamoState(table, db), args.keys),
                "sqlite_state": _state_figures(SqliteState(engine), args.keys),
            }
            engine.dispose()
    finally:
        if server is not None:
            server.stop()
    print(
        json.dumps({k: {n: round(v) for n, v in r.items()} for k, r in results.items()}, indent=2)
    )


if __name__ == "__main__":
    main()
