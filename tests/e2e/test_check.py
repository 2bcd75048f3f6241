"""`cpsync check` against the sample database and the emulator, right and wrong (issue 12 §1).

Each test sets up what a real store may get wrong (a Magento setting, a missing attribute or
source, a Counterpoint column, a stray image file) and reads what `check` tells the user.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cpsync.check import Finding, Report, run_check
from cpsync.check import magento_bulk as check_magento_bulk
from cpsync.check.magento import BULK_CONSUMER
from cpsync.runtime import Runtime
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo


def _drop(folder: Path, table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN (with its index first, which SQLite requires)."""
    with sqlite3.connect(folder / "counterpoint.db") as db:
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql LIKE ?",
            (table, f"%{column}%"),
        ).fetchall():
            db.execute(f'DROP INDEX "{name}"')
        db.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')


def _level(report: Report, level: str, area: str | None = None) -> list[Finding]:
    return [f for f in report.findings if f.level == level and area in (None, f.area)]


def _text(findings: list[Finding]) -> str:
    return "\n".join(f"{f.sentence} {f.fix}" for f in findings)


def test_given_the_sample_and_the_emulator_when_checked_then_nothing_blocks(
    runtime: Runtime,
) -> None:
    # GIVEN the bundled sample database, its images and an emulator as shipped
    # WHEN the setup is checked
    report = run_check(runtime)
    # THEN nothing blocks a sync, and each area says what it saw
    assert report.ok and report.exit_code == 0, _text(report.blocking)
    sentences = _text(_level(report, "ok"))
    assert "Connected to Counterpoint" in sentences
    assert "Every required column is there" in sentences
    assert "can read all" in sentences
    assert "not SQL Server" in sentences
    assert "signed in with the integration token" in sentences
    assert "Grid attributes color, size, width are global dropdowns" in sentences
    assert "sources in use exist (default)" in sentences
    assert "Web API input limits are off" in sentences
    assert "ItemImages is readable: 60 images" in sentences
    # The sample indexes RS_UTC_DT only: the advice names the statement, never applied.
    indexes = _level(report, "warning", "counterpoint")
    assert indexes and all("CREATE INDEX" in f.fix for f in indexes)
    # The sample keeps the image of an item that left e-commerce on purpose.
    (orphan,) = _level(report, "warning", "images")
    assert "RETIRED-999.jpg" in orphan.sentence


def test_given_integration_bearer_refused_when_checked_then_the_oauth_setting_is_named(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a Magento 2.4.4+ where integration tokens are not accepted as Bearer (the default)
    emulator.configure(integration_bearer_enabled=False)
    # WHEN checked
    report = run_check(runtime)
    # THEN the sign-in blocks, and the fix names the setting and where it is
    assert report.exit_code == 1
    (blocking,) = _level(report, "blocking", "magento")
    assert "refused the integration token (401" in blocking.sentence
    assert "Allow OAuth Access Tokens to be used as standalone Bearer tokens" in blocking.fix
    assert "Stores > Configuration > Services > OAuth > Consumer Settings" in blocking.fix


def test_given_admin_sign_in_when_checked_then_a_wrong_password_blocks_and_the_right_one_works(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    admin = {"magento_auth": "admin", "magento_admin_username": "admin"}
    wrong = make_runtime(sample[0], tmp_path, emulator, magento_admin_password="nope", **admin)
    (blocking,) = _level(run_check(wrong), "blocking")
    assert "refused the admin sign-in (401" in blocking.sentence
    assert "CPSYNC_MAGENTO_ADMIN_PASSWORD" in blocking.fix
    right = make_runtime(sample[0], tmp_path, emulator, magento_admin_password="admin123", **admin)
    report = run_check(right)
    assert report.exit_code == 0
    assert "signed in with the admin user" in _text(_level(report, "ok", "magento"))


def test_given_a_store_without_the_color_attribute_when_checked_then_it_blocks(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN a Magento with size and width dropdowns but no color (the sample's grids use Color)
    with running_emulator(EmulatorConfig(select_attributes=["size", "width"])) as store:
        runtime = make_runtime(sample[0], tmp_path, store)
        # WHEN checked
        report = run_check(runtime)
    # THEN the missing attribute blocks, with how to create or map it
    assert report.exit_code == 1
    (blocking,) = _level(report, "blocking")
    assert "no attribute 'color' (grid tag Color)" in blocking.sentence
    assert "Dropdown" in blocking.fix and "CPSYNC_GRID_ATTRIBUTES" in blocking.fix


def test_given_a_source_magento_lacks_when_checked_then_it_blocks_naming_the_sources(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN cpsync set to write stock to source WEB, which Magento does not have
    runtime = make_runtime(sample[0], tmp_path, emulator, stock_source_code="WEB")
    # WHEN checked
    report = run_check(runtime)
    # THEN the source blocks, naming what Magento has
    (blocking,) = _level(report, "blocking")
    assert "no inventory source WEB (it has default)" in blocking.sentence
    assert "Stores > Inventory > Sources" in blocking.fix


def test_given_a_store_code_magento_does_not_know_when_checked_then_it_blocks(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_store_code="shop_fr")
    (blocking,) = _level(run_check(runtime), "blocking")
    assert "no store view 'shop_fr'" in blocking.sentence
    assert "CPSYNC_MAGENTO_STORE_CODE" in blocking.fix


def test_given_a_running_bulk_consumer_when_checked_then_it_is_said_and_remembered(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # WHEN checked against a store whose async consumer works operations off
    report = run_check(runtime)
    # THEN the check says so, remembers it, and its test operation saved nothing
    (bulk,) = [f for f in _level(report, "ok", "magento") if "bulk" in f.sentence]
    assert "consumer runs" in bulk.sentence
    assert runtime.state.get_option(BULK_CONSUMER)["runs"] is True
    assert emulator.stats()["requests"]["bulk.submit"] == 1
    assert "" not in emulator.store.products_by_sku()


def test_given_bulk_saves_on_and_no_consumer_when_checked_then_a_warning_says_how_to_start_it(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a store whose async consumer does not run, and bulk product saves on
    monkeypatch.setattr(check_magento_bulk, "BULK_PROBE_SECONDS", 1.0)
    emulator.configure(bulk_consumer_paused=True)
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_bulk_products=True)
    # WHEN checked
    report = run_check(runtime)
    # THEN a warning says the consumer did not move, and how to start it
    assert report.exit_code == 0
    (bulk,) = [f for f in _level(report, "warning", "magento") if "bulk" in f.sentence]
    assert "did not work a test operation off" in bulk.sentence
    assert "queue:consumers:list" in bulk.fix
    assert runtime.state.get_option(BULK_CONSUMER)["runs"] is False


def test_given_input_limits_on_when_checked_then_a_warning_gives_the_limit(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN a Magento with Web API input limits on, and cpsync not told
    emulator.configure(input_limit_enabled=True)
    # WHEN checked
    report = run_check(runtime)
    # THEN it is a warning (not blocking) with the limits and the setting to change
    assert report.exit_code == 0
    (limits,) = [f for f in _level(report, "warning", "magento") if "input limits" in f.sentence]
    assert "pageSize is 300" in limits.sentence and "at most 20 items" in limits.sentence
    assert "CPSYNC_MAGENTO_INPUT_LIMITS=true" in limits.fix


def test_given_input_limits_on_and_cpsync_told_when_checked_then_it_is_fine(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    emulator.configure(input_limit_enabled=True)
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_input_limits=True)
    report = run_check(runtime)
    assert "input limits are on, and cpsync sends at most 20 rows" in _text(_level(report, "ok"))
    assert not [f for f in _level(report, "warning") if "input limits" in f.sentence]


def test_given_adobe_commerce_and_whole_day_promotion_dates_when_checked_then_a_warning_says_exact(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    """An Adobe Commerce store keeps a special price's end to the second: whole-day dates
    (the default, for Open Source) would end every promotion a day early there."""
    # GIVEN Open Source (as shipped): the default fits, and check says which edition it saw
    report = run_check(runtime)
    assert "Magento 2.4 (Community): special-price dates go as whole days" in _text(
        _level(report, "ok", "magento")
    )
    # WHEN the store is Adobe Commerce
    emulator.configure(edition="Enterprise")
    report = run_check(runtime)
    # THEN a warning (not blocking) names the setting to change
    assert report.exit_code == 0
    (dates,) = [f for f in _level(report, "warning", "magento") if "special-price" in f.sentence]
    assert "end a day early" in dates.sentence
    assert dates.fix == "Set CPSYNC_MAGENTO_SPECIAL_DATES=exact."


def test_given_a_store_that_hides_its_edition_when_checked_then_the_date_mode_is_only_recalled(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    emulator.configure(version_page=False)  # Magento_Version removed, a common hardening step
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_special_dates="exact")
    report = run_check(runtime)
    (dates,) = [f for f in report.findings if "special-price dates" in f.sentence.lower()]
    assert dates.level == "ok"
    assert "CPSYNC_MAGENTO_SPECIAL_DATES=exact" in dates.sentence
    assert "day suits Magento Open Source, exact Adobe Commerce" in dates.sentence


def test_given_a_required_column_dropped_when_checked_then_it_blocks_naming_it(
    sample: tuple[Path, SampleInfo], runtime: Runtime
) -> None:
    # GIVEN a Counterpoint without IM_ITEM.PRC_1
    _drop(sample[0], "IM_ITEM", "PRC_1")
    # WHEN checked
    report = run_check(runtime)
    # THEN one blocking finding names table.column and the tasks that cannot run
    (blocking,) = _level(report, "blocking")
    assert blocking.area == "counterpoint"
    assert "no column IM_ITEM.PRC_1: Items, Price Changes cannot run" in blocking.sentence
    assert report.exit_code == 1


def test_given_a_missing_column_only_a_switched_off_task_reads_when_checked_then_a_warning(
    sample: tuple[Path, SampleInfo], runtime: Runtime
) -> None:
    # GIVEN a Counterpoint without price rules' breaks, and Price Changes switched off
    from cpsync.control import update_task_control

    _drop(sample[0], "IM_PRC_RUL_BRK", "AMT_OR_PCT")
    update_task_control(runtime.state, "prices", enabled=False)
    # WHEN checked
    report = run_check(runtime)
    # THEN nothing blocks: the finding says the task could not run, and that it is off
    assert report.exit_code == 0, _text(report.blocking)
    (off,) = [f for f in _level(report, "warning") if "IM_PRC_RUL_BRK.AMT_OR_PCT" in f.sentence]
    assert "Price Changes could not run (switched off" in off.sentence


def test_given_the_store_agent_when_checked_then_magento_is_left_to_the_cloud(
    runtime: Runtime,
) -> None:
    # GIVEN the agent's runtime (it has no Magento credentials)
    runtime.writes_magento = False
    # WHEN checked (a dashboard check in agent mode runs there)
    report = run_check(runtime)
    # THEN Counterpoint and the images are checked, Magento is said to be checked elsewhere
    (magento,) = [f for f in report.findings if f.area == "magento"]
    assert magento.level == "ok" and "not checked here" in magento.sentence
    assert report.exit_code == 0


def test_given_an_optional_column_dropped_when_checked_then_a_warning_names_the_fallback(
    sample: tuple[Path, SampleInfo], runtime: Runtime
) -> None:
    # GIVEN a Counterpoint whose IM_INV_CELL has no RS_UTC_DT (the references never saw it)
    _drop(sample[0], "IM_INV_CELL", "RS_UTC_DT")
    # WHEN checked
    report = run_check(runtime)
    # THEN nothing blocks, and a warning says what is used instead
    assert report.exit_code == 0, _text(report.blocking)
    texts = [f.sentence for f in _level(report, "warning", "counterpoint")]
    (fallback,) = [t for t in texts if "IM_INV_CELL.RS_UTC_DT" in t]
    assert "dated by its item's and location's stamps" in fallback


def test_given_an_image_named_after_no_item_when_checked_then_it_is_listed(
    sample: tuple[Path, SampleInfo], runtime: Runtime
) -> None:
    # GIVEN a file in ItemImages named after no e-commerce item
    (sample[0] / "ItemImages" / "NO-SUCH-ITEM^2.jpg").write_bytes(b"not really a jpeg")
    # WHEN checked
    report = run_check(runtime)
    # THEN a warning counts and names it (beside the sample's own retired item's image)
    (orphan,) = _level(report, "warning", "images")
    assert orphan.sentence.startswith("2 of 61 images match no e-commerce item")
    assert "NO-SUCH-ITEM^2.jpg" in orphan.sentence


def test_given_no_image_folder_when_checked_then_it_blocks(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(sample[0], tmp_path, emulator, images_dir=tmp_path / "not-mounted")
    (blocking,) = _level(run_check(runtime), "blocking")
    assert blocking.area == "images" and "CPSYNC_IMAGES_DIR" in blocking.fix


def _cli(args: list[str], sample_dir: Path, state: Path, emulator: EmulatorHandle) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{sample_dir}/counterpoint.db",
        CPSYNC_IMAGES_DIR=str(sample_dir / "ItemImages"),
        CPSYNC_STATE_URL=f"sqlite:///{state}/state.db",
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
    )
    return subprocess.run(
        [sys.executable, "-m", "cpsync.cli", "check", *args],
        env=env,
        cwd=state,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_check_command_exits_0_when_nothing_blocks_and_1_when_something_does(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    # GIVEN the sample and the emulator: exit 0, the findings in words
    good = _cli([], sample[0], tmp_path, emulator)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "nothing blocks a sync" in good.stdout
    # WHEN Magento refuses the token: exit 1, and --json says why
    emulator.configure(integration_bearer_enabled=False)
    bad = _cli(["--json"], sample[0], tmp_path, emulator)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["counts"]["blocking"] == 1
    (blocking,) = [f for f in report["findings"] if f["level"] == "blocking"]
    assert blocking["area"] == "magento" and "standalone Bearer tokens" in blocking["fix"]
