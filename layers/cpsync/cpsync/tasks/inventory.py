"""The Inventory task: quantity per SKU (grid cells included) from IM_INV / IM_INV_CELL.

Settings decide which locations count (`stock_locations`: empty = all), which quantity
(`stock_quantity`: available = on hand - committed, or on hand), the out-of-stock threshold,
and whether each location is its own MSI source or all add up into one.

It runs every 10 minutes, so a run reads only what changed: the item numbers whose IM_INV,
IM_INV_CELL or IM_ITEM rows moved since the watermark (indexed RS_UTC_DT), then the stock rows
of just those items. Every `stock_full_every_runs`-th run reads everything instead
(reconciliation: a row whose stamps did not move, a missed window); unchanged records are
still filtered by fingerprint, so a reconciliation sends only what really differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any, ClassVar

from cpsync.counterpoint import needs
from cpsync.counterpoint.columns import Need, required
from cpsync.counterpoint.queries import MAX_IN_LIST
from cpsync.counterpoint.stock_queries import (
    cell_quantity_rows,
    changed_stock_items,
    location_ids,
    quantity_rows,
)
from cpsync.errors import DataError
from cpsync.model import Kind, SourceQuantity, StockState
from cpsync.skus import child_sku, record_key
from cpsync.tasks._published import published_only
from cpsync.tasks.base import Task, Window

__all__ = ["InventoryTask", "StockRow", "source_code_for"]

_NOT_IN_CODE = re.compile(r"[^A-Za-z0-9_-]")


def source_code_for(location: str) -> str:
    """The MSI source code of a Counterpoint location (MSI allows letters, digits, - and _)."""
    return _NOT_IN_CODE.sub("_", location.strip()) or "_"


@dataclass
class StockRow:
    """One SKU's quantities by location, as read (before the settings shape them)."""

    item_no: str
    sku: str
    by_location: dict[str, Decimal] = field(default_factory=dict)
    error: str | None = None  # the cell's SKU could not be built


def _code(value: Any) -> str:
    """A location or dimension code without the spaces a CHAR column pads it with."""
    return "" if value is None else str(value).strip()


def _quantity(row: Any, which: str) -> Decimal:
    on_hand = Decimal(str(row.QTY_ON_HND or 0))
    if which == "on_hand":
        return on_hand
    return on_hand - Decimal(str(row.QTY_COMMIT or 0))


class InventoryTask(Task):
    """IM_INV / IM_INV_CELL -> MSI source items (or legacy stock items) per SKU."""

    name: ClassVar[str] = "inventory"
    title: ClassVar[str] = "Inventory"
    kind: ClassVar[Kind] = "stock"
    schedule: ClassVar[str] = "rate(10 minutes)"
    needs: ClassVar[tuple[Need, ...]] = (
        *needs.WEB_ITEM,
        *needs.ITEM_CHANGES,
        *needs.STOCK,
        *needs.GRID_CELLS,
        *required("IM_LOC", "LOC_ID"),
    )

    # --- reading -----------------------------------------------------------------------
    # Per-location sources: every counted location, so a location whose row went away is
    # sent as 0 rather than left at its old quantity in Magento.
    _locations: tuple[str, ...] = ()

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[StockRow]:
        """One row per SKU (grid cells as their child SKUs): changed in `window`, all, or `keys`.

        Every Nth changed run reads everything (`stock_full_every_runs`); with
        `sync_published_products_only`, only SKUs with a published product.
        """
        self._locations = tuple(loc.strip() for loc in self.settings.stock_locations)
        if not self._locations and self.settings.stock_sources == "per_location":
            with self.ctx.counterpoint.connect() as conn:
                self._locations = tuple(_code(r.LOC_ID) for r in conn.execute(location_ids()))
        rows = self._rows(window, keys)
        if keys is None and self.settings.sync_published_products_only:
            rows = published_only(
                rows, lambda r: r.sku, self.ctx.state, item_of=lambda r: r.item_no
            )
        yield from rows

    def _rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[StockRow]:
        if keys is not None:
            items = sorted({k.split(self.settings.grid_sku_separator)[0] for k in keys})
            wanted = set(keys)
            for row in self._chunks(items):
                if row.sku in wanted or row.item_no in wanted:
                    yield row
            return
        if window is None or self._reconcile_now():
            yield from self._read(None)
            return
        with self.ctx.counterpoint.connect() as conn:
            stmt = changed_stock_items(window.since_utc, window.since_local, self.catalog)
            changed = [str(r.ITEM_NO) for r in conn.execute(stmt)]
        yield from self._chunks(changed)

    def _reconcile_now(self) -> bool:
        """Count incremental runs; every Nth one reads everything."""
        doc = self.ctx.state.get_docs("task_runs", [self.name]).get(self.name, {})
        runs = int(doc.get("incremental", 0)) + 1
        self.ctx.state.put_docs("task_runs", {self.name: {"incremental": runs}})
        return runs % self.settings.stock_full_every_runs == 0

    def _chunks(self, item_nos: Sequence[str]) -> Iterator[StockRow]:
        for start in range(0, len(item_nos), MAX_IN_LIST):
            yield from self._read(item_nos[start : start + MAX_IN_LIST])

    def _read(self, item_nos: Sequence[str] | None) -> Iterator[StockRow]:
        """Stream the stock rows (all, or of `item_nos`), grouped into one StockRow per SKU."""
        locations, which = self.settings.stock_locations, self.settings.stock_quantity
        with self.ctx.counterpoint.connect() as conn:
            options = conn.execution_options(stream_results=True, yield_per=2000)
            plain = options.execute(quantity_rows(item_nos, locations))
            for item_no, rows in groupby(plain, key=lambda r: record_key(r.ITEM_NO)):
                yield StockRow(
                    item_no, item_no, {_code(r.LOC_ID): _quantity(r, which) for r in rows}
                )
            stmt = cell_quantity_rows(item_nos, locations, self.settings.grid_cells_location)
            cells = options.execute(stmt)

            def cell_of(r: Any) -> tuple[str, str, str, str]:
                dims = (_code(r.DIM_1_UPR), _code(r.DIM_2_UPR), _code(r.DIM_3_UPR))
                return (record_key(r.ITEM_NO), *dims)

            separator = self.settings.grid_sku_separator
            for (item_no, *dims), rows in groupby(cells, key=cell_of):
                quantities = {_code(r.LOC_ID): _quantity(r, which) for r in rows}
                try:
                    yield StockRow(item_no, child_sku(item_no, dims, separator), quantities)
                except DataError as exc:
                    sku = separator.join([item_no, *[d for d in dims if d and d != "*"]])
                    yield StockRow(item_no, sku, quantities, error=str(exc))

    # --- building ----------------------------------------------------------------------
    def key_of(self, row: StockRow) -> str:
        """The SKU: the item number, or a grid child's SKU."""
        return row.sku

    def build(self, row: StockRow, extra: Any) -> StockState:
        """The SKU's quantities per Magento source, in stock above the threshold.

        Per location, every counted location is sent (0 where its row went away); otherwise
        one source with the total.

        Raises:
            DataError: The grid cell's SKU could not be built.
        """
        if row.error is not None:
            raise DataError(row.error)
        threshold = Decimal(str(self.settings.stock_out_of_stock_threshold))
        if self.settings.stock_sources == "per_location":
            quantities = dict.fromkeys(self._locations, Decimal(0)) | row.by_location
            sources = tuple(
                SourceQuantity(
                    source_code=source_code_for(loc), quantity=qty, in_stock=qty > threshold
                )
                for loc, qty in sorted(quantities.items())
            )
        else:
            total = sum(row.by_location.values(), Decimal(0))
            sources = (
                SourceQuantity(
                    source_code=self.settings.stock_source_code,
                    quantity=total,
                    in_stock=total > threshold,
                ),
            )
        return StockState(sku=row.sku, sources=sources)
