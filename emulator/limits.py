"""Web API input limits (reference §0.5): array parameters of synchronous calls, and record counts.

When ``input_limit_enabled`` is on, Magento refuses an array input of more than 20 items with
400 ``Maximum items of type "%type" is %max`` (``EntityArrayValidator``). Every route that takes
an array uses :func:`array_param`, so the check and the error are the same everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.errors import MagentoError

if TYPE_CHECKING:
    from emulator.routing import RestRequest

__all__ = [
    "MAX_ITEMS_OF_TYPE",
    "SYNC_ARRAY_LIMIT",
    "array_param",
    "check_array_limit",
    "record_count",
]

MAX_ITEMS_OF_TYPE = 'Maximum items of type "%type" is %max'
#: Items per array input of a synchronous call when the limits are on (§0.5).
SYNC_ARRAY_LIMIT = 20


def check_array_limit(request: RestRequest, items: list[Any], type_name: str) -> None:
    """Refuse ``items`` when limits are on and it holds more than 20 entries.

    Raises:
        MagentoError: 400 with ``{"type": type_name, "max": 20}``.
    """
    limited = request.emulator.config.input_limit_enabled
    if limited and len(items) > SYNC_ARRAY_LIMIT:
        raise MagentoError(400, MAX_ITEMS_OF_TYPE, {"type": type_name, "max": SYNC_ARRAY_LIMIT})


def array_param(request: RestRequest, name: str, type_name: str, message: str) -> list[Any]:
    """The body parameter ``name`` as a list, checked against the input limit.

    Args:
        request: the REST request.
        name: the service-method parameter (``sourceItems``, ``prices``, ``skus``).
        type_name: the item type named in the limit error.
        message: the 400 message when the parameter is not a list.

    Raises:
        MagentoError: 400 when missing, not a list, or over the limit.
    """
    value = request.body_param(name)
    if isinstance(value, dict) and all(str(k).isdigit() for k in value):
        value = list(value.values())  # PHP-style arrays with numeric keys
    if not isinstance(value, list):
        raise MagentoError(400, message)
    check_array_limit(request, value, type_name)
    return value


def record_count(body: Any, name: str) -> int:
    """How many records a body carries under ``name`` (for the per-record cost)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if str(key).replace("_", "").lower() == name.lower() and isinstance(value, list):
                return len(value)
    return 0
