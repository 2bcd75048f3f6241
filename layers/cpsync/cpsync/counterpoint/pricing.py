"""Counterpoint's promotional price rules, as pure functions.

See docs/reference/counterpoint.md#price-rules and #which-rule-wins.

Counterpoint prices a line by searching price groups in order and stopping at the first rule
that matches, even when a later rule would be cheaper. For the web shopper cpsync follows the
promotional part of that search:

- groups of type `'P'` only (contract groups need a customer; special prices have no known code),
  `ENABLED = 'Y'`;
- a group applies at a moment when `BEG_DT <= moment <= END_DT` in the Counterpoint server's
  local time (`NO_BEG_DAT` / `NO_END_DAT = 'Y'` leave that side open; `BEG_DAT`/`END_DAT`
  stand in when the date-time column is NULL, the end then lasting the whole day);
- groups in `GRP_SEQ_NO` order (then `GRP_COD`), rules in `RUL_SEQ_NO` order; a rule matches an
  item when its `ITEM_FILT` (a SQL predicate over `IM_ITEM`) holds for the item's row;
- of the matching rule, the first quantity break (lowest `MIN_QTY`) gives the price:
  percent off, amount off or a fixed price, on the basis price (`PRC_BASIS` '1' = Price-1).
  Magento's special price is the price of one unit, so a rule whose first break (or the rule
  itself) needs more than one unit gives no special price, and the search stops there.

The method letters are a setting (`PriceMethods`) because sources disagree (`F` or `O` for a
fixed price). `ITEM_FILT` and `SAL_FILT` are evaluated in Python (`price_filter.py`), so one
query of items serves every rule and nothing from a data column is ever run as SQL.

What cpsync cannot decide never lets a later rule win: Counterpoint's first match wins, so a
rule that *could* match an item but cannot be applied (its filter is unreadable or names a
column this database lacks, it has a customer filter, its method letter is not a configured
one) stops the search for that item: no special price, the regular price still syncs. A filter
naming a missing column is evaluated with that column unknown (`MAYBE`), so items the rest of
the filter rules out go on to the next rule. `SAL_FILT` (the store a sale happens in) is
evaluated against the e-commerce store and price location (`compile_sale_filter`); a rule whose
store filter holds elsewhere is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cpsync.counterpoint.price_filter import MAYBE, Predicate, Row

__all__ = [
    "Break",
    "Group",
    "PriceMethods",
    "PromoPrice",
    "Rule",
    "Segment",
    "at_midnight",
    "next_boundary",
    "promo_price",
    "special_window",
]

CENT = Decimal("0.01")


# --- groups, rules, breaks ---------------------------------------------------------------


@dataclass(frozen=True)
class PriceMethods:
    """The PRC_METH letters: sources agree on D and A, and disagree on the fixed-price one."""

    percent_off: str = "D"
    amount_off: str = "A"
    fixed: str = "F"


@dataclass(frozen=True)
class Break:
    """One quantity break of a rule (IM_PRC_RUL_BRK)."""

    min_qty: Decimal
    method: str
    basis: str
    amount: Decimal


@dataclass(frozen=True)
class Rule:
    """One rule of a group (IM_PRC_RUL), with its compiled item filter and its breaks.

    `problem` says why the rule cannot price an item it matches (then the search stops there:
    no special price); `online` is False when its store filter rules out the web store.
    """

    seq: int
    matches: Predicate
    breaks: tuple[Break, ...]
    customer_filter: bool = False
    problem: str | None = None
    min_qty: Decimal = Decimal(0)  # IM_PRC_RUL.MIN_QTY: the rule needs this many units
    online: bool = True

    @property
    def first_break(self) -> Break | None:
        """The break with the lowest MIN_QTY: what one unit costs."""
        return min(self.breaks, key=lambda b: b.min_qty) if self.breaks else None


@dataclass(frozen=True)
class Group:
    """A promotional price group (IM_PRC_GRP) with its window in server-local time."""

    code: str
    seq: int
    begin: datetime | None  # None: no begin date
    end: datetime | None  # None: no end date
    enabled: bool
    rules: tuple[Rule, ...] = field(default=())
    customer_filter: bool = False

    def active_at(self, moment: datetime) -> bool:
        """Whether the group applies at `moment` (naive server-local time), ends included."""
        if not self.enabled:
            return False
        return (self.begin is None or self.begin <= moment) and (
            self.end is None or moment <= self.end
        )

    @staticmethod
    def window(
        no_begin: Any, begin_dt: Any, begin_date: Any, no_end: Any, end_dt: Any, end_date: Any
    ) -> tuple[datetime | None, datetime | None]:
        """The effective window from the IM_PRC_GRP columns (see the module docstring)."""
        begin = None if no_begin == "Y" else (begin_dt or begin_date)
        end: datetime | None = None
        if no_end != "Y":
            if end_dt is not None:
                end = end_dt
            elif end_date is not None:
                end = datetime.combine(end_date.date(), time(23, 59, 59))
        return begin, end


@dataclass(frozen=True)
class PromoPrice:
    """The promotional price of one item at one moment, and which rule gave it."""

    price: Decimal
    group: str
    rule: int


def _apply(brk: Break, basis: Mapping[str, Decimal | None], methods: PriceMethods) -> Decimal:
    """The price a break gives.

    Raises:
        ValueError: An unknown method letter or basis, or a NULL basis price.
    """
    base = basis.get(brk.basis)
    if base is None:
        raise ValueError(f"basis price {brk.basis!r} (Price-{brk.basis}) is not set")
    if brk.method == methods.percent_off:
        price = base * (Decimal(100) - brk.amount) / Decimal(100)
    elif brk.method == methods.amount_off:
        price = base - brk.amount
    elif brk.method == methods.fixed:
        price = brk.amount
    else:
        raise ValueError(f"price method {brk.method!r} is not one of the configured letters")
    return max(price, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def promo_price(
    groups: Sequence[Group],
    item: Row,
    basis: Mapping[str, Decimal | None],
    moment: datetime,
    methods: PriceMethods,
) -> PromoPrice | None:
    """The promotional price of `item` at `moment`: the first matching rule wins.

    Args:
        groups: Promotional groups in their order (GRP_SEQ_NO, then GRP_COD).
        item: The item's IM_ITEM row, upper-case column names.
        basis: Basis prices by PRC_BASIS code ('1' = Price-1 ...).
        moment: Naive server-local time.
        methods: The method letters.

    Raises:
        ValueError: The matching rule cannot be applied (an unknown method letter, a basis
            price not set); the message names group and rule. Callers that load rules mark
            unknown letters as the rule's `problem` first, so only a basis is left to fail.
    """
    for group in groups:
        if not group.active_at(moment):
            continue
        for rule in group.rules:
            if not rule.online:
                continue  # its store filter rules out the web store
            matched = rule.matches(item)
            if matched is not True and matched is not MAYBE:
                continue
            undecided = rule.problem is not None or rule.customer_filter or group.customer_filter
            if matched is MAYBE or undecided:
                # It may be Counterpoint's first match, and cpsync cannot say what it gives
                # (reported once per rule by the caller): no later rule may win instead.
                return None
            brk = rule.first_break
            if brk is None:
                continue  # a rule without breaks prices nothing
            if max(brk.min_qty, rule.min_qty) > 1:
                # The first matching rule wins, and it prices one unit at the regular price:
                # its discount starts at a quantity (a tier price, which cpsync does not send).
                return None
            try:
                price = _apply(brk, basis, methods)
            except ValueError as exc:
                raise ValueError(f"price rule {group.code}/{rule.seq}: {exc}") from None
            return PromoPrice(price, group.code, rule.seq)
    return None


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one promotional price; None ends mean open."""

    price: Decimal
    start: datetime | None
    end: datetime | None


def _edges(groups: Sequence[Group], now: datetime, until: datetime) -> list[datetime]:
    """The moments in (now, until] at which a group begins or stops applying (end + 1 s)."""
    return sorted(
        {g.begin for g in groups if g.begin is not None and now < g.begin <= until}
        | {
            g.end + timedelta(seconds=1)
            for g in groups
            if g.end is not None and now < g.end + timedelta(seconds=1) <= until
        }
    )


def at_midnight(moment: datetime) -> bool:
    """Whether `moment` is the very start of a day."""
    return moment.time() == time(0)


def special_window(
    groups: Sequence[Group],
    item: Row,
    basis: Mapping[str, Decimal | None],
    now: datetime,
    horizon: timedelta,
    methods: PriceMethods,
    sent_ahead: Callable[[datetime], bool] | None = None,
) -> Segment | None:
    """The special price to send now: the promotion in effect, else the next within `horizon`.

    The answer changes only at group begin and end moments, so those are the only moments
    looked at. The segment runs from its start (the begin that made it win, None when it has
    won since before any boundary) to the last second before the price changes again.

    Args:
        groups: Promotional groups in their order.
        item: The item's IM_ITEM row.
        basis: Basis prices by PRC_BASIS code.
        now: Naive server-local time.
        horizon: How far ahead a promotion is sent before it starts.
        methods: The method letters.
        sent_ahead: Whether a promotion starting at this later moment may be sent before it
            starts (None: any). A store that reads dates as whole days would start one that
            begins at 14:00 at midnight, so such a one waits for a run after its start; what
            is sent meanwhile is the next promotion from a moment it accepts (a midnight
            within the same promotion included), or none.

    Raises:
        ValueError: A rule that matches cannot be applied.
    """
    moments = [now, *_edges(groups, now, now + horizon)]
    prices = [promo_price(groups, item, basis, m, methods) for m in moments]
    first = next(
        (
            i
            for i, p in enumerate(prices)
            if p is not None and (i == 0 or sent_ahead is None or sent_ahead(moments[i]))
        ),
        None,
    )
    if first is None:
        return None
    chosen = prices[first]
    assert chosen is not None
    end_index = next((j for j in range(first + 1, len(prices)) if prices[j] != chosen), None)
    start = _start_of(groups, chosen, now) if first == 0 else moments[first]
    if end_index is not None:
        end: datetime | None = moments[end_index] - timedelta(seconds=1)
    else:
        end = next(g.end for g in groups if g.code == chosen.group)
    return Segment(chosen.price, start, end)


def _start_of(groups: Sequence[Group], chosen: PromoPrice, now: datetime) -> datetime | None:
    """When the winning group began (so the window does not move from run to run)."""
    group = next(g for g in groups if g.code == chosen.group)
    return group.begin if group.begin is not None and group.begin <= now else None


def next_boundary(
    groups: Sequence[Group],
    now: datetime,
    horizon: timedelta,
    whole_day: Callable[[datetime], bool] = at_midnight,
) -> datetime | None:
    """The next moment a run must happen for Magento to switch a promotion on time.

    For a store that reads special-price dates as whole days: the earliest begin or end
    (end + 1 s) of an enabled group after `now` and within `horizon` that does not fall on a
    day's start. Whole-day boundaries are sent ahead as dates, so Magento switches by itself.

    Args:
        groups: Promotional groups.
        now: Naive server-local time.
        horizon: How far ahead to look.
        whole_day: Whether a moment is the start of a day for the store (default: at
            midnight in server-local time).

    Returns:
        That moment (naive server-local time), or None when there is none in the horizon.
    """
    enabled = [g for g in groups if g.enabled]
    return next((m for m in _edges(enabled, now, now + horizon) if not whole_day(m)), None)
