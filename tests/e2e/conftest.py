"""End-to-end fixtures: a real sample Counterpoint file, the emulator over HTTP, real SQLite state."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo, generate

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleInfo]:
    """One generated sample per session; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("sample")
    info = generate(folder, items=60, now=NOW.replace(tzinfo=None))
    return folder, info


@pytest.fixture
def sample(sample_template: tuple[Path, SampleInfo], tmp_path: Path) -> tuple[Path, SampleInfo]:
    folder, info = sample_template
    copy = tmp_path / "cp"
    shutil.copytree(folder, copy)
    return copy, info


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig()) as handle:
        yield handle


def _make_runtime(
    sample_dir: Path, state_dir: Path, emulator: EmulatorHandle, **kw: Any
) -> Runtime:
    """A Runtime wired like production, pointed at the sample and the emulator, on the
    sample's clock (NOW, ticking)."""
    values: dict[str, Any] = {
        "counterpoint_url": f"sqlite:///{sample_dir}/counterpoint.db",
        "images_dir": sample_dir / "ItemImages",
        "state_url": f"sqlite:///{state_dir}/state.db",
        "blobs_dir": state_dir / "blobs",
        "magento_url": emulator.url,
        "magento_token": emulator.token,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 0.05,
        "queue_visibility_seconds": 1,
    }
    values.update(kw)
    return Runtime(load_settings(**values), clock=SampleInfo.clock_at(NOW))


@pytest.fixture
def runtime(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> Iterator[Runtime]:
    rt = _make_runtime(sample[0], tmp_path, emulator)
    yield rt
    rt.close()


@pytest.fixture
def make_runtime() -> Iterator[Callable[..., Runtime]]:
    """Build a Runtime with extra settings: make_runtime(sample_dir, state_dir, emulator, **kw);
    every one built is closed when the test ends."""
    built: list[Runtime] = []

    def make(*args: Any, **kw: Any) -> Runtime:
        built.append(_make_runtime(*args, **kw))
        return built[-1]

    yield make
    for rt in built:
        rt.close()
