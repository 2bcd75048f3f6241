"""Settings of the section "Inventory" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cpsync.settings._section import SettingsSection

__all__ = ["InventorySettings"]


class InventorySettings(SettingsSection):
    """Which quantity goes to Magento, and into which sources."""

    section_title: ClassVar[str] = "Inventory"
    section_intro: ClassVar[str] = (
        "Which quantity goes to Magento, and into which sources "
        "([rules](sync-rules.md#inventory)). "
        "Where Counterpoint does not say, a new product's stock is on hand minus committed "
        "(committed can be negative), summed over every location; below zero counts as zero."
    )

    sync_published_products_only: bool = Field(
        default=True,
        description="Inventory and Price Changes cover only SKUs the Items task has published; "
        "false when products reach Magento another way.",
        examples=[False],
    )
    stock_locations: list[str] = Field(
        default_factory=list,
        description="Locations whose quantity counts (JSON list); empty = all.",
        examples=['["MAIN", "WEB"]'],
    )
    stock_quantity: Literal["available", "on_hand"] = Field(
        default="available",
        description="`available` = on hand minus committed; `on_hand` = on hand.",
        examples=["on_hand"],
    )
    stock_mode: Literal["msi", "legacy"] = Field(
        default="msi",
        description="`msi` = bulk MSI source items; `legacy` = one stock item per SKU, for "
        "stores without MSI.",
        examples=["legacy"],
    )
    stock_sources: Literal["single", "per_location"] = Field(
        default="single",
        description="`single` = counted locations add up into one source; `per_location` = "
        "each location is its own MSI source (source code = `LOC_ID`). Switching (or dropping "
        "a location) deletes each SKU's source items under sources cpsync no longer writes as "
        "the SKU is next written; source items cpsync never wrote are left alone.",
        examples=["per_location"],
    )
    stock_source_code: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The MSI source of the summed quantity (`stock_sources=single`).",
        examples=["web"],
    )
    stock_out_of_stock_threshold: float = Field(
        default=0,
        description="A quantity at or below this is out of stock (status 0); the quantity "
        "itself is still sent.",
        examples=[2],
    )
    stock_full_every_runs: int = Field(
        default=144,
        ge=1,
        description="Every Nth Inventory run reads every row (reconciliation); 144 = daily at "
        "one run per 10 minutes. Other runs read only rows changed since the last run.",
        examples=[72],
    )
