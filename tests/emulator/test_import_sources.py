"""The stock_sources import entity: source items by file, as Magento_InventoryImportExport does."""

from __future__ import annotations

from typing import Any

import httpx

from cpsync_emulator import EmulatorHandle
from cpsync_emulator.imports import TERMINATED, WRONG_ENTITY


def _source(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    source = {
        "entity": "stock_sources",
        "behavior": "append",
        "validation_strategy": "validation-stop-on-errors",
        "allowed_error_count": "0",
        "items": items,
    }
    return {"source": source | extra}


def _row(sku: str, quantity: str = "5", **extra: Any) -> dict[str, Any]:
    return {"source_code": "default", "sku": sku, "status": "1", "quantity": quantity} | extra


def _items(client: httpx.Client) -> dict[str, tuple[float, int]]:
    found = client.get(
        "/all/V1/inventory/source-items", params={"searchCriteria[pageSize]": 100}
    ).json()
    return {i["sku"]: (i["quantity"], i["status"]) for i in found["items"]}


def test_given_valid_rows_when_imported_then_the_source_items_are_as_bulk_saves_them(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    rows = [_row("A-1", "3"), _row("A-2", "0", status="0")]
    answer = client.post("/all/V1/import/json", json=_source(rows)).json()
    assert answer == ["Entities Processed: 2"]
    assert _items(client) == {"A-1": (3.0, 1), "A-2": (0.0, 0)}
    # AND the import was charged the bulk save's per-item cost on top of its own
    config = magento.emulator.config
    expected = config.cost_seconds("import.json", 2) + config.record_cost_seconds(
        "inventory.source_items.save", 2
    )
    charged = magento.stats()["worker_seconds_by_endpoint"]["import.json"]
    assert abs(charged - expected) < 1e-9


def test_given_an_unknown_source_or_a_missing_column_when_imported_then_the_file_stops(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(import_row_errors=True)
    rows = [
        _row("B-1"),
        _row("B-2", source_code="nowhere"),
        {"sku": "B-3", "source_code": "default"},
    ]
    answer = client.post("/all/V1/import/json", json=_source(rows)).json()
    assert answer[0] == TERMINATED
    assert 'Source code "nowhere" does not exists in row(s): 2' in answer
    assert 'Missing required column "quantity" in row(s): 3' in answer
    # stop-on-errors with none allowed: the rows before the first error are written
    assert _items(client) == {"B-1": (5.0, 1)}


def test_given_replace_when_imported_then_the_rows_items_are_written_anew(
    client: httpx.Client,
) -> None:
    client.post("/all/V1/import/json", json=_source([_row("C-1", "9")]))
    answer = client.post(
        "/all/V1/import/json", json=_source([_row("C-1", "2")], behavior="replace")
    )
    assert answer.json() == ["Entities Processed: 1"]
    assert _items(client) == {"C-1": (2.0, 1)}


def test_given_a_store_without_the_entity_when_imported_then_it_is_refused(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(import_entities=["catalog_product"])
    answer = client.post("/all/V1/import/json", json=_source([_row("D-1")])).json()
    assert answer == [WRONG_ENTITY]
    assert _items(client) == {}
