"""Benchmark of `cpsync verify`: `python -m bench.verify [--items 10000] [--baseline 1000]`.

A sample of `--items` items is synced into the emulator (every task, then the updater), then
measured in the same run:
- cpsync: `verify()` over the whole catalog: search pages of 300 SKUs, source-item pages,
  price information for lists of SKUs, one product list per managed category;
- baseline: the per-record reads a checker without bulk calls makes (one product GET, one
  source-item search, one base and one special price call per SKU, one GET per category),
  over the records of the first `--baseline` items; the cost is linear in the records, so it
  is given per 1,000 items like cpsync's.
Printed: Magento requests by endpoint, requests per 1,000 items, seconds, and the ratio. The
emulator answers reads in about a millisecond, so request counts are the figure that carries
over to a real store (each Magento request costs 50-300 ms of PHP bootstrap). Figures are
written to `bench/results/verify.json`; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cpsync.magento.client import MagentoClient, search_params
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS
from cpsync.verify import desired_changes, verify
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "verify.json"


def _requests(client: MagentoClient) -> Counter[str]:
    return Counter(client.stats()["requests"])


def _baseline(
    runtime: Runtime, desired: dict[str, dict[str, Change]], items: int
) -> dict[str, Any]:
    """Per-record reads for the records of the first `items` items (products and their cells)."""
    client = runtime.magento
    products = sorted(desired.get("product", {}).values(), key=lambda c: c.key)[:items]
    skus = [c.key for c in products]
    skus += [child["sku"] for c in products for child in c.payload.get("children", [])]
    categories = runtime.state.get_magento_ids("category", list(desired.get("category", {})))
    before = _requests(client)
    started = time.perf_counter()
    for sku in skus:
        client.get_product(sku)
        client.request(
            "GET",
            "inventory/source-items",
            endpoint="inventory.source_items.search",
            params=search_params([[("sku", sku, "eq")]]),
        )
        body = {"skus": [sku]}
        client.request("POST", "products/base-prices-information", endpoint="b", json=body)
        client.request("POST", "products/special-price-information", endpoint="s", json=body)
    share = len(products) / max(1, len(desired.get("product", {})))
    for category_id in sorted(categories.values())[: max(1, round(len(categories) * share))]:
        client.request("GET", f"categories/{category_id}", endpoint="categories.get")
    seconds = time.perf_counter() - started
    used = _requests(client) - before
    return {
        "items": len(products),
        "skus": len(skus),
        "requests": sum(used.values()),
        "seconds": round(seconds, 3),
        "requests_per_1000_items": round(sum(used.values()) * 1000 / max(1, len(products)), 1),
    }


def run(items: int, baseline_items: int) -> dict[str, Any]:
    """Sync a sample of `items` items, then verify it and read it record by record."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(EmulatorConfig()) as emulator:
        folder = Path(tmp)
        generate(folder / "cp", items=items, now=datetime.now(UTC) - timedelta(hours=1))
        settings = load_settings(
            counterpoint_url=f"sqlite:///{folder}/cp/counterpoint.db",
            images_dir=folder / "cp" / "ItemImages",
            blobs_dir=folder / "blobs",
            state_url=f"sqlite:///{folder}/state.db",
            magento_url=emulator.url,
            magento_token=emulator.token,
        )
        runtime = Runtime(settings)
        try:
            started = time.perf_counter()
            for name in TASKS:
                runtime.task(name).run()
            drained = runtime.updater.drain(max_wait_seconds=30)
            sync_s = time.perf_counter() - started
            before = _requests(runtime.magento)
            report = verify(runtime)
            by_endpoint = _requests(runtime.magento) - before
            products = report.kinds["product"].checked
            desired, _ = desired_changes(runtime)
            base = _baseline(runtime, desired, baseline_items)
        finally:
            runtime.close()
    per_1000 = report.requests * 1000 / max(1, products)
    return {
        "items": items,
        "first_sync": {"seconds": round(sync_s, 1), "applied": drained.applied},
        "verify": {
            "differ": report.to_json()["differ"],
            "checked": {k: part.checked for k, part in report.kinds.items()},
            "requests": report.requests,
            "requests_by_endpoint": dict(sorted(by_endpoint.items())),
            "seconds": round(report.seconds, 2),
            "requests_per_1000_items": round(per_1000, 1),
        },
        "baseline_per_record": base,
        "fewer_requests": round(base["requests_per_1000_items"] / per_1000, 1)
        if per_1000
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verify")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1000, help="items read one by one")
    args = parser.parse_args()
    figures = run(args.items, args.baseline)
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
