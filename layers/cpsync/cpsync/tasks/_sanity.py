"""Sanity checks on values that are valid but probably wrong: warned about, never blocked.

A price of 1,234,567 or a weight of 50,000 is most often a typo (a barcode in the price field);
a name with control characters or bidi-override characters (U+202A-U+202E, U+2066-U+2069)
shows garbled, or reversed, on the store. The record still syncs: the operator decides.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation

from cpsync.settings import Settings

__all__ = ["sanity_warnings", "suspicious_characters"]

_BIDI_OVERRIDES = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def suspicious_characters(text: str) -> list[str]:
    """Control and bidi-override characters in `text`, as `U+XXXX` (each once, in order)."""
    found: dict[str, None] = {}
    for char in text:
        if char in _BIDI_OVERRIDES or unicodedata.category(char) == "Cc":
            found[f"U+{ord(char):04X}"] = None
    return list(found)


def _number(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def sanity_warnings(settings: Settings, name: str, weight: object, price: object) -> list[str]:
    """What looks wrong about a product's name, weight and price (empty: nothing)."""
    warnings = []
    odd = suspicious_characters(name)
    if odd:
        warnings.append(f"the name has control or bidi-override characters ({', '.join(odd)})")
    amount = _number(price)
    if amount is not None and amount > settings.price_max:
        warnings.append(f"Price-1 {amount} is above CPSYNC_PRICE_MAX ({settings.price_max})")
    mass = _number(weight)
    if mass is not None and mass > settings.weight_max:
        warnings.append(f"WEIGHT {mass} is above CPSYNC_WEIGHT_MAX ({settings.weight_max})")
    return warnings
