"""Benchmark: the Inventory and Price Changes tasks over samples of growing size.

`python -m bench.stock_price_tasks [--items 1000 10000]` generates a sample Counterpoint
database per size and measures, for each task run: seconds, rows read, changes queued and the
peak of Python memory (tracemalloc, measured in a second, untimed pass), next to a floor
measured in the same run: streaming the rows of the task's own queries and nothing else. The
incremental inventory run follows a change of 10 IM_INV rows and shows that its cost follows
what changed, not the size of the database. Price Changes runs again an hour later with
nothing changed, then after 1% of the items' Price-1 changed, each next to its floor: streaming
the price rows of the items that changed (none, then the 1%). Detection only: nothing is sent
to Magento here.
"""

from __future__ import annotations

import argparse
import functools
import json
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cpsync.counterpoint.stock_queries import cell_quantity_rows, price_item_rows, quantity_rows
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks.base import RunResult
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "stock_price_tasks.json"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def _runtime(sample: Path, state: Path) -> Runtime:
    settings = load_settings(
        counterpoint_url=f"sqlite:///{sample}/counterpoint.db",
        state_url=f"sqlite:///{state}/state.db",
        sync_published_products_only=False,  # no Items run here: cover every web SKU
    )
    runtime = Runtime(settings)
    runtime.context.clock = lambda: NOW
    return runtime


def _measure(run: Callable[[], RunResult]) -> dict[str, Any]:
    started = time.perf_counter()
    result = run()
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "read": result.read,
        "queued": result.queued,
        "mode": result.mode,
    }


def _floor(runtime: Runtime, name: str) -> dict[str, Any]:
    """Streaming the rows the task's queries return, and nothing else."""
    statements = (
        [quantity_rows(None, []), cell_quantity_rows(None, [])]
        if name == "inventory"
        else [price_item_rows(None)]
    )
    started = time.perf_counter()
    read = 0
    with runtime.context.counterpoint.connect() as conn:
        options = conn.execution_options(stream_results=True, yield_per=2000)
        for statement in statements:
            read += sum(1 for _ in options.execute(statement))
    seconds = round(time.perf_counter() - started, 3)
    return {"seconds": seconds, "read": read, "queued": 0, "mode": "rows only"}


def _peak_mb(run: Callable[[], RunResult]) -> float:
    tracemalloc.start()
    try:
        run()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def _touch_inventory(sample: Path, rows: int) -> None:
    stamp = (NOW + timedelta(minutes=1)).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(sample / "counterpoint.db") as db:
        db.execute(
            "UPDATE IM_INV SET QTY_ON_HND = QTY_ON_HND + 1, RS_UTC_DT = ? WHERE rowid IN"
            " (SELECT rowid FROM IM_INV ORDER BY ITEM_NO DESC LIMIT ?)",
            (stamp, rows),
        )


def _touch_prices(sample: Path, share: float, when: datetime) -> list[str]:
    """Raise Price-1 of `share` of the web items (their '*' IM_PRC row), stamped `when`."""
    stamp = when.replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(sample / "counterpoint.db") as db:
        items = [
            r[0]
            for r in db.execute(
                "SELECT p.ITEM_NO FROM IM_PRC p JOIN IM_ITEM i ON i.ITEM_NO = p.ITEM_NO"
                " WHERE p.LOC_ID = '*' AND i.IS_ECOMM_ITEM = 'Y' AND i.STAT = 'A'"
                " ORDER BY p.ITEM_NO"
            )
        ]
        step = max(1, round(1 / share))
        chosen = items[::step]
        db.executemany(
            "UPDATE IM_PRC SET PRC_1 = PRC_1 + 1, RS_UTC_DT = ? WHERE ITEM_NO = ? AND LOC_ID = '*'",
            [(stamp, item) for item in chosen],
        )
    return chosen


def _changed_floor(runtime: Runtime, item_nos: list[str]) -> dict[str, Any]:
    """Streaming the price rows of exactly the items that changed, and nothing else."""
    started = time.perf_counter()
    read = 0
    with runtime.context.counterpoint.connect() as conn:
        for i in range(0, len(item_nos), 500):
            read += sum(1 for _ in conn.execute(price_item_rows(None, item_nos[i : i + 500])))
    seconds = round(time.perf_counter() - started, 3)
    return {"seconds": seconds, "read": read, "queued": 0, "mode": "rows only"}


def _prices_later(runtime: Runtime, sample: Path, figures: dict[str, Any]) -> None:
    """An unchanged run an hour later, then a run after 1% of the prices changed."""
    task = runtime.task("prices")
    hour = NOW + timedelta(hours=1)
    runtime.context.clock = lambda: hour
    figures["prices unchanged floor"] = _changed_floor(runtime, [])
    figures["prices unchanged"] = _measure(task.run)
    changed = _touch_prices(sample, 0.01, hour + timedelta(minutes=1))
    runtime.context.clock = lambda: hour + timedelta(minutes=10)
    figures["prices 1% changed floor"] = _changed_floor(runtime, changed)
    figures["prices 1% changed"] = _measure(task.run)


def bench(items: int, tmp: Path) -> dict[str, Any]:
    sample = tmp / f"cp{items}"
    started = time.perf_counter()
    generate(sample, items=items, now=NOW.replace(tzinfo=None))
    generated = time.perf_counter() - started
    figures: dict[str, Any] = {"items": items, "generate_seconds": round(generated, 2)}
    for name in ("inventory", "prices"):
        state = tmp / f"state-{name}-{items}"
        state.mkdir()
        runtime = _runtime(sample, state)
        try:
            task = runtime.task(name)
            figures[f"{name} floor"] = _floor(runtime, name)
            figures[f"{name} full"] = _measure(task.run)
            figures[f"{name} again"] = _measure(task.run)
            if name == "inventory":
                _touch_inventory(sample, 10)
                runtime.context.clock = lambda: NOW + timedelta(minutes=10)
                figures["inventory after 10 rows changed"] = _measure(task.run)
            else:
                _prices_later(runtime, sample, figures)
            figures[f"{name} full peak MB"] = _peak_mb(functools.partial(task.run, full=True))
        finally:
            runtime.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock_price_tasks")
    parser.add_argument("--items", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.items:
            figures = bench(items, Path(tmp))
            results.append(figures)
            print(f"\n{items} items (sample generated in {figures['generate_seconds']} s)")
            print(f"{'run':36} {'mode':>8} {'seconds':>9} {'read':>8} {'queued':>8}")
            for key, value in figures.items():
                if isinstance(value, dict):
                    print(
                        f"{key:36} {value['mode']:>8} {value['seconds']:>9} "
                        f"{value['read']:>8} {value['queued']:>8}"
                    )
                elif key.endswith("MB"):
                    print(f"{key:36} {value:>8} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
