"""Category benchmark: `python -m bench.categories [--items 1000 10000]`.

For each sample size: the first sync of categories, items and category items into the
emulator (requests by endpoint), then the Category Items task alone, as its schedule runs it:
a full read (every `CPSYNC_CATEGORY_ITEMS_FULL_EVERY_MINUTES`) and a changed read after 10
items moved category, next to a floor measured in the same run: streaming every EC_CATEG_ITEM
row and nothing else. Time, peak Python memory (tracemalloc) and items read are printed and
written to `bench/results/categories.json`; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cpsync.counterpoint.schema import EC_CATEG_ITEM
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks.base import RunResult
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "categories.json"


def _measured(run: Callable[[], RunResult]) -> dict[str, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "mode": result.mode,
        "items_read": result.read,
        "queued": result.queued,
        "seconds": round(seconds, 3),
        "peak_mib": round(peak / 2**20, 1),
    }


def _move_items(db: Path, zone: Any, count: int) -> None:
    """Move `count` linked items to another category, dated now (as Counterpoint would)."""
    now = datetime.now(UTC).astimezone(zone).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(db) as conn:
        query = "SELECT CATEG_ID FROM EC_CATEG WHERE CATEG_ID <> '0'"
        categories = [r[0] for r in conn.execute(query)]
        rows = conn.execute(
            "SELECT ITEM_NO, CATEG_ID FROM EC_CATEG_ITEM ORDER BY ITEM_NO LIMIT ?", (count,)
        ).fetchall()
        for item_no, categ_id in rows:
            target = next(c for c in categories if c != categ_id)
            conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (item_no,))
            conn.execute(
                "INSERT INTO EC_CATEG_ITEM (ITEM_NO, CATEG_ID, ENTRY_SEQ_NO, LST_MAINT_DT) "
                "VALUES (?, ?, 1, ?)",
                (item_no, target, now),
            )


def bench(items: int, work: Path) -> dict[str, Any]:
    """One sample size: first sync, then full and changed Category Items runs."""
    folder = work / f"sample-{items}"
    generate(folder, items=items)
    db = folder / "counterpoint.db"
    with running_emulator(EmulatorConfig()) as emulator:
        settings = load_settings(
            counterpoint_url=f"sqlite:///{db}",
            state_url=f"sqlite:///{folder}/state.db",
            magento_url=emulator.url,
            magento_token=emulator.token,
        )
        runtime = Runtime(settings)
        try:
            started = time.perf_counter()
            for name in ("categories", "items", "category_items"):
                runtime.task(name).run()
            drained = runtime.updater.drain(max_wait_seconds=5)
            first = {
                "seconds": round(time.perf_counter() - started, 3),
                "applied": drained.applied,
                "requests": dict(sorted(runtime.magento.stats()["requests"].items())),
            }
            task = runtime.task("category_items")
            started = time.perf_counter()
            with runtime.context.counterpoint.connect() as conn:
                rows = sum(1 for _ in conn.execute(select(EC_CATEG_ITEM)))
            floor = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
            full = _measured(lambda: task.run(full=True))
            _move_items(db, settings.zone, 10)
            changed = _measured(task.run)
            before = dict(runtime.magento.stats()["requests"])
            runtime.updater.drain(max_wait_seconds=5)
            after = runtime.magento.stats()["requests"]
            changed["requests"] = {
                k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)
            }
        finally:
            runtime.close()
    return {
        "items": items,
        "first_sync": first,
        "floor_rows_only": floor,
        "full_run": full,
        "changed_run": changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = [bench(n, Path(work)) for n in args.items]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
