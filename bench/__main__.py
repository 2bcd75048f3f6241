"""Benchmarks: `make bench` (or `python -m bench --items 2000`).

Items sync into the emulator with a realistic cost per product save (Magento takes hundreds
of milliseconds per product on a real store), measured twice in the same run:
- baseline: one product at a time, as the connectors merchants pay for today do;
- cpsync: the updater's parallel writers (CPSYNC_MAGENTO_CONCURRENCY).
The emulator serves a fixed number of workers, like PHP-FPM, so parallelism is capped by the
store, not by wishful thinking. Figures are printed, never asserted.
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
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator
from cpsync_sample.generate import generate


def _run(sample_dir: Path, concurrency: int, save_ms: float, workers: int) -> dict[str, Any]:
    config = EmulatorConfig(costs_ms={"products.save": save_ms}, workers=workers)
    with running_emulator(config) as emulator, tempfile.TemporaryDirectory() as state:
        settings = load_settings(
            counterpoint_url=f"sqlite:///{sample_dir}/counterpoint.db",
            state_url=f"sqlite:///{state}/state.db",
            magento_url=emulator.url,
            magento_token=emulator.token,
            magento_concurrency=concurrency,
        )
        runtime = Runtime(settings)
        try:
            started = time.perf_counter()
            detected = runtime.task("items").run()
            detect_s = time.perf_counter() - started
            started = time.perf_counter()
            drained = runtime.updater.drain(max_wait_seconds=5)
            drain_s = time.perf_counter() - started
            again = time.perf_counter()
            rerun = runtime.task("items").run()
            rerun_s = time.perf_counter() - again
        finally:
            runtime.close()
    return {
        "concurrency": concurrency,
        "items_read": detected.read,
        "changes": detected.queued,
        "detect_seconds": round(detect_s, 3),
        "applied": drained.applied,
        "drain_seconds": round(drain_s, 3),
        "products_per_second": round(drained.applied / drain_s, 1) if drain_s else None,
        "unchanged_rerun_seconds": round(rerun_s, 3),
        "unchanged_rerun_queued": rerun.queued,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--save-ms", type=float, default=40.0, help="cost of one product save")
    parser.add_argument("--workers", type=int, default=8, help="emulator PHP-FPM workers")
    parser.add_argument("--concurrency", type=int, default=8, help="cpsync parallel saves")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample_dir = Path(tmp)
        started = time.perf_counter()
        generate(sample_dir, items=args.items)
        generate_s = time.perf_counter() - started
        baseline = _run(sample_dir, 1, args.save_ms, args.workers)
        cpsync = _run(sample_dir, args.concurrency, args.save_ms, args.workers)
    speedup = (
        cpsync["products_per_second"] / baseline["products_per_second"]
        if baseline["products_per_second"]
        else None
    )
    report = {
        "items": args.items,
        "save_ms": args.save_ms,
        "emulator_workers": args.workers,
        "generate_seconds": round(generate_s, 2),
        "baseline_one_at_a_time": baseline,
        "cpsync": cpsync,
        "speedup": round(speedup, 2) if speedup else None,
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
