"""Category rules without a database: the tree, url keys, payloads, links and full-run timing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from cpsync.embedded import SqliteQueue, SqliteState, sqlite_engine
from cpsync.magento.categories import build_category_payload, current_category_ids
from cpsync.magento.products import build_product_payload
from cpsync.model import CategoryLinksState, CategoryState, ProductState
from cpsync.settings import load_settings
from cpsync.tasks.base import TaskContext
from cpsync.tasks.categories import CategoryRow, CategoryTree
from cpsync.tasks.category_items import CategoryItemsTask


def row(categ_id: str, parent: str | None, name: str = "", position: int = 0) -> CategoryRow:
    return CategoryRow(categ_id, parent, name or f"Category {categ_id}", None, position)


def test_given_a_tree_when_placed_then_each_category_has_its_depth() -> None:
    tree = CategoryTree([row("A", None), row("B", "A"), row("C", "B"), row("D", None)])
    assert tree.depth == {"A": 1, "B": 2, "C": 3, "D": 1}
    assert tree.problem == {}


def test_given_a_cycle_when_placed_then_the_cycle_and_what_hangs_below_are_reported() -> None:
    # GIVEN X -> Y -> X, with Z under X, and a healthy branch beside
    tree = CategoryTree([row("X", "Y"), row("Y", "X"), row("Z", "X"), row("OK", None)])
    # THEN the loop is named, everything in or below it is refused, the rest is placed
    assert set(tree.problem) == {"X", "Y", "Z"}
    assert "cycle" in tree.problem["X"] and "X" in tree.problem["X"] and "Y" in tree.problem["X"]
    assert tree.depth == {"OK": 1}


def test_given_an_orphan_when_placed_then_it_and_its_children_are_reported() -> None:
    tree = CategoryTree([row("O", "GONE"), row("P", "O"), row("OK", None)])
    assert tree.problem["O"] == "its parent GONE is not in EC_CATEG (orphan)"
    assert tree.problem["P"].startswith("ancestor O cannot be synced")
    assert tree.depth == {"OK": 1}


def test_given_siblings_with_one_slug_when_keyed_then_the_later_gets_its_id_appended() -> None:
    tree = CategoryTree(
        [
            row("20", None, "Mugs & Cups", 20),
            row("10", None, "Mugs / Cups", 10),
            row("30", "10", "Mugs & Cups", 10),  # another parent: no clash
            row("40", None, "!!!", 30),
        ]
    )
    assert tree.url_keys == {
        "10": "mugs-cups",
        "20": "mugs-cups-20",
        "30": "mugs-cups",
        "40": "category-40",
    }


def test_given_a_removed_category_then_it_is_only_deactivated_and_never_created() -> None:
    removed = CategoryState.removed("12")
    assert removed.active is False and removed.name is None
    assert removed.publish_if_new() is False
    with pytest.raises(ValidationError):
        CategoryState(categ_id="12", active=True)


def test_given_only_the_depth_differs_then_the_fingerprint_is_the_same() -> None:
    fields = {"categ_id": "1", "active": True, "name": "A", "url_key": "a", "position": 1}
    assert (
        CategoryState(**fields, depth=1).fingerprint()
        == CategoryState(**fields, depth=3).fingerprint()
    )


def test_given_changed_fields_when_building_a_save_then_only_those_are_sent() -> None:
    state = CategoryState(
        categ_id="1", active=True, name="Mugs", url_key="mugs", position=10, description=None
    )
    assert build_category_payload(state, ["name"]) == {"name": "Mugs"}
    assert build_category_payload(state, ["description", "position"]) == {
        "position": 10,
        "custom_attributes": [{"attribute_code": "description", "value": ""}],
    }
    created = build_category_payload(state, parent_id=7)
    assert created["parent_id"] == 7 and created["is_active"] is True
    assert {"attribute_code": "url_key", "value": "mugs"} in created["custom_attributes"]


def test_given_links_in_either_place_when_read_then_the_same_ids_come_back() -> None:
    links = {"extension_attributes": {"category_links": [{"category_id": "3"}]}}
    as_list = {"custom_attributes": [{"attribute_code": "category_ids", "value": ["3", "4"]}]}
    as_text = {"custom_attributes": [{"attribute_code": "category_ids", "value": "3,4"}]}
    assert current_category_ids(links) == {3}
    assert current_category_ids(as_list) == current_category_ids(as_text) == {3, 4}
    assert current_category_ids({}) == set()


def test_given_category_links_state_then_ids_are_a_sorted_set() -> None:
    state = CategoryLinksState(sku="A", category_ids=("b", "a", "b"))
    assert state.category_ids == ("a", "b")
    assert CategoryLinksState(sku="A").publish_if_new() is False


def test_given_a_new_product_then_links_go_in_the_create_and_never_in_an_update() -> None:
    state = ProductState(
        sku="A", enabled=True, name="A", url_key="a", price=1, category_ids=("10", "20")
    )
    created = build_product_payload(state, create=True, category_ids=[5, 6])
    updated = build_product_payload(state, create=False, category_ids=[5, 6])
    assert created["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": "5"},
        {"position": 0, "category_id": "6"},
    ]
    assert "extension_attributes" not in updated
    # category ids never make a product change on their own
    other = state.model_copy(update={"category_ids": ("30",)})
    assert other.fingerprint() == state.fingerprint()


def test_given_full_every_when_the_last_full_run_is_old_then_a_changed_run_reads_all(
    tmp_path: Path,
) -> None:
    engine = sqlite_engine(f"sqlite:///{tmp_path}/state.db")
    state = SqliteState(engine)
    settings = load_settings(category_items_full_every_minutes=60)
    task = CategoryItemsTask(TaskContext(settings, engine, state, SqliteQueue(engine)))
    now = datetime(2026, 11, 27, 12, 0)
    assert task._full_due(now)  # never ran full
    state.set_watermark("category_items:full", now - timedelta(minutes=59))
    assert not task._full_due(now)
    state.set_watermark("category_items:full", now - timedelta(minutes=60))
    assert task._full_due(now)
    assert task.full_every() == timedelta(minutes=60)
