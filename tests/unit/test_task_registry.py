"""The task registry: names without imports, each class imported once and under its name."""

from __future__ import annotations

import pytest

from cpsync.errors import ConfigurationError
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync.tasks import TASKS, TaskRegistry


def test_every_registered_name_is_its_class_own_name_in_the_run_all_order() -> None:
    assert list(TASKS) == [
        "categories",
        "items",
        "category_items",
        "inventory",
        "prices",
        "image_changes",
        "images",
    ]
    assert all(TASKS[name].name == name for name in TASKS)
    assert TASKS["items"] is TASKS["items"]


def test_a_name_the_table_mistypes_is_refused_when_looked_up() -> None:
    registry = TaskRegistry({"prices": "cpsync.tasks.inventory:InventoryTask"})
    assert "prices" in registry and len(registry) == 1
    with pytest.raises(TypeError, match="is task 'inventory', not 'prices'"):
        registry["prices"]


def test_an_unknown_task_is_a_configuration_error_naming_the_known_ones() -> None:
    assert "nope" not in TASKS
    with pytest.raises(KeyError):
        TASKS["nope"]
    with pytest.raises(ConfigurationError, match="tasks are: categories, category_items"):
        Runtime(load_settings()).task("nope")
