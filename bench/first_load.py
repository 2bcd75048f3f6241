"""First-load benchmark: `python -m bench.first_load [--items 1000 10000]`.

A new store gets the whole sample (categories, items with their grids and images, category
links) three times in the same run, each into its own emulator with the same cost model:
- saves: one `POST /V1/products` per product and grid cell, then one upload per image
  (CPSYNC_MAGENTO_IMPORT=off);
- import: new products through `POST /V1/import/json` (CPSYNC_MAGENTO_IMPORT=on), images
  uploaded after;
- import_links: as import, with `cpsync serve` reachable (CPSYNC_PUBLIC_URL): Magento downloads
  the images by signed links and the gallery writer adopts them.
For each: requests by endpoint, records written, worker-seconds the emulator's cost model
charged (per request, per row) and wall time. The cost model is a real store's scaled down
tenfold so the run stays short: a product save 30 ms (0.3-1 s on a real store), an image
upload 20 ms, an import request 30 ms plus 0.3 ms per row, anything else 2 ms. Child SKUs use
'-' (CPSYNC_GRID_SKU_SEPARATOR) so whole grid families can be imported. Sizes above
`--saves-up-to` measure the import only (the saves path would take hours). Figures go to
`bench/results/first_load.json`; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from cpsync.api.app import create_app
from cpsync.magento.image_links import ServeLinks, link_key
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "first_load.json"
TASKS = ("categories", "items", "category_items")


def _config() -> EmulatorConfig:
    return EmulatorConfig(
        workers=8,
        default_cost_ms=2.0,
        costs_ms={
            "products.save": 30.0,
            "media.create": 20.0,
            "import.json": 30.0,
            "import.csv": 30.0,
        },
        record_costs_ms={"import.json": 0.3, "import.csv": 0.3},
    )


def _serve(runtime: Runtime) -> tuple[uvicorn.Server, threading.Thread, str]:
    """`cpsync serve`'s app for this runtime, under uvicorn on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


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
            magento_import="off" if mode == "saves" else "on",
            grid_sku_separator="-",
        )
        runtime = Runtime(settings)
        server = None
        if mode == "import_links":
            server, thread, url = _serve(runtime)
            importer = runtime.writers["product"].importer  # type: ignore[attr-defined]
            importer.links = ServeLinks(url, link_key(settings))
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
            if server is not None:
                server.should_exit = True
                thread.join(timeout=10)
            runtime.close()
        stats = emulator.stats()
    worker = stats["worker_seconds_by_endpoint"]
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
    result: dict[str, Any] = {"items": items}
    for mode in ("import", "import_links"):
        result[mode] = _load(folder, mode)
    if items <= saves_up_to:
        saves = result["saves"] = _load(folder, "saves")
        for mode in ("import", "import_links"):
            run = result[mode]
            run["requests_ratio"] = round(saves["requests"] / max(run["requests"], 1), 1)
            run["worker_seconds_ratio"] = round(
                saves["worker_seconds"] / max(run["worker_seconds"], 1e-9), 1
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--saves-up-to", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = [bench(n, Path(work), args.saves_up_to) for n in args.items]
    # Sizes not run this time keep their earlier figures (100,000 items takes minutes).
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    run = {r["items"] for r in results}
    kept = [r for r in earlier if r["items"] not in run]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(sorted([*kept, *results], key=lambda r: r["items"]), indent=1) + "\n"
    )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
