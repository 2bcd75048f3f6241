"""The sync tasks, by name. Each is one module; `TASKS` is the registry the CLI and API use.

A task's module is imported the first time its class is looked up, not when this package is:
a Lambda function runs one task, and importing all seven would load every Counterpoint query,
the image code and Pillow into each of them (see `bench/cold_start.py`). `RunResult`, `Task`
and `TaskContext` are imported from `cpsync.tasks.base` on first use for the same reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpsync.tasks.base import RunResult, Task, TaskContext

__all__ = ["TASKS", "RunResult", "Task", "TaskContext", "TaskRegistry"]


class TaskRegistry(Mapping[str, "type[Task]"]):
    """Task classes by name, each given as "module:Class" and imported on first lookup.

    Listing names and `name in TASKS` import nothing; `TASKS[name]`, `.values()` and
    `.items()` import the modules of the tasks they return.
    """

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = dict(paths)
        self._classes: dict[str, type[Task]] = {}

    def __getitem__(self, name: str) -> type[Task]:
        found = self._classes.get(name)
        if found is None:
            module, _, attribute = self._paths[name].partition(":")
            found = getattr(importlib.import_module(module), attribute)
            if found.name != name:  # the table below and the class must agree
                raise TypeError(f"{self._paths[name]} is task {found.name!r}, not {name!r}")
            self._classes[name] = found
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


# Order of `run --all` and the demo: categories first, so new products go up in them.
TASKS = TaskRegistry(
    {
        "categories": "cpsync.tasks.categories:CategoriesTask",
        "items": "cpsync.tasks.items:ItemsTask",
        "category_items": "cpsync.tasks.category_items:CategoryItemsTask",
        "inventory": "cpsync.tasks.inventory:InventoryTask",
        "prices": "cpsync.tasks.prices:PricesTask",
        "image_changes": "cpsync.tasks.image_changes:ImageChangesTask",
        "images": "cpsync.tasks.images:ImagesTask",
    }
)


def __getattr__(name: str) -> Any:
    """`RunResult`, `Task` and `TaskContext`, from `cpsync.tasks.base` when first asked for."""
    if name in ("RunResult", "Task", "TaskContext"):
        return getattr(importlib.import_module("cpsync.tasks.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
