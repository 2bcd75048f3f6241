"""Nothing lost, nothing doubled, the whole catalog: a sync through Magento faults (and through a
drain killed with SIGKILL) ends with exactly what a clean sync gives, gallery entries included.

The catalogs are compared as a shopper and a merchant see them: ids, timestamps and the order
in which entities were created differ between two runs, so they are replaced by SKUs and
category paths.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo

FAULTS = (
    "*:503:0.3",
    "*:timeout:0.1",
    "*:drop:0.05:applied",
    "*:502:0.05:applied",
)
_TAG = re.compile(r"-cp[0-9a-f]{12}(_\d+)?(\.\w+)$")


def catalog(emulator: EmulatorHandle) -> dict[str, Any]:
    """What the store holds, without ids, timestamps or creation order."""
    data = emulator.store.to_json()
    categories = {c["id"]: c for c in data["categories"]["items"]}

    def path(category_id: Any) -> str:
        names, node = [], categories.get(int(category_id))
        while node is not None and node["parent_id"]:
            names.append(node["name"])
            node = categories.get(node["parent_id"])
        return "/".join(reversed(names))

    sku_of = {p["id"]: p["sku"] for p in data["products"]}
    # Option ids of dropdowns (grid colours, sizes) are given out in creation order: use labels.
    labels = {
        (code, str(o["value"])): o["label"]
        for code, attribute in emulator.emulator.attributes.to_json()["attributes"].items()
        for o in attribute.get("options", [])
    }
    products: dict[str, Any] = {}
    for product in data["products"]:
        ext = product.get("extension_attributes") or {}
        stock = ext.get("stock_item") or {}
        gallery = sorted(product.get("media_gallery_entries") or [], key=lambda e: e["position"])
        products[product["sku"]] = {
            "fields": {
                k: product.get(k)
                for k in ("name", "price", "status", "visibility", "type_id", "weight")
            },
            "attributes": sorted(
                (code, labels.get((code, str(a["value"])), str(a["value"])))
                for a in product.get("custom_attributes") or []
                if (code := a["attribute_code"]) != "category_ids"
            ),
            "categories": sorted(
                path(link["category_id"]) for link in ext.get("category_links") or []
            ),
            "stock": (stock.get("qty"), stock.get("is_in_stock")),
            "children": sorted(sku_of[i] for i in ext.get("configurable_product_links") or []),
            "gallery": [
                (_TAG.sub(r"\2", e["file"].rsplit("/", 1)[1]), sorted(e["types"]), e["position"])
                for e in gallery
            ],
        }
    tree = sorted(
        (path(c["id"]), c["is_active"], c["position"])
        for c in categories.values()
        if c["level"] > 1
    )
    sections = json.loads(json.dumps(data["sections"], sort_keys=True, default=str))
    return {"products": products, "categories": tree, "sections": _sorted_lists(sections)}


def _sorted_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted(
            (_sorted_lists(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True)
        )
    return value


def _sync_all(runtime: Runtime) -> None:
    for name in TASKS:
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=20)


def _differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems = []
    for sku in sorted(set(want["products"]) | set(got["products"])):
        a, b = want["products"].get(sku), got["products"].get(sku)
        if a is None or b is None:
            problems.append(f"{sku}: {'missing' if b is None else 'extra'} after the faults")
            continue
        for part in sorted(set(a) | set(b)):
            if a.get(part) != b.get(part):
                problems.append(f"{sku} {part}: clean {a.get(part)} faults {b.get(part)}")
    if want["categories"] != got["categories"]:
        problems.append(f"categories: clean {want['categories']} faults {got['categories']}")
    if want["sections"] != got["sections"]:
        problems.append("sections (stock, prices) differ")
    return problems


@pytest.fixture
def clean_catalog(
    sample: tuple[Path, SampleInfo], tmp_path: Path, make_runtime: Callable[..., Runtime]
) -> dict[str, Any]:
    """The catalog a clean sync of the sample gives."""
    (tmp_path / "clean").mkdir()
    with running_emulator(EmulatorConfig()) as emulator:
        runtime = make_runtime(sample[0], tmp_path / "clean", emulator)
        _sync_all(runtime)
        return catalog(emulator)


def test_through_magento_faults_the_catalog_equals_a_clean_sync_with_every_image_once(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
    clean_catalog: dict[str, Any],
) -> None:
    # GIVEN a store that fails 30% of requests with 503, lets 10% time out after applying them,
    # drops 5% of connections and answers 5% with a 502 after saving
    (tmp_path / "faults").mkdir()
    emulator.configure(timeout_seconds=0.5)
    emulator.set_faults(*FAULTS, seed=5)
    runtime = make_runtime(
        sample[0],
        tmp_path / "faults",
        emulator,
        magento_timeout=0.25,
        magento_max_attempts=2,
        queue_visibility_seconds=30,
        queue_max_receives=1000,
    )
    # WHEN every task runs and the queue is drained through the faults
    _sync_all(runtime)
    faults = emulator.stats()["faults"]
    assert sum(faults.values()) > 50, f"the fault model injected little: {faults}"
    # (new products carry their images in their create: its faults are the images' faults)
    assert any(k.startswith("products.save:timeout") for k in faults), faults
    # ... then the faults stop and the queue is drained again, with no new detection run
    emulator.set_faults()
    result = runtime.updater.drain(max_wait_seconds=60)
    # THEN the store holds exactly what a clean sync gives, and nothing was parked
    assert runtime.queue.dead_letters() == [], [d.reason for d in runtime.queue.dead_letters()]
    assert result.dead == 0
    depth = runtime.queue.depth()
    assert depth.visible + depth.in_flight + depth.delayed == 0
    assert _differences(clean_catalog, catalog(emulator)) == []


_DRAIN = """
import sys
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
Runtime(load_settings()).updater.drain(max_wait_seconds=30)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_drain_killed_four_times_with_sigkill_loses_and_doubles_nothing(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
    clean_catalog: dict[str, Any],
) -> None:
    # GIVEN every change detected and queued, with Magento slow enough to kill a drain mid-way
    (tmp_path / "killed").mkdir()
    # (receives are not limited: a price waits for its product through the kills)
    runtime = make_runtime(
        sample[0],
        tmp_path / "killed",
        emulator,
        queue_visibility_seconds=2,
        queue_max_receives=1000,
    )
    for name in TASKS:
        runtime.task(name).run()
    emulator.configure(latency_ms=15)
    env = {
        **os.environ,
        "CPSYNC_COUNTERPOINT_URL": runtime.settings.counterpoint_url,
        "CPSYNC_STATE_URL": runtime.settings.state_url,
        "CPSYNC_BLOBS_DIR": str(runtime.settings.blobs_dir),
        "CPSYNC_IMAGES_DIR": str(runtime.settings.images_dir),
        "CPSYNC_MAGENTO_URL": emulator.url,
        "CPSYNC_MAGENTO_TOKEN": emulator.token,
        "CPSYNC_QUEUE_VISIBILITY_SECONDS": "2",
        "CPSYNC_QUEUE_MAX_RECEIVES": "1000",
        "CPSYNC_RETRY_BASE_SECONDS": "0.01",
        "CPSYNC_RETRY_MAX_SECONDS": "0.05",
    }
    # WHEN a drain process is killed with SIGKILL four times at different moments
    kills = 0
    for delay in (0.6, 1.1, 0.8, 1.4):
        drain = subprocess.Popen([sys.executable, "-c", _DRAIN], env=env)
        time.sleep(delay)
        if drain.poll() is None:
            drain.send_signal(signal.SIGKILL)
            kills += 1
        drain.wait(timeout=30)
    assert kills >= 2, "the drains ended before they could be killed: this test proves nothing"
    # ... and a last drain runs to the end (killed messages come back after their visibility)
    emulator.configure(latency_ms=0)
    started = time.monotonic()
    runtime.updater.drain(max_wait_seconds=30)
    waited = time.monotonic() - started
    # THEN nothing is lost or doubled, and no lock left by a dead drain held anything up long
    assert runtime.queue.dead_letters() == []
    assert _differences(clean_catalog, catalog(emulator)) == []
    assert waited < 60, f"the last drain waited {waited:.0f} s"
