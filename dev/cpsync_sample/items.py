"""Item specs: the facts about each item that several tables must agree on.

Why decide these first: IM_ITEM, IM_INV, IM_PRC, EC_CATEG_ITEM, images and promotions all
need to know which item is a grid, which carries which awkward case, what it costs... Deciding
once, before any row is written, keeps the tables consistent and lets each row generator use its
own RNG stream.

Items come in three kinds:
- fixed items, named for the case they carry (`MUG/12`, `TEE 100`, `TSHIRT-GRID`...);
- role items: the first bulk items (`I00001`...) bent to show one case each (NULL HTML, the
  promotion targets, the sideways image...);
- random bulk items (every 10th has a numeric ITEM_NO such as `200040`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from cpsync_sample.common import Clock, Stamp, between, pick

__all__ = ["MIN_ITEMS", "Dims", "ItemSpec", "cells", "item_specs", "upc"]

#: ((tag, display values), ...) per grid dimension
Dims = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(slots=True)
class ItemSpec:
    item_no: str
    descr: str
    categ_cod: str
    maint: Stamp
    prc_1: Decimal
    reg_prc: Decimal
    cost: Decimal
    barcod: str | None = None
    is_ecomm: bool = True
    stat: str = "A"
    item_typ: str = "I"
    dims: Dims = ()
    #: keys of sample.tables.CATEGORY_TREE the item is linked to in EC_CATEG_ITEM
    categ_keys: tuple[str, ...] = ()
    #: "random" | "null" | "empty" | "none" (no EC_ITEM_DESCR row) | "list" (<p> and <ul>)
    html: str = "random"
    ecomm_img_file: str | None = None
    url: str | None = None
    #: the SampleInfo.special key this item is the example of, if any
    role: str | None = None

    @property
    def is_product(self) -> bool:
        """Should be a Magento product: e-commerce flag set and active."""
        return self.is_ecomm and self.stat == "A"


_ADJECTIVES = (
    "Classic", "Rustic", "Speckled", "Modern", "Vintage",
    "Organic", "Deluxe", "Everyday", "Coastal", "Nordic",
)  # fmt: skip
_NOUNS: dict[str, tuple[str, ...]] = {
    "MUGS": ("Mug", "Cup", "Tumbler", "Travel Mug"),
    "KITCHEN": ("Skillet", "Saucepan", "Spatula", "Cutting Board", "Dutch Oven"),
    "APPAREL": ("Hoodie", "Scarf", "Cap", "Tee", "Rain Jacket"),
    "FOOTWEAR": ("Sneaker", "Sandal", "Boot", "Loafer"),
    "TEA": ("Green Tea", "Oolong", "Chai Blend", "Coffee Beans"),
    "HOME": ("Candle", "Vase", "Throw Pillow", "Picture Frame"),
    "GIFTS": ("Gift Set", "Greeting Card", "Puzzle", "Gift Box"),
}
_CATEG_CODS = tuple(_NOUNS)
#: merchandise category (IM_ITEM.CATEG_COD) -> e-commerce category keys an item may be put in
_EC_CATEGS: dict[str, tuple[str, ...]] = {
    "MUGS": ("MUGS",),
    "KITCHEN": ("POTS", "PANS", "COOKWARE"),
    "APPAREL": ("TSHIRTS", "JACKETS", "TOPS"),
    "FOOTWEAR": ("FOOTWEAR",),
    "TEA": ("GREEN_TEA", "COFFEE", "TEA_COFFEE"),
    "HOME": ("CANDLES", "DECOR"),
    "GIFTS": ("HOME",),
}
_ALL_EC_CATEGS = tuple(k for keys in _EC_CATEGS.values() for k in keys)
_COLORS = ("Red", "Yellow", "Blue", "Green", "Black", "White", "Navy")
_APPAREL_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_SHOE_SIZES = ("7", "8", "9", "10", "11", "12")
_WIDTHS = ("Narrow", "Medium", "Wide")
_ENDINGS = (Decimal("0.99"), Decimal("0.00"), Decimal("0.50"))
_CENTS = Decimal("0.01")

#: (ITEM_NO, DESCR, CATEG_COD, role)
_FIXED_ITEMS: tuple[tuple[str, str, str, str], ...] = (
    ("MUG/12", "Stoneware Mug 12 oz", "MUGS", "slash_item"),
    ("TEE 100", "Heavyweight Tee 100", "APPAREL", "space_item"),
    ("CANDLE-SOY-LAVENDER1", "Soy Candle Lavender", "HOME", "twenty_char_item"),
    ("MUG-CAFE", "Café Crème Mug", "MUGS", "unicode_item"),
    ("JACKE-GR", "Größe Jacke", "APPAREL", "unicode_eszett_item"),
    ("TEA-SENCHA", "日本茶 Sencha", "TEA", "unicode_cjk_item"),
    ("10042", "Tea Infuser Basket", "TEA", "numeric_item"),
    ("000731", "Bamboo Coasters (Set of 4)", "KITCHEN", "leading_zero_item"),
    ("POT-8QT", "Enamel Stock Pot", "KITCHEN", "duplicate_descr_item"),
    ("POT-12QT", "Enamel Stock Pot", "KITCHEN", "duplicate_descr_other_item"),
    ("OLD-CLOCK", "Brass Mantel Clock", "HOME", "null_rs_utc_dt_item"),
    ("LAMP-RETRO", "Retro Desk Lamp", "HOME", "discontinued_item"),
    ("GIFTWRAP", "Gift Wrapping Service", "GIFTS", "non_inventory_item"),
    ("BAG-PAPER", "Paper Shopping Bag", "GIFTS", "non_ecommerce_item"),
    ("TSHIRT-GRID", "Organic Cotton T-Shirt", "APPAREL", "grid_2d_item"),
    ("BOOT-GRID", "Trail Hiking Boot", "FOOTWEAR", "grid_3d_item"),
)

#: bulk index -> role; the item is otherwise a plain active simple e-commerce item
_BULK_ROLES: dict[int, str] = {
    1: "null_html_descr_item",
    2: "empty_html_descr_item",
    3: "promo_item",
    4: "promo_later_item",
    5: "no_ec_item_descr_item",
    6: "null_long_descr_item",
    7: "promo_fixed_item",
    8: "sideways_image_item",
    9: "big_image_item",
    11: "corrupt_image_item",
    12: "png_image_item",
    13: "custom_image_item",
    14: "negative_commit_item",
    15: "multi_category_item",
    16: "null_weight_item",
    17: "web_price_override_item",
    18: "outlet_price_override_item",
    19: "out_of_stock_item",
    21: "no_image_item",
    22: "markdown_item",
    23: "uncategorized_item",
    24: "dst_winter_item",
    25: "dst_summer_item",
    26: "newest_item",
    27: "non_ecommerce_in_category_item",
}

#: The smallest `items` that still holds every awkward case.
MIN_ITEMS = len(_FIXED_ITEMS) + max(_BULK_ROLES)

#: Promotion targets get round prices so expected results are obvious (20% off 40.00 = 32.00).
_ROLE_PRICES = {
    "promo_item": Decimal("40.00"),
    "promo_later_item": Decimal("30.00"),
    "promo_fixed_item": Decimal("24.99"),
}

CUSTOM_IMAGE_FILE = "catalog-hero-01.jpg"


def upc(n: int, prefix: str) -> str:
    """A valid 12-digit UPC-A, unique per (prefix, n)."""
    body = f"{prefix}{n:09d}"
    odd = sum(int(d) for d in body[0::2])
    even = sum(int(d) for d in body[1::2])
    return body + str((10 - (odd * 3 + even) % 10) % 10)


def cells(spec: ItemSpec) -> list[tuple[str, str, str]]:
    """Every (DIM_1_UPR, DIM_2_UPR, DIM_3_UPR) of a grid item; unused dimensions are '*'."""
    values = [[v.upper() for v in vals] for _, vals in spec.dims]
    values += [["*"]] * (3 - len(values))
    return [(a, b, c) for a in values[0] for b in values[1] for c in values[2]]


def item_specs(items: int, clock: Clock, rng: random.Random) -> list[ItemSpec]:
    """Fixed named items first, then bulk items I00001... (the first ones carrying roles)."""
    specs = [_fixed_spec(*row, clock, rng) for row in _FIXED_ITEMS]
    for i in range(1, items - len(_FIXED_ITEMS) + 1):
        role = _BULK_ROLES.get(i)
        item_no = f"{200000 + i}" if i % 10 == 0 else f"I{i:05d}"
        specs.append(
            _random_spec(item_no, i, clock, rng)
            if role is None
            else _role_spec(item_no, i, role, clock, rng)
        )
    for n, spec in enumerate(specs, start=1):
        spec.barcod = None if spec.dims or rng.random() < 0.08 else upc(n, "04")
    return specs


def _new_spec(
    item_no: str, descr: str, categ_cod: str, stamp: Stamp, rng: random.Random
) -> ItemSpec:
    prc = Decimal(between(rng, 4, 149)) + pick(rng, _ENDINGS)
    return ItemSpec(
        item_no=item_no,
        descr=descr,
        categ_cod=categ_cod,
        maint=stamp,
        prc_1=prc,
        reg_prc=prc,
        cost=(prc * Decimal(between(rng, 35, 60)) / 100).quantize(_CENTS),
        categ_keys=(pick(rng, _EC_CATEGS[categ_cod]),),
    )


def _fixed_spec(
    item_no: str, descr: str, categ_cod: str, role: str, clock: Clock, rng: random.Random
) -> ItemSpec:
    spec = _new_spec(item_no, descr, categ_cod, clock.recent(rng), rng)
    spec.role = role
    if role == "unicode_item":
        spec.html = "list"
        spec.url = "cafe-creme-mug"
    elif role == "null_rs_utc_dt_item":
        spec.maint = clock.ancient(rng)
    elif role == "discontinued_item":
        spec.stat = "D"  # still IS_ECOMM_ITEM='Y': must not become (or must leave) Magento
    elif role in ("non_ecommerce_item", "non_inventory_item"):
        spec.is_ecomm = False
        spec.categ_keys = ()
        spec.html = "none"
        spec.item_typ = "N" if role == "non_inventory_item" else "I"  # a service, not stock
    elif role == "grid_2d_item":
        spec.dims = (("Color", ("Red", "Yellow", "Blue")), ("Size", ("S", "M", "L", "XL")))
        spec.categ_keys = ("TSHIRTS",)
    elif role == "grid_3d_item":
        spec.dims = (
            ("Color", ("Black", "Brown")),
            ("Size", ("8", "9", "10")),
            ("Width", ("Medium", "Wide")),
        )
    return spec


def _random_spec(item_no: str, i: int, clock: Clock, rng: random.Random) -> ItemSpec:
    """~5% grids, ~12% not e-commerce, ~3% discontinued, ~7% untouched for years."""
    grid = rng.random() < 0.05
    categ = pick(rng, ("APPAREL", "FOOTWEAR")) if grid else pick(rng, _CATEG_CODS)
    descr = f"{pick(rng, _ADJECTIVES)} {pick(rng, _NOUNS[categ])} #{i}"  # unique by design
    age = rng.random()
    stamp = (
        clock.ancient(rng) if age < 0.07 else clock.recent(rng) if age < 0.6 else clock.older(rng)
    )
    spec = _new_spec(item_no, descr, categ, stamp, rng)
    spec.is_ecomm = rng.random() < 0.88
    spec.stat = "D" if rng.random() < 0.03 else "A"
    if not spec.is_ecomm:
        spec.categ_keys = ()
    elif rng.random() < 0.08:
        spec.categ_keys = _with_extra_category(spec.categ_keys, rng)
    if rng.random() < 0.1:
        spec.reg_prc = spec.prc_1 + Decimal(between(rng, 2, 15))  # marked down
    if grid:
        spec.dims = _random_dims(categ, rng)
    return spec


def _with_extra_category(keys: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    return (*keys, pick(rng, [k for k in _ALL_EC_CATEGS if k not in keys]))


def _random_dims(categ: str, rng: random.Random) -> Dims:
    def some(pool: tuple[str, ...], low: int, high: int) -> tuple[str, ...]:
        chosen = set(rng.sample(pool, between(rng, low, high)))
        return tuple(v for v in pool if v in chosen)  # keep the pool's natural order

    sizes = _SHOE_SIZES if categ == "FOOTWEAR" else _APPAREL_SIZES
    dims: Dims = (("Color", some(_COLORS, 2, 4)), ("Size", some(sizes, 2, 4)))
    if rng.random() < 0.25:
        dims = (*dims, ("Width", some(_WIDTHS, 2, 2)))
    return dims


def _role_spec(item_no: str, i: int, role: str, clock: Clock, rng: random.Random) -> ItemSpec:
    """A plain, active, simple e-commerce item, then bent to show exactly one case."""
    categ = ("KITCHEN", "HOME", "TEA", "GIFTS")[i % 4]  # never MUGS: keeps promotions unambiguous
    descr = f"{pick(rng, _ADJECTIVES)} {pick(rng, _NOUNS[categ])} #{i}"
    spec = _new_spec(item_no, descr, categ, clock.recent(rng), rng)
    spec.role = role
    if role in _ROLE_PRICES:
        spec.prc_1 = spec.reg_prc = _ROLE_PRICES[role]
    match role:
        case "null_html_descr_item":
            spec.html = "null"
        case "empty_html_descr_item":
            spec.html = "empty"
        case "no_ec_item_descr_item":
            spec.html = "none"
        case "multi_category_item":
            spec.categ_keys = _with_extra_category(_with_extra_category(spec.categ_keys, rng), rng)
        case "uncategorized_item":
            spec.categ_keys = ()
        case "markdown_item":
            spec.reg_prc = spec.prc_1 + Decimal("10.00")
        case "custom_image_item":
            spec.ecomm_img_file = CUSTOM_IMAGE_FILE
        case "dst_winter_item":  # RS_UTC_DT = LST_MAINT_DT + 5 h
            spec.maint = clock.fixed(datetime(clock.local.year - 1, 1, 15, 9, 30))
        case "dst_summer_item":  # RS_UTC_DT = LST_MAINT_DT + 4 h
            spec.maint = clock.fixed(datetime(clock.local.year - 1, 7, 15, 9, 30))
        case "newest_item":  # every other item was maintained at least 2 minutes ago
            spec.maint = clock.fixed(clock.local - timedelta(minutes=1))
        case "non_ecommerce_in_category_item":
            spec.is_ecomm = False  # flag switched off later; its EC_CATEG_ITEM rows stayed
    return spec
