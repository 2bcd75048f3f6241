"""`cpsync demo`: the whole sync on the bundled sample data, into the bundled Magento emulator.

Everything lives in `.demo/`: the sample Counterpoint database and images (made once), cpsync's
state and queue, and the emulator's catalog, so a second run finds nothing to do.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from cpsync.counterpoint.schema import IM_INV_CELL, IM_ITEM
from cpsync.errors import ConfigurationError, DataError
from cpsync.runtime import Runtime
from cpsync.settings import DEMO_DIR, load_settings
from cpsync.skus import child_sku
from cpsync.tasks import TASKS

__all__ = ["run_demo"]


def _sample(demo_dir: Path, items: int, console: Console) -> None:
    if (demo_dir / "counterpoint.db").exists():
        return
    try:
        from cpsync_sample.generate import generate
    except ImportError as exc:  # installed without the repository's sample generator
        raise ConfigurationError(
            "the demo needs the repository checkout (dev/cpsync_sample/, installed by make install)"
        ) from exc
    with console.status(f"making a sample Counterpoint database with {items} items"):
        generate(demo_dir, items=items)


def _ecommerce_items(runtime: Runtime, grid: bool) -> set[str]:
    """Active e-commerce items, simple or grid."""
    item = IM_ITEM.c
    is_grid = func.coalesce(item.TRK_METH, "N") == "G"
    stmt = select(item.ITEM_NO).where(
        item.IS_ECOMM_ITEM == "Y", item.STAT == "A", is_grid if grid else ~is_grid
    )
    with runtime.counterpoint.connect() as conn:
        return {str(r[0]) for r in conn.execute(stmt)}


def _grid_children(runtime: Runtime, parents: set[str]) -> set[str]:
    """The child SKUs of grid items: one per IM_INV_CELL cell (64-character SKUs excepted)."""
    cell = IM_INV_CELL.c
    stmt = select(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR).distinct()
    separator = runtime.settings.grid_sku_separator
    children = set()
    with runtime.counterpoint.connect() as conn:
        for row in conn.execute(stmt):
            if row.ITEM_NO in parents:
                try:
                    children.add(child_sku(row.ITEM_NO, row[1:], separator))
                except DataError:
                    continue  # reported by the Items task as a record error
    return children


def run_demo(items: int, as_json: bool, console: Console, demo_dir: Path = DEMO_DIR) -> int:
    """Run the demo and print its summary; returns the exit code (1 if a product is missing)."""
    from cpsync_emulator.config import EmulatorConfig
    from cpsync_emulator.server import running_emulator

    started = time.monotonic()
    demo_dir.mkdir(parents=True, exist_ok=True)
    _sample(demo_dir, items, console)
    config = EmulatorConfig(state_file=demo_dir / "magento.json")
    with running_emulator(config) as emulator:
        settings = load_settings(
            counterpoint_url=f"sqlite:///{demo_dir}/counterpoint.db",
            images_dir=demo_dir / "ItemImages",
            state_url=f"sqlite:///{demo_dir}/state.db",
            magento_url=emulator.url,
            magento_token=emulator.token,
            retry_base_seconds=0.2,
        )
        runtime = Runtime(settings)
        try:
            from cpsync.cli import drain_queue, run_tasks

            results = run_tasks(runtime, list(TASKS), False, None, as_json)
            drained = drain_queue(runtime, as_json, max_wait=30)
            client = runtime.magento.stats()
            simple = _ecommerce_items(runtime, grid=False)
            grids = _ecommerce_items(runtime, grid=True)
            children = _grid_children(runtime, grids)
            expected = simple | grids | children
            catalog = emulator.store.products_by_sku()
            present = {sku.lower() for sku in catalog}
            missing = sorted(sku for sku in expected if sku.lower() not in present)
            depth = runtime.queue.depth()
        finally:
            runtime.close()
    writes = sum(n for ep, n in client["requests"].items() if ep.endswith(".save"))
    summary: dict[str, Any] = {
        "tasks": {
            r.task: {
                "mode": r.mode,
                "records_read": r.read,
                "changes_queued": r.queued,
                "errors": [e.message for e in r.errors],
            }
            for r in results
        },
        "records_read": sum(r.read for r in results),
        "changes_queued": sum(r.queued for r in results),
        "applied": drained.applied,
        "magento_requests": dict(sorted(Counter(client["requests"]).items())),
        "magento_writes": writes,
        "failed_requests": dict(sorted(client["failures"].items())),
        "dead_letters": depth.dead,
        "products_in_magento": len(catalog),
        "ecommerce_items": len(simple) + len(grids),
        "grid_items": len(grids),
        "grid_children": len(children),
        "expected_products": len(expected),
        "missing_products": missing,
        "seconds": round(time.monotonic() - started, 2),
    }
    if as_json:
        print(json.dumps(summary, indent=2))  # noqa: T201
    else:
        _print_summary(summary, console)
    return 1 if missing else 0


def _print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="cpsync demo")
    table.add_column("what")
    table.add_column("count", justify="right")
    for task, data in summary["tasks"].items():
        table.add_row(f"{task}: records read", str(data["records_read"]))
        table.add_row(f"{task}: changes queued", str(data["changes_queued"]))
        table.add_row(f"{task}: record errors", str(len(data["errors"])))
    table.add_row("changes applied to Magento", str(summary["applied"]))
    for endpoint, count in summary["magento_requests"].items():
        table.add_row(f"Magento requests: {endpoint}", str(count))
    table.add_row("Magento writes", str(summary["magento_writes"]))
    table.add_row("failed Magento requests", str(sum(summary["failed_requests"].values())))
    table.add_row("dead letters", str(summary["dead_letters"]))
    table.add_row("e-commerce items", str(summary["ecommerce_items"]))
    table.add_row("  of which grid items (configurable)", str(summary["grid_items"]))
    table.add_row("  their grid cells (child products)", str(summary["grid_children"]))
    table.add_row(
        "products expected in Magento that are there",
        f"{summary['expected_products'] - len(summary['missing_products'])}"
        f" of {summary['expected_products']}",
    )
    table.add_row("products in the emulator", str(summary["products_in_magento"]))
    table.add_row("seconds", f"{summary['seconds']:.2f}")
    Console().print(table)
    for task, data in summary["tasks"].items():
        for error in data["errors"]:
            console.print(f"[yellow]{task} error[/] {error}")
    if summary["missing_products"]:
        console.print(f"[red]missing from Magento:[/] {', '.join(summary['missing_products'])}")
        console.print(
            "The demo keeps its state between runs in .demo/; after an upgrade an old .demo/ "
            "can disagree with the emulator. Delete .demo/ (or run `make clean`) to start over."
        )
