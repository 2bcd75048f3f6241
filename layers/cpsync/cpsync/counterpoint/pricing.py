"""Counterpoint's promotional price rules, as pure functions (counterpoint-schema §4.2-4.3).

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
fixed price). `ITEM_FILT` is evaluated here, in Python, by a small SQL-predicate evaluator
(comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, parentheses; case-insensitive like SQL
Server's default collation, trailing spaces of CHAR values ignored), so one query of items
serves every rule and nothing from a data column is ever run as SQL. A filter outside that
grammar raises `FilterError` naming the rule.

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

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "MAYBE",
    "Break",
    "FilterError",
    "Group",
    "PriceMethods",
    "PromoPrice",
    "Rule",
    "Segment",
    "compile_filter",
    "compile_sale_filter",
    "filter_columns",
    "promo_price",
    "special_window",
]

CENT = Decimal("0.01")


class FilterError(ValueError):
    """An `ITEM_FILT` this evaluator cannot read; the message says where."""


# --- the item filter ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>N?'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><>|!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<name>\[[^\]]+\](?:\.\[[^\]]+\]|\.[A-Za-z_][\w$#@]*)*
               |[A-Za-z_][\w$#@]*(?:\.\[[^\]]+\]|\.[A-Za-z_][\w$#@]*)*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "BETWEEN"}


class _Maybe:
    """A filter's answer when a column it names is not in this database: it could be True."""

    def __repr__(self) -> str:
        return "MAYBE"


MAYBE: Final = _Maybe()
_UNKNOWN_VALUE = object()  # the value of a column this database lacks

Row = Mapping[str, Any]
# SQL's three values, True, False, unknown (None), and MAYBE (a missing column could make it
# anything). MAYBE is absorbing under NOT and beats None in AND/OR, which over-approximates
# "could be True" and never says False or None where True is possible.
Truth = bool | None | _Maybe
Predicate = Callable[[Row], Truth]
Operand = Callable[[Row], Any]


def _maybe_in(*values: Any) -> bool:
    return any(v is _UNKNOWN_VALUE for v in values)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _compare(left: Any, right: Any) -> int | None:
    if left is None or right is None:
        return None
    if not (isinstance(left, str) and isinstance(right, str)):
        a, b = _number(left), _number(right)
        if a is not None and b is not None:
            return (a > b) - (a < b)
    if isinstance(left, datetime) or isinstance(right, datetime):
        left, right = str(left), str(right)
    x, y = str(left).rstrip().casefold(), str(right).rstrip().casefold()
    return (x > y) - (x < y)


def _like_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("^") else body
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


_COMPARE_OPS: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "<>": lambda c: c != 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    ">=": lambda c: c >= 0,
}


class _Parser:
    """Recursive descent over the tokens of one filter; builds closures over a row."""

    def __init__(
        self,
        text: str,
        columns: frozenset[str] | None,
        missing: frozenset[str] = frozenset(),
        table: str | None = "IM_ITEM",
    ) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.columns = columns
        self.missing = missing
        self.table = table
        self.named: set[str] = set()

    def peek(self, offset: int = 0) -> tuple[str, str]:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.peek()
        if got_kind != kind or (value is not None and got != value):
            raise FilterError(f"expected {value or kind} but found {got or 'the end'!r}")
        self.index += 1
        return got

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek()[0] != "end":
            raise FilterError(f"unexpected {self.peek()[1]!r}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.accept("kw", "OR"):
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]

        def any_of(row: Row) -> Truth:
            values = [p(row) for p in parts]
            if any(v is True for v in values):
                return True
            if any(v is MAYBE for v in values):
                return MAYBE
            return None if any(v is None for v in values) else False

        return any_of

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.accept("kw", "AND"):
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]

        def all_of(row: Row) -> Truth:
            values = [p(row) for p in parts]
            if any(v is False for v in values):
                return False
            if any(v is MAYBE for v in values):
                return MAYBE
            return None if any(v is None for v in values) else True

        return all_of

    def negation(self) -> Predicate:
        if self.accept("kw", "NOT"):
            return self._maybe_not(True, self.negation())
        return self.predicate()

    def _is_group(self) -> bool:
        """True when `(` opens a sub-expression rather than an operand."""
        depth, offset = 0, 0
        while True:
            kind, value = self.peek(offset)
            if kind == "end":
                return True
            if value == "(":
                depth += 1
            elif value == ")":
                depth -= 1
                if depth == 0:
                    following = self.peek(offset + 1)
                    return following[1] not in _COMPARE_OPS and following[1] not in (
                        "IN",
                        "LIKE",
                        "IS",
                        "BETWEEN",
                        "NOT",
                    )
            offset += 1

    def predicate(self) -> Predicate:
        if self.peek() == ("op", "(") and self._is_group():
            self.take("op", "(")
            inner = self.disjunction()
            self.take("op", ")")
            return inner
        left = self.operand()
        negate = self.accept("kw", "NOT")
        kind, value = self.peek()
        if kind == "op" and value in _COMPARE_OPS and not negate:
            self.index += 1
            right, test = self.operand(), _COMPARE_OPS[value]

            def compare(row: Row) -> Truth:
                a, b = left(row), right(row)
                if _maybe_in(a, b):
                    return MAYBE
                c = _compare(a, b)
                return None if c is None else test(c)

            return compare
        if self.accept("kw", "IN"):
            return self._maybe_not(negate, self._in_list(left))
        if self.accept("kw", "LIKE"):
            return self._maybe_not(negate, self._like(left))
        if self.accept("kw", "BETWEEN"):
            low = self.operand()
            self.take("kw", "AND")
            high = self.operand()

            def between(row: Row) -> Truth:
                if _maybe_in(left(row), low(row), high(row)):
                    return MAYBE
                a, b = _compare(left(row), low(row)), _compare(left(row), high(row))
                return None if a is None or b is None else a >= 0 and b <= 0

            return self._maybe_not(negate, between)
        if not negate and self.accept("kw", "IS"):
            is_not = self.accept("kw", "NOT")
            self.take("kw", "NULL")

            def is_null(row: Row) -> Truth:
                value = left(row)
                return MAYBE if _maybe_in(value) else (value is None) != is_not

            return is_null
        raise FilterError(f"expected a comparison but found {value or 'the end'!r}")

    @staticmethod
    def _maybe_not(negate: bool, inner: Predicate) -> Predicate:
        if not negate:
            return inner

        def negated(row: Row) -> Truth:
            value = inner(row)
            return value if value is None or value is MAYBE else not value

        return negated

    def _in_list(self, left: Operand) -> Predicate:
        self.take("op", "(")
        values = [self.operand()]
        while self.accept("op", ","):
            values.append(self.operand())
        self.take("op", ")")

        def within(row: Row) -> Truth:
            if _maybe_in(left(row), *(v(row) for v in values)):
                return MAYBE
            results = [_compare(left(row), v(row)) for v in values]
            return True if 0 in results else (None if None in results else False)

        return within

    def _like(self, left: Operand) -> Predicate:
        kind, raw = self.peek()
        if kind != "string":
            raise FilterError("LIKE needs a quoted pattern")
        self.index += 1
        regex = _like_regex(_unquote(raw).rstrip())

        def like(row: Row) -> Truth:
            value = left(row)
            if _maybe_in(value):
                return MAYBE
            return None if value is None else regex.fullmatch(str(value).rstrip()) is not None

        return like

    def operand(self) -> Operand:
        kind, value = self.peek()
        self.index += 1
        if kind == "string":
            text = _unquote(value)
            return lambda row: text
        if kind == "number":
            number = Decimal(value)
            return lambda row: number
        if (kind, value) == ("kw", "NULL"):
            return lambda row: None
        if kind == "name":
            column = self._column(value)
            if column in self.missing:
                return lambda row: _UNKNOWN_VALUE
            return lambda row: row.get(column)
        raise FilterError(f"expected a column or a value but found {value or 'the end'!r}")

    def _column(self, name: str) -> str:
        parts = [p.strip("[]").upper() for p in name.split(".")]
        if len(parts) > 2 or (
            len(parts) == 2 and self.table is not None and parts[0] != self.table
        ):
            raise FilterError(f"{name} is not a column of {self.table}")
        column = parts[-1]
        if column not in self.missing and self.columns is not None and column not in self.columns:
            raise FilterError(f"{name} is not known for a sale at the web store")
        self.named.add(column)
        return column


def _unquote(token: str) -> str:
    return token.lstrip("N")[1:-1].replace("''", "'")


def compile_filter(
    text: str | None, columns: Iterable[str] | None = None, missing: Iterable[str] = ()
) -> Predicate:
    """A predicate over an IM_ITEM row (upper-case column names) for an `ITEM_FILT`.

    An empty filter matches every item. Unknown (NULL) counts as no match. A column in
    `missing` (not in this database) is unknown: where it decides, the answer is `MAYBE`.

    Raises:
        FilterError: The text is outside the supported grammar or names another table.
    """
    if text is None or not text.strip():
        return lambda row: True
    known = frozenset(c.upper() for c in columns) if columns is not None else None
    return _Parser(text, known, frozenset(c.upper() for c in missing)).parse()


def filter_columns(text: str | None) -> frozenset[str]:
    """The IM_ITEM columns an `ITEM_FILT` names (upper-case), so only those are read.

    Raises:
        FilterError: The text is outside the supported grammar or names another table.
    """
    if text is None or not text.strip():
        return frozenset()
    parser = _Parser(text, None)
    parser.parse()
    return frozenset(parser.named)


#: What a sale at the web store is known by when its `SAL_FILT` is evaluated.
SALE_COLUMNS = frozenset({"STR_ID", "LOC_ID", "PRC_LOC_ID", "STK_LOC_ID"})


def compile_sale_filter(text: str | None) -> Predicate:
    """A predicate for a rule's `SAL_FILT` over the web store's row (see `SALE_COLUMNS`).

    Any table prefix is accepted (the filter is written over the ticket's tables), but only
    the store and location columns can be known for a web sale.

    Raises:
        FilterError: The text is outside the grammar or names a column a web sale lacks.
    """
    if text is None or not text.strip():
        return lambda row: True
    return _Parser(text, SALE_COLUMNS, table=None).parse()


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


def special_window(
    groups: Sequence[Group],
    item: Row,
    basis: Mapping[str, Decimal | None],
    now: datetime,
    horizon: timedelta,
    methods: PriceMethods,
) -> Segment | None:
    """The special price to send now: the promotion in effect, else the next within `horizon`.

    The answer changes only at group begin and end moments, so those are the only moments
    looked at. The segment runs from its start (the begin that made it win, None when it has
    won since before any boundary) to the last second before the price changes again.

    Raises:
        ValueError: A rule that matches cannot be applied.
    """
    until = now + horizon
    edges = sorted(
        {g.begin for g in groups if g.begin is not None and now < g.begin <= until}
        | {
            g.end + timedelta(seconds=1)
            for g in groups
            if g.end is not None and now < g.end + timedelta(seconds=1) <= until
        }
    )
    moments = [now, *edges]
    prices = [promo_price(groups, item, basis, m, methods) for m in moments]
    first = next((i for i, p in enumerate(prices) if p is not None), None)
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
