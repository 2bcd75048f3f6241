"""First-load benchmark: `python -m bench.first_load [--items 1000 10000]`.

A new store gets the whole sample (categories, items with their grids, category links) twice
in the same run, each into its own emulator with the same cost model:
- saves: one `POST /V1/products` per product and grid cell (CPSYNC_MAGENTO_IMPORT=off);
- import: new products through `POST /V1/import/json` (CPSYNC_MAGENTO_IMPORT=on), the rest as
  above.
For each: requests by endpoint, records written, worker-seconds the emulator's cost model
charged (per request, per row) and wall time. The cost model is a real store's scaled down
tenfold so the run stays short: a product save 30 ms (0.3-1 s on a real store), an import
request 30 ms plus 0.3 ms per row, anything else 2 ms. Sizes above `--saves-up-to` measure the
import only (the saves path would take hours). Figures go to `bench/results/first_load.json`;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from emulator.config import EmulatorConfig
from emulator.server import running_emulator
from sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "first_load.json"
TASKS = ("categories", "items", "category_items")


def _config() -> EmulatorConfig:
    return EmulatorConfig(
        workers=8,
        default_cost_ms=2.0,
        costs_ms={"products.save": 30.0, "import.json": 30.0, "import.csv": 30.0},
        record_costs_ms={"import.json": 0.3, "import.csv": 0.3},
    )


def _load(folder: Path, mode: str) -> dict[str, Any]:
    """One first load into a fresh emulator; what it cost Magento and how long it took."""
    with running_emulator(_config()) as emulator, tempfile.TemporaryDirectory() as state:
        settings = load_settings(
            counterpoint_url=f"sqlite:///{folder}/counterpoint.db",
            images_dir=folder / "ItemImages",
            state_url=f"sqlite:///{state}/state.db",
            magento_url=emulator.url,
            magento_token=emulator.token,
            magento_concurrency=8,
            magento_import=mode,
        )
        runtime = Runtime(settings)
        try:
            started = time.perf_counter()
            applied = parked = 0
            for name in TASKS:
                runtime.task(name).run()
                drained = runtime.updater.drain(batch_size=10_000, max_wait_seconds=5)
                applied += drained.applied
                parked += drained.dead
            seconds = time.perf_counter() - started
        finally:
            runtime.close()
        stats = emulator.stats()
    worker = stats["worker_seconds"]
    return {
        "mode": mode,
        "wall_seconds": round(seconds, 2),
        "records_applied": applied,
        "records_parked": parked,
        "products_in_store": stats["writes"].get("products.created", 0),
        "requests": sum(stats["requests"].values()),
        "requests_by_endpoint": dict(sorted(stats["requests"].items())),
        "worker_seconds": round(sum(worker.values()), 3),
        "worker_seconds_by_endpoint": {k: round(v, 3) for k, v in sorted(worker.items())},
    }


def bench(items: int, work: Path, saves_up_to: int) -> dict[str, Any]:
    """One sample size: the import path, and the saves path when it is small enough."""
    folder = work / f"sample-{items}"
    generate(folder, items=items)
    result: dict[str, Any] = {"items": items, "import": _load(folder, "on")}
    if items <= saves_up_to:
        saves = _load(folder, "off")
        result["saves"] = saves
        imported = result["import"]
        result["requests_ratio"] = round(saves["requests"] / max(imported["requests"], 1), 1)
        result["worker_seconds_ratio"] = round(
            saves["worker_seconds"] / max(imported["worker_seconds"], 1e-9), 1
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--saves-up-to", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = [bench(n, Path(work), args.saves_up_to) for n in args.items]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
