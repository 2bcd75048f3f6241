"""The detection benchmark runs end to end at a tiny size and stores figures a reader can trust.

Not timed: only that every task is measured unchanged and after a 1% edit, next to a floor
computed from exactly the records the bench changed, and that an unchanged run queues nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS = {"items", "categories", "category_items", "inventory", "prices", "image_changes"}


def test_given_a_tiny_sample_when_the_detection_bench_runs_then_every_task_has_its_floor(
    tmp_path: Path,
) -> None:
    # GIVEN a tiny sample (the smallest the generator makes holds every awkward case)
    out = tmp_path / "detection.json"
    # WHEN the bench runs as a user runs it
    done = subprocess.run(
        [sys.executable, "-m", "bench.detection", "--items", "300", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    # THEN every task is printed and stored with its unchanged and 1%-changed runs
    report = json.loads(out.read_text())
    tasks = report["runs"][0]["tasks"]
    assert set(tasks) == TASKS
    for name in TASKS:
        assert name in done.stdout
        unchanged, changed = tasks[name]["unchanged"], tasks[name]["changed_1pct"]
        assert unchanged["queued"] == 0, name
        assert unchanged["changed"] == 0 and unchanged["floor"]["rows"] == 0, name
        assert changed["changed"] >= 1, name
        assert changed["floor"]["rows"] >= 1, name
        assert changed["ratio"] > 0, name
    # the watermark tasks read nothing when nothing changed, and at most what changed after
    for name in ("items", "category_items", "inventory"):
        assert tasks[name]["unchanged"]["read"] == 0, name
        assert tasks[name]["changed_1pct"]["queued"] >= 1, name
