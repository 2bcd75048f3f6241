"""The Counterpoint columns the tasks read, in building blocks each task's `needs` combines.

Required columns are those every source confirms and no task can do without; optional ones
carry their fallback in words (what `cpsync check` prints when the column is missing). The
references (docs/reference/counterpoint.md) mark some columns *assumed*: those are all
optional here.
"""

from __future__ import annotations

from cpsync.counterpoint.columns import Need, optional, required
from cpsync.counterpoint.stock_queries import (
    BREAK_COLUMNS,
    BREAK_OPTIONAL,
    GROUP_COLUMNS,
    GROUP_OPTIONAL,
    RULE_COLUMNS,
    RULE_OPTIONAL,
)

__all__ = [
    "CATEGORY_LINKS",
    "CATEGORY_TREE",
    "GRID_CELLS",
    "GRID_VALUES",
    "IMAGE_ITEMS",
    "ITEM_CHANGES",
    "ITEM_FIELDS",
    "PRICE_1",
    "PRICE_CHANGES",
    "PRICE_RULES",
    "STOCK",
    "WEB_ITEM",
    "stamps",
]


def stamps(table: str, fallback_utc: str, fallback_local: str) -> tuple[Need, ...]:
    """A table's change stamps: RS_UTC_DT (UTC) and LST_MAINT_DT (server-local time)."""
    return optional(table, "RS_UTC_DT", fallback_utc) + optional(
        table, "LST_MAINT_DT", fallback_local
    )


#: Which items are Magento products, and which are grids.
WEB_ITEM = required("IM_ITEM", "ITEM_NO", "IS_ECOMM_ITEM", "STAT", "TRK_METH")

#: When an item changed.
ITEM_CHANGES = (
    *optional(
        "IM_ITEM",
        "RS_UTC_DT",
        "items are dated by LST_MAINT_DT (server local time, CPSYNC_TIMEZONE)",
    ),
    *required("IM_ITEM", "LST_MAINT_DT"),
)

#: What the Items task sends of an item.
ITEM_FIELDS = (
    *required("IM_ITEM", "DESCR", "PRC_1"),
    *optional("IM_ITEM", "LONG_DESCR", "the description is EC_ITEM_DESCR.HTML_DESCR alone"),
    *optional("IM_ITEM", "SHORT_DESCR", "no short description is sent"),
    *optional("IM_ITEM", "WEIGHT", "no weight is sent"),
    *optional("IM_ITEM", "IS_TXBL", "every item gets CPSYNC_MAGENTO_TAX_CLASS_ID"),
    *optional("IM_ITEM", "URL", "url keys are made of the name and the SKU"),
    *(
        Need("IM_ITEM", f"GRID_DIM_{n}_TAG", f"a grid item using dimension {n} is reported")
        for n in (1, 2, 3)
    ),
    *required("EC_ITEM_DESCR", "ITEM_NO", "HTML_DESCR"),
    *optional(
        "EC_ITEM_DESCR",
        "LST_MAINT_DT",
        "a description edited alone is sent at the next full run",
    ),
)

#: The cells of grid items, and when they changed.
GRID_CELLS = (
    *required(
        "IM_INV_CELL", "ITEM_NO", "LOC_ID", "DIM_1_UPR", "DIM_2_UPR", "DIM_3_UPR", "QTY_ON_HND"
    ),
    *required("IM_INV_CELL", "QTY_COMMIT"),
    *stamps(
        "IM_INV_CELL",
        "a grid cell's change is dated by its item's and location's stamps (IM_ITEM, IM_INV)",
        "a grid cell's change is dated by its item's and location's stamps (IM_ITEM, IM_INV)",
    ),
)

#: Display values and order of grid dimensions.
GRID_VALUES = tuple(
    need
    for n in (1, 2, 3)
    for need in required(
        f"IM_GRID_DIM_{n}", "ITEM_NO", f"DIM_{n}", f"DIM_{n}_UPR", f"DIM_{n}_SEQ_NO"
    )
)

#: Quantities per item and location.
STOCK = (
    *required("IM_INV", "ITEM_NO", "LOC_ID", "QTY_ON_HND", "QTY_COMMIT"),
    *stamps(
        "IM_INV",
        "stock rows are dated by LST_MAINT_DT (server local time)",
        "stock rows without RS_UTC_DT are seen at the periodic full run",
    ),
)

#: The regular price.
PRICE_1 = required("IM_PRC", "ITEM_NO", "LOC_ID", "PRC_1")

#: When an item's prices changed (Price Changes reads only those items between full runs;
#: without either stamp of IM_PRC or IM_ITEM every run reads every item).
PRICE_CHANGES = (
    *stamps(
        "IM_PRC",
        "price rows are dated by LST_MAINT_DT (server local time)",
        "price rows without RS_UTC_DT are seen at the daily full run",
    ),
    *stamps(
        "IM_ITEM",
        "items are dated by LST_MAINT_DT (server local time)",
        "items without RS_UTC_DT are seen at the daily full run",
    ),
)

#: The e-commerce category tree.
CATEGORY_TREE = (
    *required("EC_CATEG", "CATEG_ID", "DESCR"),
    *optional("EC_CATEG", "PARENT_ID", "every category is top-level"),
    *optional("EC_CATEG", "HTML_DESCR", "categories get no description"),
    *optional("EC_CATEG", "DISP_SEQ_NO", "siblings are ordered by CATEG_ID"),
)

#: Items in categories.
CATEGORY_LINKS = (
    *required("EC_CATEG_ITEM", "ITEM_NO", "CATEG_ID"),
    *optional(
        "EC_CATEG_ITEM",
        "LST_MAINT_DT",
        "a changed link is sent when its item moves, or at the periodic full read",
    ),
)

#: What the image tasks read of items.
IMAGE_ITEMS = (
    *WEB_ITEM,
    *optional("IM_ITEM", "ECOMM_IMG_FILE", "every item's main image is <ITEM_NO>.jpg (or .png)"),
    *required("IM_INV_CELL", "ITEM_NO", "DIM_1_UPR", "DIM_2_UPR", "DIM_3_UPR"),
)

#: Promotional price rules (the IM_ITEM columns their filters name are checked per rule);
#: the queries read exactly these (stock_queries.py).
PRICE_RULES = (
    *required("IM_PRC_GRP", *GROUP_COLUMNS),
    *(Need("IM_PRC_GRP", c, fallback) for c, fallback in GROUP_OPTIONAL.items()),
    *required("IM_PRC_RUL", *RULE_COLUMNS),
    *(Need("IM_PRC_RUL", c, fallback) for c, fallback in RULE_OPTIONAL.items()),
    *required("IM_PRC_RUL_BRK", *BREAK_COLUMNS),
    *(Need("IM_PRC_RUL_BRK", c, fallback) for c, fallback in BREAK_OPTIONAL.items()),
    *(
        Need("IM_PRC", f"PRC_{n}", f"a rule based on Price-{n} gives no special price (reported)")
        for n in (2, 3, 4, 5, 6)
    ),
    *optional(
        "EC_CTL",
        "STR_ID",
        "rules with a store filter (SAL_FILT) are skipped unless CPSYNC_PRICE_LOCATION is set",
    ),
    *(
        Need(
            "PS_STR_CFG_PS",
            column,
            "rules with a store filter (SAL_FILT) are skipped unless CPSYNC_PRICE_LOCATION is set",
        )
        for column in ("STR_ID", "STK_LOC_ID", "PRC_LOC_ID")
    ),
)
