"""The item and store filters of Counterpoint's price rules, evaluated in Python.

A rule's `ITEM_FILT` is a SQL predicate over `IM_ITEM` and its `SAL_FILT` one over the sale's
store. cpsync evaluates them here with a small SQL-predicate evaluator (comparisons, LIKE, IN,
BETWEEN, IS NULL, AND/OR/NOT, parentheses; case-insensitive like SQL Server's default
collation, trailing spaces of CHAR values ignored), so one query of items serves every rule and
nothing from a data column is ever run as SQL. A filter outside that grammar raises
`FilterError`. A column this database lacks is unknown: where it decides, the answer is `MAYBE`
(the rule could match), never False.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "MAYBE",
    "SALE_COLUMNS",
    "FilterError",
    "Predicate",
    "Row",
    "Truth",
    "compile_filter",
    "compile_sale_filter",
    "filter_columns",
]


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


def _fold(parts: list[Predicate], decisive: bool) -> Predicate:
    """OR (`decisive` True) or AND (`decisive` False) of `parts` in the four-valued logic.

    One value equal to `decisive` settles it; else MAYBE beats unknown beats the other value.
    """
    if len(parts) == 1:
        return parts[0]

    def fold(row: Row) -> Truth:
        values = [p(row) for p in parts]
        if any(v is decisive for v in values):
            return decisive
        if any(v is MAYBE for v in values):
            return MAYBE
        return None if any(v is None for v in values) else not decisive

    return fold


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
        return _fold(parts, decisive=True)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.accept("kw", "AND"):
            parts.append(self.negation())
        return _fold(parts, decisive=False)

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
