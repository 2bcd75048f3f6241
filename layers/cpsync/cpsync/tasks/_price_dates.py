"""Special-price dates as the store reads them (docs/reference/magento.md#special-prices).

Magento Open Source reads `special_from_date` / `special_to_date` as whole days: its price
index compares the dates' days with the website's date, and the product page and cart keep a
special price until the end of its `price_to` day. So in `day` mode the dates sent are days
at 00:00:00 (the last day the promotion is on, not its last second), and a promotion that
starts later than midnight is not sent ahead: it would start at midnight. Adobe Commerce's
scheduled updates keep the time (`exact` mode: dates to the second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from cpsync.counterpoint.pricing import Group, Segment, next_boundary

__all__ = ["DATE_FORMAT", "MagentoDates"]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class MagentoDates:
    """Turns server-local promotion moments into the `price_from` / `price_to` Magento gets."""

    #: The Counterpoint server's time zone (promotion windows are in it).
    zone: tzinfo
    #: The time zone of the dates sent (None: the server's).
    target: str | None = None
    mode: Literal["day", "exact"] = "day"

    def store_time(self, local: datetime) -> datetime:
        """`local` (naive server time) as naive time in the zone of the dates sent."""
        if self.target is None:
            return local
        aware = local.replace(tzinfo=self.zone).astimezone(ZoneInfo(self.target))
        return aware.replace(tzinfo=None)

    def text(self, local: datetime | None) -> str | None:
        """One date as sent: its day at 00:00:00 in `day` mode, to the second in `exact`."""
        if local is None:
            return None
        moment = self.store_time(local)
        if self.mode == "day":
            moment = datetime.combine(moment.date(), time(0))
        return moment.strftime(DATE_FORMAT)

    def window(self, segment: Segment) -> tuple[str | None, str | None]:
        """(`price_from`, `price_to`) of a promotion."""
        return self.text(segment.start), self.text(segment.end)

    def starts_on_a_day(self, local: datetime) -> bool:
        """Whether a promotion starting at `local` may be sent before it starts.

        Always in `exact` mode; in `day` mode only when it starts at the store's midnight.
        """
        return self.mode == "exact" or self.store_time(local).time() == time(0)

    def next_run(
        self, groups: Sequence[Group], now: datetime, horizon: timedelta
    ) -> datetime | None:
        """When a run must happen for a promotion to switch on time (aware UTC), or None.

        In `exact` mode never: Magento switches at the second by itself.
        """
        if self.mode == "exact":
            return None
        moment = next_boundary(groups, now, horizon, whole_day=self.starts_on_a_day)
        return None if moment is None else moment.replace(tzinfo=self.zone).astimezone(UTC)
