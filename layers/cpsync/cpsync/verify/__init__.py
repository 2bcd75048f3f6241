"""`cpsync verify`: does Magento hold what Counterpoint asks for today?

Two sides, each read in bulk:
- Counterpoint: every task runs full and forced with `emit=`, on a read-only view of state
  (`ReadOnlyState`), so nothing is queued and no watermark, sent fingerprint, run log or
  document moves: a regular run afterwards behaves as if verify never ran.
- Magento: product search pages (300 a page, SKU `in` filters, or whole pages when the SKUs
  are most of the catalog; galleries and legacy stock come with each product), source-item
  search pages (the same way), base and special price information for lists
  of SKUs, category search pages and one product list per managed category.

Compared by kind, only what cpsync owns: products (status, name, weight, description, short
description, url key, tax class; grid children too), stock (per source, or the legacy stock
item), prices (regular price and the special price row of the price store), category links
(links to categories cpsync manages), galleries (entries cpsync uploaded), categories (name,
active, parent, url key, description). A record whose product is not in Magento is reported
once, under `product`. `repair` queues the captured (forced) Change of exactly the records
that differ, so `cpsync drain` or the updater puts them right.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from cpsync.errors import CpsyncError
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync.verify.compare import compare
from cpsync.verify.readonly import ReadOnlyState
from cpsync.verify.report import Difference, KindReport, VerifyReport

__all__ = [
    "KIND_ORDER",
    "VERIFY_TASKS",
    "Difference",
    "KindReport",
    "ReadOnlyState",
    "VerifyReport",
    "desired_changes",
    "verify",
]

logger = logging.getLogger(__name__)

#: The tasks whose desired state is compared (Images only re-sends what Image Changes finds).
VERIFY_TASKS = ("categories", "items", "category_items", "inventory", "prices", "image_changes")
#: Kinds in the order they are reported.
KIND_ORDER = ("product", "stock", "price", "category_links", "image", "category")


def desired_changes(
    runtime: Runtime, tasks: Sequence[str] = VERIFY_TASKS
) -> tuple[dict[str, dict[str, Change]], list[str]]:
    """Every record's desired state as a forced Change, by kind and key, and the tasks that failed.

    A task that fails (Counterpoint unreachable, a required column missing) is one line in
    the second list; its kind is then not compared.
    """
    from cpsync.tasks.base import TaskContext

    ctx = TaskContext(
        runtime.settings,
        runtime.counterpoint,
        ReadOnlyState(runtime.state),
        runtime.queue,
        clock=runtime.clock,
    )
    found: dict[str, dict[str, Change]] = {}
    failures: list[str] = []
    for name in tasks:
        task = TASKS[name](ctx)
        captured: list[Change] = []
        try:
            task.run(full=True, force=True, emit=captured.extend)
        except CpsyncError as exc:
            failures.append(f"{name}: {exc}")
            continue
        found.setdefault(task.kind, {}).update({c.key: c for c in captured})
    return found, failures


def verify(runtime: Runtime, repair: bool = False) -> VerifyReport:
    """Compare Magento with what Counterpoint asks for; with `repair`, queue what differs.

    Raises:
        CpsyncError: Magento cannot be read (a kind whose task fails is reported instead).
    """
    started = time.monotonic()
    client = runtime.magento
    before = sum(client.stats()["requests"].values())
    desired, failures = desired_changes(runtime)
    skipped: dict[str, str] = {TASKS[f.split(":")[0]].kind: f for f in failures}
    report = VerifyReport(kinds={k: KindReport(k) for k in KIND_ORDER}, errors=failures)
    for kind, part in report.kinds.items():
        part.skipped = skipped.get(kind)
    compare(runtime, client, desired, report.kinds)
    if repair:
        changes = [desired[d.kind][d.key] for k in report.kinds.values() for d in k.differences]
        runtime.queue.send(changes)
        report.repaired = len(changes)
    report.requests = sum(client.stats()["requests"].values()) - before
    report.seconds = time.monotonic() - started
    logger.info(
        "verify: %d records differ, %d Magento requests",
        sum(len(k.differences) for k in report.kinds.values()),
        report.requests,
    )
    return report
