"""Cost and fault model: what a slow or failing Magento looks like to a client.

Three knobs, all set in :class:`~emulator.config.EmulatorConfig` and changeable at runtime:

- **latency**: every REST request waits ``latency_ms`` before anything else (network, proxy);
- **workers**: a fixed pool (like PHP-FPM ``pm.max_children``); a matched request holds one
  worker for its endpoint cost (``costs_ms``), so a burst queues behind the pool;
- **faults**: per endpoint name, a kind and a rate, drawn from a seeded ``random.Random`` so a
  test run is repeatable. Kinds:

  ======== ======================================================================
  ``500``  Magento JSON ``Internal Error ... Report ID: webapi-...``
  ``502``  nginx HTML "502 Bad Gateway" (not JSON)
  ``503``  HTML maintenance page (not JSON)
  ``504``  nginx HTML "504 Gateway Time-out" (not JSON)
  ``429``  ``{"message": "Too Many Requests"}`` with ``Retry-After`` (Magento 2.4.7+)
  429-edge an HTML "Too Many Requests" page with ``Retry-After`` (Fastly/CDN rate limit)
  timeout  the request IS applied, then the answer waits ``timeout_seconds``
  drop     the connection is closed without any answer
  deadlock ``400 Database deadlock found when trying to get lock`` (nothing applied);
           in an async bulk operation: status 2 (failed, retriable) with that message
  ======== ======================================================================

By default only ``timeout`` applies the request; any fault can be made to apply it first with
``applied=True`` (spec suffix ``:applied``), e.g. a 502 from a proxy after Magento saved. A
``timeout`` with ``applied=False`` answers 504 after the delay, having applied nothing. Faults
that do not apply the request answer before taking a worker (they happen in front of PHP); a
``timeout`` holds its worker until the client hangs up or ``timeout_seconds`` pass.

Endpoint names in faults and costs are checked against :data:`ENDPOINTS`; a fault may also name
``*`` (every endpoint) or a prefix such as ``products.*``.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from cpsync_emulator.stats import Stats

__all__ = [
    "ENDPOINTS",
    "FAULT_KINDS",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "QueueFull",
    "WorkerPool",
    "check_endpoint",
]

FaultKind = Literal["500", "502", "503", "504", "429", "429-edge", "timeout", "drop", "deadlock"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

#: Endpoint names usable in faults and costs; extensions add theirs here and in the router.
ENDPOINTS: tuple[str, ...] = (
    "products.get",
    "products.search",
    "products.save",
    "products.delete",
    "admin.token",
    # Configurable products and attribute options (grids).
    "attributes.get",
    "attributes.options.list",
    "attributes.options.add",
    "configurable.options.save",
    "configurable.options.list",
    "configurable.options.get",
    "configurable.options.delete",
    "configurable.child.add",
    "configurable.children.list",
    "configurable.child.remove",
    "bulk.submit",
    "bulk.status",
    "bulk.detailed_status",
    "bulk.operation_count",
    # categories (dev/cpsync_emulator/categories.py)
    "categories.tree",
    "categories.list",
    "categories.get",
    "categories.save",
    "categories.move",
    "categories.delete",
    "categories.products.get",
    "categories.products.save",
    "categories.products.delete",
    # Inventory (docs/reference/magento.md#inventory) and prices (docs/reference/magento.md#prices):
    # dev/cpsync_emulator/inventory.py, dev/cpsync_emulator/prices.py.
    "inventory.source_items.save",
    "inventory.source_items.delete",
    "inventory.source_items.search",
    "inventory.sources.get",
    "inventory.sources.search",
    "inventory.sources.save",
    "stock_items.get",
    "stock_items.save",
    "prices.base.save",
    "prices.base.get",
    "prices.special.save",
    "prices.special.get",
    "prices.special.delete",
    # store views (dev/cpsync_emulator/stores.py)
    "store.views",
    # media gallery (dev/cpsync_emulator/media.py)
    "media.list",
    "media.get",
    "media.create",
    "media.update",
    "media.delete",
    # import (imports.py)
    "import.json",
    "import.csv",
)


def check_endpoint(name: str, *, wildcards: bool = False) -> None:
    """Raise ValueError unless ``name`` is a known endpoint (or, with wildcards, a pattern)."""
    if wildcards and name.endswith("*"):
        prefix = name[:-1]
        if prefix == "" or any(endpoint.startswith(prefix) for endpoint in ENDPOINTS):
            return
    if name not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}")


class Fault(BaseModel):
    """One injected failure: which endpoint, what kind, how often, and whether it applies first."""

    model_config = ConfigDict(frozen=True)

    endpoint: str = Field(description="Endpoint name (see ENDPOINTS) or '*' for every endpoint.")
    kind: FaultKind = Field(description="HTTP status, 'timeout' or 'drop'.")
    rate: float = Field(ge=0.0, le=1.0, description="Probability per matching request.")
    applied: bool | None = Field(
        default=None,
        description="Apply the request before failing; default True for timeout, else False "
        "(never for deadlock: a deadlock rolls the transaction back).",
    )

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        """Catch typos: a fault on an endpoint that does not exist would never fire."""
        check_endpoint(value, wildcards=True)
        return value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_as_text(cls, value: Any) -> Any:
        """Accept ``503`` as well as ``"503"``."""
        return str(value) if isinstance(value, int) else value

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read ``endpoint:kind:rate[:applied]``, e.g. ``products.save:503:0.3``.

        Raises:
            ValueError: the spec has the wrong number of parts or an invalid value.
        """
        parts = spec.strip().split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "applied"):
            raise ValueError(f"fault spec {spec!r} is not 'endpoint:kind:rate[:applied]'")
        applied = True if len(parts) == 4 else None
        return cls(endpoint=parts[0], kind=parts[1], rate=float(parts[2]), applied=applied)

    @property
    def applies_request(self) -> bool:
        """True when the request is carried out before the fault hits the client."""
        if self.kind == "deadlock":
            return False
        return self.applied if self.applied is not None else self.kind == "timeout"

    def matches(self, endpoint: str) -> bool:
        """True for the endpoint it names, any endpoint for ``*``, a family for ``products.*``."""
        if self.endpoint.endswith("*"):
            return endpoint.startswith(self.endpoint[:-1])
        return self.endpoint == endpoint

    def spec(self) -> str:
        """The compact spec form, inverse of :meth:`parse`."""
        suffix = ":applied" if self.applied else ""
        return f"{self.endpoint}:{self.kind}:{self.rate:g}{suffix}"


class FaultInjector:
    """Draws faults from one seeded generator so the same requests see the same faults."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the sequence (reset, or a new seed set at runtime)."""
        with self._lock:
            self._rng = random.Random(seed)

    def draw(self, endpoint: str, faults: Iterable[Fault]) -> Fault | None:
        """One draw per matching fault, in order; the first hit wins.

        Faults with rate 0 or 1 draw nothing, so adding a certain fault does not shift the
        sequence seen by the random ones.
        """
        with self._lock:
            for fault in faults:
                if not fault.matches(endpoint) or fault.rate <= 0.0:
                    continue
                if fault.rate >= 1.0 or self._rng.random() < fault.rate:
                    return fault
        return None


class QueueFull(Exception):
    """The workers' listen queue is full: nginx answers 502 without reaching PHP."""


class WorkerPool:
    """A fixed number of workers; requests beyond it queue, like PHP-FPM children.

    The semaphore is created lazily inside the server's event loop, and again when the worker
    count changes at runtime (requests already waiting finish on the old one). With a
    ``backlog`` (PHP-FPM ``listen.backlog``), a request finding that many already waiting is
    refused with :class:`QueueFull`.
    """

    def __init__(self, stats: Stats) -> None:
        self._stats = stats
        self._size = 0
        self._waiting = 0
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self, size: int, backlog: int = 0) -> AsyncIterator[None]:
        """Hold one of ``size`` workers for the duration of the block.

        Raises:
            QueueFull: ``backlog`` requests are already waiting (0 = no limit).
        """
        if self._semaphore is None or size != self._size:
            self._size = size
            self._semaphore = asyncio.Semaphore(max(1, size))
        semaphore = self._semaphore
        if semaphore.locked():
            if backlog and self._waiting >= backlog:
                raise QueueFull
            self._waiting += 1
            self._stats.worker_queued(+1)
            try:
                await semaphore.acquire()
            finally:
                self._waiting -= 1
                self._stats.worker_queued(-1)
        else:
            await semaphore.acquire()
        self._stats.worker_busy(+1)
        try:
            yield
        finally:
            self._stats.worker_busy(-1)
            semaphore.release()
