"""The emulator's live state: config, catalog, counters, tokens, faults, workers, routes.

One :class:`Emulator` per server. The ASGI app, the control routes and the test handle all
work on it, so what a test asserts is exactly what clients changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.types import Receive

from cpsync_emulator import (
    attributes,
    auth,
    bulk,
    categories,
    configurable,
    imports,
    inventory,
    media,
    prices,
    products,
    stores,
)
from cpsync_emulator.auth import TokenRegistry
from cpsync_emulator.bulk import BulkQueue
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.faults import FaultInjector, WorkerPool
from cpsync_emulator.routing import Router
from cpsync_emulator.stats import Stats
from cpsync_emulator.store import CatalogStore, Topology

__all__ = ["Emulator"]

logger = logging.getLogger(__name__)


class Emulator:
    """Everything one emulated Magento holds; safe to read from threads other than the server's."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.topology = Topology(self.config.store_codes)
        self.store = CatalogStore(self.topology)
        self.store.add_section(inventory.INVENTORY_SECTION, inventory.InventoryData())
        self.store.add_section(prices.PRICES_SECTION, prices.PriceData())
        self.stats = Stats()
        self.tokens = TokenRegistry()
        self.faults = FaultInjector(self.config.seed)
        self.workers = WorkerPool(self.stats)
        self.media = media.MediaFiles()
        self.bulk = BulkQueue(self)
        self.router = Router(
            [
                *products.routes(),
                *auth.routes(),
                *bulk.routes(),
                *inventory.routes(),
                *prices.routes(),
                *categories.routes(),
                *media.routes(),
                *stores.routes(),
            ]
        )
        # Configurable products and their attributes (grids).
        self.attributes = attributes.AttributeStore(
            self.config.select_attributes, self.config.option_id_prefix
        )
        self.router.add(*attributes.routes(), *configurable.routes())
        if self.config.import_api:
            self.router.add(*imports.routes())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._closing_requested = threading.Event()
        state_file = self.config.state_file
        if state_file is not None and state_file.exists():
            self.store.load(state_file)
            self._load_attributes(state_file)
            logger.info("Loaded %d products from %s", len(self.store.products), state_file)

    # Runtime control ---------------------------------------------------------------------

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Change runtime settings (faults, costs, workers, modes); a new seed restarts draws.

        Raises:
            ValueError: a field is unknown, fixed at start, or has an invalid value.
        """
        self.config.update(changes)
        if "seed" in changes:
            self.faults.reseed(self.config.seed)

    def reset(self) -> None:
        """Empty the catalog, counters and admin tokens; restart the fault sequence."""
        self.store.clear()
        self.bulk.clear()
        self.attributes.reset()
        self.media.clear()
        self.stats.reset()
        self.tokens.clear()
        self.faults.reseed(self.config.seed)

    def save(self, path: Path | None = None) -> Path | None:
        """Write the catalog to ``path`` or the configured state file; None if neither is set."""
        target = path if path is not None else self.config.state_file
        if target is None:
            return None
        self.store.save(target)
        _attributes_file(target).write_text(json.dumps(self.attributes.to_json()), "utf-8")
        logger.info("Saved %d products to %s", len(self.store.products), target)
        return target

    def _load_attributes(self, state_file: Path) -> None:
        path = _attributes_file(state_file)
        if path.exists():
            self.attributes.load_json(json.loads(path.read_text("utf-8")))

    @staticmethod
    def now() -> str:
        """Magento's timestamp format, UTC: ``YYYY-MM-DD HH:MM:SS``."""
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")

    # Server lifecycle --------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """ASGI lifespan: remember the loop at start, save the catalog at shutdown."""
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        if self._closing_requested.is_set():
            self._closing.set()
        try:
            yield
        finally:
            self.save()

    def begin_shutdown(self) -> None:
        """Cut short delayed answers (timeout faults) so the server can stop; any thread."""
        self._closing_requested.set()
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None and not loop.is_closed():
            loop.call_soon_threadsafe(closing.set)

    @property
    def is_closing(self) -> bool:
        """True once shutdown began (background consumers stop)."""
        return self._closing_requested.is_set()

    async def delay(self, seconds: float, receive: Receive | None = None) -> None:
        """Sleep, but stop early when the client hangs up or the server shuts down."""
        if seconds <= 0:
            return
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(asyncio.sleep(seconds))]
        if self._closing is not None:
            waiters.append(asyncio.ensure_future(self._closing.wait()))
        if receive is not None:
            waiters.append(asyncio.ensure_future(_until_disconnect(receive)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


def _attributes_file(state_file: Path) -> Path:
    """Attribute options live beside the catalog file, so option ids survive a restart."""
    return state_file.with_name(state_file.name + ".attributes.json")


async def _until_disconnect(receive: Receive) -> None:
    """Return once the ASGI server reports that the client went away."""
    while (await receive())["type"] != "http.disconnect":
        pass
