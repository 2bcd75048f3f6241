"""A store day against the API minimum and the connectors' way: `python -m bench.day [--items N]`.

A 20,000-item store (default) is loaded first (not measured), then its day runs as six sync
rounds through the real tasks and updater: each round 10% of the stock rows move, and the day's
1% renames, 5% price changes and 0.5% replaced images are spread over the rounds. Measured on
the emulator's cost model (150 ms per product save, 20 ms per other request, per-row and per-KiB
costs as configured): requests, records written and worker-seconds, next to
- the REST API minimum, from the edits alone: one save per renamed product, one call per 500
  stock or price rows per round, two per replaced image;
- the connectors' way, computed (not run) for the same edits: one product PUT per item per task
  (a rename, a stock row, a price each cost a full product save) and one POST per image.
Target: >= 25x fewer requests than the connectors' way; reported, never asserted.
Results: bench/results/day.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._sync import (
    apply_edits,
    endpoint_table,
    make_runtime,
    make_sample,
    plain_items,
    ratio,
    single_image_items,
    sync,
    verdict,
)
from cpsync.runtime import Runtime
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo

RESULTS = Path(__file__).parent / "results" / "day.json"
ROUNDS = 6
SAVE_MS = 150.0  # one product save on a real store (hundreds of ms; bench.magento_client)
REQUEST_MS = 20.0  # PHP bootstrap and routing of any other REST call
WORKERS = 8
TARGET = 25.0


def _spread(keys: list[str], rounds: int) -> list[list[str]]:
    """Split keys into `rounds` nearly equal parts, in order."""
    return [keys[r * len(keys) // rounds : (r + 1) * len(keys) // rounds] for r in range(rounds)]


@dataclass
class _Plan:
    """The day's edits, round by round."""

    stock_rows: int
    renames: list[list[str]]
    prices: list[list[str]]
    images: list[list[str]]

    def stock(self, plain: list[str], r: int) -> list[str]:
        """A different 10% of the stock rows each round (wrapping round the catalog)."""
        start = (r * self.stock_rows) % max(1, len(plain))
        return (plain[start:] + plain[:start])[: self.stock_rows]

    def totals(self) -> dict[str, int]:
        return {
            "renames": sum(map(len, self.renames)),
            "stock_rows": self.stock_rows * ROUNDS,
            "prices": sum(map(len, self.prices)),
            "images": sum(map(len, self.images)),
        }


def _plan(info: SampleInfo, items: int) -> _Plan:
    # Images first: only the sample's first 300 products have files.
    imaged = single_image_items(info)[: items // 200]
    plain = [n for n in plain_items(info) if n not in set(imaged)]
    edited = plain[: items // 100 + items // 20]
    return _Plan(
        stock_rows=min(len(plain), items // 10),
        renames=_spread(edited[: items // 100], ROUNDS),
        prices=_spread(edited[items // 100 :], ROUNDS),
        images=_spread(imaged, ROUNDS),
    )


def _day(info: SampleInfo, runtime: Runtime, emulator: EmulatorHandle, plan: _Plan) -> list[Any]:
    """Six rounds of edits, each synced; the figures and minimum of each round."""
    plain = plain_items(info)
    rounds = []
    for r in range(ROUNDS):
        edits = apply_edits(
            info, plan.renames[r], plan.stock(plain, r), plan.prices[r], plan.images[r]
        )
        parts = edits.minimum()
        rounds.append(
            sync(runtime, emulator) | {"minimum": sum(parts.values()), "minimum_parts": parts}
        )
    return rounds


def _connectors(info: SampleInfo, plan: _Plan, config: EmulatorConfig) -> dict[str, Any]:
    """What a connector sends for the same edits: a product PUT each, a POST per image."""
    totals = plan.totals()
    saves = totals["renames"] + totals["stock_rows"] + totals["prices"]
    images = [info.image_dir / f for part in plan.images for n in part for f in info.image_files[n]]
    base64_bytes = sum(path.stat().st_size * 4 // 3 for path in images)
    seconds = (
        saves * config.cost_seconds("products.save")
        + len(images) * config.cost_seconds("media.create")
        + config.kb_costs_ms.get("media.create", 0.0) * base64_bytes / 1024 / 1000
    )
    return {
        "how": "computed: a product PUT per rename, stock row and price; a POST per image",
        "requests": saves + totals["images"],
        "worker_seconds": round(seconds, 2),
    }


def run(items: int) -> dict[str, Any]:
    """Load the store, then run its day; figures of the day only."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        info = make_sample(root, items)
        with running_emulator(EmulatorConfig(workers=WORKERS)) as emulator:
            runtime = make_runtime(info, root, emulator)
            try:
                load = sync(runtime, emulator)
                emulator.configure(costs_ms={"products.save": SAVE_MS}, default_cost_ms=REQUEST_MS)
                plan = _plan(info, items)
                rounds = _day(info, runtime, emulator, plan)
                connectors = _connectors(info, plan, emulator.config)
            finally:
                runtime.close()
    requests = sum(r["requests"] for r in rounds)
    minimum = sum(r["minimum"] for r in rounds)
    by_endpoint: Counter[str] = Counter()
    for r in rounds:
        by_endpoint.update(r["requests_by_endpoint"])
    fewer = round(connectors["requests"] / requests, 1) if requests else None
    return {
        "items": items,
        "load": {k: load[k] for k in ("requests", "applied", "dead", "seconds")},
        "cost_model": {"product_save_ms": SAVE_MS, "request_ms": REQUEST_MS, "workers": WORKERS},
        "edits": plan.totals(),
        "rounds": rounds,
        "cpsync": {
            "requests": requests,
            "requests_by_endpoint": dict(sorted(by_endpoint.items())),
            "records_written": sum(r["records_written"] for r in rounds),
            "changes_applied": sum(r["applied"] for r in rounds),
            "dead": sum(r["dead"] for r in rounds),
            "worker_seconds": round(sum(r["worker_seconds"] for r in rounds), 2),
        },
        "minimum": {"requests": minimum, "ratio": ratio(requests, minimum)},
        "connectors_way": connectors | {"times_cpsync_requests": fewer},
        "target": {
            f">= {TARGET:g}x fewer requests than the connectors' way": verdict(
                fewer is not None and fewer >= TARGET
            )
        },
    }


def _print(result: dict[str, Any]) -> None:
    cp, low, conn = result["cpsync"], result["minimum"], result["connectors_way"]
    print(f"\n== a store day at {result['items']} items: {result['edits']} ==")
    print(
        f"  cpsync: {cp['requests']} requests, {cp['records_written']} records written, "
        f"{cp['worker_seconds']} worker-seconds"
    )
    print(endpoint_table(cp["requests_by_endpoint"]))
    print(f"  REST API minimum: {low['requests']} requests (cpsync {low['ratio']}x)")
    print(
        f"  connectors' way: {conn['requests']} requests, {conn['worker_seconds']} worker-seconds "
        f"({conn['times_cpsync_requests']}x cpsync's requests)"
    )
    for target, outcome in result["target"].items():
        print(f"  target {target}: {outcome}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.day", description=__doc__)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args.items)
    _print(result)
    report = {"python": platform.python_version(), **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
