"""Settings of the section "Items and grids" of `docs/configuration.md`."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from cpsync.settings._section import SettingsSection

__all__ = ["ItemSettings"]


class ItemSettings(SettingsSection):
    """How an item becomes a product and a grid item a configurable product."""

    section_title: ClassVar[str] = "Items and grids"
    section_intro: ClassVar[str] = (
        "How an item becomes a product and a grid item a configurable product "
        "([rules](sync-rules.md#items))."
    )

    magento_attribute_set_id: int = Field(
        default=4,
        description="Attribute set of new products (4 = Default on a clean install).",
        examples=[9],
    )
    magento_tax_class_id: int = Field(
        default=2, ge=0, description="Tax class of taxable items (2 = Taxable Goods).", examples=[5]
    )
    magento_nontaxable_tax_class_id: int = Field(
        default=0,
        ge=0,
        description="Tax class of items with `IS_TXBL = 'N'` (0 = None).",
        examples=[6],
    )
    grid_sku_separator: str = Field(
        default="|",
        min_length=1,
        max_length=3,
        description="Joins item number and grid dimension values into a child SKU (`ITEM|RED|S`).",
        examples=["-"],
    )
    grid_cells_location: str | None = Field(
        default=None,
        description="When set, a grid's cells are those with an `IM_INV_CELL` row at this "
        "location (a 'stocking location' such as WEB); unset: any location.",
        examples=["WEB"],
    )
    grid_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Grid dimension tag -> Magento dropdown attribute code; unmapped tags use "
        "the tag in lower case (Size -> size).",
        examples=['{"Colour": "color"}'],
    )
    price_max: Decimal = Field(
        default=Decimal(100_000),
        gt=0,
        description="Prices above this are warned about in the run log (a typo, most often); "
        "the product still syncs.",
        examples=[5000],
    )
    weight_max: Decimal = Field(
        default=Decimal(10_000),
        gt=0,
        description="Weights above this are warned about in the run log; the product still syncs.",
        examples=[500],
    )
    items_full_every_minutes: int = Field(
        default=1440,
        ge=0,
        description="A scheduled Items run reads every item and every SKU claim when the last "
        "full read is older than this: it finds items deleted in Counterpoint (disabled in "
        "Magento) and edits whose change stamp the watermark missed (a clock set back). "
        "Other runs read only items changed since the last run; 0 makes every run a full read.",
        examples=[720],
    )
