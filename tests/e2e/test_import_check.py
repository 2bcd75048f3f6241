"""`cpsync check` tells whether the store answers Magento's import, and writes nothing to find out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cpsync.check import run_check
from cpsync.runtime import Runtime
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo


def _import_lines(runtime: Runtime) -> list[str]:
    report = run_check(runtime)
    return [f.sentence for f in report.findings if "import" in f.sentence and f.area == "magento"]


def test_given_a_store_with_the_import_route_when_checked_then_its_entities_are_named(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    (line,) = _import_lines(runtime)
    assert "Magento's import answers (entities: catalog_product, stock_sources)" in line
    assert "more than 500 new products" in line
    assert "Stock batches" not in line  # CPSYNC_MAGENTO_IMPORT_STOCK_MIN=0: never
    assert emulator.store.products == {}
    # (the async-bulk probe's refused operation is the only write, and saves nothing)
    writes = emulator.stats()["writes"]
    assert {k: v for k, v in writes.items() if not k.startswith("bulk.")} == {}


def test_given_a_stock_import_threshold_when_checked_then_the_stock_use_is_named(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_import_stock_min=20000)
    (line,) = _import_lines(runtime)
    assert "Stock batches of 20000 source items or more go through stock_sources." in line


def test_given_a_store_without_the_route_when_checked_then_saves_are_announced(
    sample: tuple[Path, SampleInfo], tmp_path: Path, make_runtime: Callable[..., Runtime]
) -> None:
    with running_emulator(EmulatorConfig(import_api=False)) as store:
        (line,) = _import_lines(make_runtime(sample[0], tmp_path, store))
    assert "no import route" in line and "one request each" in line


def test_given_import_off_when_checked_then_the_route_is_not_called(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_import="off")
    assert _import_lines(runtime) == ["Magento's import is not used (CPSYNC_MAGENTO_IMPORT=off)."]
    assert "import.json" not in emulator.stats()["requests"]
