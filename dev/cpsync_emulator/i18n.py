"""Localized error messages (docs/reference/magento.md#url-and-store-scope,
#what-differs-between-stores): a store view's locale translates Magento's templates.

Magento translates the *template* (placeholders stay) into the store view's locale, so a client
that matches English text breaks on such stores. ``EmulatorConfig.locale`` switches the
translation on; only the templates below are translated, everything else stays English.

The German strings are ours, written in the style of Magento's language packs: they are not
quoted from a language pack and serve only to prove that clients do not depend on English.
"""

from __future__ import annotations

from typing import Any

from cpsync_emulator.errors import (
    CONSUMER_NOT_AUTHORIZED,
    DEADLOCK,
    FIELD_REQUIRED,
    NO_ROUTE,
    PRODUCT_NOT_FOUND,
    URL_KEY_EXISTS,
)
from cpsync_emulator.prices import (
    BASE_STORE_NOT_FOUND,
    INVALID_ATTRIBUTE,
    SPECIAL_PRODUCT_NOT_FOUND,
    SPECIAL_STORE_NOT_FOUND,
)

_ROW_ID_DE = (
    "Zeilen-ID: SKU = %SKU, Store-ID: %storeId, Preis von: %priceFrom, Preis bis: %priceTo."
)

__all__ = ["LOCALES", "translate_body"]

LOCALES: dict[str, dict[str, str]] = {
    "en_US": {},
    "de_DE": {
        NO_ROUTE: "Die Anfrage entspricht keiner Route.",
        CONSUMER_NOT_AUTHORIZED: "Der Consumer ist nicht berechtigt, auf %resources zuzugreifen.",
        PRODUCT_NOT_FOUND: (
            "Das angeforderte Produkt existiert nicht. Prüfen Sie das Produkt und versuchen "
            "Sie es erneut."
        ),
        URL_KEY_EXISTS: "Der URL-Schlüssel für den angegebenen Store existiert bereits.",
        FIELD_REQUIRED: '"%fieldName" ist erforderlich. Geben Sie den Wert ein und versuchen '
        "Sie es erneut.",
        DEADLOCK: "Datenbank-Deadlock beim Versuch, eine Sperre zu erhalten",
        INVALID_ATTRIBUTE: "Ungültiges Attribut %fieldName = %fieldValue.",
        BASE_STORE_NOT_FOUND: (
            "Der angeforderte Store wurde nicht gefunden. Zeilen-ID: SKU = %SKU, Store-ID: "
            "%storeId."
        ),
        SPECIAL_PRODUCT_NOT_FOUND: (
            "Das angeforderte Produkt existiert nicht. Prüfen Sie das Produkt und versuchen "
            "Sie es erneut. " + _ROW_ID_DE
        ),
        SPECIAL_STORE_NOT_FOUND: "Der angeforderte Store wurde nicht gefunden. " + _ROW_ID_DE,
    },
}


def translate_body(body: Any, locale: str) -> Any:
    """The docs/reference/magento.md#error-responses error body with ``message`` (and each
    ``errors[].message``) translated; a list (the price endpoints' failures, answered with 200) has
    each entry translated."""
    table = LOCALES.get(locale) or {}
    if table and isinstance(body, list):
        return [translate_body(entry, locale) for entry in body]
    if not table or not isinstance(body, dict):
        return body
    translated = dict(body)
    if isinstance(body.get("message"), str):
        translated["message"] = table.get(body["message"], body["message"])
    # A rendered inner message passed as a parameter ("Could not save category: %1") is a
    # translated phrase too in Magento.
    if isinstance(body.get("parameters"), list):
        translated["parameters"] = [
            table.get(p, p) if isinstance(p, str) else p for p in body["parameters"]
        ]
    if isinstance(body.get("errors"), list):
        translated["errors"] = [translate_body(error, locale) for error in body["errors"]]
    return translated
