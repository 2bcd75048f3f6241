"""What the settings sections share: the mixin base, the section record, the demo folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

__all__ = ["DEMO_DIR", "Section", "SettingsSection", "known_zone"]

#: Where `make demo` keeps its databases and files; the defaults point here.
DEMO_DIR = Path(".demo")


class SettingsSection(BaseModel):
    """The fields of one section of `docs/configuration.md`, mixed into `Settings`.

    A section is a plain pydantic model: `Settings` (a `BaseSettings`) inherits its fields,
    so each is still read from `CPSYNC_<FIELD>`, and its validators and properties. A section
    is never validated on its own, so pydantic builds no validator for it (`defer_build`): only
    `Settings` gets one, on its first use, which keeps the split off the start-up time.
    """

    model_config = ConfigDict(defer_build=True)

    #: The heading of the section on the page.
    section_title: ClassVar[str]
    #: The paragraph under the heading (Markdown, links relative to `docs/`).
    section_intro: ClassVar[str]


@dataclass(frozen=True)
class Section:
    """A group of settings: a heading of `docs/configuration.md` and a block of `Settings`."""

    title: str
    intro: str
    fields: tuple[str, ...]

    @classmethod
    def of(cls, mixin: type[SettingsSection]) -> Section:
        """The section a mixin declares, with its fields in declaration order."""
        return cls(mixin.section_title, mixin.section_intro, tuple(mixin.model_fields))


def known_zone(value: str | None) -> str | None:
    """Check a time zone name for a field validator.

    Raises:
        ValueError: The name is not in the time zone database.
    """
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value
