"""Product attributes and their option values: what configurable products are built from.

Routes (`Magento/Catalog/etc/webapi.xml`, docs/reference/magento.md#products), ACL
``Magento_Catalog::products``:

- ``GET /V1/products/attributes/:attributeCode`` -> the attribute (``attribute_id`` is what a
  configurable option names);
- ``GET /V1/products/attributes/:attributeCode/options`` -> ``[{label, value}]``, led by the
  empty ``{"label": " ", "value": ""}`` entry Magento lists for every dropdown;
- ``POST /V1/products/attributes/:attributeCode/options`` with ``{"option": {"label": ...}}`` ->
  the new option id as a JSON string (2.4 returns the id; some 2.3 releases returned
  ``"id_<n>"``, which ``option_id_prefix`` reproduces).

The reference documents no attribute error texts; the ones here are those of
``Magento\\Eav\\Model\\Entity\\Attribute\\OptionManagement`` (read from the 2.4 code): unknown code
404, an attribute without options 400, an empty label 400, a label already there (compared
without case, as the option source does) 400. Attributes are seeded from
``EmulatorConfig.select_attributes``; creating attributes over REST is not emulated.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from cpsync_emulator.errors import MagentoError
from cpsync_emulator.routing import RestRequest, Route

__all__ = [
    "ATTRIBUTE_NOT_FOUND",
    "ATTRIBUTE_NO_OPTIONS",
    "OPTION_LABEL_EMPTY",
    "OPTION_LABEL_EXISTS",
    "AttributeStore",
    "routes",
]

ATTRIBUTE_NOT_FOUND = (
    'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.'
)
ATTRIBUTE_NO_OPTIONS = 'The "%1" attribute doesn\'t work with options.'
OPTION_LABEL_EMPTY = "The attribute option label is empty. Enter the value and try again."
OPTION_LABEL_EXISTS = 'Admin store attribute option label "%1" is already exists.'

_RESOURCE = "Magento_Catalog::products"
# Text attributes every store has; they take no options.
_TEXT_ATTRIBUTES = ("name", "sku", "description", "url_key")
# Stock Magento: `color` is attribute 93; later ids are arbitrary but stable.
_FIRST_ATTRIBUTE_ID = 93
_FIRST_OPTION_ID = 4


def _attribute(attribute_id: int, code: str, frontend_input: str) -> dict[str, Any]:
    return {
        "attribute_id": attribute_id,
        "attribute_code": code,
        "frontend_input": frontend_input,
        "default_frontend_label": code.replace("_", " ").title(),
        "is_required": False,
        "is_user_defined": frontend_input == "select",
        "scope": "global",
        "entity_type_id": "4",
        "options": [{"label": " ", "value": ""}] if frontend_input == "select" else [],
    }


class AttributeStore:
    """Attributes by code with their options; thread-safe like the catalog."""

    def __init__(self, select_codes: list[str], option_id_prefix: str = "") -> None:
        self.lock = threading.RLock()
        self.option_id_prefix = option_id_prefix
        self._seed = list(select_codes)
        self.attributes: dict[str, dict[str, Any]] = {}
        self._next_option = _FIRST_OPTION_ID
        self.reset()

    def reset(self) -> None:
        """Back to the seeded attributes, each without option values."""
        with self.lock:
            self.attributes.clear()
            self._next_option = _FIRST_OPTION_ID
            next_id = _FIRST_ATTRIBUTE_ID
            for code in self._seed:
                self.attributes[code] = _attribute(next_id, code, "select")
                next_id += 1
            for code in _TEXT_ATTRIBUTES:
                if code not in self.attributes:
                    self.attributes[code] = _attribute(next_id, code, "text")
                    next_id += 1

    def get(self, code: str) -> dict[str, Any]:
        """The attribute (not a copy).

        Raises:
            MagentoError: 404 when no attribute has this code.
        """
        with self.lock:
            attribute = self.attributes.get(code)
        if attribute is None:
            raise MagentoError(404, ATTRIBUTE_NOT_FOUND, [code])
        return attribute

    def by_id(self, attribute_id: object) -> dict[str, Any] | None:
        """The attribute with this id (int or numeric string), if any."""
        with self.lock:
            for attribute in self.attributes.values():
                if str(attribute["attribute_id"]) == str(attribute_id).strip():
                    return attribute
        return None

    def add_option(self, code: str, label: object) -> str:
        """Add an option value; returns its id as Magento's answer carries it.

        Raises:
            MagentoError: unknown attribute (404), no options, empty or duplicate label (400).
        """
        attribute = self.get(code)
        if attribute["frontend_input"] not in ("select", "multiselect"):
            raise MagentoError(400, ATTRIBUTE_NO_OPTIONS, [code])
        text = str(label or "").strip()
        if not text:
            raise MagentoError(400, OPTION_LABEL_EMPTY)
        with self.lock:
            if any(o["label"].lower() == text.lower() for o in attribute["options"]):
                raise MagentoError(400, OPTION_LABEL_EXISTS, [text])
            option_id = self._next_option
            self._next_option += 1
            attribute["options"].append({"label": text, "value": str(option_id)})
        return f"{self.option_id_prefix}{option_id}"

    def to_json(self) -> dict[str, Any]:
        """The attributes as one JSON document (saved beside the catalog)."""
        with self.lock:
            return {
                "next_option": self._next_option,
                "attributes": copy.deepcopy(self.attributes),
            }

    def load_json(self, data: dict[str, Any]) -> None:
        """Replace the attributes with a document written by :meth:`to_json`."""
        with self.lock:
            self.attributes = copy.deepcopy(data["attributes"])
            self._next_option = int(data["next_option"])


def get_attribute(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/products/attributes/:attributeCode``."""
    return copy.deepcopy(request.emulator.attributes.get(request.params["attributeCode"]))


def list_options(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/products/attributes/:attributeCode/options``."""
    attribute = request.emulator.attributes.get(request.params["attributeCode"])
    return copy.deepcopy(attribute["options"])


def add_option(request: RestRequest) -> str:
    """``POST /V1/products/attributes/:attributeCode/options`` -> the new option id."""
    option = request.body_param("option")
    label = option.get("label") if isinstance(option, dict) else None
    option_id = request.emulator.attributes.add_option(request.params["attributeCode"], label)
    request.emulator.stats.record_write("attribute_options.created")
    return option_id


def routes() -> list[Route]:
    """The attribute lookup and option routes cpsync uses."""
    base = "/V1/products/attributes/:attributeCode"
    return [
        Route("GET", base, "attributes.get", get_attribute, _RESOURCE),
        Route("GET", f"{base}/options", "attributes.options.list", list_options, _RESOURCE),
        Route("POST", f"{base}/options", "attributes.options.add", add_option, _RESOURCE),
    ]
