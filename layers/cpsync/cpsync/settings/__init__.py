"""One typed configuration for every entry point.

Environment variables (prefix `CPSYNC_`), each with a default that works for `make demo`:
every field of `Settings`. An argument passed to `Settings(...)` wins over the environment,
which wins over the default.

Each section of the page `docs/configuration.md` is one module here holding a pydantic mixin
with that section's fields, validators and properties (`magento_signin.py`,
`MagentoSignInSettings`, ...); `Settings` combines them, and `SECTIONS` is read from its bases.
The page is generated: `python -m cpsync.settings --markdown > docs/configuration.md`.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from cpsync.errors import ConfigurationError
from cpsync.settings._markdown import render
from cpsync.settings._section import DEMO_DIR, Section, SettingsSection
from cpsync.settings.api import MIN_API_KEY_LENGTH, ApiSettings
from cpsync.settings.aws import AwsSettings
from cpsync.settings.categories import CategorySettings
from cpsync.settings.counterpoint import CounterpointSettings
from cpsync.settings.images import ImageSettings
from cpsync.settings.inventory import InventorySettings
from cpsync.settings.items import ItemSettings
from cpsync.settings.magento_import import MagentoImportSettings
from cpsync.settings.magento_requests import MagentoRequestSettings
from cpsync.settings.magento_signin import MagentoSignInSettings
from cpsync.settings.prices import PriceSettings
from cpsync.settings.state import StateSettings

__all__ = [
    "DEMO_DIR",
    "MIN_API_KEY_LENGTH",
    "SECTIONS",
    "Section",
    "Settings",
    "load_settings",
    "markdown",
]


class Settings(  # the last section first: pydantic collects fields from the last base first
    AwsSettings,
    ApiSettings,
    StateSettings,
    ImageSettings,
    PriceSettings,
    InventorySettings,
    CategorySettings,
    ItemSettings,
    MagentoImportSettings,
    MagentoRequestSettings,
    MagentoSignInSettings,
    CounterpointSettings,
    BaseSettings,
):
    """Configuration of cpsync; every field is read from `CPSYNC_<FIELD>`.

    The fields come section by section, from `CounterpointSettings` to `AwsSettings`: the
    bases are listed in reverse because pydantic orders fields from the last base to the first.
    """

    model_config = SettingsConfigDict(env_prefix="CPSYNC_", extra="ignore")


#: The sections in the order of the page, each with its fields in the order `Settings` has them.
SECTIONS: tuple[Section, ...] = tuple(
    Section.of(base)
    for base in reversed(Settings.__mro__)
    if isinstance(base, type) and SettingsSection in base.__bases__
)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one line per bad setting.

    Raises:
        ConfigurationError: A setting is invalid; the message names its environment variable.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            lines.append(f"CPSYNC_{field.upper()}: {err['msg']}")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(lines)) from exc


def markdown() -> str:
    """`docs/configuration.md`: every setting, by section, with default, meaning and example.

    Returns:
        The page, ending with a newline.
    """
    return render(SECTIONS, Settings.model_fields)
