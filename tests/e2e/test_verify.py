"""`cpsync verify`: Magento changed behind cpsync's back is found, reported, and repaired.

The sample syncs into the emulator; then the store is edited through Magento's own REST API,
the way an admin or another extension would: a product renamed, a quantity set, a gallery
entry deleted, a link added by hand to a managed category, a special price removed and a
category renamed, and a grid cell renamed: one edit per kind, so a kind verify ignores fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update

from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync.verify import KIND_ORDER, desired_changes, verify
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

NOW = datetime(2026, 11, 27, 14, 0)  # the sample's clock (tests/e2e/conftest.py), naive UTC


def _sync(runtime: Runtime) -> None:
    for name in TASKS:
        runtime.task(name).run()
    drained = runtime.updater.drain(max_wait_seconds=10)
    assert drained.dead == 0, drained.errors


@pytest.fixture
def magento(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    """Magento's REST API as an admin or another extension uses it."""
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=f"{emulator.rest_url}/V1/", headers=headers) as client:
        yield client


def _first(changes: dict[str, Change], test: Any, avoid: set[str]) -> Change:
    return next(c for k, c in sorted(changes.items()) if k not in avoid and test(c.payload))


def _state_snapshot(runtime: Runtime) -> dict[str, Any]:
    state = runtime.state
    return {
        "sent": {kind: state.get_sent(kind) for kind in KIND_ORDER},
        "watermarks": {name: state.get_watermark(name) for name in TASKS},
        "runs": [r.run_id for r in state.runs(limit=100)],
        "queue": runtime.queue.depth().visible,
        "image_desired": state.get_docs("image_desired"),
    }


def test_given_edits_behind_cpsyncs_back_when_verify_then_exactly_those_differ_and_repair_fixes_them(
    runtime: Runtime, magento: httpx.Client
) -> None:
    # GIVEN the sample synced, and verify finding it clean without leaving a trace
    _sync(runtime)
    before = _state_snapshot(runtime)
    clean = verify(runtime)
    assert clean.to_json()["ok"], clean.to_json()
    assert all(clean.kinds[kind].checked > 0 for kind in KIND_ORDER)
    assert _state_snapshot(runtime) == before

    # WHEN Magento is edited behind cpsync's back, once per kind
    want, failures = desired_changes(runtime)
    assert failures == []
    used: set[str] = set()
    renamed = _first(want["product"], lambda p: p["enabled"] and "type" not in p, used).key
    used.add(renamed)
    assert magento.post(
        "products", json={"product": {"sku": renamed, "name": "Renamed by hand"}}
    ).is_success
    grid = _first(want["product"], lambda p: p["enabled"] and p.get("type"), used)
    used.add(grid.key)
    cell = grid.payload["children"][0]["sku"]
    assert magento.post(
        "products", json={"product": {"sku": cell, "name": "Cell by hand"}}
    ).is_success
    counted = _first(want["stock"], lambda p: len(p["sources"]) == 1, used)
    used.add(counted.key)
    source = counted.payload["sources"][0]["source_code"]
    item = {"sku": counted.key, "source_code": source, "quantity": 999, "status": 1}
    assert magento.post("inventory/source-items", json={"sourceItems": [item]}).is_success
    pictured = _first(want["image"], lambda p: p["images"], used).key
    used.add(pictured)
    entry = magento.get(f"products/{pictured}/media").json()[0]
    assert magento.delete(f"products/{pictured}/media/{entry['id']}").is_success
    promoted = _first(want["price"], lambda p: p["special"], used).key
    used.add(promoted)
    rows = magento.post("products/special-price-information", json={"skus": [promoted]}).json()
    assert magento.post("products/special-price-delete", json={"prices": rows}).is_success
    linked = _first(want["category_links"], lambda p: p["category_ids"], used)
    ids = runtime.state.get_magento_ids("category", list(want["category"]))
    other = min(set(ids.values()) - {ids[c] for c in linked.payload["category_ids"]})
    link = {"sku": linked.key, "position": 0, "category_id": str(other)}
    assert magento.post(f"categories/{other}/products", json={"productLink": link}).is_success
    category = _first(want["category"], lambda p: p["active"], set())
    renamed_category = {"category": {"name": "Renamed category"}}
    assert magento.put(f"categories/{ids[category.key]}", json=renamed_category).is_success

    # THEN verify reports exactly those records, with what Magento has and what is asked
    found = verify(runtime)
    differ = {k: [d.key for d in part.differences] for k, part in found.kinds.items()}
    assert differ == {
        "product": sorted([renamed, grid.key]),
        "stock": [counted.key],
        "price": [promoted],
        "category_links": [linked.key],
        "image": [pictured],
        "category": [category.key],
    }
    fields = {d.key: d.fields for d in found.kinds["product"].differences}
    assert fields[renamed]["name"][0] == "Renamed by hand"
    assert fields[grid.key] == {
        f"{cell}.name": ("Cell by hand", grid.payload["children"][0]["name"])
    }
    assert found.kinds["stock"].differences[0].fields[source][0]["quantity"] == 999
    assert found.kinds["price"].differences[0].fields["special_price"][0] is None
    assert _state_snapshot(runtime) == before

    # WHEN repaired and drained THEN Magento holds what Counterpoint asks for again
    repaired = verify(runtime, repair=True)
    assert repaired.repaired == 7
    drained = runtime.updater.drain(max_wait_seconds=10)
    assert drained.applied == 7 and drained.dead == 0, drained.errors
    after = verify(runtime)
    assert after.to_json()["ok"], after.to_json()
    assert runtime.magento.get_product(renamed)["name"] != "Renamed by hand"  # type: ignore[index]


def test_the_command_exits_1_when_magento_differs_and_0_once_repaired(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle, magento: httpx.Client
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{sample[0]}/counterpoint.db",
        CPSYNC_IMAGES_DIR=str(sample[0] / "ItemImages"),
        CPSYNC_BLOBS_DIR=str(tmp_path / "blobs"),
        CPSYNC_STATE_URL=f"sqlite:///{tmp_path}/state.db",
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
    )

    def cpsync(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cpsync.cli", *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)

    assert cpsync("run", "--all").returncode == 0
    assert cpsync("drain").returncode == 0
    clean = cpsync("verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    sku = emulator.store.products_by_sku()
    product = next(p for p in sku.values() if p.get("type_id") == "simple" and p["status"] == 1)
    body = {"product": {"sku": product["sku"], "name": "Renamed by hand"}}
    assert magento.post("products", json=body).is_success

    differs = cpsync("verify", "--json")
    assert differs.returncode == 1, differs.stderr
    report = json.loads(differs.stdout)
    assert report["differ"] == 1
    (example,) = report["kinds"]["product"]["examples"]
    assert example["fields"]["name"]["magento"] == "Renamed by hand"
    shown = cpsync("verify")
    assert shown.returncode == 1 and "Renamed by hand" in shown.stderr

    assert cpsync("verify", "--repair").returncode == 1
    assert cpsync("drain").returncode == 0
    again = cpsync("verify")
    assert again.returncode == 0, again.stderr


def test_a_counterpoint_change_verify_sees_is_still_queued_by_the_next_run(
    runtime: Runtime, sample: tuple[Path, SampleInfo]
) -> None:
    # GIVEN a synced store and an item renamed in Counterpoint since
    _sync(runtime)
    want, _ = desired_changes(runtime)
    item = _first(want["product"], lambda p: p["enabled"] and "type" not in p, set()).key
    engine = create_engine(f"sqlite:///{sample[0]}/counterpoint.db")
    with engine.begin() as conn:
        renamed = update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item)
        conn.execute(renamed.values(DESCR="Renamed in Counterpoint", RS_UTC_DT=NOW))
    engine.dispose()

    # WHEN verify runs THEN it reports the new name as asked for and not yet in Magento
    found = verify(runtime)
    (difference,) = found.kinds["product"].differences
    assert difference.key == item
    assert difference.fields["name"][1] == "Renamed in Counterpoint"

    # AND the next scheduled run still queues it: verify moved no watermark or fingerprint
    assert runtime.queue.depth().visible == 0
    run = runtime.task("items").run()
    assert run.queued == 1
    runtime.updater.drain(max_wait_seconds=10)
    assert verify(runtime).to_json()["ok"]


def test_a_store_with_more_products_than_cpsyncs_verifies_clean_with_sku_filters(
    runtime: Runtime, magento: httpx.Client
) -> None:
    # GIVEN a synced store where most products are not cpsync's (added by hand)
    _sync(runtime)
    owned = len(runtime.state.get_sent("stock")) + len(runtime.state.get_sent("product"))
    for n in range(owned * 2):
        other = {"sku": f"HAND-{n}", "name": f"Hand {n}", "price": 1, "attribute_set_id": 4}
        assert magento.post("products", json={"product": other}).is_success

    # WHEN verified THEN clean, and the products were read with SKU filters, not whole pages
    before = runtime.magento.stats()["requests"].get("products.search", 0)
    report = verify(runtime)
    assert report.to_json()["ok"], report.to_json()
    searches = runtime.magento.stats()["requests"]["products.search"] - before
    assert searches == 2  # the count probe, then one filtered page of the sample's SKUs
