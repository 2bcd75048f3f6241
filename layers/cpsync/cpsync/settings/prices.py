"""Settings of the section "Prices and promotions" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from cpsync.settings._section import SettingsSection, known_zone

__all__ = ["PriceSettings"]


class PriceSettings(SettingsSection):
    """The regular price, and promotions as special prices."""

    section_title: ClassVar[str] = "Prices and promotions"
    section_intro: ClassVar[str] = (
        "The regular price and promotions as special prices "
        "([rules](sync-rules.md#prices-and-promotions))."
    )

    price_location: str | None = Field(
        default=None,
        description="`IM_PRC` location whose Price-1 is the regular price (and the price "
        "location of promotions' store filters); unset: the `'*'` row, else `IM_ITEM.PRC_1`.",
        examples=["MAIN"],
    )
    price_store_id: int = Field(
        default=0,
        ge=0,
        description="`store_id` of base and special price rows (0 = global). Another store view "
        "needs Magento's catalog price scope set to Website: with the default, Global, Magento "
        "refuses its special prices.",
        examples=[1],
    )
    price_promo_horizon_days: float = Field(
        default=7,
        ge=0,
        description="A promotion starting within this many days is sent ahead, with its "
        "`price_from`, so Magento switches on time (with whole-day dates only one starting at "
        "midnight: see `CPSYNC_MAGENTO_SPECIAL_DATES`).",
        examples=[14],
    )
    price_method_percent_off: str = Field(
        default="D",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: percent off.",
        examples=["D"],
    )
    price_method_amount_off: str = Field(
        default="A",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: amount off.",
        examples=["A"],
    )
    price_method_fixed: str = Field(
        default="F",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: fixed price (sources disagree: F or O).",
        examples=["O"],
    )
    price_dates_timezone: str | None = Field(
        default=None,
        description="Time zone of the special prices' `price_from`/`price_to` sent to Magento; "
        "unset = the Counterpoint server's (`CPSYNC_TIMEZONE`).",
        examples=["UTC"],
    )

    magento_special_dates: Literal["day", "exact"] = Field(
        default="day",
        description="How the store reads special-price dates: `day` = Magento Open Source reads "
        "them as whole days (a promotion is sent from its first day to its last day, each at "
        "00:00:00, and one starting later than midnight is sent once it has started); `exact` = "
        "Adobe Commerce's scheduled updates keep the time (sent to the second).",
        examples=["exact"],
    )

    @field_validator("price_dates_timezone")
    @classmethod
    def _known_price_zone(cls, value: str | None) -> str | None:
        return known_zone(value)
