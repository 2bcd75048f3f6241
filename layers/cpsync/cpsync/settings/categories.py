"""Settings of the section "Categories" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cpsync.settings._section import SettingsSection

__all__ = ["CategorySettings"]


class CategorySettings(SettingsSection):
    """The e-commerce category tree and each product's category links."""

    section_title: ClassVar[str] = "Categories"
    section_intro: ClassVar[str] = (
        "The e-commerce category tree and each product's links "
        "([rules](sync-rules.md#categories-and-category-items))."
    )

    magento_root_category_id: int = Field(
        default=2,
        ge=1,
        description="Magento category that Counterpoint's top-level e-commerce categories "
        "(`PARENT_ID` '0') go under: the store's root category (2 on a fresh install).",
        examples=[3],
    )
    category_items_full_every_minutes: int = Field(
        default=60,
        ge=0,
        description="A scheduled Category Items run reads every `EC_CATEG_ITEM` row when the "
        "last full read is older than this, to see rows deleted in Counterpoint (nothing "
        "dates a deletion); 0 makes every run a full read.",
        examples=[0],
    )
