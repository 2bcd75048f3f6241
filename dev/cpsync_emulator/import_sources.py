"""The ``stock_sources`` import entity (Magento_InventoryImportExport): source items by file.

Columns ``source_code``, ``sku``, ``status``, ``quantity`` (``Model/Import/Sources.php``).
Rows are checked by the entity's validator chain: ``sku`` and ``quantity`` must be present
(``Missing required column "%column"``), ``source_code`` must name an existing source
(``Source code "%code" does not exists``). Valid rows are saved through the same service as
``POST /V1/inventory/source-items`` (``Command/Append`` calls ``SourceItemsSaveInterface``;
``Command/Replace`` deletes the rows' (sku, source) pairs first, then saves them, which ends
in the same items). So an import row costs the source-item save's per-item cost on top of
the import's own per-row cost; this module charges it.
"""

from __future__ import annotations

from typing import Any

from cpsync_emulator.inventory import DEFAULT_SOURCE, _mirror_to_legacy, inventory_of
from cpsync_emulator.routing import RestRequest
from cpsync_emulator.store import sku_key

__all__ = ["ENTITY", "check_source_row", "save_source_rows"]

ENTITY = "stock_sources"
MISSING_COLUMN = 'Missing required column "%s"'
UNKNOWN_SOURCE = 'Source code "%s" does not exists'
#: The bulk save's endpoint: its per-item cost is what the import's save of a row costs.
SAVE_ENDPOINT = "inventory.source_items.save"


def check_source_row(request: RestRequest, row: dict[str, Any]) -> list[str]:
    """The messages of the entity's validators for one row (none when it is valid)."""
    errors: list[str] = []
    if row.get("sku") is None:
        errors.append(MISSING_COLUMN % "sku")
    if row.get("quantity") is None:
        errors.append(MISSING_COLUMN % "quantity")
    code = row.get("source_code")
    if code is None:
        errors.append(MISSING_COLUMN % "source_code")
    elif str(code) not in inventory_of(request.emulator.store).sources:
        errors.append(UNKNOWN_SOURCE % code)
    return errors


def _number(value: Any) -> float:
    """PHP's cast of a quantity cell: a text that is not a number is 0."""
    try:
        return float(str(value).strip() or 0)
    except ValueError:
        return 0.0


def save_source_rows(request: RestRequest, rows: list[dict[str, Any]], behavior: str) -> None:
    """Save valid rows as source items (append and replace end alike), charging their cost.

    Call with the store lock held.
    """
    emulator = request.emulator
    store = emulator.store
    inventory = inventory_of(store)
    for row in rows:
        sku = str(row["sku"]).strip()
        item = {
            "sku": sku,
            "source_code": str(row["source_code"]),
            "quantity": _number(row["quantity"]),
            "status": 1 if str(row.get("status", "0")).strip() == "1" else 0,
        }
        key = (sku_key(sku), item["source_code"])
        if behavior == "replace":
            inventory.items.pop(key, None)
        inventory.items[key] = item
        if item["source_code"] == DEFAULT_SOURCE:
            _mirror_to_legacy(store, item)
        emulator.stats.record_write("source_items.updated")
    cost = emulator.config.record_cost_seconds(SAVE_ENDPOINT, len(rows))
    emulator.stats.record_cost(cost, request.route.endpoint)
