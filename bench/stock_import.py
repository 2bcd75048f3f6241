"""Stock through the import or the bulk endpoint: `python -m bench.stock_import [--rows 10000]`.

A full reconciliation of N source-item rows (one per SKU, the default source) is written by
the stock writer twice in the same run, each time into a fresh emulator with the same cost
model:
- bulk (the baseline): `POST /V1/inventory/source-items`, 500 rows per request
  (CPSYNC_BULK_SIZE), 4 requests side by side;
- import: the `stock_sources` import, one `POST /V1/import/json` per 5,000 rows
  (CPSYNC_MAGENTO_IMPORT_ROWS), after one probe of the entity.
The cost model is bench.first_load's (a real store scaled down tenfold): 2 ms per request,
30 ms per import request plus 0.3 ms per imported row (reading, staging and validating it),
plus 0.1 ms per source item saved (about 1 ms on a real store), which both ways pay: Magento's
stock_sources import saves its rows through the same service as the bulk endpoint. A second
import run charges a tenth of the staging (0.03 ms per row), to show where the result comes
from. For each: requests, worker-seconds by endpoint, wall time (the import's per-item save
is charged to the worker time but not waited for, so its wall time is short by that much).
Figures go to `bench/results/stock_import.json`; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpsync.magento.client import MagentoClient
from cpsync.magento.inventory import StockWriter
from cpsync.model import Change, SourceQuantity, StockState
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.server import running_emulator

RESULTS = Path(__file__).parent / "results" / "stock_import.json"
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _config(staging_ms: float) -> EmulatorConfig:
    return EmulatorConfig(
        workers=8,
        default_cost_ms=2.0,
        costs_ms={"import.json": 30.0},
        record_costs_ms={"import.json": staging_ms, "inventory.source_items.save": 0.1},
    )


def _changes(rows: int) -> list[Change]:
    changes = []
    for i in range(rows):
        qty = Decimal(i % 13)
        state = StockState(
            sku=f"ITEM-{i:06d}",
            sources=(SourceQuantity(source_code="default", quantity=qty, in_stock=qty > 0),),
        )
        changes.append(
            Change(
                kind="stock",
                key=state.key(),
                version="v",
                fingerprint=state.fingerprint(),
                payload=state.payload(),
                task="inventory",
                run_id="bench",
                detected_at=NOW,
            )
        )
    return changes


def _write(changes: list[Change], way: str, staging_ms: float = 0.3) -> dict[str, Any]:
    """One full write of `changes` into a fresh emulator; what it cost Magento."""
    with running_emulator(_config(staging_ms)) as emulator:
        with MagentoClient(emulator.url, emulator.token) as client:
            writer = StockWriter(
                client,
                chunk_size=500,
                concurrency=4,
                import_min=1 if way == "import" else 0,
                import_rows=5000,
            )
            started = time.perf_counter()
            outcomes = writer.write(changes)
            seconds = time.perf_counter() - started
        stats = emulator.stats()
        held = len(inventory_of(emulator.store).items)
    worker = stats["worker_seconds_by_endpoint"]
    return {
        "way": way,
        "staging_ms_per_row": staging_ms if way == "import" else None,
        "records_applied": sum(o.applied for o in outcomes.values()),
        "source_items_in_store": held,
        "requests": sum(stats["requests"].values()),
        "requests_by_endpoint": dict(sorted(stats["requests"].items())),
        "worker_seconds": round(sum(worker.values()), 3),
        "worker_seconds_by_endpoint": {k: round(v, 3) for k, v in sorted(worker.items())},
        "wall_seconds": round(seconds, 2),
    }


def bench(rows: int) -> dict[str, Any]:
    changes = _changes(rows)
    bulk = _write(changes, "bulk")
    result: dict[str, Any] = {"rows": rows, "bulk": bulk}
    for name, staging in (("import", 0.3), ("import_light_staging", 0.03)):
        run = result[name] = _write(changes, "import", staging)
        run["requests_vs_bulk"] = round(run["requests"] / max(bulk["requests"], 1), 3)
        run["worker_seconds_vs_bulk"] = round(
            run["worker_seconds"] / max(bulk["worker_seconds"], 1e-9), 2
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    results = [bench(n) for n in args.rows]
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    kept = [r for r in earlier if r["rows"] not in {r["rows"] for r in results}]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(sorted([*kept, *results], key=lambda r: r["rows"]), indent=1) + "\n"
    )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
