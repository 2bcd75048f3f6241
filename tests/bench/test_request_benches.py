"""The request benchmarks run end to end at a tiny size and store figures a reader can trust.

Not timed: only that the minimum is computed from the sample, that cpsync's requests are counted
next to it (never below it), and that an unchanged rerun costs Magento nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _bench(name: str, out: Path, *args: str) -> tuple[str, dict[str, Any]]:
    """Run `python -m bench.NAME` as a user would; its printed text and stored figures."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    return done.stdout, json.loads(out.read_text())


def test_given_a_small_store_when_bench_requests_runs_then_it_stores_sane_figures(
    tmp_path: Path,
) -> None:
    # GIVEN a 200-item sample WHEN the benchmark runs through tasks, updater and emulator
    printed, report = _bench("requests", tmp_path / "requests.json", "--items", "200")

    # THEN the figures are stored, with a minimum computed from the sample and the edits
    run = report["runs"][0]
    first, edits = run["first_load"], run["incremental"]
    assert first["minimum_parts"]["products"] > first["minimum_parts"]["categories"] > 0
    assert first["requests"] >= first["minimum"] > 0
    assert first["dead"] == 0
    assert run["edits"] == {"renamed": 10, "stock": 50, "prices": 20, "images": 5}
    assert edits["minimum_parts"] == {
        "product_saves": 10,
        "stock_calls": 1,
        "price_calls": 1,
        "image_calls": 10,
    }
    assert edits["requests"] >= edits["minimum"] == 22
    assert edits["requests_by_endpoint"]["products.save"] == 10
    # AND a rerun with nothing changed sends no request at all
    assert run["unchanged_rerun"]["requests"] == 0
    assert run["targets"]["unchanged rerun 0 requests"] == "met"
    assert "target unchanged rerun 0 requests: met" in printed


def test_given_a_small_store_when_bench_day_runs_then_the_connectors_way_costs_more(
    tmp_path: Path,
) -> None:
    # GIVEN a 400-item store WHEN its day runs (six rounds of stock, renames, prices, images)
    printed, report = _bench("day", tmp_path / "day.json", "--items", "400")

    # THEN cpsync's requests sit between the API minimum and the connectors' way
    assert "connectors' way" in printed
    assert report["edits"] == {"renames": 4, "stock_rows": 240, "prices": 20, "images": 2}
    cpsync = report["cpsync"]
    assert cpsync["dead"] == 0
    assert report["minimum"]["requests"] <= cpsync["requests"]
    assert cpsync["requests"] < report["connectors_way"]["requests"] == 4 + 240 + 20 + 2
    # AND worker time on the cost model is counted for both
    assert 0 < cpsync["worker_seconds"] < report["connectors_way"]["worker_seconds"]
