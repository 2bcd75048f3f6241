"""Browser fixtures: `cpsync serve` (scheduler, updater, app) on 127.0.0.1 and Debian's chromium.

Chromium comes from apt (`make test` installs it); Playwright only drives it, so no browser is
ever downloaded. Screenshots go to docs/ when CPSYNC_SCREENSHOTS=1, else to a temp folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cpsync.api.auth import hash_password
from cpsync.runtime import Runtime
from cpsync.serve import Service
from cpsync.settings import load_settings
from cpsync.updater import DrainResult
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo, generate

CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "browser-test-api-key-0123456789"
LOCAL_ADMIN = "manager"
LOCAL_PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs"

if not CHROMIUM.exists():  # pragma: no cover - `make test` installs it
    pytest.skip(
        "Debian's chromium is not installed (make test installs it)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@dataclass
class Served:
    url: str
    runtime: Runtime
    emulator: EmulatorHandle
    sample: SampleInfo

    @contextmanager
    def updater_held(self) -> Iterator[None]:
        """The updater loop drains nothing until the block ends.

        Returns once the loop has come round to a held drain, so a drain that had started
        before has ended and cannot take what the test puts on the queue.
        """
        updater = self.runtime.updater
        came_round = threading.Event()

        def held(**_: Any) -> DrainResult:
            came_round.set()
            return DrainResult()

        updater.drain = held  # type: ignore[method-assign]
        try:
            assert came_round.wait(30), "the updater loop did not come round in 30 s"
            yield
        finally:
            del updater.drain  # the class's drain again


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleInfo]:
    folder = tmp_path_factory.mktemp("sample")
    return folder, generate(folder, items=60, now=NOW.replace(tzinfo=None))


@contextmanager
def _serving(
    sample_template: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    magento_url: str | None = None,
    **extra: Any,
) -> Iterator[Served]:
    folder, info = sample_template
    copy = tmp_path / "cp"
    shutil.copytree(folder, copy)
    settings = load_settings(
        counterpoint_url=f"sqlite:///{copy}/counterpoint.db",
        images_dir=copy / "ItemImages",
        blobs_dir=tmp_path / "blobs",
        state_url=f"sqlite:///{tmp_path}/state.db",
        magento_url=magento_url or emulator.url,
        magento_token=emulator.token,
        retry_base_seconds=0.01,
        retry_max_seconds=0.05,
        queue_visibility_seconds=1,
        api_cookie_secure=False,
        **extra,
    )
    runtime = Runtime(settings, clock=SampleInfo.clock_at(NOW))
    port = _free_port()
    service = Service(runtime, port=port, tick_seconds=0.5, drain_seconds=0.2)
    # The scheduler reads the sample's clock too: on the wall clock a test running at midnight
    # in New York would see Image Changes fire by itself (its cron), and the next runs the
    # dashboard shows would turn EDT in summer.
    service.scheduler.clock = runtime.clock
    service.start(timeout=30)  # 10 s by default: short for a loaded machine
    try:
        yield Served(f"http://127.0.0.1:{port}", runtime, emulator, info)
    finally:
        service.stop()
        runtime.close()


@pytest.fixture
def served(sample_template: tuple[Path, SampleInfo], tmp_path: Path) -> Iterator[Served]:
    with (
        running_emulator(EmulatorConfig()) as emulator,
        _serving(sample_template, tmp_path, emulator) as served,
    ):
        yield served


@pytest.fixture
def served_without_magento(
    sample_template: tuple[Path, SampleInfo], tmp_path: Path
) -> Iterator[Served]:
    """`cpsync serve` whose Magento is stopped (a closed port), with an API key and a local
    admin (`LOCAL_ADMIN` / `LOCAL_PASSWORD`)."""
    with running_emulator(EmulatorConfig()) as emulator:
        closed = f"http://127.0.0.1:{_free_port()}"
        with _serving(
            sample_template,
            tmp_path,
            emulator,
            magento_url=closed,
            api_keys=[API_KEY],
            api_local_admin=f"{LOCAL_ADMIN}:{hash_password(LOCAL_PASSWORD)}",
        ) as served:
            yield served


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A UTC browser and a New York store (the sample's zone): the page must show store time.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="UTC", locale="en-US"
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 375 px wide phone screen (UTC browser, New York store)."""
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        timezone_id="UTC",
        locale="en-US",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/ when CPSYNC_SCREENSHOTS=1 (to refresh the pages of docs/)."""
    if os.environ.get("CPSYNC_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        return DOCS
    return tmp_path
