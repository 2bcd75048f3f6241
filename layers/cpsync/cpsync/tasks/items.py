"""The Items task: item details as Magento products, simple or configurable (grid items).

Status is enabled only while the item is an e-commerce item (`IS_ECOMM_ITEM = 'Y'`) and
active (`STAT = 'A'`); an item that leaves e-commerce, or is deleted, becomes disabled and is
never deleted. A product new to Magento goes up complete, with its Price-1 and its stock, and
with its images: when Image Changes has not seen a new item's files yet, this task looks them
up for that item before queueing it (where the image folder can be read).

A grid item (`TRK_METH = 'G'`) becomes a configurable parent (SKU = item number) with one
simple child per cell (`cpsync.skus.child_sku`), one configurable option per dimension (the
dimension tag, mapped to a Magento dropdown attribute), children not visible on their own.

A product never sent also carries the price and stock records the Price Changes and Inventory
tasks would send for it (built by those tasks' own code for just these items), so its create
applies them and those tasks find them already sent.
The cells are those IM_INV_CELL has rows for (at CPSYNC_GRID_CELLS_LOCATION when set); each
child's stock is its cell's quantity over the counted locations, and its price the item's
Price-1 (Counterpoint's cell prices are in no table docs/reference/counterpoint.md lists).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from cpsync.counterpoint import needs
from cpsync.counterpoint.categories import categories_of_items
from cpsync.counterpoint.columns import Need
from cpsync.counterpoint.queries import (
    MAX_IN_LIST,
    grid_cells,
    grid_values,
    item_rows,
    price_1,
    quantities,
)
from cpsync.errors import ConfigurationError, DataError
from cpsync.magento.configurable import GRID_DOC_KIND
from cpsync.model import (
    ConfigurableState,
    Desired,
    GridChild,
    GridOption,
    Kind,
    PriceState,
    ProductState,
    StockState,
)
from cpsync.skus import UNUSED_DIMENSION, child_sku, record_key
from cpsync.tasks import TASKS
from cpsync.tasks._sanity import sanity_warnings
from cpsync.tasks.base import Task, Window
from cpsync.tasks.categories import CategoryTree, linkable, load_category_tree
from cpsync.tasks.image_changes import DESIRED_DOC, ImageChangesTask

__all__ = ["ItemsTask", "attribute_code_for", "url_key_for"]


logger = logging.getLogger(__name__)
D = TypeVar("D", bound=Desired)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def url_key_for(name: str, sku: str, url: str | None = None) -> str:
    """A url_key unique per SKU: Magento refuses a second product with the same url_key.

    Counterpoint's `URL` column wins when set. Otherwise name and SKU are combined; when the
    SKU's slug loses characters (`MUG/12` and `MUG 12` both give `mug-12`), a short hash of
    the SKU keeps the keys apart.
    """
    if url and _slug(url):
        return _slug(url)
    sku_slug = _slug(sku) or "item"
    key = f"{_slug(name)}-{sku_slug}".strip("-")
    if sku_slug != sku.lower():
        key += "-" + hashlib.sha1(sku.encode()).hexdigest()[:6]
    return key


def attribute_code_for(tag: str, mapping: dict[str, str]) -> str:
    """The Magento attribute of a grid dimension tag: mapped (any case), else the tag's slug."""
    for name, code in mapping.items():
        if name.strip().lower() == tag.strip().lower():
            return code
    return _slug(tag).replace("-", "_")


def _records_of(task: Task, keys: Sequence[str], model: type[D]) -> dict[str, D]:
    """The records `task` would send for these keys, by key.

    Those that do not build are left out (the task's own run reports them), and so is
    everything when it cannot read.
    """
    if not keys:
        return {}
    found: dict[str, D] = {}
    try:
        rows = list(task.rows(None, keys))
        for start in range(0, len(rows), task.batch_size):
            batch = rows[start : start + task.batch_size]
            extra = task.enrich(batch)
            for row in batch:
                try:
                    record = task.build(row, extra)
                except Exception:  # reported by the task's own run
                    continue
                if isinstance(record, model):
                    found[record.key()] = record
    except Exception as exc:  # the tasks then send price and stock after the create
        logger.warning("items: %s records of new items not read (%s)", task.name, exc)
        return {}
    return found


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _local_to_utc(value: datetime | None, zone: Any) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Grid:
    """Dimensions and cells of one grid item."""

    #: per dimension (1..3): [(display value, upper-case key)] in Counterpoint's order
    values: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    #: (DIM_1_UPR, DIM_2_UPR, DIM_3_UPR) -> quantity
    cells: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    changed: datetime | None = None


@dataclass(frozen=True)
class _Extras:
    prices: dict[str, Decimal | None]
    quantities: dict[str, Decimal]
    grids: dict[str, _Grid]
    # Counterpoint CATEG_IDs of e-commerce items, for products created complete.
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # For items never sent: the Price Changes and Inventory tasks' records, by SKU.
    price_records: dict[str, PriceState] = field(default_factory=dict)
    stock_records: dict[str, StockState] = field(default_factory=dict)


def _is_grid(row: Any) -> bool:
    return _code(row.TRK_METH) == "G"


def _code(value: object) -> str:
    """A code without the spaces a CHAR column pads it with."""
    return "" if value is None else str(value).strip()


class ItemsTask(Task):
    """Items -> Magento simple products, and grid items -> configurable products."""

    name: ClassVar[str] = "items"
    title: ClassVar[str] = "Items"
    kind: ClassVar[Kind] = "product"
    schedule: ClassVar[str] = "rate(10 minutes)"
    owns_skus: ClassVar[bool] = True
    needs: ClassVar[tuple[Need, ...]] = (
        *needs.WEB_ITEM,
        *needs.ITEM_CHANGES,
        *needs.ITEM_FIELDS,
        *needs.PRICE_1,
        *needs.STOCK,
        *needs.GRID_CELLS,
        *needs.GRID_VALUES,
        *needs.CATEGORY_LINKS,
        *needs.CATEGORY_TREE,
        *needs.IMAGE_ITEMS,
    )
    _images_unreadable: bool = False
    _tree: CategoryTree | None = None  # EC_CATEG, read once per run

    def full_every(self) -> timedelta:
        """Deleted items and edits a stamp hides are found by a periodic full read."""
        return timedelta(minutes=self.settings.items_full_every_minutes)

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[Any]:
        """IM_ITEM rows changed in `window`, all (None), or those of `keys` in chunks."""
        self._images_unreadable = False  # tried again at every run
        self._tree = None
        if keys is not None:
            for start in range(0, len(keys), MAX_IN_LIST):
                yield from self._query(None, keys[start : start + MAX_IN_LIST])
            return
        yield from self._query(window, None)

    def _query(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[Any]:
        stmt = item_rows(
            since_utc=window.since_utc if window else None,
            since_local=window.since_local if window else None,
            keys=keys,
            catalog=self.catalog,
        )
        with self.ctx.counterpoint.connect() as conn:
            yield from conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)

    def key_of(self, row: Any) -> str:
        """The item number, as a SKU."""
        return record_key(row.ITEM_NO)

    # --- what a batch needs besides its rows ---------------------------------------------
    def enrich(self, rows: Sequence[Any]) -> _Extras:
        """Prices, quantities, grids and category links of a batch.

        For items never sent, also the price and stock records their create will carry,
        and their image files.
        """
        selling = [r.ITEM_NO for r in rows if r.IS_ECOMM_ITEM == "Y"]
        simple = [r.ITEM_NO for r in rows if r.IS_ECOMM_ITEM == "Y" and not _is_grid(r)]
        grid_nos = [r.ITEM_NO for r in rows if _is_grid(r)]
        location = self.settings.price_location
        prices: dict[str, Decimal | None] = {}
        qty: dict[str, Decimal] = {}
        grids: dict[str, _Grid] = {}
        categories: dict[str, tuple[str, ...]] = {}
        tree: CategoryTree | None = None
        with self.ctx.counterpoint.connect() as conn:
            if selling:
                for row in conn.execute(price_1(selling, location)):
                    at_location = location is not None and location.strip() == _code(row.LOC_ID)
                    if at_location or record_key(row.ITEM_NO) not in prices:
                        prices[record_key(row.ITEM_NO)] = row.PRC_1
            if simple:
                stmt = quantities(
                    simple, self.settings.stock_locations, self.settings.stock_quantity
                )
                qty = {record_key(r.ITEM_NO): Decimal(str(r.QTY or 0)) for r in conn.execute(stmt)}
            if selling:
                categories = categories_of_items(conn, selling)
                tree = self._category_tree(conn)
            if grid_nos:
                grids = self._grids(conn, grid_nos)
        for row in rows:
            if prices.get(self.key_of(row)) is None:
                prices[self.key_of(row)] = row.PRC_1
        new = self._new_items([self.key_of(r) for r in rows if r.IS_ECOMM_ITEM == "Y"])
        self._find_images_of_new_items(new)
        linked = {
            record_key(item_no): tuple(linkable(self, record_key(item_no), ids, tree))
            for item_no, ids in categories.items()
        }
        price_records = _records_of(self._companion("prices"), new, PriceState)
        stock_records = _records_of(self._companion("inventory"), new, StockState)
        return _Extras(prices, qty, grids, linked, price_records, stock_records)

    def _new_items(self, item_nos: list[str]) -> list[str]:
        """The item numbers never sent (one state read per batch)."""
        item_nos = [n for n in item_nos if n]
        sent = self.ctx.state.get_sent(self.kind, item_nos) if item_nos else {}
        return [n for n in item_nos if n not in sent]

    def _companion(self, name: str) -> Task:
        """The Price Changes or Inventory task, reading with this run's columns."""
        task = TASKS[name](self.ctx)
        task.catalog = self.catalog
        return task

    def _category_tree(self, conn: Any) -> CategoryTree:
        if self._tree is None:
            self._tree = load_category_tree(conn, self.catalog)
        return self._tree

    def _find_images_of_new_items(self, new: list[str]) -> None:
        """Look up the image files of items never sent whose gallery is not known yet.

        So the product writer creates the product with them.
        """
        state = self.ctx.state
        claims = self.claims
        new = [n for n in new if claims is None or claims.clash(n) is None]
        known = state.get_docs(DESIRED_DOC, new) if new else {}
        unknown = [n for n in new if n not in known]
        if not unknown or self._images_unreadable:
            return
        finder = ImageChangesTask(self.ctx)
        finder.use_claims(claims)
        finder.use_catalog(self.catalog)
        try:
            finder.run(keys=unknown)  # its run log names any bad file
        except ConfigurationError as exc:
            self._images_unreadable = True  # one warning per run, not one per batch
            logger.warning(
                "items: the images of new items are not looked up in this run (%s); "
                "Image Changes brings them",
                exc,
            )

    def _grids(self, conn: Any, item_nos: list[str]) -> dict[str, _Grid]:
        grids: dict[str, _Grid] = defaultdict(_Grid)
        ordered: dict[tuple[str, int], list[tuple[int, str, str]]] = defaultdict(list)
        for row in conn.execute(grid_values(item_nos)):
            value, upper = _text(row.VALUE), _text(row.VALUE_UPR)
            if upper is None:
                continue
            ordered[(record_key(row.ITEM_NO), int(row.DIM))].append(
                (row.SEQ_NO or 0, value or upper, upper)
            )
        for (item_no, dim), values in ordered.items():
            grids[item_no].values[dim] = [(v, u) for _, v, u in sorted(values)]
        stmt = grid_cells(
            item_nos,
            self.settings.stock_locations,
            self.settings.stock_quantity,
            self.settings.grid_cells_location,
            self.catalog,
        )
        for row in conn.execute(stmt):
            grid = grids[record_key(row.ITEM_NO)]
            cell = tuple(
                str(d or UNUSED_DIMENSION).strip()
                for d in (row.DIM_1_UPR, row.DIM_2_UPR, row.DIM_3_UPR)
            )
            grid.cells[(cell[0], cell[1], cell[2])] = Decimal(str(row.QTY or 0))
            if row.CHANGED is not None and (grid.changed is None or row.CHANGED > grid.changed):
                grid.changed = row.CHANGED
        return dict(grids)

    # --- building desired states ---------------------------------------------------------
    def build(self, row: Any, extra: _Extras) -> Desired:
        """A simple product, a configurable product for a grid item, or a disabled one.

        Raises:
            DataError: The item cannot become a valid product; the message names the column.
        """
        if _is_grid(row):
            return self._build_grid(row, extra)
        sku = self.key_of(row)
        if row.IS_ECOMM_ITEM != "Y":
            return ProductState.disabled(sku)
        common = self._common(row, extra)
        return ProductState(
            sku=sku,
            **common,
            price=self._price(row, extra),
            qty=extra.quantities.get(self.key_of(row), Decimal(0)),
            category_ids=extra.categories.get(sku, ()),
            price_record=extra.price_records.get(sku),
            stock_record=extra.stock_records.get(sku),
        )

    def _common(self, row: Any, extra: _Extras) -> dict[str, Any]:
        """The fields simple and configurable products share, checked."""
        sku = self.key_of(row)
        name = _text(row.DESCR)
        if name is None:
            raise DataError("DESCR is empty, and Magento needs a product name")
        weight = row.WEIGHT
        if weight is not None and Decimal(str(weight)) < 0:
            raise DataError(f"WEIGHT is negative ({weight})")
        for warning in sanity_warnings(
            self.settings, name, weight, extra.prices.get(self.key_of(row))
        ):
            self.report(sku, f"product {sku}: {warning}", "warning")
        taxable = row.IS_TXBL != "N"
        return {
            "enabled": row.STAT == "A",
            "name": name,
            "description": row.HTML_DESCR or _text(row.LONG_DESCR) or "",
            "short_description": _text(row.SHORT_DESCR) or "",
            "weight": None if weight is None else Decimal(str(weight)),
            "url_key": url_key_for(name, sku, _text(row.URL)),
            "tax_class_id": (
                self.settings.magento_tax_class_id
                if taxable
                else self.settings.magento_nontaxable_tax_class_id
            ),
        }

    @staticmethod
    def _price(row: Any, extra: _Extras) -> Decimal:
        price = extra.prices.get(record_key(row.ITEM_NO))
        if price is None:
            raise DataError("Price-1 is NULL (IM_PRC and IM_ITEM.PRC_1)")
        if Decimal(str(price)) < 0:
            raise DataError(f"Price-1 is negative ({price})")
        return Decimal(str(price))

    def _child_sku(self, item_no: str, cell: tuple[str, str, str]) -> str:
        return child_sku(item_no, cell, self.settings.grid_sku_separator)

    def _build_grid(self, row: Any, extra: _Extras) -> ConfigurableState:
        sku = self.key_of(row)
        grid = extra.grids.get(self.key_of(row), _Grid())
        if row.IS_ECOMM_ITEM != "Y":
            return ConfigurableState.disabled(sku, self._known_children(sku, grid))
        common = self._common(row, extra)
        price = self._price(row, extra)
        tags = [_text(t) for t in (row.GRID_DIM_1_TAG, row.GRID_DIM_2_TAG, row.GRID_DIM_3_TAG)]
        if not grid.cells:
            raise DataError("grid item without cells (no IM_INV_CELL rows)")
        used = [d for d in (1, 2, 3) if any(c[d - 1] != UNUSED_DIMENSION for c in grid.cells)]
        options: list[GridOption] = []
        labels: dict[int, dict[str, str]] = {}
        for dim in used:
            tag = tags[dim - 1]
            if tag is None:
                raise DataError(f"GRID_DIM_{dim}_TAG is empty, and dimension {dim} is used")
            labels[dim] = {u: v for v, u in grid.values.get(dim, [])}
            in_cells = {c[dim - 1] for c in grid.cells}
            # Values in the dimension table first (their order), then any only the cells know.
            ordered = [u for _, u in grid.values.get(dim, []) if u in in_cells]
            ordered += sorted(in_cells - set(ordered))
            code = attribute_code_for(tag, self.settings.grid_attributes)
            options.append(
                GridOption(code=code, label=tag, values=[labels[dim].get(u, u) for u in ordered])
            )
        children = []
        for cell, qty in sorted(grid.cells.items()):
            child = self._child_sku(sku, cell)
            shown = [labels[d].get(cell[d - 1], cell[d - 1]) for d in used]
            child_name = f"{common['name']} - {' / '.join(shown)}"
            children.append(
                GridChild(
                    sku=child,
                    enabled=common["enabled"],
                    name=child_name,
                    url_key=url_key_for(child_name, child),
                    weight=common["weight"],
                    attributes={o.code: shown[i] for i, o in enumerate(options)},
                    price=price,
                    qty=qty,
                    price_record=extra.price_records.get(child),
                    stock_record=extra.stock_records.get(child),
                )
            )
        return ConfigurableState(
            sku=sku,
            options=options,
            children=children,
            category_ids=extra.categories.get(sku, ()),
            **common,
        )

    def _known_children(self, sku: str, grid: _Grid) -> list[str]:
        """Child SKUs to disable: the current cells (valid SKUs only) and those linked before."""
        skus = []
        for cell in sorted(grid.cells):
            try:
                skus.append(self._child_sku(sku, cell))
            except DataError:
                continue  # never created: nothing to disable
        doc = self.ctx.state.get_docs(GRID_DOC_KIND, [sku]).get(sku, {})
        skus += [s for s in doc.get("children", {}) if s not in skus]
        return skus

    def changed_at(self, row: Any, extra: _Extras) -> datetime | None:
        """The newest of the item's stamps: RS_UTC_DT, the local stamps, its grid cells."""
        zone = self.settings.zone
        stamps = [
            row.RS_UTC_DT,
            _local_to_utc(row.LST_MAINT_DT, zone) if row.RS_UTC_DT is None else None,
            _local_to_utc(row.DESCR_LST_MAINT_DT, zone),
        ]
        grid = extra.grids.get(self.key_of(row))
        if grid is not None:
            stamps.append(grid.changed)
        known = [s for s in stamps if isinstance(s, datetime)]
        return max(known) if known else None

    def gone(self, key: str) -> Desired:
        """An item deleted in Counterpoint: its product (and a grid's children) disabled."""
        doc = self.ctx.state.get_docs(GRID_DOC_KIND, [key]).get(key)
        if doc is not None:
            return ConfigurableState.disabled(key, list(doc.get("children", {})))
        return ProductState.disabled(key)
