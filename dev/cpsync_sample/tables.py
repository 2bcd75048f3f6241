"""Row generators for the sample database, one per concern.

Each generator yields `(table, row)` pairs so one pass can fill related tables (a grid item's
IM_INV total is the sum of its IM_INV_CELL rows). Every row of a table has the same keys, as
SQLAlchemy's executemany requires; columns that are always NULL are left out.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from html import escape

from sqlalchemy import Table

from cpsync.counterpoint import schema
from cpsync_sample.common import LOCATIONS, WEB_LOCATION, Clock, Row, Stamp, between, pick
from cpsync_sample.items import ItemSpec, cells, upc

__all__ = [
    "CATEGORY_TREE",
    "PADDED",
    "barcode_rows",
    "categories",
    "category_item_rows",
    "char",
    "control_rows",
    "grid_rows",
    "inventory_rows",
    "item_descr_rows",
    "item_rows",
    "price_rows",
]

Rows = Iterator[tuple[Table, Row]]

_USERS = ("MGR", "JSMITH", "POSADMIN", "BUYER2")
_SENTENCES = (
    "Made in small batches & finished by hand.",
    "Dishwasher safe; not for the microwave.",
    "A customer favourite since 2009.",
    "Pairs well with the rest of the collection.",
    "Limited stock — order soon.",
)
_BRANDS = ("ACME", "NORDIK", "HEARTH", None)
_ON_PO = (0, 0, 0, 6, 12)
_CENTS = Decimal("0.01")


#: (table, column) stored padded like SQL Server's CHAR(10); the sample declares them with
#: SQLite's RTRIM collation, so SQL compares them as SQL Server does (trailing spaces ignored).
PADDED = (
    ("IM_ITEM", "CATEG_COD"),
    ("IM_LOC", "LOC_ID"),
    ("EC_CTL", "STR_ID"),
    ("PS_STR_CFG_PS", "STR_ID"),
    ("PS_STR_CFG_PS", "STK_LOC_ID"),
    ("PS_STR_CFG_PS", "PRC_LOC_ID"),
)


def char(value: str, width: int = 10) -> str:
    """`value` as SQL Server returns a CHAR(width) column: padded with spaces.

    Some codes (`PADDED`) are stored so every test sees what a real install sends, and every
    reader has to trim them; item numbers never are (their identity stays the same).
    """
    return value.ljust(width)


def _stamp_cols(stamp: Stamp) -> Row:
    return {"LST_MAINT_DT": stamp[0], "RS_UTC_DT": stamp[1]}


def control_rows(clock: Clock) -> Rows:
    """IM_LOC, EC_CTL, PS_STR_CFG_PS, DB_CTL: which location is the web store, and the version.

    Two stores exist so the web location has to be found through EC_CTL.STR_ID.
    """
    setup = clock.fixed(datetime(2019, 4, 2, 11, 5, 0))
    names = {"MAIN": "Main Street Store", "WEB": "Web Store", "OUTLET": "Outlet"}
    for loc in LOCATIONS:
        yield (
            schema.IM_LOC,
            {
                "LOC_ID": char(loc),
                "DESCR": names[loc],
                "DESCR_UPR": names[loc].upper(),
                "LST_MAINT_USR_ID": "MGR",
                "RS_STAT": 1,
                **_stamp_cols(setup),
            },
        )
    yield (
        schema.EC_CTL,
        {
            "KEY_ID": 1,
            "USE_ECOMM": "Y",
            "STR_ID": char(WEB_LOCATION),
            "ITEM_PRC_CUST_NO": "CASH",
            "LST_MAINT_DT": setup[0],
        },
    )
    for str_id in ("MAIN", WEB_LOCATION):
        padded = char(str_id)
        yield schema.PS_STR_CFG_PS, {"STR_ID": padded, "STK_LOC_ID": padded, "PRC_LOC_ID": padded}
    yield schema.DB_CTL, {"KEY_ID": 1, "DB_VER": "29.35", "SHARED_DIR": r"C:\CPSQL.1\TopLevel\DEMO"}


def item_rows(specs: list[ItemSpec], clock: Clock, rng: random.Random) -> Rows:
    """IM_ITEM. PRC_1 equals the IM_PRC LOC_ID='*' row; REG_PRC is higher for marked-down items."""
    new_until = datetime.combine(clock.local.date() + timedelta(days=30), time())
    for row_ts, spec in enumerate(specs, start=1):
        null_long = spec.role == "null_long_descr_item" or rng.random() < 0.15
        null_short = spec.role == "null_long_descr_item" or rng.random() < 0.2
        null_weight = spec.role == "null_weight_item" or rng.random() < 0.06
        is_new = rng.random() < 0.05
        tags = [tag for tag, _ in spec.dims] + [None] * (3 - len(spec.dims))
        food = spec.categ_cod == "TEA"
        yield (
            schema.IM_ITEM,
            {
                "ITEM_NO": spec.item_no,
                "DESCR": spec.descr,
                "DESCR_UPR": spec.descr.upper(),
                "LONG_DESCR": None if null_long else f"{spec.descr}. {pick(rng, _SENTENCES)}",
                "SHORT_DESCR": None if null_short else spec.descr[:30],
                "ITEM_TYP": spec.item_typ,
                "STAT": spec.stat,
                "TRK_METH": "G" if spec.dims else "N",
                "CATEG_COD": char(spec.categ_cod),
                "ITEM_VEND_NO": f"V{between(rng, 100, 140)}",
                "STK_UNIT": "EA",
                "PRC_1": spec.prc_1,
                "REG_PRC": spec.reg_prc,
                "LST_COST": spec.cost,
                "IS_TXBL": "N" if food else "Y",
                "TAX_CATEG_COD": "FOOD" if food else "TAXABLE",
                "WEIGHT": None if null_weight else Decimal(between(rng, 5, 2500)) / 100,
                "BARCOD": spec.barcod,
                "IS_DISCNTBL": "Y",
                "DIM_COUNT": len(spec.dims),
                "GRID_DIM_1_TAG": tags[0],
                "GRID_DIM_2_TAG": tags[1],
                "GRID_DIM_3_TAG": tags[2],
                "DIM_COD_LABEL": " / ".join(t for t, _ in spec.dims) or None,
                "IS_ECOMM_ITEM": "Y" if spec.is_ecomm else "N",
                "ECOMM_IMG_FILE": spec.ecomm_img_file,
                "URL": spec.url,
                "ECOMM_NEW": "Y" if is_new else "N",
                "ECOMM_NEW_UNTIL": new_until if is_new else None,
                "ECOMM_ON_SPECL": "N",
                "PROF_COD_1": pick(rng, _BRANDS),
                "LST_MAINT_USR_ID": pick(rng, _USERS),
                "RS_STAT": None if spec.maint[1] is None else 1,
                "ROW_TS": row_ts,
                **_stamp_cols(spec.maint),
            },
        )


def _html(spec: ItemSpec, rng: random.Random) -> str:
    name = escape(spec.descr)
    first, second = rng.sample(_SENTENCES, 2)
    kind = "list" if spec.html == "list" else pick(rng, ("p", "list", "text", "br"))
    if kind == "list":
        return (
            f"<p>The <strong>{name}</strong>.</p>"
            f"<ul><li>{escape(first)}</li><li>{escape(second)}</li></ul>"
        )
    if kind == "p":
        return f"<p>{name}: {escape(first)}</p>"
    if kind == "br":
        return f"<p>{escape(first)}<br>{escape(second)}</p>"
    return f"{spec.descr}. {first}"  # plain text with a bare '&', as merchants type it


def item_descr_rows(specs: list[ItemSpec], clock: Clock, rng: random.Random) -> Rows:
    """EC_ITEM_DESCR: HTML for most e-commerce items; NULL, '' or no row at all for some."""
    for spec in specs:
        kind = spec.html
        if kind == "random":
            if not spec.is_ecomm:
                continue
            roll = rng.random()
            kind = (
                "none" if roll < 0.08 else "null" if roll < 0.11 else "empty" if roll < 0.13 else ""
            )
        if kind == "none":
            continue
        html = None if kind == "null" else "" if kind == "empty" else _html(spec, rng)
        yield (
            schema.EC_ITEM_DESCR,
            {
                "ITEM_NO": spec.item_no,
                "HTML_DESCR": html,
                "LST_MAINT_DT": clock.recent(rng)[0],
                "LST_MAINT_USR_ID": pick(rng, _USERS),
            },
        )


#: (key, parent key, DESCR, DISP_SEQ_NO) in tree order. SEASONAL is a branch with no items;
#: COOKWARE, TOPS, TEA_COFFEE and HOME are mid-level categories that hold items directly.
CATEGORY_TREE: tuple[tuple[str, str | None, str, int], ...] = (
    ("ROOT", None, "Root", 0),
    ("KITCHEN", "ROOT", "Kitchen", 10),
    ("MUGS", "KITCHEN", "Mugs & Cups", 10),
    ("COOKWARE", "KITCHEN", "Cookware", 20),
    ("POTS", "COOKWARE", "Pots", 10),
    ("PANS", "COOKWARE", "Pans & Skillets", 20),
    ("APPAREL", "ROOT", "Apparel", 20),
    ("TOPS", "APPAREL", "Tops", 10),
    ("TSHIRTS", "TOPS", "T-Shirts", 10),
    ("JACKETS", "TOPS", "Jackets", 20),
    ("FOOTWEAR", "APPAREL", "Footwear", 20),
    ("TEA_COFFEE", "ROOT", "Tea & Coffee", 30),
    ("GREEN_TEA", "TEA_COFFEE", "Green Tea", 10),
    ("COFFEE", "TEA_COFFEE", "Coffee", 20),
    ("HOME", "ROOT", "Home & Gifts", 40),
    ("CANDLES", "HOME", "Candles", 10),
    ("DECOR", "HOME", "Décor", 20),
    ("SEASONAL", "ROOT", "Seasonal", 50),
    ("HOLIDAY", "SEASONAL", "Holiday", 10),
    ("ORNAMENTS", "HOLIDAY", "Ornaments", 10),
)


def categories(clock: Clock, rng: random.Random) -> tuple[dict[str, str], list[Row]]:
    """EC_CATEG rows and key -> CATEG_ID. Root is '0' (PARENT_ID NULL); top level has
    PARENT_ID '0'; other ids are opaque 16-digit timestamp-like strings, as in NCR's samples.
    """
    ids: dict[str, str] = {}
    created = datetime(2002, 9, 25, 10, 21, 13)
    rows: list[Row] = []
    for key, parent, descr, seq in CATEGORY_TREE:
        if parent is None:
            ids[key] = "0"
        else:
            created += timedelta(minutes=between(rng, 1, 60 * 24 * 90))  # strictly increasing
            ids[key] = created.strftime("%Y%m%d%H%M%S") + f"{between(rng, 0, 99):02d}"
        rows.append(
            {
                "CATEG_ID": ids[key],
                "PARENT_ID": None if parent is None else ids[parent],
                "DESCR": descr,
                "DESCR_UPR": descr.upper(),
                "HTML_DESCR": None if rng.random() < 0.5 else f"<p>Shop {escape(descr)}.</p>",
                "DISP_SEQ_NO": seq,
                "LST_MAINT_DT": clock.older(rng)[0],
                "LST_MAINT_USR_ID": "MGR",
            }
        )
    return ids, rows


def category_item_rows(
    specs: list[ItemSpec], ids: dict[str, str], clock: Clock, rng: random.Random
) -> Rows:
    """EC_CATEG_ITEM; ENTRY_SEQ_NO numbers the items within each category from 1."""
    entry_seq: Counter[str] = Counter()
    for spec in specs:
        for key in spec.categ_keys:
            entry_seq[key] += 1
            yield (
                schema.EC_CATEG_ITEM,
                {
                    "ITEM_NO": spec.item_no,
                    "CATEG_ID": ids[key],
                    "ENTRY_SEQ_NO": entry_seq[key],
                    "LST_MAINT_DT": clock.recent(rng)[0],
                    "LST_MAINT_USR_ID": pick(rng, _USERS),
                },
            )


_GRID_TABLES = (schema.IM_GRID_DIM_1, schema.IM_GRID_DIM_2, schema.IM_GRID_DIM_3)


def grid_rows(specs: list[ItemSpec]) -> Rows:
    """IM_GRID_DIM_1..3: display value, upper-case key and order of each dimension value."""
    for spec in specs:
        for n, (_, values) in enumerate(spec.dims, start=1):
            for seq, value in enumerate(values, start=1):
                yield (
                    _GRID_TABLES[n - 1],
                    {
                        "ITEM_NO": spec.item_no,
                        f"DIM_{n}": value,
                        f"DIM_{n}_UPR": value.upper(),
                        f"DIM_{n}_SEQ_NO": seq,
                    },
                )


def barcode_rows(specs: list[ItemSpec]) -> Rows:
    """IM_BARCOD: one barcode per grid cell (simple items keep theirs in IM_ITEM.BARCOD)."""
    cell_no = 0
    for spec in specs:
        for d1, d2, d3 in cells(spec) if spec.dims else ():
            cell_no += 1
            yield (
                schema.IM_BARCOD,
                {
                    "ITEM_NO": spec.item_no,
                    "BARCOD_ID": "ITEM",
                    "BARCOD": upc(cell_no, "05"),
                    "DIM_1_UPR": d1,
                    "DIM_2_UPR": d2,
                    "DIM_3_UPR": d3,
                },
            )


def _quantities(spec: ItemSpec, loc: str, rng: random.Random) -> tuple[int, int]:
    """(QTY_ON_HND, QTY_COMMIT) of a simple item or one grid cell at one location."""
    if spec.role == "out_of_stock_item":
        return 0, 0
    on_hnd = between(rng, 0, 12) if spec.dims else between(rng, 0, 60)
    if spec.role == "negative_commit_item" and loc == WEB_LOCATION:
        return on_hnd, -between(rng, 1, 3)
    roll = rng.random()
    commit = -1 if roll < 0.02 else between(rng, 0, min(on_hnd, 3)) if roll < 0.3 else 0
    return on_hnd, commit


def inventory_rows(specs: list[ItemSpec], clock: Clock, rng: random.Random) -> Rows:
    """IM_INV per item x location (a grid's totals are the sums of its cells) and IM_INV_CELL
    per grid cell x location.

    QTY_AVAIL = QTY_ON_HND - QTY_COMMIT and NET_QTY = QTY_AVAIL + QTY_ON_PO, as in NCR's samples;
    QTY_COMMIT is sometimes negative, which makes QTY_AVAIL exceed QTY_ON_HND.
    """
    for spec in specs:
        for loc in LOCATIONS:
            old = spec.maint[1] is None and rng.random() < 0.5
            stamp = clock.ancient(rng) if old else clock.recent(rng)
            if spec.dims:
                on_hnd = commit = 0
                for d1, d2, d3 in cells(spec):
                    cell_on, cell_commit = _quantities(spec, loc, rng)
                    on_hnd += cell_on
                    commit += cell_commit
                    yield (
                        schema.IM_INV_CELL,
                        {
                            "ITEM_NO": spec.item_no,
                            "LOC_ID": loc,
                            "DIM_1_UPR": d1,
                            "DIM_2_UPR": d2,
                            "DIM_3_UPR": d3,
                            "QTY_ON_HND": Decimal(cell_on),
                            "QTY_COMMIT": Decimal(cell_commit),
                            "QTY_AVAIL": Decimal(cell_on - cell_commit),
                            **_stamp_cols(stamp),
                        },
                    )
            else:
                on_hnd, commit = _quantities(spec, loc, rng)
            on_po = 0 if spec.role == "out_of_stock_item" else pick(rng, _ON_PO)
            yield (
                schema.IM_INV,
                {
                    "ITEM_NO": spec.item_no,
                    "LOC_ID": loc,
                    "MIN_QTY": Decimal(0),
                    "QTY_ON_HND": Decimal(on_hnd),
                    "QTY_COMMIT": Decimal(commit),
                    "QTY_ON_PO": Decimal(on_po),
                    "QTY_ON_SO": Decimal(0),
                    "QTY_ON_LWY": Decimal(0),
                    "QTY_AVAIL": Decimal(on_hnd - commit),
                    "NET_QTY": Decimal(on_hnd - commit + on_po),
                    "LST_COST": spec.cost,
                    "LST_MAINT_USR_ID": pick(rng, _USERS),
                    "RS_STAT": None if stamp[1] is None else 1,
                    **_stamp_cols(stamp),
                },
            )


_OVERRIDES = {"web_price_override_item": WEB_LOCATION, "outlet_price_override_item": "OUTLET"}


def price_rows(specs: list[ItemSpec], clock: Clock, rng: random.Random) -> Rows:
    """IM_PRC: a LOC_ID='*' row per item (PRC_1 = IM_ITEM.PRC_1) plus location overrides
    (15% cheaper) for the override role items and ~2% of items at OUTLET.
    """
    for spec in specs:
        stamp = spec.maint if spec.maint[1] is None else clock.recent(rng)
        yield schema.IM_PRC, _prc_row(spec.item_no, "*", spec.prc_1, stamp)
        loc = _OVERRIDES.get(spec.role or "")
        if loc is None and spec.role is None and rng.random() < 0.02:
            loc = "OUTLET"
        if loc is not None:
            price = spec.prc_1 * Decimal("0.85")
            yield schema.IM_PRC, _prc_row(spec.item_no, loc, price, clock.recent(rng))


def _prc_row(item_no: str, loc: str, prc_1: Decimal, stamp: Stamp) -> Row:
    return {
        "ITEM_NO": item_no,
        "LOC_ID": loc,
        "PRC_1": prc_1.quantize(_CENTS),
        "PRC_2": (prc_1 * Decimal("0.9")).quantize(_CENTS),
        "PRC_3": (prc_1 * Decimal("0.8")).quantize(_CENTS),
        **_stamp_cols(stamp),
    }
