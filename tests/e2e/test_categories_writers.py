"""The category writers against the emulator over HTTP: the stores they meet in real life.

Hand-made categories, categories deleted in Magento, links made by hand, lost answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cpsync.magento.categories import CategoryApi
from cpsync.magento.errors import MagentoRecordError
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo


def _http(emulator: EmulatorHandle) -> httpx.Client:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    return httpx.Client(base_url=emulator.rest_url, headers=headers, timeout=5.0)


def _sync(runtime: Runtime, *tasks: str) -> None:
    for name in tasks or ("categories", "items", "category_items"):
        runtime.task(name).run()
    runtime.updater.drain(max_wait_seconds=3)


def _names(emulator: EmulatorHandle) -> list[str]:
    with emulator.store.lock:
        return sorted(c["name"] for c in emulator.store.categories.categories.values())


def _links(emulator: EmulatorHandle, sku: str) -> set[int]:
    product = emulator.store.products_by_sku()[sku]
    return {int(x["category_id"]) for x in product["extension_attributes"]["category_links"]}


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
def test_given_a_hand_made_category_with_the_same_url_key_then_it_is_adopted_not_doubled(
    runtime: Runtime, emulator: EmulatorHandle, locale: str
) -> None:
    # GIVEN a store (English, or German: its refusal is in German) where someone already made
    # "Kitchen" under the root by hand
    emulator.configure(locale=locale)
    with _http(emulator) as http:
        made = http.post(
            "/all/V1/categories",
            json={"category": {"name": "Kitchen", "is_active": False, "position": 99}},
        ).json()["id"]
    # WHEN cpsync syncs categories with empty state
    _sync(runtime, "categories")
    # THEN that category is Counterpoint's Kitchen now (active, DISP_SEQ_NO), not a second one
    assert _names(emulator).count("Kitchen") == 1
    kitchen = emulator.store.categories.get(made)
    assert kitchen is not None and kitchen["is_active"] is True and kitchen["position"] == 10
    assert runtime.queue.dead_letters() == []


def test_given_a_category_deleted_in_magento_when_it_changes_then_it_is_made_again(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    _sync(runtime, "categories")
    coffee = info.category_ids["COFFEE"]
    magento_id = runtime.state.get_magento_ids("category", [coffee])[coffee]
    with _http(emulator) as http:
        assert http.delete(f"/all/V1/categories/{magento_id}").json() is True
    with sqlite3.connect(folder / info.db_path.name) as conn:
        conn.execute("UPDATE EC_CATEG SET DESCR = 'Coffee Beans' WHERE CATEG_ID = ?", (coffee,))
    _sync(runtime, "categories")
    assert "Coffee Beans" in _names(emulator)
    new_id = runtime.state.get_magento_ids("category", [coffee])[coffee]
    assert new_id != magento_id
    assert runtime.queue.dead_letters() == []


def test_given_a_hand_made_link_when_the_item_moves_then_only_managed_links_change(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    folder, info = sample
    _sync(runtime)
    sku = next(s for s in sorted(info.ecommerce_item_nos) if _links(emulator, s))
    with _http(emulator) as http:
        sale = http.post("/all/V1/categories", json={"category": {"name": "Sale"}}).json()["id"]
        link = {"productLink": {"sku": sku, "category_id": str(sale)}}
        assert http.post(f"/all/V1/categories/{sale}/products", json=link).json() is True
    candles = info.category_ids["CANDLES"]
    with sqlite3.connect(folder / info.db_path.name) as conn:
        conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (sku,))
        conn.execute(
            "INSERT INTO EC_CATEG_ITEM (ITEM_NO, CATEG_ID, ENTRY_SEQ_NO, LST_MAINT_DT) "
            "VALUES (?, ?, 1, '2999-01-01 00:00:00')",
            (sku, candles),
        )
    _sync(runtime, "category_items")
    candles_id = runtime.state.get_magento_ids("category", [candles])[candles]
    assert _links(emulator, sku) == {sale, candles_id}


def test_given_a_link_removed_by_hand_when_queued_with_force_then_it_is_restored(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    sku = next(s for s in sorted(info.ecommerce_item_nos) if _links(emulator, s))
    (category,) = sorted(_links(emulator, sku))[:1]
    with _http(emulator) as http:
        http.delete(f"/all/V1/categories/{category}/products/{sku}")
    before = emulator.stats()["requests"].get("products.get", 0)
    # WHEN an operator queues the item (force): the product's real links are read first
    result = runtime.task("category_items").run(keys=[sku], force=True)
    runtime.updater.drain(max_wait_seconds=3)
    assert result.queued == 1
    assert category in _links(emulator, sku)
    assert emulator.stats()["requests"]["products.get"] == before + 1


def test_given_lost_answers_and_errors_on_category_saves_then_the_tree_is_exact_once(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    """A save Magento applied but whose answer was lost is retried; the clash is adopted."""
    folder, info = sample
    # one attempt per request: failures go back to the queue (fast test backoff), not to
    # sleeps; children wait for their parents there, so they get more receives than default
    runtime = make_runtime(
        folder, tmp_path, emulator, magento_max_attempts=1, queue_max_receives=50
    )
    emulator.set_faults("categories.save:502:0.3:applied", "categories.*:503:0.2", seed=11)
    _sync(runtime, "categories")
    emulator.set_faults()
    runtime.updater.drain(max_wait_seconds=10)
    faults = emulator.stats()["faults"]
    assert faults.get("categories.save:502", 0) > 0  # applied, answer lost
    with sqlite3.connect(folder / info.db_path.name) as conn:
        expected = sorted(
            r[0] for r in conn.execute("SELECT DESCR FROM EC_CATEG WHERE CATEG_ID <> '0'")
        )
    assert _names(emulator) == sorted(["Root Catalog", "Default Category", *expected])
    assert runtime.queue.dead_letters() == []


def test_given_the_api_then_reads_answer_typed_and_absent_things_are_none_or_false(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    api = CategoryApi(runtime.magento)
    created = api.create({"name": "Teas", "is_active": True})
    assert api.get(created.id) is not None and api.get(9999) is None
    assert api.tree(2, depth=1).children_data[0].name == "Teas"
    assert [c.id for c in api.search([[("name", "Teas", "eq")]])] == [created.id]
    runtime.magento.save_product({"sku": "T-1", "name": "Tea 1"})
    api.assign(created.id, "T-1")
    assert [link.sku for link in api.products(created.id)] == ["T-1"]
    assert api.unassign(created.id, "T-1") is True
    assert api.unassign(created.id, "T-1") is False
    api.move(created.id, 2, None)
    api.delete(created.id)
    assert api.get(created.id) is None


def test_given_hand_edits_when_categories_are_queued_with_force_then_only_they_are_repaired(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime, "categories")
    ids = runtime.state.get_magento_ids("category", list(info.category_ids.values()))
    tea = ids[info.category_ids["TEA_COFFEE"]]
    with _http(emulator) as http:
        http.put(f"/all/V1/categories/{tea}", json={"category": {"name": "Drinks"}})
        http.put(
            f"/all/V1/categories/{tea}/move", json={"parentId": ids[info.category_ids["HOME"]]}
        )
    before = emulator.stats()["writes"]
    # WHEN an operator runs "queue all" (a full, forced run)
    result = runtime.task("categories").run(full=True, force=True)
    runtime.updater.drain(max_wait_seconds=3)
    # THEN every category is read back and one move undoes the hand move; saves go only to
    # the renamed category and to siblings whose positions Magento renumbered in the hand move
    assert result.queued == len(ids)
    after = emulator.stats()["writes"]
    assert after["categories.moved"] - before["categories.moved"] == 1
    assert 1 <= after["categories.updated"] - before.get("categories.updated", 0) <= 3
    tea_now = emulator.store.categories.get(tea)
    assert tea_now is not None
    assert tea_now["name"] == "Tea & Coffee" and tea_now["parent_id"] == 2
    top = [c["name"] for c in emulator.store.categories.children(2)]
    assert top == ["Kitchen", "Apparel", "Tea & Coffee", "Home & Gifts", "Seasonal"]


def test_given_a_store_refusing_encoded_slashes_then_unlinking_a_sku_with_slash_says_why(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    api = CategoryApi(runtime.magento)
    created = api.create({"name": "Mugs", "is_active": True})
    runtime.magento.save_product({"sku": "MUG/12", "name": "Mug 12"})
    api.assign(created.id, "MUG/12")
    emulator.configure(reject_encoded_slash=True)
    with pytest.raises(MagentoRecordError, match="AllowEncodedSlashes"):
        api.unassign(created.id, "MUG/12")
    emulator.configure(reject_encoded_slash=False)
    assert api.unassign(created.id, "MUG/12") is True


def test_given_bulk_product_saves_then_new_products_still_go_up_in_their_categories(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    folder, _ = sample
    runtime = make_runtime(
        folder, tmp_path, emulator, magento_bulk_products=True, magento_bulk_min_batch=2
    )
    _sync(runtime)
    assert emulator.stats()["requests"].get("bulk.submit", 0) >= 1
    linked = [
        sku
        for sku, product in emulator.store.products_by_sku().items()
        if product["extension_attributes"].get("category_links")
    ]
    assert len(linked) > 10
    # the links came with the bulk creates: the Category Items task had nothing to add
    assert "category_links.saved" not in emulator.stats()["writes"]


def test_given_a_store_that_merges_saved_links_then_an_item_move_still_ends_exact(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    """cpsync never relies on a product save to remove links, so both kinds of store work."""
    folder, info = sample
    emulator.configure(category_links_on_save="merge")
    _sync(runtime)
    sku = next(s for s in sorted(info.ecommerce_item_nos) if len(_links(emulator, s)) == 1)
    candles = info.category_ids["CANDLES"]
    with sqlite3.connect(folder / info.db_path.name) as conn:
        conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (sku,))
        conn.execute(
            "INSERT INTO EC_CATEG_ITEM (ITEM_NO, CATEG_ID, ENTRY_SEQ_NO, LST_MAINT_DT) "
            "VALUES (?, ?, 1, '2999-01-01 00:00:00')",
            (sku, candles),
        )
    _sync(runtime)
    assert _links(emulator, sku) == {runtime.state.get_magento_ids("category", [candles])[candles]}
