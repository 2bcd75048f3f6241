"""The option values of the dropdown attributes a grid's dimensions map to.

Option ids by label are read from state, else from Magento, and created when missing; state
keeps them per attribute code as documents of kind `attribute_option`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from cpsync.errors import RecordError
from cpsync.magento.client import MagentoClient, sku_path
from cpsync.magento.errors import MagentoRecordError
from cpsync.ports import StatePort

__all__ = ["ATTRIBUTE_DOC_KIND", "OptionValues"]

ATTRIBUTE_DOC_KIND = "attribute_option"


class OptionValues:
    """Attribute option ids by label, from state, else Magento, created when missing.

    Magento compares option labels without case, so this does too. Thread-safe: the product
    writer saves several records at once.
    """

    def __init__(self, client: MagentoClient, state: StatePort) -> None:
        self.client = client
        self.state = state
        self._lock = threading.Lock()
        self._docs: dict[str, dict[str, Any]] = {}
        # Attributes read from Magento in this process: what is missing now is ours to add.
        self._read_codes: set[str] = set()

    def _doc(self, code: str) -> dict[str, Any]:
        if code not in self._docs:
            stored = self.state.get_docs(ATTRIBUTE_DOC_KIND, [code]).get(code)
            self._docs[code] = stored or {}
        return self._docs[code]

    def _read(self, code: str, doc: dict[str, Any]) -> None:
        """Refresh the attribute id and option ids from Magento."""
        path = f"products/attributes/{sku_path(code)}"
        options: Any = None
        try:
            if "attribute_id" not in doc:
                attribute = self.client.request("GET", path, endpoint="attributes.get")
                doc["attribute_id"] = int(attribute["attribute_id"])
                # ProductAttributeInterface carries its options: no second request for them.
                options = attribute.get("options")
            if not isinstance(options, list):
                options = self.client.request(
                    "GET", f"{path}/options", endpoint="attributes.options.list"
                )
        except MagentoRecordError as exc:
            if exc.status == 404:
                raise RecordError(
                    f"Magento has no product attribute {code!r}: create it as a dropdown"
                    " (scope Global) in the products' attribute set, or map the grid"
                    " dimension to an existing attribute with CPSYNC_GRID_ATTRIBUTES"
                ) from exc
            raise
        values = doc.setdefault("values", {})
        for option in options or []:
            label, value = str(option.get("label", "")).strip(), str(option.get("value", ""))
            if label and value.isdigit():
                values[label.lower()] = int(value)

    def _add(self, code: str, label: str, doc: dict[str, Any]) -> None:
        path = f"products/attributes/{sku_path(code)}/options"
        try:
            answer = self.client.request(
                "POST", path, endpoint="attributes.options.add", json={"option": {"label": label}}
            )
        except MagentoRecordError as exc:
            if exc.status != 400:  # 400: added meanwhile by someone else; read it below
                raise
            answer = None
        text = str(answer or "")
        if text.isdigit():
            doc["values"][label.lower()] = int(text)
        else:  # 2.3 answers "id_<n>"; re-read rather than trust the shape
            self._read(code, doc)
        if label.lower() not in doc["values"]:
            raise RecordError(f"Magento did not keep option {label!r} of attribute {code!r}")

    def resolve(self, code: str, labels: Sequence[str]) -> tuple[int, dict[str, int]]:
        """The attribute id and the option id of each label (creating missing values).

        Raises:
            RecordError: The attribute does not exist in Magento (the message says what to do).
        """
        with self._lock:
            doc = self._doc(code)
            values = doc.setdefault("values", {})
            missing = [v for v in labels if v.lower() not in values]
            if missing or "attribute_id" not in doc:
                if code not in self._read_codes or "attribute_id" not in doc:
                    self._read(code, doc)
                    self._read_codes.add(code)
                for label in [v for v in missing if v.lower() not in doc["values"]]:
                    self._add(code, label, doc)
                self.state.put_docs(ATTRIBUTE_DOC_KIND, {code: doc})
            ids = {v: int(doc["values"][v.lower()]) for v in labels}
            return int(doc["attribute_id"]), ids
