"""Benchmark: what a scheduled detection run costs next to what changed.

`python -m bench.detection [--items 10000 100000]` generates a sample Counterpoint database per
size and runs every detection task (Items, Categories, Category Items, Inventory, Price Changes,
Image Changes) in one state, as a store would: a first full run (it seeds state), a run ten
minutes later with nothing changed, then a run after about 1% of the task's rows changed. Each
changed and unchanged run is printed next to its floor, measured in the same run: streaming
the task's own rows of exactly the records that changed (none for the unchanged run) and
nothing else; for Image Changes, listing the folder and reading the changed files. Printed per
run: records read, records changed, statements sent to Counterpoint, seconds, the floor and
the ratio (seconds over the floor, the floor counted as at least 10 ms: one round trip to SQL
Server and one state read, which no run can avoid). Figures go to
`bench/results/detection.json`; nothing is asserted. Magento is not involved.

This bench measures the runs between full passes; `bench.tasks` measures the first full load
of Items (peak memory, image look-ups) and `bench.stock_price_tasks` the full Inventory and
Price Changes runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, event

from cpsync.counterpoint.categories import category_item_rows, category_rows
from cpsync.counterpoint.queries import MAX_IN_LIST, item_rows
from cpsync.counterpoint.stock_queries import (
    cell_quantity_rows,
    price_item_rows,
    quantity_rows,
)
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_sample.common import to_local
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "detection.json"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
TASKS = ("items", "categories", "category_items", "inventory", "prices", "image_changes")
#: The least a run can cost: one round trip to SQL Server and one state read.
MIN_FLOOR_SECONDS = 0.01
SHARE = 0.01


@contextmanager
def _counting(engine: Engine) -> Iterator[list[int]]:
    """Count the statements sent to Counterpoint while the block runs."""
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _stamps(when: datetime) -> tuple[str, str]:
    """`when` as Counterpoint's RS_UTC_DT (naive UTC) and LST_MAINT_DT (naive local) text."""
    utc = when.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(" "), to_local(utc).isoformat(" ")


def _every_nth(db: sqlite3.Connection, sql: str, share: float) -> list[str]:
    keys = [str(r[0]) for r in db.execute(sql)]
    return keys[:: max(1, round(1 / share))] if keys else []


# --- 1% edits, each the way Counterpoint stamps it -----------------------------------------
def _touch_items(db: sqlite3.Connection, when: datetime) -> list[str]:
    utc, local = _stamps(when)
    keys = _every_nth(db, "SELECT ITEM_NO FROM IM_ITEM ORDER BY ITEM_NO", SHARE)
    db.executemany(
        "UPDATE IM_ITEM SET DESCR = DESCR || ' v2', RS_UTC_DT = ?, LST_MAINT_DT = ?"
        " WHERE ITEM_NO = ?",
        [(utc, local, k) for k in keys],
    )
    return keys


def _touch_categories(db: sqlite3.Connection, when: datetime) -> list[str]:
    _, local = _stamps(when)
    keys = _every_nth(db, "SELECT CATEG_ID FROM EC_CATEG WHERE CATEG_ID <> '0'", SHARE)[:1]
    db.executemany(
        "UPDATE EC_CATEG SET DESCR = DESCR || ' v2', LST_MAINT_DT = ? WHERE CATEG_ID = ?",
        [(local, k) for k in keys],
    )
    return keys


def _touch_category_items(db: sqlite3.Connection, when: datetime) -> list[str]:
    """Link 1% of the web items to one more category (a new EC_CATEG_ITEM row)."""
    _, local = _stamps(when)
    keys = _every_nth(
        db,
        "SELECT DISTINCT l.ITEM_NO FROM EC_CATEG_ITEM l JOIN IM_ITEM i ON i.ITEM_NO = l.ITEM_NO"
        " WHERE i.IS_ECOMM_ITEM = 'Y' AND i.STAT = 'A' ORDER BY l.ITEM_NO",
        SHARE,
    )
    leaf = db.execute(
        "SELECT CATEG_ID FROM EC_CATEG WHERE CATEG_ID <> '0' ORDER BY CATEG_ID DESC"
    ).fetchone()[0]
    db.executemany(
        "INSERT OR IGNORE INTO EC_CATEG_ITEM (ITEM_NO, CATEG_ID, ENTRY_SEQ_NO, LST_MAINT_DT)"
        " VALUES (?, ?, 999, ?)",
        [(k, leaf, local) for k in keys],
    )
    return keys


def _touch_inventory(db: sqlite3.Connection, when: datetime) -> list[str]:
    utc, local = _stamps(when)
    keys = _every_nth(
        db,
        "SELECT i.ITEM_NO FROM IM_ITEM i WHERE i.IS_ECOMM_ITEM = 'Y' AND i.STAT = 'A'"
        " AND COALESCE(i.TRK_METH, '') <> 'G' AND EXISTS"
        " (SELECT 1 FROM IM_INV v WHERE v.ITEM_NO = i.ITEM_NO) ORDER BY i.ITEM_NO",
        SHARE,
    )
    db.executemany(
        "UPDATE IM_INV SET QTY_ON_HND = QTY_ON_HND + 1, RS_UTC_DT = ?, LST_MAINT_DT = ?"
        " WHERE ITEM_NO = ? AND LOC_ID = (SELECT MIN(LOC_ID) FROM IM_INV WHERE ITEM_NO = ?)",
        [(utc, local, k, k) for k in keys],
    )
    return keys


def _touch_prices(db: sqlite3.Connection, when: datetime) -> list[str]:
    utc, local = _stamps(when)
    keys = _every_nth(
        db,
        "SELECT p.ITEM_NO FROM IM_PRC p JOIN IM_ITEM i ON i.ITEM_NO = p.ITEM_NO"
        " WHERE p.LOC_ID = '*' AND i.IS_ECOMM_ITEM = 'Y' AND i.STAT = 'A' ORDER BY p.ITEM_NO",
        SHARE,
    )
    db.executemany(
        "UPDATE IM_PRC SET PRC_1 = PRC_1 + 1, RS_UTC_DT = ?, LST_MAINT_DT = ?"
        " WHERE ITEM_NO = ? AND LOC_ID = '*'",
        [(utc, local, k) for k in keys],
    )
    return keys


def _touch_images(folder: Path, when: datetime) -> list[str]:
    """Append a byte to 1% of the image files (at least one), as a re-saved photo would."""
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".jpg")
    chosen = names[:: max(1, round(1 / SHARE))]
    stamp = when.timestamp()
    for name in chosen:
        path = folder / name
        path.write_bytes(path.read_bytes() + b"\0")
        os.utime(path, (stamp, stamp))
    return chosen


TOUCH: dict[str, Callable[[sqlite3.Connection, datetime], list[str]]] = {
    "items": _touch_items,
    "categories": _touch_categories,
    "category_items": _touch_category_items,
    "inventory": _touch_inventory,
    "prices": _touch_prices,
}


# --- floors ---------------------------------------------------------------------------------
def _floor_statements(name: str, keys: list[str], location: str | None) -> list[Select[Any]]:
    """The task's own row queries for exactly `keys` (chunked like the tasks chunk them)."""
    chunks = [keys[i : i + MAX_IN_LIST] for i in range(0, len(keys), MAX_IN_LIST)]
    statements: list[Select[Any]] = []
    for part in chunks:
        if name == "items":
            statements.append(item_rows(keys=part))
        elif name == "categories":
            statements.append(category_rows(keys=part))
        elif name == "category_items":
            statements.append(category_item_rows(keys=part))
        elif name == "inventory":
            statements += [quantity_rows(part, []), cell_quantity_rows(part, [])]
        elif name == "prices":
            statements.append(price_item_rows(location, part))
    return statements


def _floor(runtime: Runtime, name: str, keys: list[str], folder: Path) -> dict[str, Any]:
    """Streaming the changed records' rows and nothing else (image files: list, read changed)."""
    started = time.perf_counter()
    read = 0
    if name == "image_changes":
        listed = {e.name: e.stat().st_size for e in os.scandir(folder)}
        read = sum(len((folder / k).read_bytes()) > 0 for k in keys if k in listed)
    else:
        location = runtime.settings.price_location
        with runtime.context.counterpoint.connect() as conn:
            options = conn.execution_options(stream_results=True, yield_per=2000)
            for statement in _floor_statements(name, keys, location):
                read += sum(1 for _ in options.execute(statement))
    return {"seconds": round(time.perf_counter() - started, 4), "rows": read}


def _run(runtime: Runtime, name: str, full: bool = False) -> dict[str, Any]:
    with _counting(runtime.context.counterpoint) as statements:
        started = time.perf_counter()
        result = runtime.task(name).run(full=full)
        seconds = time.perf_counter() - started
    return {
        "mode": result.mode,
        "read": result.read,
        "queued": result.queued,
        "errors": len(result.failed),
        "statements": statements[0],
        "seconds": round(seconds, 4),
    }


def _judged(run: dict[str, Any], floor: dict[str, Any], changed: int) -> dict[str, Any]:
    bound = max(floor["seconds"], MIN_FLOOR_SECONDS)
    return run | {
        "changed": changed,
        "floor": floor,
        "ratio": round(run["seconds"] / bound, 1),
        "read_per_changed": round(run["read"] / max(changed, 1), 2),
    }


def bench(items: int, tmp: Path) -> dict[str, Any]:
    """Generate a sample of `items` items and measure every task's runs (see module doc)."""
    sample = tmp / f"cp{items}"
    state = tmp / f"state{items}"
    state.mkdir()
    started = time.perf_counter()
    generate(sample, items=items, now=NOW)
    figures: dict[str, Any] = {
        "items": items,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }
    settings = load_settings(
        counterpoint_url=f"sqlite:///{sample}/counterpoint.db",
        state_url=f"sqlite:///{state}/state.db",
        images_dir=sample / "ItemImages",
        blobs_dir=state / "blobs",
    )
    runtime = Runtime(settings)
    folder = sample / "ItemImages"
    tasks: dict[str, Any] = {}
    try:
        for offset, name in enumerate(TASKS):
            base = NOW + timedelta(hours=1 + offset)
            runtime.context.clock = lambda at=base: at
            full = _run(runtime, name, full=True)
            runtime.context.clock = lambda at=base + timedelta(minutes=10): at
            unchanged = _run(runtime, name)
            unchanged_floor = _floor(runtime, name, [], folder)
            touched_at = base + timedelta(minutes=15)
            if name == "image_changes":
                keys = _touch_images(folder, touched_at)
            else:
                with sqlite3.connect(sample / "counterpoint.db") as db:
                    keys = TOUCH[name](db, touched_at)
            runtime.context.clock = lambda at=base + timedelta(minutes=20): at
            changed = _run(runtime, name)
            tasks[name] = {
                "full": full,
                "unchanged": _judged(unchanged, unchanged_floor, 0),
                "changed_1pct": _judged(changed, _floor(runtime, name, keys, folder), len(keys)),
            }
    finally:
        runtime.close()
    figures["tasks"] = tasks
    return figures


def _print(figures: dict[str, Any]) -> None:
    print(f"\n{figures['items']} items (sample generated in {figures['generate_seconds']} s)")
    head = f"{'task':15} {'run':10} {'read':>7} {'changed':>7} {'queued':>7} {'stmts':>6}"
    print(f"{head} {'seconds':>8} {'floor s':>8} {'ratio':>6}")
    for name, runs in figures["tasks"].items():
        for run_name in ("full", "unchanged", "changed_1pct"):
            run = runs[run_name]
            floor = run.get("floor", {}).get("seconds", "")
            print(
                f"{name:15} {run_name:10} {run['read']:>7} {run.get('changed', ''):>7} "
                f"{run['queued']:>7} {run['statements']:>6} {run['seconds']:>8} "
                f"{floor:>8} {run.get('ratio', ''):>6}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.detection")
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.items:
            figures = bench(items, Path(tmp))
            results.append(figures)
            _print(figures)
    report = {
        "what": "unchanged and 1%-changed detection runs of every task against their floors",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
