"""The Price Changes task: regular price (Price-1) and promotional price per SKU.

Regular price: Price-1 of the IM_PRC row of `price_location` when set and present, else of the
`'*'` row, else IM_ITEM.PRC_1. Promotional price: Counterpoint's rules (see
`cpsync.counterpoint.pricing`), sent as Magento's special price with its window.

Going beyond today's price: a promotion that starts (or a price change that comes from a
promotion ending) within `price_promo_horizon_days` is sent ahead with `price_from` /
`price_to`. The dates are as the store reads them (`CPSYNC_MAGENTO_SPECIAL_DATES`,
`tasks/_price_dates.py`): to the second for Adobe Commerce, whole days for Open Source, where a
promotion starting or ending mid-day needs a run then: each run notes the next such moment
(option `prices:next_boundary`, UTC ISO or None), which every entry point looks at every
5 minutes (`cpsync.control.run_at_price_boundary`).

What a run reads: a full run (the first, `--full`, and once a day) reads every web item. A
changed run reads only the items that may price differently since the last run:
- items whose IM_PRC row (`'*'` or the price location's), IM_ITEM row or grid cells moved
  (RS_UTC_DT, else LST_MAINT_DT; a table with neither stamp makes every run a full one);
- items a rule of a group matches whose begin or end the clock passed, or that came within the
  horizon, since the last run (a promotion starts or ends with nothing moving in the database);
  which items a rule matches is told by one pass over IM_ITEM's filter columns, no prices;
- every item when any row of the promotion tables differs from the last finished run (a digest
  of them: an edited, added or deleted group, rule or break leaves no stamp to follow) or a
  setting that prices them changed.
Fingerprints keep unchanged prices from being sent. Grid items: every cell (child SKU, from
IM_INV_CELL) gets the item's prices.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from cpsync.control import PRICE_BOUNDARY
from cpsync.counterpoint import needs
from cpsync.counterpoint.columns import Catalog, Need, required
from cpsync.counterpoint.price_filter import (
    MAYBE,
    FilterError,
    compile_filter,
    compile_sale_filter,
    filter_columns,
)
from cpsync.counterpoint.pricing import Break, Group, PriceMethods, Rule, special_window
from cpsync.counterpoint.queries import MAX_IN_LIST
from cpsync.counterpoint.stock_queries import (
    PLAIN_NAME,
    PRICE_ITEM_COLUMNS,
    PRICE_LEVELS,
    changed_price_items,
    filter_item_rows,
    grid_cells,
    price_groups,
    price_item_rows,
    price_rule_breaks,
    price_rules,
    web_store,
)
from cpsync.errors import DataError
from cpsync.model import Kind, PriceState, SpecialPrice
from cpsync.skus import child_sku, record_key
from cpsync.tasks._price_dates import MagentoDates
from cpsync.tasks._published import published_only
from cpsync.tasks.base import Task, Window

__all__ = ["BOUNDARY_OPTION", "PriceRow", "PriceRules", "PricesTask", "load_groups"]

#: A changed run becomes a full one when the last full run is older than this.
FULL_EVERY = timedelta(days=1)
#: The option holding the digest of the promotions priced by the last run.
RULES_OPTION = "prices:rules"
#: The option holding the next moment a run must happen for a promotion to switch on time
#: (read by `cpsync.control.run_at_price_boundary`).
BOUNDARY_OPTION = PRICE_BOUNDARY

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


@dataclass(frozen=True)
class PriceRules:
    """The promotional groups of a run, and the IM_ITEM columns their filters name.

    Also what is wrong with some rules ((rule, message) pairs, for the run log).
    """

    groups: list[Group]
    item_columns: tuple[str, ...]
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: Of every row of the rule tables read (and the web store and method letters): a
    #: promotion edited, added or deleted changes it.
    digest: str = ""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _breaks(rows: Sequence[Any]) -> dict[tuple[str, int], list[Break]]:
    breaks: dict[tuple[str, int], list[Break]] = {}
    for b in rows:
        breaks.setdefault((_text(b.GRP_COD), int(b.RUL_SEQ_NO)), []).append(
            Break(
                min_qty=Decimal(str(b.MIN_QTY or 0)),
                method=_text(b.PRC_METH),
                basis=_text(b.PRC_BASIS) or "1",
                amount=Decimal(str(b.AMT_OR_PCT or 0)),
            )
        )
    return breaks


def _method_problem(breaks: Sequence[Break], methods: PriceMethods) -> tuple[str | None, str]:
    """(why the rule's first break cannot be applied, a warning about any unknown letter)."""
    known = {methods.percent_off, methods.amount_off, methods.fixed}
    unknown = sorted({b.method for b in breaks if b.method not in known})
    if not unknown:
        return None, ""
    letters = ", ".join(repr(m) for m in unknown)
    text = (
        f"price method {letters} is not one of the configured letters "
        f"({', '.join(sorted(known))}; CPSYNC_PRICE_METHOD_*)"
    )
    first = min(breaks, key=lambda b: b.min_qty)
    return (text if first.method not in known else None), text


def load_groups(
    conn: Any,
    catalog: Catalog | None = None,
    methods: PriceMethods | None = None,
    web_sale: Mapping[str, Any] | None = None,
) -> PriceRules:
    """Promotional groups with their rules and breaks, in Counterpoint's order (small tables).

    Args:
        conn: A Counterpoint connection.
        catalog: The columns that exist (None: every declared one).
        methods: The configured method letters (default D, A, F).
        web_sale: The web store's STR_ID / LOC_ID for store filters (None: unknown).
    """
    methods = methods or PriceMethods()
    break_rows = list(conn.execute(price_rule_breaks(catalog)))
    breaks = _breaks(break_rows)
    item_columns = catalog.columns("IM_ITEM") if catalog is not None else None
    group_rows = list(conn.execute(price_groups(catalog)))
    rule_rows = list(conn.execute(price_rules(catalog)))
    digest = hashlib.sha256(
        repr(
            (
                [tuple(r) for r in group_rows],
                [tuple(r) for r in rule_rows],
                [tuple(r) for r in break_rows],
                sorted((web_sale or {}).items()),
                methods,
            )
        ).encode()
    ).hexdigest()
    enabled = {_text(g.GRP_COD) for g in group_rows if _text(g.ENABLED) == "Y"}
    rules: dict[str, list[Rule]] = {}
    named: set[str] = set()
    problems: list[tuple[str, str]] = []
    for r in rule_rows:
        code, seq = _text(r.GRP_COD), int(r.RUL_SEQ_NO)
        rule_key = f"rule {code}/{seq}"
        rule_breaks = tuple(breaks.get((code, seq), ()))
        problem: str | None = None
        try:
            columns = filter_columns(r.ITEM_FILT)
            missing = frozenset(c for c in columns if not PLAIN_NAME.fullmatch(c))
            if item_columns is not None:
                missing |= columns - item_columns
            matches = compile_filter(r.ITEM_FILT, missing=missing)
            if missing:
                problem = (
                    f"ITEM_FILT {_text(r.ITEM_FILT)!r} names "
                    f"{', '.join('IM_ITEM.' + c for c in sorted(missing))}, which this "
                    "Counterpoint database does not have"
                )
            if code in enabled:
                named |= columns - missing
        except FilterError as exc:
            matches = _could_match_anything
            problem = f"ITEM_FILT {_text(r.ITEM_FILT)!r} cannot be read by cpsync: {exc}"
        stop, method_warning = _method_problem(rule_breaks, methods)
        problem = problem or stop
        online, sale_warning = _online(r.SAL_FILT, web_sale)
        customer = bool(_text(r.CUST_FILT))
        if code in enabled:
            if problem is not None:
                problems.append(
                    (
                        rule_key,
                        f"price rule {code}/{seq}: {problem}; items it could match get no "
                        "special price (Counterpoint's first matching rule wins, so no later "
                        "rule is used instead); their regular price still syncs",
                    )
                )
            if method_warning and method_warning != problem:
                problems.append((rule_key, f"price rule {code}/{seq}: {method_warning}"))
            if sale_warning:
                problems.append((rule_key, f"price rule {code}/{seq} is skipped: {sale_warning}"))
            if customer and online:
                problems.append(
                    (
                        rule_key,
                        f"price rule {code}/{seq} has a customer filter (CUST_FILT), which "
                        "cpsync cannot evaluate for a web shopper: items it matches get no "
                        "special price",
                    )
                )
        rules.setdefault(code, []).append(
            Rule(
                seq=seq,
                matches=matches,
                breaks=rule_breaks,
                customer_filter=customer,
                problem=problem,
                min_qty=Decimal(str(r.MIN_QTY or 0)),
                online=online,
            )
        )
    groups = []
    for g in group_rows:
        code = _text(g.GRP_COD)
        begin, end = Group.window(
            _text(g.NO_BEG_DAT), g.BEG_DT, g.BEG_DAT, _text(g.NO_END_DAT), g.END_DT, g.END_DAT
        )
        customer = bool(_text(g.CUST_FILT))
        if customer and code in enabled:
            problems.append(
                (
                    f"group {code}",
                    f"price group {code} has a customer filter (CUST_FILT), which cpsync cannot "
                    "evaluate for a web shopper: items its rules match get no special price",
                )
            )
        groups.append(
            Group(
                code=code,
                seq=int(g.GRP_SEQ_NO or 0),
                begin=begin,
                end=end,
                enabled=code in enabled,
                rules=tuple(sorted(rules.get(code, []), key=lambda r: r.seq)),
                customer_filter=customer,
            )
        )
    return PriceRules(groups, tuple(sorted(named)), problems, digest)


def _could_match_anything(row: Mapping[str, Any]) -> Any:
    return MAYBE


def _online(sal_filt: Any, web_sale: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether a rule's store filter holds for a sale at the web store.

    Returns:
        Whether it holds, and a warning when that cannot be known (the rule is then skipped).
    """
    text = _text(sal_filt)
    if not text:
        return True, ""
    if web_sale is None:
        return False, (
            f"its store filter SAL_FILT {text!r} cannot be evaluated: the e-commerce store is "
            "unknown (EC_CTL.STR_ID, PS_STR_CFG_PS.PRC_LOC_ID or CPSYNC_PRICE_LOCATION)"
        )
    try:
        holds = compile_sale_filter(text)(web_sale)
    except FilterError as exc:
        return False, f"its store filter SAL_FILT {text!r} cannot be evaluated: {exc}"
    return holds is True, ""


def _turns(group: Group, last: datetime, now: datetime, horizon: timedelta) -> bool:
    """Whether a begin or end of `group` fell between the last run and now.

    Or between the last run's horizon and now's: the promotions in sight changed.
    """
    edges = [group.begin, None if group.end is None else group.end + timedelta(seconds=1)]
    return any(
        edge is not None and (last < edge <= now or last + horizon < edge <= now + horizon)
        for edge in edges
    )


class PricesTask(Task):
    """IM_PRC and promotions -> Magento base price and special price per SKU."""

    name: ClassVar[str] = "prices"
    title: ClassVar[str] = "Price Changes"
    kind: ClassVar[Kind] = "price"
    schedule: ClassVar[str] = "cron(0 1 * * ? *)"
    needs: ClassVar[tuple[Need, ...]] = (
        *needs.WEB_ITEM,
        *required("IM_ITEM", "PRC_1"),
        *needs.PRICE_1,
        *needs.PRICE_CHANGES,
        *needs.PRICE_RULES,
        *required("IM_INV_CELL", "ITEM_NO", "LOC_ID", "DIM_1_UPR", "DIM_2_UPR", "DIM_3_UPR"),
    )
    _groups: Sequence[Group] = ()  # loaded at the start of each run
    _item_columns: tuple[str, ...] = ()  # the IM_ITEM columns the rules' filters name
    _boundary_read = False  # whether this run looked at every item (not only named ones)

    # --- reading -----------------------------------------------------------------------
    def _methods(self) -> PriceMethods:
        return PriceMethods(
            percent_off=self.settings.price_method_percent_off,
            amount_off=self.settings.price_method_amount_off,
            fixed=self.settings.price_method_fixed,
        )

    def _web_sale(self, conn: Any) -> dict[str, Any] | None:
        """What a sale at the web store is known by, for store filters (SAL_FILT).

        The store is EC_CTL.STR_ID
        (docs/reference/counterpoint.md#the-e-commerce-store-and-location); its price location
        CPSYNC_PRICE_LOCATION, else the store's PS_STR_CFG_PS.PRC_LOC_ID. None when neither store
        nor location is known.
        """
        catalog = self.catalog
        store = stock = None
        price = self.settings.price_location
        if catalog is None or catalog.has("EC_CTL", "STR_ID"):
            has_cfg = catalog is None or all(
                catalog.has("PS_STR_CFG_PS", c) for c in ("STR_ID", "STK_LOC_ID", "PRC_LOC_ID")
            )
            for row in conn.execute(web_store(has_cfg)):
                store = _text(row.STR_ID) or None
                stock = _text(row.STK_LOC_ID) or None
                price = price or _text(row.PRC_LOC_ID) or None
                break
        if store is None and price is None:
            return None
        return {"STR_ID": store, "LOC_ID": price, "PRC_LOC_ID": price, "STK_LOC_ID": stock}

    def full_every(self) -> timedelta:
        """Once a day every item is read again (reconciliation, and SKUs nothing dated)."""
        return FULL_EVERY

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[PriceRow]:
        """Every web item on a full run, or only those that may price differently.

        A changed run reads the items that may price differently (see the module docstring);
        `keys` reads the named ones.
        """
        location = self.settings.price_location
        self._boundary_read = False
        with self.ctx.counterpoint.connect() as conn:
            loaded = load_groups(conn, self.catalog, self._methods(), self._web_sale(conn))
        self._groups, self._item_columns = loaded.groups, loaded.item_columns
        for key, message in loaded.problems:
            logger.warning("%s", message)
            self.report(key, message, "warning")
        if keys is not None:
            yield from self._named(keys, location)
            return
        rules_known = self._rules_unchanged(loaded.digest)
        changed = None if window is None or not rules_known else self._changed_items(window)
        if window is None or changed is None:
            yield from self._published(self._stream(self._item_query(location)))
        else:
            items = sorted(changed | self._items_of_turning_groups(window))
            yield from self._published(self._items(items, location))
        self._boundary_read = True

    def finished(self) -> None:
        """Store when the next run must happen for a mid-day start or end (BOUNDARY_OPTION).

        Only once the run has queued everything (a run that failed leaves the boundary due, so
        the next check runs again), and counted from the run's start: a boundary passed while
        the run read and priced its items (some before it) is due at once.
        """
        if not self._boundary_read:  # a run of named items: the others were not looked at
            return
        horizon = timedelta(days=self.settings.price_promo_horizon_days)
        upper = self.run_upper or self.ctx.clock().astimezone(UTC).replace(tzinfo=None)
        started = upper.replace(tzinfo=UTC).astimezone(self.settings.zone).replace(tzinfo=None)
        moment = self._dates().next_run(self._groups, started, horizon)
        self.ctx.state.set_option(BOUNDARY_OPTION, None if moment is None else moment.isoformat())

    def _named(self, keys: Sequence[str], location: str | None) -> Iterator[PriceRow]:
        separator = self.settings.grid_sku_separator
        items = sorted({k.split(separator)[0] for k in keys})
        wanted = set(keys)
        for row in self._items(items, location):
            if row.sku in wanted or row.sku.split(separator)[0] in wanted:
                yield row

    def _items(self, item_nos: Sequence[str], location: str | None) -> Iterator[PriceRow]:
        for start in range(0, len(item_nos), MAX_IN_LIST):
            yield from self._stream(
                self._item_query(location, item_nos[start : start + MAX_IN_LIST])
            )

    def _published(self, rows: Iterator[PriceRow]) -> Iterator[PriceRow]:
        if not self.settings.sync_published_products_only:
            return rows
        return published_only(
            rows, lambda r: r.sku, self.ctx.state, item_of=lambda r: record_key(r.item["ITEM_NO"])
        )

    def _rules_unchanged(self, digest: str) -> bool:
        """Whether the promotions (and the settings that price them) are as at the last run.

        The last run that finished, that is; notes this run's, which count once this run has
        finished.

        The note carries the watermark this run sets when it finishes: a run that died did
        not set it, so the next run does not trust its note and reads everything.
        """
        state = self.ctx.state
        mark = state.get_watermark(self.name)
        settings = self.settings
        digest = hashlib.sha256(
            repr(
                (
                    digest,
                    settings.price_location,
                    settings.price_promo_horizon_days,
                    settings.price_dates_timezone,
                    settings.magento_special_dates,
                    str(settings.zone),
                    settings.grid_sku_separator,
                    settings.grid_cells_location,
                )
            ).encode()
        ).hexdigest()
        noted = state.get_option(RULES_OPTION)
        same = (
            isinstance(noted, dict)
            and mark is not None
            and noted.get("mark") == mark.isoformat()
            and noted.get("digest") == digest
        )
        if self.run_upper is not None:
            state.set_option(RULES_OPTION, {"digest": digest, "mark": self.run_upper.isoformat()})
        if not same:
            logger.info("%s: promotions changed since the last run; every item is read", self.name)
        return same

    def _changed_items(self, window: Window) -> set[str] | None:
        """Items whose IM_PRC rows, IM_ITEM row or grid cells moved in the window.

        None when the tables carry no stamp, so every item is read.
        """
        stmt = changed_price_items(
            window.since_utc, window.since_local, self.settings.price_location, self.catalog
        )
        if stmt is None:
            return None
        with self.ctx.counterpoint.connect() as conn:
            return {record_key(row.ITEM_NO) for row in conn.execute(stmt)}

    def _items_of_turning_groups(self, window: Window) -> set[str]:
        """Items a rule of a group matches whose begin or end the clock passed since the last run.

        Or whose group entered the horizon since then: their special price may have changed
        with nothing in the database moving.
        """
        last, now = window.since_local, self._now_local()
        horizon = timedelta(days=self.settings.price_promo_horizon_days)
        turning = [g for g in self._groups if g.enabled and _turns(g, last, now, horizon)]
        rules = [r for g in turning for r in g.rules if r.online]
        if not rules:
            return set()
        matched: set[str] = set()
        with self.ctx.counterpoint.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000)
            for row in result.execute(filter_item_rows(self._item_columns)):
                data = dict(row._mapping)
                if any(rule.matches(data) in (True, MAYBE) for rule in rules):
                    matched.add(record_key(data["ITEM_NO"]))
        logger.info(
            "%s: %d groups turned; %d items to price", self.name, len(turning), len(matched)
        )
        return matched

    def _item_query(self, location: str | None, keys: Sequence[str] | None = None) -> Any:
        return price_item_rows(location, keys, self._item_columns, self.catalog)

    def _stream(self, stmt: Any) -> Iterator[PriceRow]:
        """Item rows in batches; the cells of a batch's grid items in one query beside it."""
        with self.ctx.counterpoint.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
            while batch := result.fetchmany(MAX_IN_LIST):
                yield from self._priced(batch)

    def _priced(self, batch: Sequence[Any]) -> Iterator[PriceRow]:
        located = self.settings.price_location is not None
        grids = [str(r.ITEM_NO) for r in batch if _text(r.TRK_METH) == "G"]
        cells = self._cells(grids) if grids else {}
        for row in batch:
            data = dict(row._mapping)
            use_loc = located and any(data.get(f"LOC_{n}") is not None for n in PRICE_LEVELS)
            prefix = "LOC_" if use_loc else "ALL_"
            basis = {n[-1]: _decimal(data.get(f"{prefix}{n}")) for n in PRICE_LEVELS}
            if basis["1"] is None:
                basis["1"] = _decimal(data.get("PRC_1"))
            item = {name: data.get(name) for name in (*PRICE_ITEM_COLUMNS, *self._item_columns)}
            item_no = record_key(item["ITEM_NO"])
            if _text(item.get("TRK_METH")) != "G":
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
                    used = [d.strip() for d in dims if d.strip() != "*"]
                    entry = (separator.join([item_no, *used]), str(exc))
                cells.setdefault(item_no, []).append(entry)
        return cells

    # --- building ----------------------------------------------------------------------
    def key_of(self, row: PriceRow) -> str:
        """The SKU."""
        return row.sku

    def _now_local(self) -> datetime:
        return self.ctx.clock().astimezone(self.settings.zone).replace(tzinfo=None)

    def _dates(self) -> MagentoDates:
        settings = self.settings
        return MagentoDates(
            settings.zone, settings.price_dates_timezone, settings.magento_special_dates
        )

    def build(self, row: PriceRow, extra: Any) -> PriceState:
        """The regular price and the special price of the best promotion in sight.

        Raises:
            DataError: Price-1 is missing or negative, or a grid child's SKU cannot be made.
        """
        if row.error is not None:
            raise DataError(row.error)
        price = row.basis.get("1")
        if price is None:
            raise DataError("Price-1 is NULL (IM_PRC and IM_ITEM.PRC_1)")
        if price < 0:
            raise DataError(f"Price-1 is negative ({price})")
        dates = self._dates()
        try:
            segment = special_window(
                self._groups,
                row.item,
                row.basis,
                self._now_local(),
                timedelta(days=self.settings.price_promo_horizon_days),
                self._methods(),
                sent_ahead=dates.starts_on_a_day,
            )
        except ValueError as exc:
            # The winning rule cannot be applied to this item (its basis price is not set):
            # no special price, and the regular price still syncs.
            self.report(row.sku, f"price {row.sku}: no special price: {exc}", "warning")
            segment = None
        special = None
        if segment is not None:
            price_from, price_to = dates.window(segment)
            special = SpecialPrice(price=segment.price, price_from=price_from, price_to=price_to)
        return PriceState(sku=row.sku, price=price, special=special)
