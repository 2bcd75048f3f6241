"""Shared pieces of `bench.requests` and `bench.day`: a sample store synced for real, its edits,
and the REST API minimum computed from the sample data (never from cpsync's requests).

A run is the real thing: every task of `cpsync.tasks.TASKS` on the embedded runtime, then the
updater's drain into the emulator over HTTP. Requests are the emulator's counts by endpoint.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import create_engine, func, select, update

from cpsync.counterpoint.schema import EC_CATEG, IM_INV, IM_INV_CELL, IM_ITEM, IM_PRC
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo, generate
from cpsync_sample.images import image_stem

#: Rows one bulk source-item or price call carries (the reference's safe size).
BULK_ROWS = 500


def make_sample(root: Path, items: int) -> SampleInfo:
    """A sample an hour in the past, so only what a benchmark edits looks changed."""
    return generate(root / "cp", items=items, now=datetime.now(UTC) - timedelta(hours=1))


def make_runtime(info: SampleInfo, root: Path, emulator: EmulatorHandle) -> Runtime:
    """The embedded runtime over the sample, its image folder and the emulator."""
    return Runtime(
        load_settings(
            counterpoint_url=info.database_url,
            images_dir=info.image_dir,
            state_url=f"sqlite:///{root}/state.db",
            blobs_dir=root / "blobs",
            magento_url=emulator.url,
            magento_token=emulator.token,
            retry_base_seconds=0.2,
        )
    )


def sync(runtime: Runtime, emulator: EmulatorHandle) -> dict[str, Any]:
    """Run every task, drain the queue; the requests, records and worker time it caused."""
    before = emulator.stats()
    started = time.perf_counter()
    queued = {name: runtime.task(name).run().queued for name in TASKS}
    drained = runtime.updater.drain(max_wait_seconds=10)
    seconds = time.perf_counter() - started
    after = emulator.stats()
    requests = _delta(before["requests"], after["requests"])
    return {
        "changes_queued": queued,
        "applied": drained.applied,
        "dead": drained.dead,
        "requests": sum(requests.values()),
        "requests_by_endpoint": dict(sorted(requests.items())),
        "records_written": after["records_written"] - before["records_written"],
        "worker_seconds": round(after["worker_seconds"] - before["worker_seconds"], 3),
        "seconds": round(seconds, 2),
    }


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    out = {k: round(v - before.get(k, 0), 6) for k, v in after.items()}
    return {k: v for k, v in out.items() if v}


def first_load_minimum(info: SampleInfo) -> dict[str, int]:
    """Requests a first load needs at least, from the sample database alone.

    One create per category and per product (grid parents and their children included), each
    product carrying its images, category links, price and special price; one per new
    attribute option (a grid dimension value); one bulk call per 500 MSI source-item rows.
    """
    engine = create_engine(info.database_url)
    grids = set(info.ecommerce_item_nos) & set(info.grid_item_nos)
    cell = IM_INV_CELL.c
    try:
        with engine.connect() as conn:
            categories = conn.execute(
                select(func.count()).select_from(EC_CATEG).where(EC_CATEG.c.PARENT_ID.is_not(None))
            ).scalar_one()
            cells = {
                tuple(row)
                for row in conn.execute(
                    select(cell.ITEM_NO, cell.DIM_1_UPR, cell.DIM_2_UPR, cell.DIM_3_UPR).distinct()
                )
                if row[0] in grids
            }
    finally:
        engine.dispose()
    options = {(n, c[n]) for c in cells for n in (1, 2, 3) if c[n] and c[n] != "*"}
    simple = len(info.ecommerce_item_nos) - len(grids)
    stock_rows = simple + len(cells)
    return {
        "categories": int(categories),
        "products": simple + len(grids) + len(cells),
        "attribute_options": len(options),
        "stock_calls": math.ceil(stock_rows / BULK_ROWS),
    }


@dataclass
class Edits:
    """What a round of edits changed in Counterpoint and the image folder."""

    renamed: list[str] = field(default_factory=list)
    stock: list[str] = field(default_factory=list)
    prices: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def minimum(self) -> dict[str, int]:
        """One save per renamed product, one call per 500 stock or price rows, two per image
        (remove the old gallery entry, add the new one)."""
        return {
            "product_saves": len(self.renamed),
            "stock_calls": math.ceil(len(self.stock) / BULK_ROWS),
            "price_calls": math.ceil(len(self.prices) / BULK_ROWS),
            "image_calls": 2 * len(self.images),
        }


def plain_items(info: SampleInfo) -> list[str]:
    """Simple e-commerce items without a special role: one product each, no grid cells."""
    roles = set(info.special.values())
    grids = set(info.grid_item_nos)
    return [n for n in info.ecommerce_item_nos if n not in grids and n not in roles]


def single_image_items(info: SampleInfo) -> list[str]:
    """Plain items whose only image is `<stem>.jpg`: a replaced file is one gallery entry."""
    plain = set(plain_items(info))
    return [
        n
        for n, files in info.image_files.items()
        if n in plain and files == (f"{image_stem(n)}.jpg",)
    ]


def apply_edits(
    info: SampleInfo, renames: list[str], stock: list[str], prices: list[str], images: list[str]
) -> Edits:
    """Rename, restock, reprice (Price-1 up by 1.00, no promotion touched) and replace images.

    Every edited row's RS_UTC_DT moves to now, as Counterpoint's triggers do.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(info.database_url)
    item, inv, prc = IM_ITEM.c, IM_INV.c, IM_PRC.c
    try:
        with engine.begin() as conn:
            for part in _chunks(renames):
                conn.execute(
                    update(IM_ITEM)
                    .where(item.ITEM_NO.in_(part))
                    .values(DESCR=item.DESCR + " v2", RS_UTC_DT=now)
                )
            for part in _chunks(stock):
                conn.execute(
                    update(IM_INV)
                    .where(inv.ITEM_NO.in_(part))
                    .values(
                        QTY_ON_HND=inv.QTY_ON_HND + 3,
                        QTY_AVAIL=inv.QTY_AVAIL + 3,
                        NET_QTY=inv.NET_QTY + 3,
                        RS_UTC_DT=now,
                    )
                )
            one = Decimal("1.00")
            for part in _chunks(prices):
                conn.execute(
                    update(IM_ITEM)
                    .where(item.ITEM_NO.in_(part))
                    .values(PRC_1=item.PRC_1 + one, REG_PRC=item.REG_PRC + one, RS_UTC_DT=now)
                )
                conn.execute(
                    update(IM_PRC)
                    .where(prc.ITEM_NO.in_(part))
                    .values(PRC_1=prc.PRC_1 + one, RS_UTC_DT=now)
                )
    finally:
        engine.dispose()
    for n, item_no in enumerate(images):
        path = info.image_dir / f"{image_stem(item_no)}.jpg"
        buf = io.BytesIO()
        colour = ((n * 37 + int(time.time())) % 251, 200, (n * 11) % 251)
        Image.new("RGB", (80, 60), colour).save(buf, "JPEG")
        path.write_bytes(buf.getvalue())
        os.utime(path, None)
    return Edits(renames, stock, prices, images)


def _chunks(keys: list[str], size: int = 500) -> list[list[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def ratio(requests: int, minimum: int) -> float | None:
    """Requests over the minimum (None when the minimum is 0)."""
    return round(requests / minimum, 2) if minimum else None


def verdict(met: bool) -> str:
    """Targets are reported, never asserted."""
    return "met" if met else "not met"


def endpoint_table(by_endpoint: dict[str, int]) -> str:
    """One line per endpoint, most requests first."""
    ranked = Counter(by_endpoint).most_common()
    return "\n".join(f"    {name:34} {count:>7}" for name, count in ranked)
