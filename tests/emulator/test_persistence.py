"""The catalog survives a restart through the state file (the demo keeps it in ``.demo/``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator


def client_for(magento: EmulatorHandle) -> httpx.Client:
    headers = {"Authorization": f"Bearer {magento.token}"}
    return httpx.Client(base_url=magento.rest_url, headers=headers, timeout=5.0)


def test_given_a_state_file_when_the_emulator_restarts_then_the_catalog_is_back(
    tmp_path: Path,
) -> None:
    # GIVEN a run that creates two products, one of them deleted again
    state_file = tmp_path / "demo" / "magento.json"
    config = EmulatorConfig(state_file=state_file)
    with running_emulator(config) as magento, client_for(magento) as http:
        for sku in ("P-1", "P-2", "P-3"):
            http.post("/V1/products", json={"product": {"sku": sku, "name": f"Item {sku}"}})
        http.delete("/V1/products/P-3")
        before = http.get("/V1/products/P-2").json()
    # THEN shutdown saved it
    assert state_file.exists()
    # WHEN a new emulator starts on the same file
    with (
        running_emulator(EmulatorConfig(state_file=state_file)) as magento,
        client_for(magento) as http,
    ):
        after = http.get("/V1/products/p-2").json()
        created = http.post("/V1/products", json={"product": {"sku": "P-4", "name": "Item P-4"}})
        clash = http.post("/V1/products", json={"product": {"sku": "P-5", "name": "Item P-1"}})
    # THEN products, ids and the url_key index are as before
    assert after == before
    assert created.json()["id"] == 4  # ids are not reused, even of deleted products
    assert clash.status_code == 400


def test_given_a_handle_when_save_is_called_then_the_file_is_written_without_stopping(
    tmp_path: Path,
) -> None:
    target = tmp_path / "catalog.json"
    with running_emulator() as magento, client_for(magento) as http:
        http.post("/V1/products", json={"product": {"sku": "S-1", "name": "Item"}})
        assert magento.save() is None  # no state file configured
        assert magento.save(target) == target
    document = json.loads(target.read_text())
    assert [p["sku"] for p in document["products"]] == ["S-1"]


def test_given_a_foreign_json_file_when_loading_then_start_up_refuses_it(tmp_path: Path) -> None:
    state_file = tmp_path / "other.json"
    state_file.write_text('{"products": []}')
    with pytest.raises(ValueError), running_emulator(EmulatorConfig(state_file=state_file)):
        pass


def test_given_two_emulators_when_running_together_then_their_catalogs_are_separate() -> None:
    with running_emulator() as first, running_emulator() as second:
        with client_for(first) as http:
            http.post("/V1/products", json={"product": {"sku": "ONLY-1", "name": "One"}})
        assert first.url != second.url
        assert list(first.store.products_by_sku()) == ["ONLY-1"]
        assert second.store.products_by_sku() == {}
