"""Stock of a large batch through Magento's stock_sources import, against the emulator."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from cpsync.magento.client import MagentoClient, RetryPolicy
from cpsync.magento.inventory import StockWriter
from cpsync.magento.stock_price import stock_price_writers
from cpsync.model import Change
from cpsync.settings import load_settings
from cpsync_emulator import EmulatorConfig, running_emulator
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.server import EmulatorHandle
from tests.helpers import stock


@contextlib.contextmanager
def store(**config: Any) -> Iterator[tuple[EmulatorHandle, MagentoClient]]:
    retry = RetryPolicy(max_attempts=2, budget_seconds=5, base_seconds=0.01)
    with (
        running_emulator(EmulatorConfig(timeout_seconds=5.0, **config)) as magento,
        MagentoClient(
            magento.url,
            magento.token,
            timeout=httpx.Timeout(5.0),
            retry=retry,
            sleep=lambda s: time.sleep(min(s, 0.05)),
        ) as client,
    ):
        yield magento, client


def items_of(magento: EmulatorHandle) -> dict[tuple[str, str], tuple[float, int]]:
    return {
        key: (item["quantity"], item["status"])
        for key, item in inventory_of(magento.store).items.items()
    }


def batch(count: int) -> list[Change]:
    return [stock(f"SKU-{i}", i % 7) for i in range(count)]


def test_given_a_large_stock_batch_when_imported_then_magento_holds_what_bulk_writes() -> None:
    # GIVEN 1,200 stock records and a writer that imports batches of 1,000 rows or more
    changes = batch(1200)
    with store() as (magento, client):
        outcomes = StockWriter(client, import_min=1000, import_rows=500).write(changes)
        imported, stats = items_of(magento), magento.stats()
    with store() as (magento, client):
        StockWriter(client).write(changes)
        bulk = items_of(magento)
    # THEN every record is applied, in 3 import requests and no bulk call,
    assert all(o.applied for o in outcomes.values()) and len(outcomes) == 1200
    assert stats["requests"].get("import.json") == 4  # the probe and 3 files
    assert "inventory.source_items.save" not in stats["requests"]
    # AND Magento holds exactly what the bulk endpoint writes
    assert imported == bulk and len(bulk) == 1200


def test_given_a_store_without_the_entity_when_written_then_bulk_is_used_without_error() -> None:
    # GIVEN a store whose import has no stock_sources adapter (no InventoryImportExport)
    with store(import_entities=["catalog_product"]) as (magento, client):
        outcomes = StockWriter(client, import_min=10).write(batch(50))
        stats = magento.stats()
        # THEN the records go through the bulk endpoint and are all applied
        assert all(o.applied for o in outcomes.values()) and len(outcomes) == 50
        assert stats["requests"].get("inventory.source_items.save") == 1
        assert stats["requests"].get("import.json") == 1  # the probe only
        assert len(items_of(magento)) == 50


def test_given_a_small_batch_when_written_then_no_import_is_asked() -> None:
    with store() as (magento, client):
        StockWriter(client, import_min=100).write(batch(99))
        assert "import.json" not in magento.stats()["requests"]


def test_given_a_refused_file_when_written_then_each_record_ends_applied_or_parked() -> None:
    # GIVEN a writer that knows source 'shop2', which the store then deletes
    with store() as (magento, client):
        inventory_of(magento.store).sources["shop2"] = {
            **inventory_of(magento.store).sources["default"],
            "source_code": "shop2",
        }
        writer = StockWriter(client, import_min=10)
        writer.write([stock("WARM", 1, "shop2")])
        del inventory_of(magento.store).sources["shop2"]
        # WHEN a large batch names it in two records
        changes = [*batch(40), stock("GONE-1", 3, "shop2"), stock("GONE-2", 4, "shop2")]
        outcomes = writer.write(changes)
        stats = magento.stats()
        # THEN the import refused the file, and the bulk endpoint wrote it record by record:
        assert stats["requests"].get("import.json") == 2  # the probe and the refused file
        parked = {k for k, o in outcomes.items() if not o.applied}
        assert parked == {"GONE-1", "GONE-2"}
        assert all(not outcomes[k].retryable and outcomes[k].key == k for k in parked)
        # AND every other record is in Magento, nothing of the refused rows is
        held = items_of(magento)
        assert all((f"sku-{i}", "default") in held for i in range(40))
        assert not any(code == "shop2" and sku.startswith("gone") for sku, code in held)


def test_given_import_off_when_a_large_batch_is_written_then_the_import_is_never_called(
    tmp_path: Path,
) -> None:
    with store() as (magento, client):
        for mode in ("off", "auto"):
            settings = load_settings(
                counterpoint_url=f"sqlite:///{tmp_path}/cp.db",
                state_url=f"sqlite:///{tmp_path}/state.db",
                magento_url=magento.url,
                magento_token=magento.token,
                magento_import=mode,
                magento_import_stock_min=10,
            )
            stock_price_writers(client, settings)["stock"].write(batch(50))
            # THEN off sends the bulk call only; auto takes the import (probe and one file)
            requests = magento.stats()["requests"]
            assert requests.get("import.json", 0) == (0 if mode == "off" else 2)
