"""Deterministic sample Counterpoint database (SQLite) plus its ItemImages folder.

Why: tests, the demo and benchmarks need a Counterpoint-shaped database holding the awkward rows
real installs have (docs/reference/counterpoint.md) without a SQL Server. Every awkward
case is recorded in `SampleInfo`, so tests ask for "the item with a slash" instead of hard-coding
item numbers.

Same `seed`, `items` and `now` give the same rows, image bytes and mtimes: all randomness comes
from `random.Random` streams seeded from `seed` (sample.common.stream) and all timestamps are
relative to `now`. LST_MAINT_DT and promotion dates are naive America/New_York time; RS_UTC_DT
is the same instant as naive UTC, or NULL on rows untouched for years.

Module map: items (what each item is), tables (row generators), promotions (price rules),
images (ItemImages), common (clocks and RNG helpers).
"""

from __future__ import annotations

import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, String, Table, create_engine, event
from sqlalchemy.engine import Connection

from cpsync.counterpoint import schema
from cpsync_sample import tables
from cpsync_sample.common import LOCATIONS, WEB_LOCATION, Clock, Row, stream
from cpsync_sample.images import IMAGE_ITEM_LIMIT, image_stem, write_item_images
from cpsync_sample.items import MIN_ITEMS, ItemSpec, item_specs
from cpsync_sample.promotions import GROUP_KEYS, promotion_rows

__all__ = [
    "DB_NAME",
    "IMAGE_DIR_NAME",
    "IMAGE_ITEM_LIMIT",
    "MIN_ITEMS",
    "SampleInfo",
    "generate",
    "image_stem",
]

DB_NAME = "counterpoint.db"
IMAGE_DIR_NAME = "ItemImages"
_BATCH = 5_000


@dataclass(frozen=True)
class SampleInfo:
    """What `generate` wrote, so tests name cases rather than item numbers.

    Image files are named after the item number with characters illegal in file names ('/' in
    practice) replaced by '_': item `MUG/12` -> `MUG_12.jpg` (see `image_stem`). Extra images
    are `<stem>^<n>.jpg`, grid colour images `<stem>^<DIM_1_UPR>.jpg`.

    `special` maps case names to one example each. Keys ending in `_item` hold an ITEM_NO,
    `_image` a file name in `image_dir`, `_category` a CATEG_ID. `promo_active_now`,
    `promo_starts_later_today`, `promo_expired` and `promo_disabled` hold a GRP_COD of GRP_TYP
    'P', `contract_group` one of GRP_TYP 'C', and `promo_categ_cod` the CATEG_COD a running
    promotion's rule filters on.
    """

    db_path: Path
    image_dir: Path
    seed: int
    items: int
    #: naive America/New_York: the clock of LST_MAINT_DT and promotion dates
    now_local: datetime
    #: naive UTC: the clock of RS_UTC_DT
    now_utc: datetime
    item_nos: tuple[str, ...]
    #: IS_ECOMM_ITEM='Y' and STAT='A': exactly the items that should be Magento products
    ecommerce_item_nos: tuple[str, ...]
    #: IS_ECOMM_ITEM='N'
    non_ecommerce_item_nos: tuple[str, ...]
    #: STAT<>'A'; some of them have IS_ECOMM_ITEM='Y'
    inactive_item_nos: tuple[str, ...]
    #: TRK_METH='G', e-commerce or not
    grid_item_nos: tuple[str, ...]
    null_rs_utc_dt_item_nos: tuple[str, ...]
    unicode_item_nos: tuple[str, ...]
    #: the only two items sharing a DESCR
    duplicate_descr_item_nos: tuple[str, ...]
    location_ids: tuple[str, ...]
    #: EC_CTL.STR_ID, whose PS_STR_CFG_PS row names it as STK_LOC_ID and PRC_LOC_ID
    web_location: str
    #: readable key ("MUGS", "SEASONAL"...; see sample.tables.CATEGORY_TREE) -> CATEG_ID
    category_ids: dict[str, str]
    #: ITEM_NO -> its files in image_dir (ECOMM_IMG_FILE included), for items with images
    image_files: dict[str, tuple[str, ...]]
    special: dict[str, str]
    #: where the generator had to bend a case, e.g. the later-today promotion clamped to 23:00
    notes: tuple[str, ...] = ()

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the sample database."""
        return f"sqlite:///{self.db_path}"

    def clock(self) -> Callable[[], datetime]:
        """A clock that starts at the sample's `now` and ticks with real time.

        Give it to the Runtime under test, so watermarks, versions and promotion dates follow
        the sample's time and no test depends on the date it runs.
        """
        return self.clock_at(self.now_utc)

    @staticmethod
    def clock_at(now: datetime) -> Callable[[], datetime]:
        """A clock that starts at `now` (naive means UTC) and ticks with real time."""
        start = now if now.tzinfo else now.replace(tzinfo=UTC)
        started = time.monotonic()
        return lambda: start + timedelta(seconds=time.monotonic() - started)


def generate(
    out_dir: Path, items: int = 200, seed: int = 7, now: datetime | None = None
) -> SampleInfo:
    """Write `out_dir/counterpoint.db` and `out_dir/ItemImages/`, replacing earlier output.

    `now` may be aware (any zone) or naive (taken as UTC, like RS_UTC_DT); it defaults to the
    current time and is truncated to whole seconds. `items` is the exact IM_ITEM row count and
    must be at least MIN_ITEMS.
    """
    if items < MIN_ITEMS:
        raise ValueError(f"items must be at least {MIN_ITEMS} to hold every awkward case")
    clock = Clock.at(now)
    out_dir = Path(out_dir)
    db_path, image_dir = out_dir / DB_NAME, out_dir / IMAGE_DIR_NAME
    _clear(db_path, image_dir)

    specs = item_specs(items, clock, stream(seed, "items"))
    special = {spec.role: spec.item_no for spec in specs if spec.role}
    categ_ids, categ_rows = tables.categories(clock, stream(seed, "categories"))
    promo_rows, promo_note = promotion_rows(clock, special)
    _write_database(
        db_path,
        [
            tables.control_rows(clock),
            ((schema.EC_CATEG, row) for row in categ_rows),
            tables.item_rows(specs, clock, stream(seed, "item-rows")),
            tables.item_descr_rows(specs, clock, stream(seed, "descr")),
            tables.category_item_rows(specs, categ_ids, clock, stream(seed, "categ-items")),
            tables.grid_rows(specs),
            tables.barcode_rows(specs),
            tables.inventory_rows(specs, clock, stream(seed, "inventory")),
            tables.price_rows(specs, clock, stream(seed, "prices")),
            promo_rows,
        ],
    )
    image_files, image_special = write_item_images(image_dir, specs, clock, seed)

    special |= GROUP_KEYS | image_special
    special |= {
        "promo_categ_cod": "MUGS",
        "root_category": categ_ids["ROOT"],
        "empty_category": categ_ids["SEASONAL"],  # top-level branch, no items anywhere below
        "empty_leaf_category": categ_ids["ORNAMENTS"],
        "mid_category": categ_ids["COOKWARE"],  # has children and items of its own
    }
    descr_count = Counter(spec.descr for spec in specs)

    def nos(keep: Callable[[ItemSpec], bool]) -> tuple[str, ...]:
        return tuple(spec.item_no for spec in specs if keep(spec))

    return SampleInfo(
        db_path=db_path,
        image_dir=image_dir,
        seed=seed,
        items=items,
        now_local=clock.local,
        now_utc=clock.utc,
        item_nos=nos(lambda s: True),
        ecommerce_item_nos=nos(lambda s: s.is_product),
        non_ecommerce_item_nos=nos(lambda s: not s.is_ecomm),
        inactive_item_nos=nos(lambda s: s.stat != "A"),
        grid_item_nos=nos(lambda s: bool(s.dims)),
        null_rs_utc_dt_item_nos=nos(lambda s: s.maint[1] is None),
        unicode_item_nos=nos(lambda s: not s.descr.isascii()),
        duplicate_descr_item_nos=nos(lambda s: descr_count[s.descr] > 1),
        location_ids=LOCATIONS,
        web_location=WEB_LOCATION,
        category_ids=categ_ids,
        image_files=image_files,
        special=special,
        notes=(promo_note,) if promo_note else (),
    )


def _clear(db_path: Path, image_dir: Path) -> None:
    """Remove only what a previous run wrote, so reruns cannot leave stale rows or images."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (db_path, db_path.with_name(db_path.name + "-journal")):
        stale.unlink(missing_ok=True)
    if image_dir.exists():
        shutil.rmtree(image_dir)
    image_dir.mkdir()


class _Writer:
    """Buffers rows per table and inserts them _BATCH at a time: fast, with bounded memory."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.buffers: dict[Table, list[Row]] = defaultdict(list)

    def add(self, table: Table, row: Row) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= _BATCH:
            self.flush(table)

    def flush(self, table: Table) -> None:
        if self.buffers[table]:
            self.conn.execute(table.insert(), self.buffers[table])
            self.buffers[table] = []

    def flush_all(self) -> None:
        for table in list(self.buffers):
            self.flush(table)


def _sample_metadata() -> MetaData:
    """cpsync's table definitions, with the padded codes compared as SQL Server does."""
    copy = MetaData()
    for table in schema.metadata.sorted_tables:
        created = table.to_metadata(copy)
        for table_name, column_name in tables.PADDED:
            if table_name == table.name:
                column = created.c[column_name]
                column.type = String(getattr(column.type, "length", None), collation="RTRIM")
    return copy


def _write_database(db_path: Path, sources: Iterable[Iterable[tuple[Table, Row]]]) -> None:
    """Create the tables, then insert everything in one transaction with batched executemany.

    Journaling and fsync are relaxed because the file is disposable and rebuilt from scratch.
    """
    engine = create_engine(f"sqlite:///{db_path}")
    # Render executemany as multi-row INSERT ... VALUES pages (SQLAlchemy's "insertmanyvalues",
    # on by default for SQL Server and psycopg2): about a third less time than plain executemany.
    engine.dialect.use_insertmanyvalues_wo_returning = True

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    try:
        _sample_metadata().create_all(engine)
        with engine.begin() as conn:
            writer = _Writer(conn)
            for source in sources:
                for table, row in source:
                    writer.add(table, row)
            writer.flush_all()
    finally:
        engine.dispose()
