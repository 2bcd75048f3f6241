"""Settings of the section "Counterpoint" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from cpsync.settings._section import DEMO_DIR, SettingsSection, known_zone

__all__ = ["CounterpointSettings"]


class CounterpointSettings(SettingsSection):
    """Where Counterpoint is and how its clocks are read."""

    section_title: ClassVar[str] = "Counterpoint"
    section_intro: ClassVar[str] = (
        "Where the Counterpoint database is and how its clocks are read. `LST_MAINT_DT` is read "
        "in `CPSYNC_TIMEZONE` (the server's local time), `RS_UTC_DT` in UTC."
    )

    counterpoint_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/counterpoint.db",
        description="SQLAlchemy URL of the Counterpoint database; the login needs read rights "
        "on the tables cpsync reads, nothing more.",
        examples=["mssql+pymssql://cpsync_reader:secret@10.20.0.5:1433/DEMOGOLF"],
    )
    timezone: str = Field(
        default="America/New_York",
        description="Time zone of the Counterpoint server: `LST_MAINT_DT` is read in it, and "
        "every schedule and time on the page is in it.",
        examples=["America/Chicago"],
    )
    watermark_lookback_seconds: int = Field(
        default=300,
        ge=0,
        description="Overlap re-read before the watermark, for clock skew and transactions "
        "that commit late; fingerprints keep the overlap from being sent twice.",
        examples=[600],
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str | None:
        return known_zone(value)

    @property
    def zone(self) -> ZoneInfo:
        """The Counterpoint server's time zone."""
        return ZoneInfo(self.timezone)
