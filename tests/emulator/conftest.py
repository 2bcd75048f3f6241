"""Fixtures for the emulator tests: one server per session, reset before every test.

Tests talk to it over real HTTP on 127.0.0.1 with httpx, as the cpsync client does. A test that
needs settings fixed at start (state file, token, store codes) starts its own emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, EmulatorServer
from cpsync_emulator.config import RUNTIME_FIELDS


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[EmulatorHandle]:
    """One server for the session; starting one per test would cost ~0.2 s each."""
    server = EmulatorServer(EmulatorConfig())
    handle = server.start()
    yield handle
    server.stop()


@pytest.fixture
def magento(shared_emulator: EmulatorHandle) -> EmulatorHandle:
    """The shared emulator with an empty catalog, zero counters and default runtime settings."""
    defaults = EmulatorConfig()
    shared_emulator.configure(**{name: getattr(defaults, name) for name in RUNTIME_FIELDS})
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture(scope="session")
def shared_clients(shared_emulator: EmulatorHandle) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Session clients: building an httpx.Client costs ~50 ms (TLS context), once is enough."""
    headers = {"Authorization": f"Bearer {shared_emulator.token}"}
    with (
        httpx.Client(base_url=shared_emulator.rest_url, headers=headers, timeout=5.0) as client,
        httpx.Client(base_url=shared_emulator.rest_url, timeout=5.0) as anonymous,
    ):
        yield client, anonymous


@pytest.fixture
def client(
    magento: EmulatorHandle, shared_clients: tuple[httpx.Client, httpx.Client]
) -> httpx.Client:
    """An httpx client on ``<emulator>/rest`` that sends the integration token."""
    return shared_clients[0]


@pytest.fixture
def anonymous(
    magento: EmulatorHandle, shared_clients: tuple[httpx.Client, httpx.Client]
) -> httpx.Client:
    """An httpx client on ``<emulator>/rest`` without credentials."""
    return shared_clients[1]


@pytest.fixture
def product() -> Callable[..., dict[str, Any]]:
    """Build a ``{"product": {...}}`` body: ``product("SKU-1", price=5, status=2)``."""

    def build(sku: str, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"sku": sku, "name": name if name is not None else f"Item {sku}"}
        body.update(fields)
        return {"product": body}

    return build
