"""Adaptive concurrency for Magento calls: additive increase, multiplicative decrease (AIMD).

Every caller of one :class:`~cpsync.magento.client.MagentoClient` shares one limiter. A request
holds a slot while it is on the wire. When Magento signals overload (429, 503, a gateway
timeout or a client timeout) the limit is halved, at most once per ``cooldown`` seconds so a
burst of failures from one overload counts once; each success adds ``1/limit``, so the limit
grows back by about one per round of successful requests, up to ``max_limit``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

__all__ = ["AdaptiveLimiter", "Signal"]

logger = logging.getLogger(__name__)


class Signal(Enum):
    """What one request told us about Magento's load."""

    OK = "ok"  # answered (any status that is not overload): may grow
    OVERLOAD = "overload"  # 429, 502, 503, 504, timeout: back off
    NEUTRAL = "neutral"  # connection error, other failure: no change


class AdaptiveLimiter:
    """A concurrency limit between ``min_limit`` and ``max_limit`` that follows Magento's load.

    Args:
        max_limit: Ceiling (and start value).
        min_limit: Floor; never fewer than this many requests in flight are allowed.
        decrease: Factor applied on overload.
        cooldown: Seconds after a decrease during which further overload signals are ignored.
        clock: Injected for tests.
    """

    def __init__(
        self,
        max_limit: int,
        min_limit: int = 1,
        decrease: float = 0.5,
        cooldown: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= min_limit <= max_limit:
            raise ValueError("need 1 <= min_limit <= max_limit")
        self.max_limit = max_limit
        self.min_limit = min_limit
        self._decrease = decrease
        self._cooldown = cooldown
        self._clock = clock
        self._limit = float(max_limit)
        self._in_flight = 0
        self._last_decrease: float | None = None
        self._decreases = 0
        self._lowest = float(max_limit)
        self._waited = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        with self._cond:
            return max(self.min_limit, int(self._limit))

    def acquire(self) -> None:
        """Wait for a free slot."""
        with self._cond:
            if self._in_flight >= max(self.min_limit, int(self._limit)):
                self._waited += 1
            while self._in_flight >= max(self.min_limit, int(self._limit)):
                self._cond.wait()
            self._in_flight += 1

    def release(self, signal: Signal) -> None:
        """Free a slot and adapt the limit to what the request saw."""
        with self._cond:
            self._in_flight -= 1
            if signal is Signal.OVERLOAD:
                now = self._clock()
                if self._last_decrease is None or now - self._last_decrease >= self._cooldown:
                    before = int(self._limit)
                    self._limit = max(float(self.min_limit), self._limit * self._decrease)
                    logger.info(
                        "Magento signals overload: concurrency %d -> %d", before, int(self._limit)
                    )
                    self._lowest = min(self._lowest, self._limit)
                    self._last_decrease = now
                    self._decreases += 1
            elif signal is Signal.OK:
                self._limit = min(float(self.max_limit), self._limit + 1.0 / self._limit)
            self._cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        """Current limit, in-flight count and how often it backed off (for ``stats()``)."""
        with self._cond:
            return {
                "limit": max(self.min_limit, int(self._limit)),
                "max_limit": self.max_limit,
                "in_flight": self._in_flight,
                "decreases": self._decreases,
                "lowest_limit": max(self.min_limit, int(self._lowest)),
                "waited": self._waited,
            }
