"""Clock, time-zone and randomness helpers shared by the sample generator's modules.

Why: Counterpoint keeps two clocks side by side (docs/reference/counterpoint.md#change-tracking):
LST_MAINT_DT in the server's local time (America/New_York, naive) and RS_UTC_DT in UTC (naive, NULL
on old rows). Every table needs both, computed the same way, for up to a million rows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "LOCATIONS",
    "SERVER_TZ",
    "WEB_LOCATION",
    "Clock",
    "Row",
    "Stamp",
    "between",
    "pick",
    "stream",
    "to_local",
    "to_utc",
]

SERVER_TZ = ZoneInfo("America/New_York")
LOCATIONS = ("MAIN", "WEB", "OUTLET")
#: EC_CTL.STR_ID and that store's PS_STR_CFG_PS.STK_LOC_ID / PRC_LOC_ID
WEB_LOCATION = "WEB"

Row = dict[str, object]
#: (LST_MAINT_DT server-local, RS_UTC_DT UTC or None)
Stamp = tuple[datetime, datetime | None]

_T = TypeVar("_T")
_DAY = 86_400


def to_utc(local: datetime) -> datetime:
    """Naive server-local -> naive UTC, the way Counterpoint fills RS_UTC_DT (DST aware).

    Ambiguous fall-back times take the first (daylight) offset, as zoneinfo's fold=0 does.
    """
    return local - _local_offset(local.replace(minute=0, second=0, microsecond=0))


def to_local(utc: datetime) -> datetime:
    """Naive UTC -> naive server-local."""
    return utc + _utc_offset(utc.replace(minute=0, second=0, microsecond=0))


# America/New_York changes offset only on the hour, so one zoneinfo lookup per hour is exact;
# the caches make a million timestamps cheap.
@cache
def _local_offset(local_hour: datetime) -> timedelta:
    return local_hour.replace(tzinfo=SERVER_TZ).utcoffset() or timedelta()


@cache
def _utc_offset(utc_hour: datetime) -> timedelta:
    return utc_hour.replace(tzinfo=UTC).astimezone(SERVER_TZ).utcoffset() or timedelta()


_UNIX_EPOCH = datetime(1970, 1, 1)


@cache
def _shifts(utc_hour: int) -> tuple[int, int]:
    """Seconds from a UTC instant in this hour to its local time and to `to_utc(local)`.

    The second differs from 0 only in the repeated fall-back hour, where `to_utc` picks the
    earlier of the two instants a local time names.
    """
    utc = _UNIX_EPOCH + timedelta(hours=utc_hour)
    local = to_local(utc)
    return int((local - utc).total_seconds()), int((to_utc(local) - utc).total_seconds())


def stream(seed: int, name: str) -> random.Random:
    """One independent, reproducible RNG per concern (str seeds are hashed with SHA-512).

    Separate streams mean adding a case to one table does not reshuffle every other table.
    """
    return random.Random(f"{seed}:{name}")


def pick(rng: random.Random, seq: Sequence[_T]) -> _T:
    """`rng.choice` without its rejection loop: several times faster on hot paths."""
    return seq[int(rng.random() * len(seq))]


def between(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint(low, high)` (inclusive), faster; the tiny float bias does not matter here."""
    return low + int(rng.random() * (high - low + 1))


@dataclass(frozen=True)
class Clock:
    """`now` in both forms Counterpoint stores, and random past moments relative to it."""

    local: datetime
    utc: datetime
    #: `now` as a POSIX timestamp (file mtimes, fast timestamp arithmetic)
    epoch: int

    @classmethod
    def at(cls, now: datetime | None) -> Clock:
        """Aware `now` is converted; naive `now` is taken as UTC (like RS_UTC_DT); whole seconds."""
        if now is None:
            now = datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        now = now.replace(microsecond=0)
        return cls(
            local=now.astimezone(SERVER_TZ).replace(tzinfo=None),
            utc=now.astimezone(UTC).replace(tzinfo=None),
            epoch=int(now.timestamp()),
        )

    def ago(self, rng: random.Random, min_seconds: int, max_seconds: int) -> Stamp:
        """A random past moment as (LST_MAINT_DT, RS_UTC_DT).

        Drawn as a UTC instant and shown in local time, so local times in the spring-forward gap
        never occur (a real server clock cannot show them). RS_UTC_DT is `to_utc(local)`.
        """
        instant = self.epoch - between(rng, min_seconds, max_seconds)
        to_local_s, to_rs_s = _shifts(instant // 3600)
        return (
            _UNIX_EPOCH + timedelta(seconds=instant + to_local_s),
            _UNIX_EPOCH + timedelta(seconds=instant + to_rs_s),
        )

    def recent(self, rng: random.Random) -> Stamp:
        """Within the last week: what incremental (watermark) syncs select."""
        return self.ago(rng, 120, 7 * _DAY)

    def older(self, rng: random.Random) -> Stamp:
        """Within the last two years, RS_UTC_DT set (both DST offsets occur)."""
        return self.ago(rng, 7 * _DAY, 730 * _DAY)

    def ancient(self, rng: random.Random) -> Stamp:
        """Years ago, from before RS_UTC_DT was filled in: NULL RS_UTC_DT.

        See docs/reference/counterpoint.md#change-tracking.
        """
        local, _ = self.ago(rng, 3 * 365 * _DAY, 10 * 365 * _DAY)
        return local, None

    @staticmethod
    def fixed(local: datetime) -> Stamp:
        """A chosen local moment with its RS_UTC_DT."""
        return local, to_utc(local)
