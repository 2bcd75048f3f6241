"""Benchmark: how close the updater's drain comes to what the store allows.

`python -m bench.drain [--items 1000 10000]` generates a sample Counterpoint database per size,
runs every detection task into an empty emulator (not timed), then times the drain of
- the first load (every category, product, image, stock and price row), and
- a store-day wave on top of it: 1% of the items renamed, 10% of the stock rows and 5% of the
  prices changed, detected by the Items, Inventory and Prices tasks.

Printed per drain: seconds, Changes drained, requests by endpoint, requests in flight (the
client limiter's count sampled every 5 ms, averaged over the drain) against the limit, state
writes per Change (calls to the StatePort's write methods; each one a DynamoDB call or batch in
AWS), and the cost-model bound: the worker time the emulator charged for the drain's requests
divided by its workers. A drain near 1x its bound is limited by the store, not by cpsync.
The default costs (40 ms a product save, 10 ms any other request, 8 workers) keep a 10,000-item
run short; a real store's saves take hundreds of ms (`--save-ms 150`), which brings the drain
nearer its bound, since the emulator and cpsync share one Python process here and their own
CPU time is not in the bound. Figures are stored in `bench/results/drain.json`, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cpsync.ports import StatePort
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "drain.json"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
#: StatePort methods that write (each one a DynamoDB call, or a batch of them, in AWS).
WRITES = frozenset(
    {
        "set_watermark",
        "put_sent",
        "forget_sent",
        "put_applied",
        "put_magento_ids",
        "put_docs",
        "delete_docs",
        "set_option",
        "add_counter",
        "reset_counter",
        "start_run",
        "finish_run",
        "add_errors",
        "acquire_lock",
        "release_lock",
    }
)


class _CountingState:
    """The runtime's state, counting calls to its write methods (thread-safe)."""

    def __init__(self, state: StatePort) -> None:
        self._state = state
        self._lock = threading.Lock()
        self.writes = 0
        self.by_method: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._state, name)
        if name not in WRITES:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.writes += 1
                self.by_method[name] += 1
            return found(*args, **kwargs)

        return counted


class _InFlight:
    """Samples the client limiter's in-flight count every 5 ms while a drain runs."""

    def __init__(self, runtime: Runtime) -> None:
        self.limiter = runtime.magento.limiter
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.samples.append(self.limiter.snapshot()["in_flight"])

    def __enter__(self) -> _InFlight:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


def _config(args: argparse.Namespace) -> EmulatorConfig:
    costs = {"products.save": args.save_ms, "products.delete": args.request_ms}
    return EmulatorConfig(
        costs_ms=costs,
        default_cost_ms=args.request_ms,
        workers=args.workers,
        latency_ms=args.latency_ms,
    )


def _runtime(sample: Path, state: Path, emulator: EmulatorHandle, concurrency: int) -> Runtime:
    settings = load_settings(
        counterpoint_url=f"sqlite:///{sample}/counterpoint.db",
        images_dir=sample / "ItemImages",
        blobs_dir=state / "blobs",
        state_url=f"sqlite:///{state}/state.db",
        magento_url=emulator.url,
        magento_token=emulator.token,
        magento_concurrency=concurrency,
        retry_base_seconds=0.2,
    )
    runtime = Runtime(settings)
    runtime.context.clock = lambda: NOW
    return runtime


def _detect(runtime: Runtime, names: list[str]) -> int:
    return sum(runtime.task(name).run().queued for name in names)


def _drain(runtime: Runtime, emulator: EmulatorHandle, counting: _CountingState) -> dict[str, Any]:
    before = emulator.stats()
    writes_before = counting.writes
    methods_before = Counter(counting.by_method)
    with _InFlight(runtime) as in_flight:
        drained = runtime.updater.drain(
            batch_size=runtime.settings.updater_batch_size, max_wait_seconds=10
        )
    after = emulator.stats()
    requests = Counter(after["requests"])
    requests.subtract(before["requests"])
    worker_seconds = after["worker_seconds"] - before["worker_seconds"]
    bound = worker_seconds / emulator.config.workers
    changes = drained.applied + drained.skipped + drained.retried + drained.dead
    writes = counting.writes - writes_before
    methods = counting.by_method - methods_before
    return {
        "changes": changes,
        "applied": drained.applied,
        "retried": drained.retried,
        "parked": drained.dead,
        "batches": drained.batches,
        "seconds": round(drained.seconds, 2),
        "bound_seconds": round(bound, 2),
        "of_bound": round(drained.seconds / bound, 2) if bound else None,
        "requests": sum(n for n in requests.values() if n > 0),
        "requests_by_endpoint": {k: n for k, n in sorted(requests.items()) if n > 0},
        "in_flight_mean": round(in_flight.mean, 2),
        "in_flight_limit": runtime.magento.limiter.max_limit,
        "state_writes": writes,
        "state_writes_per_change": round(writes / changes, 3) if changes else None,
        "state_writes_by_method": dict(sorted(methods.items())),
    }


def _wave(sample: Path, items: int, at: datetime) -> None:
    """A store day's edits: 1% of the items renamed, 10% of stock rows and 5% of prices."""
    stamp = at.replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(sample / "counterpoint.db") as db:
        db.execute(
            "UPDATE IM_ITEM SET DESCR = substr(DESCR, 1, 40) || ' (new)', RS_UTC_DT = ?"
            " WHERE rowid % 100 = 7",
            (stamp,),
        )
        db.execute(
            "UPDATE IM_INV SET QTY_ON_HND = QTY_ON_HND + 3, RS_UTC_DT = ? WHERE rowid % 10 = 3",
            (stamp,),
        )
        db.execute(
            "UPDATE IM_ITEM SET PRC_1 = PRC_1 + 1, RS_UTC_DT = ? WHERE rowid % 20 = 11", (stamp,)
        )
        db.execute(
            "UPDATE IM_PRC SET PRC_1 = PRC_1 + 1, RS_UTC_DT = ? WHERE rowid % 20 = 11", (stamp,)
        )


def bench(items: int, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    sample = tmp / f"cp{items}"
    generate(sample, items=items, now=NOW.replace(tzinfo=None))
    state = tmp / f"state{items}"
    state.mkdir()
    figures: dict[str, Any] = {"items": items}
    with running_emulator(_config(args)) as emulator:
        runtime = _runtime(sample, state, emulator, args.concurrency)
        counting = _CountingState(runtime.state)
        runtime.__dict__["state"] = counting  # every collaborator is built on the counter
        try:
            figures["first_load_queued"] = _detect(runtime, list(TASKS))
            figures["first load"] = _drain(runtime, emulator, counting)
            later = NOW + timedelta(minutes=30)
            _wave(sample, items, later)
            runtime.context.clock = lambda: later + timedelta(minutes=1)
            figures["wave_queued"] = _detect(runtime, ["items", "inventory", "prices"])
            figures["store-day wave"] = _drain(runtime, emulator, counting)
        finally:
            runtime.close()
    return figures


def _print(figures: dict[str, Any]) -> None:
    print(f"\n{figures['items']} items")
    print(
        f"{'drain':16} {'changes':>8} {'seconds':>8} {'bound s':>8} {'x bound':>8} "
        f"{'requests':>9} {'in flight':>10} {'writes/chg':>10}"
    )
    for name in ("first load", "store-day wave"):
        d = figures[name]
        print(
            f"{name:16} {d['changes']:>8} {d['seconds']:>8} {d['bound_seconds']:>8} "
            f"{d['of_bound']!s:>8} {d['requests']:>9} "
            f"{d['in_flight_mean']:>5}/{d['in_flight_limit']:<4} "
            f"{d['state_writes_per_change']!s:>10}"
        )
        print(f"  requests: {d['requests_by_endpoint']}")
        print(f"  state writes: {d['state_writes_by_method']}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drain")
    parser.add_argument("--items", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--save-ms", type=float, default=40.0, help="worker ms of a product save")
    parser.add_argument("--request-ms", type=float, default=10.0, help="worker ms of a request")
    parser.add_argument("--workers", type=int, default=8, help="emulator PHP-FPM workers")
    parser.add_argument("--concurrency", type=int, default=4, help="CPSYNC_MAGENTO_CONCURRENCY")
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.items:
            figures = bench(items, Path(tmp), args)
            _print(figures)
            results.append(figures)
    report = {
        "save_ms": args.save_ms,
        "request_ms": args.request_ms,
        "emulator_workers": args.workers,
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "sizes": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
