"""How the agent lives through a lost connection: backoff with jitter, one line per outage.

A store's line drops, a router restarts, AWS throttles: the agent's turn fails. It then waits
`Backoff.next()` seconds, exponential and capped with full jitter (many stores coming back
at once do not knock in step), and `Outage` writes one WARNING when the trouble starts and
one when a turn succeeds again, instead of a traceback every few seconds.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from cpsync.errors import CpsyncError
from cpsync.redact import describe

__all__ = ["Backoff", "Outage"]

logger = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Full-jitter exponential backoff: wait n is uniform in [floor, min(cap, base * 2**n)].

    Args:
        base: The ceiling of the first wait, seconds.
        cap: The largest ceiling, seconds.
        floor: The shortest wait, so a failing turn never spins.
        random: A number in [0, 1); injected by tests.
    """

    base: float = 5.0
    cap: float = 300.0
    floor: float = 1.0
    random: Callable[[], float] = random.random
    attempt: int = 0

    def ceiling(self) -> float:
        """The most the next wait may be."""
        return min(self.cap, self.base * 2.0 ** min(self.attempt, 32))

    def next(self) -> float:
        """The next wait, seconds (and one step further up)."""
        ceiling = self.ceiling()
        self.attempt += 1
        return max(min(self.floor, ceiling), self.random() * ceiling)

    def reset(self) -> None:
        """Back to the first step (after a turn that worked)."""
        self.attempt = 0


@dataclass
class Outage:
    """Logs an outage once when it starts and once when it ends.

    Args:
        clock: Seconds, monotonic; injected by tests.
    """

    clock: Callable[[], float] = time.monotonic
    started: float | None = None
    failures: int = 0

    def failed(self, exc: BaseException, retry_in: float) -> None:
        """A turn failed; the first failure of an outage is logged at WARNING."""
        self.failures += 1
        if self.started is not None:
            logger.debug("still failing (%d turns): %s", self.failures, describe(exc))
            return
        self.started = self.clock()
        # An error cpsync or the network names is enough; anything else may be a bug, whose
        # traceback is logged (once per outage, not every turn).
        expected = isinstance(exc, CpsyncError | OSError) or _from_a_client_library(exc)
        logger.warning(
            "agent turn failed: %s; retrying with backoff (first in %.0f s), "
            "quiet until it works again",
            describe(exc),
            retry_in,
            exc_info=None if expected else exc,
        )

    def recovered(self) -> float | None:
        """A turn worked: log the end of an outage; returns its length in seconds, if any."""
        if self.started is None:
            return None
        seconds = self.clock() - self.started
        logger.warning(
            "connection back after %.0f s (%d failed turns); the agent works again",
            seconds,
            self.failures,
        )
        self.started, self.failures = None, 0
        return seconds


_CLIENT_LIBRARIES = ("botocore.", "sqlalchemy.", "urllib3.", "pymssql")


def _from_a_client_library(exc: BaseException) -> bool:
    """Whether `exc` comes from boto or a database driver (an outage, not a bug).

    Endpoint unreachable, throttling, credentials: recognised by module name, without
    importing those libraries.
    """
    return any(c.__module__.startswith(_CLIENT_LIBRARIES) for c in type(exc).__mro__)
