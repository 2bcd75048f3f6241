"""Client benchmark: 1,000 product saves, one request per product vs async bulk.

``python -m bench.client --products 1000 --save-ms 30 --workers 8 --consumers 4``

Both runs go through the cpsync client against the emulator's cost model (a product save
costs ``--save-ms`` of a worker; the store has ``--workers`` PHP-FPM workers and
``--consumers`` async consumers). For each run it prints requests made, records per request,
wall time, and the lower bound the cost model allows (total cost divided by the workers or
consumers that can carry it). A third and fourth run put a small store (4 workers, a listen
backlog of 4: nginx answers 502 beyond it) under 16 concurrent callers, once with the adaptive
limiter and once with a fixed limit, and print the refused requests. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.magento.bulk import BulkRunner
from cpsync.magento.client import MagentoClient, RetryPolicy
from cpsync.magento.limiter import AdaptiveLimiter
from cpsync.magento.products import ProductWriter
from cpsync.model import Change, ProductState
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _changes(count: int) -> list[Change]:
    changes = []
    for n in range(count):
        sku = f"B-{n:05d}"
        state = ProductState(
            sku=sku, enabled=True, name=f"Bench {sku}", url_key=f"bench-{n}", price=9, qty=1
        )
        changes.append(
            Change(
                kind="product",
                key=sku,
                version="1",
                fingerprint=state.fingerprint(),
                payload=state.model_dump(mode="json"),
                task="bench",
                run_id="bench",
                detected_at=NOW,
            )
        )
    return changes


def _run(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    config = EmulatorConfig(
        costs_ms={"products.save": args.save_ms, "products.search": 5.0},
        workers=args.workers,
        bulk_consumers=args.consumers,
    )
    changes = _changes(args.products)
    with running_emulator(config) as emulator, tempfile.TemporaryDirectory() as folder:
        state = SqliteState(sqlite_engine(f"sqlite:///{folder}/state.db"))
        client = MagentoClient(emulator.url, emulator.token, max_connections=args.concurrency)
        with client:
            bulk = None
            if mode == "bulk":
                bulk = BulkRunner(client, label="product", wait=600)
            writer = ProductWriter(client, state, concurrency=args.concurrency, bulk=bulk)
            started = time.perf_counter()
            outcomes = writer.write(changes)
            seconds = time.perf_counter() - started
        stats = emulator.stats()
    requests = sum(stats["requests"].values())
    carriers = args.consumers if mode == "bulk" else min(args.workers, args.concurrency)
    return {
        "mode": mode,
        "records": len(changes),
        "applied": sum(1 for o in outcomes.values() if o.applied),
        "requests": requests,
        "requests_by_endpoint": stats["requests"],
        "records_per_request": round(len(changes) / max(1, requests), 2),
        "seconds": round(seconds, 2),
        "lower_bound_seconds": round(len(changes) * args.save_ms / 1000 / carriers, 2),
    }


def _run_overload(adaptive: bool, args: argparse.Namespace) -> dict[str, Any]:
    """16 callers against 4 workers with a backlog of 4."""
    config = EmulatorConfig(
        costs_ms={"products.save": args.save_ms, "products.search": 5.0},
        workers=4,
        worker_backlog=4,
    )
    changes = _changes(args.products // 2)
    limiter = AdaptiveLimiter(16, min_limit=1 if adaptive else 16, cooldown=0.2)
    retry = RetryPolicy(max_attempts=8, base_seconds=0.05, max_backoff_seconds=1.0)
    with running_emulator(config) as emulator, tempfile.TemporaryDirectory() as folder:
        state = SqliteState(sqlite_engine(f"sqlite:///{folder}/state.db"))
        client = MagentoClient(
            emulator.url, emulator.token, max_connections=16, limiter=limiter, retry=retry
        )
        with client:
            started = time.perf_counter()
            outcomes = ProductWriter(client, state, concurrency=16).write(changes)
            seconds = time.perf_counter() - started
            limits = client.stats()["limiter"]
        stats = emulator.stats()
    return {
        "mode": "overload-adaptive" if adaptive else "overload-fixed",
        "records": len(changes),
        "applied": sum(1 for o in outcomes.values() if o.applied),
        "requests": sum(stats["requests"].values()),
        "refused_502": stats["statuses"].get("502", 0),
        "seconds": round(seconds, 2),
        "lower_bound_seconds": round(len(changes) * args.save_ms / 1000 / 4, 2),
        "limiter": limits,
    }


def main() -> None:
    """Run both modes and print one JSON line each."""
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--save-ms", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    for mode in ("sync", "bulk"):
        print(json.dumps(_run(mode, args)))
    for adaptive in (True, False):
        print(json.dumps(_run_overload(adaptive, args)))


if __name__ == "__main__":
    main()
