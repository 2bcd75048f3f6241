"""searchCriteria: bracket query parsing, filtering, sorting and paging
(docs/reference/magento.md#product-search).

Filters inside a group are OR-ed, groups are AND-ed, ``condition_type`` defaults to ``eq``.
Comparisons follow MySQL with Magento's case-insensitive collations: text compares
case-insensitively, numeric columns numerically, and NULL matches nothing but ``null``.
Keys may be camelCase or snake_case; the echo in ``search_criteria`` is snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cpsync_emulator.errors import PAGE_SIZE_MAX, VALUE_TYPE_INVALID, MagentoError, required_field

__all__ = [
    "Filter",
    "SearchCriteria",
    "matches",
    "parse_bracket_query",
    "parse_search_criteria",
    "run_search",
    "snake",
]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

INPUT_LIMIT_DEFAULT_PAGE_SIZE = 20
INPUT_LIMIT_MAX_PAGE_SIZE = 300


def snake(key: str) -> str:
    """``filterGroups`` → ``filter_groups``; snake_case keys pass unchanged."""
    return _CAMEL.sub("_", key).lower()


def parse_bracket_query(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn ``a[b][0][c]=v`` pairs into nested dicts, with all-digit keys made into lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        found = _KEY.match(key)
        if found is None:
            continue
        path = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        node = root
        for index, part in enumerate(path):
            name = part if part != "" else str(len(node))
            if index == len(path) - 1:
                if not isinstance(node.get(name), dict):
                    node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = node[name] = {}
                node = child
    result: dict[str, Any] = _listify(root)
    return result


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []


def _snake_dict(value: Any) -> dict[str, Any]:
    return {snake(k): v for k, v in value.items()} if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Filter:
    """One ``field condition_type value`` test."""

    field: str
    value: Any
    condition_type: str | None = None

    @property
    def condition(self) -> str:
        """The condition, ``eq`` when omitted."""
        return (self.condition_type or "eq").lower()

    def echo(self) -> dict[str, Any]:
        """The filter as Magento echoes it (omitted keys stay omitted)."""
        data: dict[str, Any] = {"field": self.field, "value": self.value}
        if self.condition_type is not None:
            data["condition_type"] = self.condition_type
        return data


@dataclass(frozen=True)
class SearchCriteria:
    """Parsed ``searchCriteria``."""

    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def echo(self) -> dict[str, Any]:
        """The ``search_criteria`` member of a search result, snake_case.

        See docs/reference/magento.md#success-responses.
        """
        data: dict[str, Any] = {
            "filter_groups": [
                {"filters": [f.echo() for f in group]} for group in self.filter_groups
            ]
        }
        if self.sort_orders:
            data["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort_orders]
        if self.page_size is not None:
            data["page_size"] = self.page_size
        if self.current_page is not None:
            data["current_page"] = self.current_page
        return data


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise MagentoError(400, VALUE_TYPE_INVALID, {"value": str(value), "type": "int"}) from None


def parse_search_criteria(pairs: Iterable[tuple[str, str]]) -> SearchCriteria:
    """Read ``searchCriteria[...]`` from query pairs.

    Raises:
        MagentoError: 400 when ``searchCriteria`` is absent or a number is not one.
    """
    query = {snake(k): v for k, v in parse_bracket_query(pairs).items()}
    if "search_criteria" not in query:
        raise required_field("searchCriteria")
    raw = _snake_dict(query["search_criteria"])
    groups: list[list[Filter]] = []
    for group in _as_list(raw.get("filter_groups")):
        filters = []
        for item in _as_list(_snake_dict(group).get("filters")):
            data = _snake_dict(item)
            if "field" in data:
                filters.append(Filter(data["field"], data.get("value"), data.get("condition_type")))
        groups.append(filters)
    sorts = []
    for item in _as_list(raw.get("sort_orders")):
        data = _snake_dict(item)
        if "field" in data:
            sorts.append((str(data["field"]), str(data.get("direction") or "ASC").upper()))
    return SearchCriteria(
        filter_groups=groups,
        sort_orders=sorts,
        page_size=_int_or_none(raw.get("page_size")),
        current_page=_int_or_none(raw.get("current_page")),
    )


# Conditions ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _equal(actual: Any, target: Any) -> bool:
    if isinstance(actual, int | float | bool):
        number = _number(target)
        return number is not None and float(actual) == number
    return str(actual).strip().lower() == str(target).strip().lower()


def _compare(actual: Any, target: Any) -> int | None:
    """-1/0/1 like SQL, numerically for numeric columns; None when not comparable."""
    if isinstance(actual, int | float | bool):
        number = _number(target)
        if number is None:
            return None
        left, right = float(actual), number
        return (left > right) - (left < right)
    a, b = str(actual).lower(), str(target).lower()
    return (a > b) - (a < b)


def _like(actual: Any, pattern: Any) -> bool:
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(pattern)
    )
    return re.fullmatch(regex, str(actual), flags=re.IGNORECASE | re.DOTALL) is not None


def _targets(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return str(value).split(",") if value is not None else []


def _finset(actual: Any, target: Any) -> bool:
    members = actual if isinstance(actual, list) else str(actual).split(",")
    return any(_equal(member, target) for member in members)


_RANGE = {
    "gt": lambda c: c > 0,
    "gteq": lambda c: c >= 0,
    "moreq": lambda c: c >= 0,
    "from": lambda c: c >= 0,
    "lt": lambda c: c < 0,
    "lteq": lambda c: c <= 0,
    "to": lambda c: c <= 0,
}


def _one(actual: Any, condition: str, target: Any) -> bool:
    """One non-NULL column value against one condition."""
    if condition in _RANGE:
        compared = _compare(actual, target)
        return compared is not None and bool(_RANGE[condition](compared))
    if condition == "like":
        return _like(actual, target)
    if condition == "in":
        return any(_equal(actual, t) for t in _targets(target))
    if condition == "finset":
        return _finset(actual, target)
    return _equal(actual, target)  # eq, and Magento's fallback for unknown conditions


_NEGATED = {"neq": "eq", "nin": "in", "nlike": "like", "nfinset": "finset"}


def matches(actual: Any, condition: str, target: Any) -> bool:
    """Does a column value (scalar, list for multi-valued fields, or None) pass a condition."""
    values = [v for v in (actual if isinstance(actual, list) else [actual]) if v is not None]
    if condition == "null":
        return not values
    if condition == "notnull":
        return bool(values)
    if not values:
        return False  # SQL: NULL compared with anything is not true
    if condition in _NEGATED:
        return not any(_one(v, _NEGATED[condition], target) for v in values)
    if condition == "finset" and isinstance(actual, list):
        return any(_equal(v, target) for v in values)
    return any(_one(v, condition, target) for v in values)


# Running a search -------------------------------------------------------------------------

FieldGetter = Callable[[dict[str, Any], str], Any]


def _sort_key(value: Any) -> tuple[Any, ...]:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (0,)
    number = _number(value) if isinstance(value, int | float | bool) else None
    return (1, 0, number) if number is not None else (1, 1, str(value).lower())


def _page(
    items: list[dict[str, Any]], criteria: SearchCriteria, *, clamp: bool, limits: bool
) -> list[dict[str, Any]]:
    size = criteria.page_size
    if limits:
        if size is not None and size > INPUT_LIMIT_MAX_PAGE_SIZE:
            raise MagentoError(400, PAGE_SIZE_MAX, {"max": INPUT_LIMIT_MAX_PAGE_SIZE})
        size = size or INPUT_LIMIT_DEFAULT_PAGE_SIZE
    if not size or size <= 0:
        return items
    page = max(1, criteria.current_page or 1)  # 0 and 1 are the same page (issue #25619)
    last = max(1, -(-len(items) // size))
    if clamp and page > last:
        page = last
    return items[(page - 1) * size : page * size]


def run_search(
    items: Iterable[dict[str, Any]],
    criteria: SearchCriteria,
    value_of: FieldGetter,
    *,
    clamp_pages: bool = False,
    input_limits: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Filter, sort (entity id by default) and page; returns the page and the total count.

    Raises:
        MagentoError: 400 when input limits are on and pageSize is over 300.
    """
    found = [
        item
        for item in items
        if all(
            any(matches(value_of(item, f.field), f.condition, f.value) for f in group)
            for group in criteria.filter_groups
            if group
        )
    ]
    for name, direction in reversed(criteria.sort_orders):  # stable sorts: last key first

        def key(item: dict[str, Any], field_name: str = name) -> tuple[Any, ...]:
            return _sort_key(value_of(item, field_name))

        found.sort(key=key, reverse=direction == "DESC")
    return _page(found, criteria, clamp=clamp_pages, limits=input_limits), len(found)
