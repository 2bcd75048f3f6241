"""Categories and category links from the sample database end up exactly right in Magento.

Expectations are computed from the sample database with plain SQL (sqlite3), never from
cpsync's own code, and compared with what the emulator holds, by category names and paths.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cpsync.model import CategoryState, Change, make_version
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

TASKS = ("categories", "items", "category_items")
Tree = list[tuple[str, int, "Tree"]]  # (name, position, children) in display order


def _sql(info: SampleInfo, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(info.db_path) as conn:
        return list(conn.execute(query, args))


def _expected_tree(info: SampleInfo, parent: str = "0") -> Tree:
    rows = _sql(
        info,
        "SELECT CATEG_ID, DESCR, DISP_SEQ_NO FROM EC_CATEG WHERE PARENT_ID = ? "
        "ORDER BY DISP_SEQ_NO, CATEG_ID",
        parent,
    )
    return [(name, seq, _expected_tree(info, categ_id)) for categ_id, name, seq in rows]


def _paths(info: SampleInfo) -> dict[str, str]:
    """CATEG_ID -> 'Kitchen/Mugs & Cups' (names joined from the top)."""
    rows = {c: (p, n) for c, p, n in _sql(info, "SELECT CATEG_ID, PARENT_ID, DESCR FROM EC_CATEG")}

    def path(categ_id: str) -> str:
        parent, name = rows[categ_id]
        return name if parent == "0" else f"{path(parent)}/{name}"

    return {c: path(c) for c in rows if c != "0"}


def _expected_links(info: SampleInfo) -> dict[str, set[str]]:
    """SKU -> category paths, for the items that are products (e-commerce and active)."""
    paths = _paths(info)
    links: dict[str, set[str]] = {}
    for item_no, categ_id in _sql(
        info,
        "SELECT L.ITEM_NO, L.CATEG_ID FROM EC_CATEG_ITEM L JOIN IM_ITEM I "
        "ON I.ITEM_NO = L.ITEM_NO WHERE I.IS_ECOMM_ITEM = 'Y' AND I.STAT = 'A'",
    ):
        links.setdefault(item_no, set()).add(paths[categ_id])
    return links


def _magento_tree(emulator: EmulatorHandle, root: int = 2) -> tuple[Tree, dict[int, str]]:
    """The emulator's tree below `root`, and Magento id -> name path."""
    store = emulator.store
    names: dict[int, str] = {}

    def walk(parent: int, prefix: str) -> Tree:
        nodes: Tree = []
        for child in store.categories.children(parent):
            path = f"{prefix}{child['name']}"
            names[child["id"]] = path
            nodes.append((child["name"], child["position"], walk(child["id"], path + "/")))
        return nodes

    with store.lock:
        return walk(root, ""), names


def _order_only(tree: Tree) -> list[Any]:
    return [(name, _order_only(children)) for name, _, children in tree]


def _magento_links(emulator: EmulatorHandle) -> dict[str, set[str]]:
    _, names = _magento_tree(emulator)
    return {
        sku: {names[int(link["category_id"])] for link in links}
        for sku, product in emulator.store.products_by_sku().items()
        if (links := product["extension_attributes"].get("category_links"))
    }


def _active(emulator: EmulatorHandle) -> dict[str, bool]:
    _, names = _magento_tree(emulator)
    with emulator.store.lock:
        return {
            names[i]: c["is_active"]
            for i, c in emulator.store.categories.categories.items()
            if i in names
        }


def _sync(runtime: Runtime, *tasks: str) -> dict[str, Any]:
    results = {name: runtime.task(name).run() for name in tasks or TASKS}
    runtime.updater.drain(max_wait_seconds=3)
    return results


def _local_now(runtime: Runtime) -> datetime:
    return datetime.now(UTC).astimezone(runtime.settings.zone).replace(tzinfo=None)


def _own_copy(sample: tuple[Path, SampleInfo]) -> SampleInfo:
    """The sample info pointing at this test's copy of the database (never the template)."""
    folder, info = sample
    return dataclasses.replace(info, db_path=folder / info.db_path.name)


@pytest.fixture
def synced(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> Iterator[tuple[Runtime, EmulatorHandle, SampleInfo]]:
    """A store after one full sync of categories, items and category items."""
    _sync(runtime)
    yield runtime, emulator, _own_copy(sample)


def _writes(emulator: EmulatorHandle, before: dict[str, int]) -> dict[str, int]:
    after = emulator.stats()["writes"]
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def test_given_the_sample_when_fully_synced_then_magento_holds_exactly_its_tree_and_links(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    info = _own_copy(sample)
    # WHEN categories, items and category items run in full and the queue drains
    results = _sync(runtime)
    # THEN the tree below the store root is EC_CATEG: names, nesting, DISP_SEQ_NO positions
    tree, _ = _magento_tree(emulator)
    assert tree == _expected_tree(info)
    assert all(_active(emulator).values())
    # AND every product sits in exactly its EC_CATEG_ITEM categories
    expected = _expected_links(info)
    actual = _magento_links(emulator)
    products = set(emulator.store.products_by_sku())
    assert set(expected) <= products  # grid items through their configurable parent
    assert expected == actual
    children = set(products) - set(info.item_nos)
    assert children and not children & set(actual)  # grid children are never linked
    # AND new products went up with their links: no link request was needed afterwards
    writes = emulator.stats()["writes"]
    assert "category_links.saved" not in writes and "category_links.deleted" not in writes
    assert writes["categories.created"] == len(_paths(info))
    assert results["categories"].errors == []
    # AND nothing waits on a product that is not there: items not (yet) sent as products by
    # the Items task (grids, until they are synced) get their links when they are created
    assert runtime.queue.dead_letters() == []
    assert runtime.queue.depth().visible == 0


def test_given_a_synced_store_when_synced_again_then_nothing_is_written(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, _ = synced
    before = emulator.stats()["writes"]
    results = _sync(runtime)
    assert {name: r.queued for name, r in results.items()} == dict.fromkeys(TASKS, 0)
    assert _writes(emulator, before) == {}


def test_given_a_category_moved_under_another_when_synced_then_exactly_one_move_follows(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    mugs, home = info.category_ids["MUGS"], info.category_ids["HOME"]
    before = emulator.stats()
    # WHEN Mugs & Cups moves from Kitchen to Home & Gifts, between Candles (10) and Décor (20)
    with sqlite3.connect(info.db_path) as conn:
        conn.execute(
            "UPDATE EC_CATEG SET PARENT_ID = ?, DISP_SEQ_NO = 15, LST_MAINT_DT = ? "
            "WHERE CATEG_ID = ?",
            (home, _local_now(runtime).isoformat(sep=" "), mugs),
        )
    result = runtime.task("categories").run()
    runtime.updater.drain(max_wait_seconds=3)
    # THEN one change, and exactly one write: the move
    assert result.queued == 1
    assert _writes(emulator, before["writes"]) == {"categories.moved": 1}
    after = emulator.stats()["requests"]
    assert after.get("categories.save", 0) == before["requests"].get("categories.save", 0)
    # AND the tree is Counterpoint's again, in Counterpoint's order
    tree, _ = _magento_tree(emulator)
    assert _order_only(tree) == _order_only(_expected_tree(info))
    # AND products stay linked to it, now under its new path
    assert any("Home & Gifts/Mugs & Cups" in paths for paths in _magento_links(emulator).values())


def test_given_an_item_moved_between_categories_then_only_its_links_change(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    links_before = _magento_links(emulator)
    sku = next(s for s, paths in sorted(links_before.items()) if len(paths) == 1)
    (old_categ,) = _sql(info, "SELECT CATEG_ID FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", sku)[0]
    new_categ = info.category_ids["CANDLES"]
    assert new_categ != old_categ
    before = emulator.stats()["writes"]
    # WHEN the item's row is moved to Candles (delete + insert, as Counterpoint does)
    with sqlite3.connect(info.db_path) as conn:
        conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (sku,))
        conn.execute(
            "INSERT INTO EC_CATEG_ITEM (ITEM_NO, CATEG_ID, ENTRY_SEQ_NO, LST_MAINT_DT) "
            "VALUES (?, ?, 1, ?)",
            (sku, new_categ, _local_now(runtime).isoformat(sep=" ")),
        )
    result = runtime.task("category_items").run()
    runtime.updater.drain(max_wait_seconds=3)
    # THEN a changed run (not a full one) queued that item alone
    assert result.mode == "changed" and result.queued == 1
    # AND exactly one link added and one removed, on that product only
    assert _writes(emulator, before) == {"category_links.saved": 1, "category_links.deleted": 1}
    links_after = _magento_links(emulator)
    assert links_after[sku] == {"Home & Gifts/Candles"}
    assert {s: p for s, p in links_after.items() if s != sku} == {
        s: p for s, p in links_before.items() if s != sku
    }


def test_given_an_item_removed_from_its_categories_then_the_next_full_read_unlinks_it(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    sku = sorted(_magento_links(emulator))[0]
    with sqlite3.connect(info.db_path) as conn:
        conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (sku,))
    # a changed run cannot see a deletion...
    assert runtime.task("category_items").run().mode == "changed"
    assert sku in _magento_links(emulator)
    # ...the scheduled run after the last full read is 60 minutes old reads all, and does
    last_full = runtime.state.get_watermark("category_items:full")
    assert last_full is not None
    runtime.state.set_watermark("category_items:full", last_full - timedelta(minutes=60))
    result = runtime.task("category_items").run()
    runtime.updater.drain(max_wait_seconds=3)
    assert result.mode == "full" and result.removed == 1
    assert sku not in _magento_links(emulator)
    assert emulator.store.products_by_sku()[sku]["status"] == 1  # the product itself stays


def test_given_a_category_removed_in_counterpoint_then_it_is_deactivated_not_deleted(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    before = emulator.stats()["writes"]
    with sqlite3.connect(info.db_path) as conn:
        conn.execute(
            "DELETE FROM EC_CATEG WHERE CATEG_ID = ?", (info.special["empty_leaf_category"],)
        )
    result = runtime.task("categories").run()
    runtime.updater.drain(max_wait_seconds=3)
    assert result.removed == 1
    assert _writes(emulator, before) == {"categories.updated": 1}
    active = _active(emulator)
    assert active["Seasonal/Holiday/Ornaments"] is False
    assert sum(1 for on in active.values() if not on) == 1
    # AND a second run leaves it alone
    again = runtime.task("categories").run()
    assert again.queued == 0


def test_given_a_renamed_category_then_one_save_sends_the_new_name_and_url_key(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    before = emulator.stats()["writes"]
    with sqlite3.connect(info.db_path) as conn:
        conn.execute(
            "UPDATE EC_CATEG SET DESCR = 'Teas' WHERE CATEG_ID = ?",
            (info.category_ids["GREEN_TEA"],),
        )
    _sync(runtime, "categories")
    assert _writes(emulator, before) == {"categories.updated": 1}
    tree, _ = _magento_tree(emulator)
    assert tree == _expected_tree(info)


def test_given_a_cycle_and_an_orphan_when_synced_then_both_are_reported_and_the_rest_syncs(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    info = _own_copy(sample)
    ids = info.category_ids
    with sqlite3.connect(info.db_path) as conn:
        # Kitchen -> Mugs -> Kitchen, and Seasonal under a parent that does not exist
        conn.execute(
            "UPDATE EC_CATEG SET PARENT_ID = ? WHERE CATEG_ID = ?", (ids["MUGS"], ids["KITCHEN"])
        )
        conn.execute(
            "UPDATE EC_CATEG SET PARENT_ID = 'NOPE' WHERE CATEG_ID = ?", (ids["SEASONAL"],)
        )
    result = _sync(runtime, "categories")["categories"]
    broken = {"KITCHEN", "MUGS", "COOKWARE", "POTS", "PANS", "SEASONAL", "HOLIDAY", "ORNAMENTS"}
    assert {e.key for e in result.errors} == {ids[k] for k in broken}
    by_key = {e.key: e.message for e in result.errors}
    assert "cycle" in by_key[ids["KITCHEN"]]
    assert "NOPE" in by_key[ids["SEASONAL"]] and "orphan" in by_key[ids["SEASONAL"]]
    assert {e.key for e in runtime.state.errors()} >= {ids["KITCHEN"], ids["SEASONAL"]}
    # THEN the healthy branches (still under the root '0') are in Magento, exactly
    tree, _ = _magento_tree(emulator)
    assert [name for name, _, _ in tree] == ["Apparel", "Tea & Coffee", "Home & Gifts"]
    assert tree == _expected_tree(info)


def test_given_a_child_whose_parent_is_not_in_magento_then_it_is_retried_not_parked(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    child = CategoryState(
        categ_id="C", active=True, name="Child", parent_id="P", url_key="child", depth=2
    )
    parent = CategoryState(categ_id="P", active=True, name="Parent", url_key="parent", depth=1)

    def change(state: CategoryState) -> Change:
        now = datetime.now(UTC)
        return Change(
            kind="category",
            key=state.key(),
            version=make_version(None, now),
            fingerprint=state.fingerprint(),
            payload=state.payload(),
            task="categories",
            run_id="test",
            detected_at=now,
        )

    writer = runtime.writers["category"]
    alone = writer.write([change(child)])
    assert alone["C"].retryable and "parent category P is not in Magento yet" in str(
        alone["C"].error
    )
    # WHEN parent and child come in one batch, child first: the parent is written first
    together = writer.write([change(child), change(parent)])
    assert together["C"].applied and together["P"].applied
    tree, _ = _magento_tree(emulator)
    assert tree == [("Parent", 1, [("Child", 1, [])])]


def test_given_an_item_queued_by_name_after_leaving_every_category_then_it_is_unlinked(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    sku = sorted(_magento_links(emulator))[-1]
    with sqlite3.connect(info.db_path) as conn:
        conn.execute("DELETE FROM EC_CATEG_ITEM WHERE ITEM_NO = ?", (sku,))
    result = runtime.task("category_items").run(keys=[sku])
    runtime.updater.drain(max_wait_seconds=3)
    assert result.queued == 1
    assert sku not in _magento_links(emulator)


def test_given_two_siblings_named_alike_then_both_sync_with_distinct_url_keys(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    pans = info.category_ids["PANS"]
    with sqlite3.connect(info.db_path) as conn:
        conn.execute("UPDATE EC_CATEG SET DESCR = 'Pots' WHERE CATEG_ID = ?", (pans,))
    _sync(runtime, "categories")
    assert runtime.queue.dead_letters() == []
    with emulator.store.lock:
        cookware = next(
            c for c in emulator.store.categories.categories.values() if c["name"] == "Cookware"
        )
        keys = sorted(
            next(a["value"] for a in c["custom_attributes"] if a["attribute_code"] == "url_key")
            for c in emulator.store.categories.children(cookware["id"])
        )
    assert keys == ["pots", f"pots-{pans}"]


def test_given_an_item_off_and_back_on_ecommerce_then_its_links_follow(
    synced: tuple[Runtime, EmulatorHandle, SampleInfo],
) -> None:
    runtime, emulator, info = synced
    sku = sorted(_magento_links(emulator))[1]
    expected = _magento_links(emulator)[sku]

    def flag(value: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        with sqlite3.connect(info.db_path) as conn:
            conn.execute(
                "UPDATE IM_ITEM SET IS_ECOMM_ITEM = ?, RS_UTC_DT = ? WHERE ITEM_NO = ?",
                (value, now, sku),
            )

    # WHEN the item leaves e-commerce: the product is disabled, a full read unlinks it
    flag("N")
    _sync(runtime, "items")
    runtime.task("category_items").run(full=True)
    runtime.updater.drain(max_wait_seconds=3)
    assert emulator.store.products_by_sku()[sku]["status"] == 2
    assert sku not in _magento_links(emulator)
    # WHEN it comes back: the next changed run links it again, without waiting for a full read
    flag("Y")
    _sync(runtime, "items")
    result = runtime.task("category_items").run()
    runtime.updater.drain(max_wait_seconds=3)
    assert result.mode == "changed" and result.queued == 1
    assert _magento_links(emulator)[sku] == expected
