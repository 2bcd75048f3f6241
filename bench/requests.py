"""Requests against the REST API minimum: `python -m bench.requests [--items 1000 10000]`.

For each size, through the real tasks and updater (embedded runtime, the emulator over HTTP):
- the first load of the sample store;
- a round of edits: 10 renames, 50 stock rows, 20 prices, 5 replaced images;
- an unchanged rerun.
Each is printed with the emulator's requests by endpoint next to the minimum the REST API
needs, computed from the sample data and the edits alone (see `bench._sync`): categories +
products (grid parents and children) + new attribute options; one call per 500 stock or price
rows; two per replaced image. Targets (first load <= 1.10x the minimum, edits <= 1.05x, rerun
0 requests) are reported as met or not met, never asserted. Results: bench/results/requests.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._sync import (
    apply_edits,
    endpoint_table,
    first_load_minimum,
    make_runtime,
    make_sample,
    plain_items,
    ratio,
    single_image_items,
    sync,
    verdict,
)
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator

RESULTS = Path(__file__).parent / "results" / "requests.json"
EDITS = {"renames": 10, "stock": 50, "prices": 20, "images": 5}
TARGETS = {"first_load": 1.10, "edits": 1.05}


def run(items: int, edits: dict[str, int]) -> dict[str, Any]:
    """First load, one round of edits and an unchanged rerun of one sample size."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        info = make_sample(root, items)
        with running_emulator(EmulatorConfig()) as emulator:
            runtime = make_runtime(info, root, emulator)
            try:
                first = sync(runtime, emulator)
                first_min = first_load_minimum(info)
                plain = plain_items(info)
                # Disjoint items per kind, so each edit's minimum stands alone.
                renames = plain[: edits["renames"]]
                rest = plain[edits["renames"] :]
                stock = rest[: edits["stock"]]
                prices = rest[edits["stock"] : edits["stock"] + edits["prices"]]
                taken = set(renames) | set(stock) | set(prices)
                images = [n for n in single_image_items(info) if n not in taken]
                done = apply_edits(info, renames, stock, prices, images[: edits["images"]])
                edited = sync(runtime, emulator)
                rerun = sync(runtime, emulator)
            finally:
                runtime.close()
    first_total, edit_min = sum(first_min.values()), done.minimum()
    edit_total = sum(edit_min.values())
    first_ratio = ratio(first["requests"], first_total)
    edit_ratio = ratio(edited["requests"], edit_total)
    return {
        "items": items,
        "first_load": first | {"minimum": first_total, "minimum_parts": first_min},
        "first_load_ratio": first_ratio,
        "edits": {k: len(v) for k, v in vars(done).items()},
        "incremental": edited | {"minimum": edit_total, "minimum_parts": edit_min},
        "incremental_ratio": edit_ratio,
        "unchanged_rerun": rerun,
        "targets": {
            "first_load <= 1.10x": verdict(first_ratio is not None and first_ratio <= 1.10),
            "incremental <= 1.05x": verdict(edit_ratio is not None and edit_ratio <= 1.05),
            "unchanged rerun 0 requests": verdict(rerun["requests"] == 0),
        },
    }


def _print(result: dict[str, Any]) -> None:
    print(f"\n== {result['items']} items ==")
    for label, key, ratio_key in (
        ("first load", "first_load", "first_load_ratio"),
        (f"edits {result['edits']}", "incremental", "incremental_ratio"),
        ("unchanged rerun", "unchanged_rerun", None),
    ):
        phase = result[key]
        minimum = phase.get("minimum", 0)
        shown = f" minimum {minimum} {phase.get('minimum_parts', '')}" if ratio_key else ""
        times = f" ratio {result[ratio_key]}" if ratio_key else ""
        print(f"  {label}: {phase['requests']} requests{shown}{times}")
        if phase["requests"]:
            print(endpoint_table(phase["requests_by_endpoint"]))
    for target, outcome in result["targets"].items():
        print(f"  target {target}: {outcome}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.requests", description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    for items in args.items:
        result = run(items, EDITS)
        _print(result)
        sys.stdout.flush()
        results.append(result)
    report = {"python": platform.python_version(), "edits_asked": EDITS, "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
