"""The Price Changes task: regular price (Price-1) and promotional price per SKU.

Regular price: Price-1 of the IM_PRC row of `price_location` when set and present, else of the
`'*'` row, else IM_ITEM.PRC_1. Promotional price: Counterpoint's rules (see
`cpsync.counterpoint.pricing`), sent as Magento's special price with its window.

Going beyond today's price: a promotion that starts (or a price change that comes from a
promotion ending) within `price_promo_horizon_days` is sent ahead with `price_from` /
`price_to`, so a promotion beginning at 06:00 is right at 06:00 without a run at 06:00.

Every run reads every web item: a promotion starts or ends with nothing moving in the
database, so only a snapshot sees it. Fingerprints keep unchanged prices from being sent. Grid
items: every cell (child SKU, from IM_INV_CELL) gets the item's prices.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from cpsync.counterpoint.pricing import (
    Break,
    FilterError,
    Group,
    PriceMethods,
    Rule,
    compile_filter,
    special_window,
)
from cpsync.counterpoint.queries import MAX_IN_LIST
from cpsync.counterpoint.schema import IM_ITEM
from cpsync.counterpoint.stock_queries import (
    PRICE_LEVELS,
    grid_cells,
    price_groups,
    price_item_rows,
    price_rule_breaks,
    price_rules,
)
from cpsync.errors import DataError
from cpsync.model import Kind, PriceState, SpecialPrice
from cpsync.skus import child_sku, record_key
from cpsync.tasks._published import published_only
from cpsync.tasks.base import Task, Window

__all__ = ["PriceRow", "PricesTask", "load_groups"]

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceRow:
    """One SKU to price: the item's IM_ITEM row (by column name) and its basis prices."""

    sku: str
    item: Mapping[str, Any]
    basis: Mapping[str, Decimal | None]
    error: str | None = None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_groups(conn: Any) -> list[Group]:
    """Promotional groups with their rules and breaks, in Counterpoint's order (small tables)."""
    columns = [c.name for c in IM_ITEM.c]
    breaks: dict[tuple[str, int], list[Break]] = {}
    for b in conn.execute(price_rule_breaks()):
        breaks.setdefault((b.GRP_COD, int(b.RUL_SEQ_NO)), []).append(
            Break(
                min_qty=Decimal(str(b.MIN_QTY or 0)),
                method=str(b.PRC_METH or "").strip(),
                basis=str(b.PRC_BASIS or "1").strip(),
                amount=Decimal(str(b.AMT_OR_PCT or 0)),
            )
        )
    rules: dict[str, list[Rule]] = {}
    for r in conn.execute(price_rules()):
        seq = int(r.RUL_SEQ_NO)
        try:
            matches, error = compile_filter(r.ITEM_FILT, columns), None
        except FilterError as exc:
            matches, error = (lambda row: False), f"ITEM_FILT {r.ITEM_FILT!r}: {exc}"
            logger.warning(
                "price rule %s/%s is skipped: %s; fix the rule's item filter in Counterpoint",
                r.GRP_COD,
                seq,
                error,
            )
        rules.setdefault(r.GRP_COD, []).append(
            Rule(
                seq=seq,
                matches=matches,
                breaks=tuple(breaks.get((r.GRP_COD, seq), ())),
                customer_filter=bool((r.CUST_FILT or "").strip()),
                error=error,
                min_qty=Decimal(str(r.MIN_QTY or 0)),
            )
        )
    groups = []
    for g in conn.execute(price_groups()):
        begin, end = Group.window(
            g.NO_BEG_DAT, g.BEG_DT, g.BEG_DAT, g.NO_END_DAT, g.END_DT, g.END_DAT
        )
        groups.append(
            Group(
                code=g.GRP_COD,
                seq=int(g.GRP_SEQ_NO or 0),
                begin=begin,
                end=end,
                enabled=g.ENABLED == "Y",
                rules=tuple(sorted(rules.get(g.GRP_COD, []), key=lambda r: r.seq)),
                customer_filter=bool((g.CUST_FILT or "").strip()),
            )
        )
    return groups


class PricesTask(Task):
    """IM_PRC and promotions -> Magento base price and special price per SKU."""

    name: ClassVar[str] = "prices"
    title: ClassVar[str] = "Price Changes"
    kind: ClassVar[Kind] = "price"
    schedule: ClassVar[str] = "cron(0 1 * * ? *)"
    _groups: Sequence[Group] = ()  # loaded at the start of each run

    # --- reading -----------------------------------------------------------------------
    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[PriceRow]:
        """Every web item, always: promotions change prices without any row moving."""
        location = self.settings.price_location
        with self.ctx.counterpoint.connect() as conn:
            self._groups = load_groups(conn)
        if keys is None:
            rows = self._stream(price_item_rows(location))
            if self.settings.sync_published_products_only:
                rows = published_only(
                    rows,
                    lambda r: r.sku,
                    self.ctx.state,
                    item_of=lambda r: record_key(r.item["ITEM_NO"]),
                )
            yield from rows
            return
        separator = self.settings.grid_sku_separator
        items = sorted({k.split(separator)[0] for k in keys})
        wanted = set(keys)
        for start in range(0, len(items), MAX_IN_LIST):
            for row in self._stream(price_item_rows(location, items[start : start + MAX_IN_LIST])):
                if row.sku in wanted or row.sku.split(separator)[0] in wanted:
                    yield row

    def _stream(self, stmt: Any) -> Iterator[PriceRow]:
        """Item rows in batches; the cells of a batch's grid items in one query beside it."""
        with self.ctx.counterpoint.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
            while batch := result.fetchmany(MAX_IN_LIST):
                yield from self._priced(batch)

    def _priced(self, batch: Sequence[Any]) -> Iterator[PriceRow]:
        located = self.settings.price_location is not None
        grids = [str(r.ITEM_NO) for r in batch if r.TRK_METH == "G"]
        cells = self._cells(grids) if grids else {}
        for row in batch:
            data = dict(row._mapping)
            use_loc = located and any(data.get(f"LOC_{n}") is not None for n in PRICE_LEVELS)
            prefix = "LOC_" if use_loc else "ALL_"
            basis = {n[-1]: _decimal(data.get(f"{prefix}{n}")) for n in PRICE_LEVELS}
            if basis["1"] is None:
                basis["1"] = _decimal(data.get("PRC_1"))
            item = {c.name: data.get(c.name) for c in IM_ITEM.c}
            item_no = record_key(item["ITEM_NO"])
            if item.get("TRK_METH") != "G":
                yield PriceRow(item_no, item, basis)
                continue
            for sku, error in cells.get(item_no, []):
                yield PriceRow(sku, item, basis, error)

    def _cells(self, item_nos: Sequence[str]) -> dict[str, list[tuple[str, str | None]]]:
        """Child SKUs of grid items (or the error that stops one), by item number.

        A separate connection: SQL Server allows one open result per connection, and the
        item rows are still streaming on the other.
        """
        separator = self.settings.grid_sku_separator
        cells: dict[str, list[tuple[str, str | None]]] = {}
        with self.ctx.counterpoint.connect() as conn:
            for row in conn.execute(grid_cells(item_nos, self.settings.grid_cells_location)):
                item_no = record_key(row.ITEM_NO)
                dims = [str(d) for d in (row.DIM_1_UPR, row.DIM_2_UPR, row.DIM_3_UPR) if d]
                entry: tuple[str, str | None]
                try:
                    entry = (child_sku(item_no, dims, separator), None)
                except DataError as exc:
                    used = [d for d in dims if d != "*"]
                    entry = (separator.join([item_no, *used]), str(exc))
                cells.setdefault(item_no, []).append(entry)
        return cells

    # --- building ----------------------------------------------------------------------
    def key_of(self, row: PriceRow) -> str:
        return row.sku

    def _now_local(self) -> datetime:
        return self.ctx.clock().astimezone(self.settings.zone).replace(tzinfo=None)

    def _magento_date(self, local: datetime | None) -> str | None:
        if local is None:
            return None
        target = self.settings.price_dates_timezone
        if target is not None:
            aware = local.replace(tzinfo=self.settings.zone)
            local = aware.astimezone(ZoneInfo(target))
            local = local.replace(tzinfo=None)
        return local.strftime(DATE_FORMAT)

    def build(self, row: PriceRow, extra: Any) -> PriceState:
        if row.error is not None:
            raise DataError(row.error)
        price = row.basis.get("1")
        if price is None:
            raise DataError("Price-1 is NULL (IM_PRC and IM_ITEM.PRC_1)")
        if price < 0:
            raise DataError(f"Price-1 is negative ({price})")
        methods = PriceMethods(
            percent_off=self.settings.price_method_percent_off,
            amount_off=self.settings.price_method_amount_off,
            fixed=self.settings.price_method_fixed,
        )
        segment = special_window(
            self._groups,
            row.item,
            row.basis,
            self._now_local(),
            timedelta(days=self.settings.price_promo_horizon_days),
            methods,
        )
        special = None
        if segment is not None:
            special = SpecialPrice(
                price=segment.price,
                price_from=self._magento_date(segment.start),
                price_to=self._magento_date(segment.end),
            )
        return PriceState(sku=row.sku, price=price, special=special)
