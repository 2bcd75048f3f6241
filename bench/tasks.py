"""Benchmark of the detection side: `python -m bench.tasks [--sizes 1000 10000 100000]`.

For each size a sample Counterpoint database is generated (an hour in the past, so only
what the benchmark touches looks changed), then, each in its own subprocess so peak memory
is that run's alone:
- the floor: streaming the Items query's rows and nothing else (`read_only`);
- a first full Items run with no image folder (`full_without_images`), the baseline for
- a first full Items run that also looks up the image files of its new items (`full`; the
  sample gives images to its first 300 items);
- an incremental run after touching ~1% of the items (renamed, `RS_UTC_DT` moved to now).
Printed per run: seconds, peak RSS (VmHWM of the subprocess, interpreter included),
rows read and changes queued, and the ratios of the full run to the floor and to the
baseline. Figures are written to `bench/results/tasks.json`; nothing is asserted. Magento is
not involved: this measures reading Counterpoint and queueing.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, update

from cpsync.counterpoint.schema import IM_ITEM

RESULTS = Path(__file__).parent / "results" / "tasks.json"


def _peak_kb() -> int:
    """Peak resident memory of this process in KiB.

    Linux's VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak over (the
    parent generated the sample), so it is only the fallback elsewhere.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(sample_dir: Path, state_dir: Path, mode: str) -> None:
    """Run one Items detection and print its figures as JSON (runs in the subprocess)."""
    from cpsync.counterpoint.queries import item_rows
    from cpsync.runtime import Runtime
    from cpsync.settings import load_settings

    images = sample_dir / ("no-such-folder" if mode == "full_without_images" else "ItemImages")
    settings = load_settings(
        counterpoint_url=f"sqlite:///{sample_dir}/counterpoint.db",
        state_url=f"sqlite:///{state_dir}/state.db",
        images_dir=images,
        blobs_dir=state_dir / "blobs",
    )
    runtime = Runtime(settings)
    try:
        started = time.perf_counter()
        if mode == "read_only":
            with runtime.context.counterpoint.connect() as conn:
                rows = conn.execution_options(stream_results=True, yield_per=1000)
                read = sum(1 for _ in rows.execute(item_rows()))
            figures: dict[str, Any] = {"mode": mode, "rows_read": read}
        else:
            result = runtime.task("items").run(full=mode != "changed")
            figures = {
                "mode": mode,
                "rows_read": result.read,
                "changes_queued": result.queued,
                "record_errors": len(result.errors),
            }
        seconds = time.perf_counter() - started
    finally:
        runtime.close()
    figures |= {"seconds": round(seconds, 2), "peak_rss_mb": round(_peak_kb() / 1024, 1)}
    print(json.dumps(figures))


def _measure(sample_dir: Path, state_dir: Path, mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.tasks", "--child", str(sample_dir), str(state_dir), mode],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _touch(sample_dir: Path, share: float) -> int:
    """Rename every n-th item and move its RS_UTC_DT to now; returns how many were touched."""
    engine = create_engine(f"sqlite:///{sample_dir}/counterpoint.db")
    step = max(1, round(1 / share))
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with engine.begin() as conn:
            item_nos = [r[0] for r in conn.execute(select(IM_ITEM.c.ITEM_NO))][::step]
            for start in range(0, len(item_nos), 500):
                part = item_nos[start : start + 500]
                conn.execute(
                    update(IM_ITEM)
                    .where(IM_ITEM.c.ITEM_NO.in_(part))
                    .values(RS_UTC_DT=now, DESCR=IM_ITEM.c.DESCR + " v2")
                )
    finally:
        engine.dispose()
    return len(item_nos)


def _one_size(items: int, workdir: Path) -> dict[str, Any]:
    from cpsync_sample.generate import generate

    sample_dir, state_dir = workdir / f"cp{items}", workdir / f"state{items}"
    state_dir.mkdir(parents=True)
    started = time.perf_counter()
    generate(sample_dir, items=items, now=datetime.now(UTC) - timedelta(hours=1))
    generated = time.perf_counter() - started
    floor = _measure(sample_dir, state_dir, "read_only")
    baseline_state = workdir / f"baseline{items}"
    baseline_state.mkdir()
    baseline = _measure(sample_dir, baseline_state, "full_without_images")
    full = _measure(sample_dir, state_dir, "full")
    touched = _touch(sample_dir, 0.01)
    incremental = _measure(sample_dir, state_dir, "changed")
    return {
        "items": items,
        "generate_seconds": round(generated, 1),
        "read_only": floor,
        "full_without_images": baseline,
        "full": full,
        "full_vs_read_only": round(full["seconds"] / max(floor["seconds"], 0.01), 1),
        "full_vs_without_images": round(full["seconds"] / max(baseline["seconds"], 0.01), 2),
        "touched": touched,
        "incremental": incremental,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tasks")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=3, metavar=("SAMPLE", "STATE", "MODE"), help="internal")
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in args.sizes:
            run = _one_size(items, Path(tmp))
            runs.append(run)
            print(json.dumps(run))
    report = {
        "what": "Items task detection (read Counterpoint, build, fingerprint, queue); no Magento",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
