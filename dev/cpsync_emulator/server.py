"""Run the emulator under uvicorn in a background thread, on 127.0.0.1 and a free port.

Usage::

    with running_emulator(EmulatorConfig(faults=["products.save:503:0.3"])) as magento:
        httpx.get(f"{magento.url}/rest/V1/products/ABC",
                  headers={"Authorization": f"Bearer {magento.token}"})
        assert magento.stats()["requests"]["products.get"] == 1

Each server has its own thread, event loop and port, so several can run in one test session.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from cpsync_emulator.app import create_app
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.faults import Fault
from cpsync_emulator.runtime import Emulator
from cpsync_emulator.store import CatalogStore

__all__ = ["EmulatorHandle", "EmulatorServer", "running_emulator"]

logger = logging.getLogger(__name__)


class EmulatorHandle:
    """What a test or the demo holds: the base URL, credentials, live state and controls."""

    def __init__(self, emulator: Emulator, url: str) -> None:
        self.emulator = emulator
        self.url = url

    @property
    def rest_url(self) -> str:
        """``<url>/rest``: base of every Magento REST path."""
        return f"{self.url}/rest"

    @property
    def token(self) -> str:
        """The integration token to send as ``Authorization: Bearer``."""
        return self.emulator.config.token

    @property
    def config(self) -> EmulatorConfig:
        """The live configuration (assignments are validated and take effect at once)."""
        return self.emulator.config

    @property
    def store(self) -> CatalogStore:
        """The in-memory catalog, for direct assertions (``store.products_by_sku()``)."""
        return self.emulator.store

    def stats(self) -> dict[str, Any]:
        """Counters, the same document as ``GET /__emulator/stats``."""
        return self.emulator.stats.snapshot()

    def set_faults(self, *faults: Fault | str, seed: int | None = None) -> None:
        """Replace the fault list (``"products.save:503:0.3"`` or Fault); optionally reseed."""
        changes: dict[str, Any] = {"faults": list(faults)}
        if seed is not None:
            changes["seed"] = seed
        self.emulator.configure(changes)

    def configure(self, **changes: Any) -> None:
        """Change runtime settings, e.g. ``configure(latency_ms=50, workers=2)``."""
        self.emulator.configure(changes)

    def reset(self) -> None:
        """Empty the catalog, counters, bulks and admin tokens; restart the fault sequence."""
        self.emulator.reset()

    def pause_bulk(self) -> None:
        """Stop the async consumers: new operations stay open (status 4)."""
        self.emulator.configure({"bulk_consumer_paused": True})

    def resume_bulk(self) -> None:
        """Let the async consumers work off open operations again."""
        self.emulator.configure({"bulk_consumer_paused": False})

    def bulk_status(self, bulk_uuid: str) -> dict[str, Any]:
        """The ``detailed-status`` document of a bulk (raises MagentoError 404 when unknown)."""
        return self.emulator.bulk.get(bulk_uuid).status(detailed=True)

    def open_operations(self) -> int:
        """Async operations still waiting for a consumer."""
        return self.emulator.bulk.open_operations

    def save(self, path: Path | None = None) -> Path | None:
        """Write the catalog to ``path`` or the configured state file."""
        return self.emulator.save(path)


class EmulatorServer:
    """uvicorn serving one :class:`Emulator` in a daemon thread; start/stop from any thread."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.emulator = Emulator(config)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 10.0) -> EmulatorHandle:
        """Bind (port 0 = a free port), start serving and wait until requests are accepted.

        Raises:
            RuntimeError: the server did not start within ``timeout`` seconds.
        """
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # protocol is explicit, and without it every answer waits ~40 ms (Nagle + delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(
            create_app(self.emulator),
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"magento-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Magento emulator did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        return EmulatorHandle(self.emulator, f"http://{self.host}:{self.port}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; delayed answers are cut short and the catalog is saved (lifespan)."""
        self.emulator.begin_shutdown()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("Magento emulator on port %d did not stop in time", self.port)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


@contextmanager
def running_emulator(config: EmulatorConfig | None = None) -> Iterator[EmulatorHandle]:
    """Serve an emulator for the duration of the block and stop it afterwards.

    Yields:
        The handle: ``.url``, ``.token``, ``.config``, ``.store``, ``.stats()``, ...
    """
    server = EmulatorServer(config)
    handle = server.start()
    try:
        yield handle
    finally:
        server.stop()
