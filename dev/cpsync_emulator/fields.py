"""The ``fields=`` response filter, e.g. ``fields=items[sku,id],total_count``
(docs/reference/magento.md#success-responses).

Lists are filtered element by element; names that do not exist are left out. A malformed
expression (unbalanced brackets) filters nothing rather than failing the request.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FieldTree", "apply_fields", "parse_fields"]

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(expression: str) -> FieldTree | None:
    """Parse ``a,b[c,d[e]]`` into ``{"a": None, "b": {"c": None, "d": {"e": None}}}``.

    Returns None when the expression is empty or malformed.
    """
    root: FieldTree = {}
    stack: list[FieldTree] = [root]
    name = ""
    last: str | None = None
    for char in expression.replace(" ", ""):
        if char == ",":
            if name:
                stack[-1][name] = None
            name, last = "", None
        elif char == "[":
            key = name or last
            if not key:
                return None
            child: FieldTree = {}
            stack[-1][key] = child
            stack.append(child)
            name, last = "", None
        elif char == "]":
            if len(stack) == 1:
                return None
            if name:
                stack[-1][name] = None
            stack.pop()
            last = next(reversed(stack[-1]))
            name = ""
        else:
            name += char
    if len(stack) != 1:
        return None
    if name:
        root[name] = None
    return root or None


def apply_fields(data: Any, tree: FieldTree | None) -> Any:
    """Keep only the requested members of ``data`` (dicts, or lists of dicts)."""
    if tree is None:
        return data
    if isinstance(data, list):
        return [apply_fields(item, tree) for item in data]
    if isinstance(data, dict):
        return {key: apply_fields(data[key], sub) for key, sub in tree.items() if key in data}
    return data
