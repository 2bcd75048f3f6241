"""The `cpsync` command as an operator or a script uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, update

from cpsync.counterpoint.schema import IM_ITEM
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

CPSYNC = [sys.executable, "-m", "cpsync.cli"]


def _cpsync(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CPSYNC + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=240
    )


def _env(sample_dir: Path, state_dir: Path, emulator: EmulatorHandle) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{sample_dir}/counterpoint.db",
        CPSYNC_STATE_URL=f"sqlite:///{state_dir}/state.db",
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
    )
    return env


def test_run_drain_and_status_work_against_the_configured_store(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    env = _env(sample[0], tmp_path, emulator)
    run = _cpsync(["run", "items", "--json"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)
    assert result["task"] == "items" and result["queued"] > 0
    drain = _cpsync(["drain", "--json"], env, tmp_path)
    assert drain.returncode == 0, drain.stderr
    report = json.loads(drain.stdout)
    assert report["drain"]["applied"] == result["queued"]
    # A grid item is one Change and several saves (its children, then the parent).
    assert report["magento"]["requests"]["products.save"] >= result["queued"]
    status = json.loads(_cpsync(["status", "--json"], env, tmp_path).stdout)
    assert status["queue"]["visible"] == 0
    assert status["last_runs"]["items"]["counts"]["queued"] == result["queued"]


def test_a_bad_setting_is_named_and_nothing_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env["CPSYNC_TIMEZONE"] = "Mars/Olympus"
    result = _cpsync(["status"], env, tmp_path)
    assert result.returncode == 2
    assert "CPSYNC_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_token_stops_the_drain_with_a_clear_message_and_keeps_the_queue(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    env = _env(sample[0], tmp_path, emulator)
    assert _cpsync(["run", "items"], env, tmp_path).returncode == 0
    env["CPSYNC_MAGENTO_TOKEN"] = "wrong"
    drain = _cpsync(["drain"], env, tmp_path)
    assert drain.returncode == 2
    assert "isn't authorized" in drain.stderr
    status = json.loads(_cpsync(["status", "--json"], env, tmp_path).stdout)
    assert status["dead_letters"] == []


def test_demo_twice_second_run_changes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    first = _cpsync(["demo", "--json", "--items", "80"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["missing_products"] == []
    assert summary["products_in_magento"] == summary["expected_products"] > 0
    assert summary["grid_items"] > 0 and summary["grid_children"] > summary["grid_items"]
    assert summary["dead_letters"] == 0
    second = json.loads(_cpsync(["demo", "--json"], env, tmp_path).stdout)
    assert second["changes_queued"] == 0
    assert second["magento_writes"] == 0
    assert second["products_in_magento"] == summary["products_in_magento"]


def test_a_dead_letter_is_put_back_and_applied_after_the_cause_is_fixed(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    env = _env(sample[0], tmp_path, emulator)
    item = sample[1].special["slash_item"]
    engine = create_engine(f"sqlite:///{sample[0]}/counterpoint.db")
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(URL="taken"))
    engine.dispose()
    shop = httpx.Client(
        base_url=f"{emulator.url}/rest/all/V1",
        headers={"Authorization": f"Bearer {emulator.token}"},
    )
    other = {"sku": "OTHER", "name": "Other", "price": 1, "attribute_set_id": 4}
    other["custom_attributes"] = [{"attribute_code": "url_key", "value": "taken"}]
    shop.post("/products", json={"product": other}).raise_for_status()

    assert _cpsync(["run", "items", "--item", item], env, tmp_path).returncode == 0
    assert _cpsync(["drain"], env, tmp_path).returncode == 0
    (dead,) = json.loads(_cpsync(["status", "--json"], env, tmp_path).stdout)["dead_letters"]
    assert "URL key for specified store already exists." in dead["reason"]
    assert dead["group"] == "url_key" and dead["key"] == item
    # The operator reads the cause and what to do, not Magento's raw answer.
    shown = _cpsync(["status"], env, tmp_path)
    told = shown.stdout + shown.stderr
    assert f"(product {item}): URL key already used" in told
    assert "IM_ITEM.URL" in told and "answered 400" not in told

    # The merchant fixes the clash in Counterpoint: the retry reads the item again (resending
    # the parked Change would only be refused once more).
    engine = create_engine(f"sqlite:///{sample[0]}/counterpoint.db")
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(URL="fixed-url"))
    engine.dispose()
    redriven = _cpsync(["redrive"], env, tmp_path)
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert "read again from Counterpoint and queued" in redriven.stdout + redriven.stderr
    assert _cpsync(["drain"], env, tmp_path).returncode == 0
    assert item in emulator.store.products_by_sku()
    url = [
        a["value"]
        for a in emulator.store.products_by_sku()[item]["custom_attributes"]
        if a["attribute_code"] == "url_key"
    ]
    assert url == ["fixed-url"]
    assert json.loads(_cpsync(["status", "--json"], env, tmp_path).stdout)["dead_letters"] == []
