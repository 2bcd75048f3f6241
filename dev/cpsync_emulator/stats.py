"""Request and write counters, readable from Python and over ``GET /__emulator/stats``.

Tests and benchmarks assert on what the client *caused*: how many saves reached Magento, how
many answers were faults, how many workers were busy at the peak. Counters are updated in the
server's event loop and read from other threads, hence the lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["UNMATCHED", "WRITE_SUFFIXES", "Stats"]

#: Endpoint name under which requests that match no route are counted.
UNMATCHED = "unmatched"

#: Write kinds that count as records written (deletes are counted apart).
WRITE_SUFFIXES = (".created", ".updated")


class Stats:
    """Counters by endpoint, by status, by endpoint and status, and records written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._responses: dict[str, Counter[str]] = {}
        self._writes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._busy = self._queued = self._peak_busy = self._peak_queued = 0
        self._worker_seconds = 0.0
        self._worker_seconds_by: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget every count (``POST /__emulator/reset``); in-flight gauges keep running."""
        with self._lock:
            for counter in (
                self._requests,
                self._statuses,
                self._writes,
                self._faults,
                self._worker_seconds_by,
            ):
                counter.clear()
            self._responses.clear()
            self._worker_seconds = 0.0
            self._peak_busy, self._peak_queued = self._busy, self._queued

    def record_response(self, endpoint: str, status: int | str) -> None:
        """Count one answered request; ``status`` is ``"drop"`` for a dropped connection."""
        key = str(status)
        with self._lock:
            self._requests[endpoint] += 1
            self._statuses[key] += 1
            self._responses.setdefault(endpoint, Counter())[key] += 1

    def record_write(self, kind: str) -> None:
        """Count one applied write, e.g. ``products.created`` or ``products.updated``."""
        with self._lock:
            self._writes[kind] += 1

    def record_fault(self, endpoint: str, kind: str) -> None:
        """Count one injected fault as ``endpoint:kind``."""
        with self._lock:
            self._faults[f"{endpoint}:{kind}"] += 1

    def record_cost(self, seconds: float, endpoint: str = "") -> None:
        """Add the worker time one request was charged (the cost model's total, for bounds).

        With its endpoint, the time is also counted by endpoint (benchmarks compare ways).
        """
        with self._lock:
            self._worker_seconds += seconds
            if endpoint:
                self._worker_seconds_by[endpoint] += seconds

    def worker_busy(self, delta: int) -> None:
        """Track workers in use and their peak."""
        with self._lock:
            self._busy += delta
            self._peak_busy = max(self._peak_busy, self._busy)

    def worker_queued(self, delta: int) -> None:
        """Track requests waiting for a worker and their peak."""
        with self._lock:
            self._queued += delta
            self._peak_queued = max(self._peak_queued, self._queued)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            writes = dict(self._writes)
            return {
                "requests": dict(self._requests),
                "statuses": dict(self._statuses),
                "responses": {name: dict(c) for name, c in self._responses.items()},
                "records_written": sum(
                    n for kind, n in writes.items() if kind.endswith(WRITE_SUFFIXES)
                ),
                "writes": writes,
                "faults": dict(self._faults),
                "worker_seconds": round(self._worker_seconds, 6),
                "worker_seconds_by_endpoint": {
                    k: round(v, 6) for k, v in self._worker_seconds_by.items()
                },
                "workers": {
                    "busy": self._busy,
                    "queued": self._queued,
                    "peak_busy": self._peak_busy,
                    "peak_queued": self._peak_queued,
                },
            }
