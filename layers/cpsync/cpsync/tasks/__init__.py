"""The sync tasks, by name. Each is one module; `TASKS` is the registry the CLI and API use."""

from __future__ import annotations

from cpsync.tasks.base import RunResult, Task, TaskContext
from cpsync.tasks.inventory import InventoryTask
from cpsync.tasks.items import ItemsTask
from cpsync.tasks.prices import PricesTask

__all__ = ["TASKS", "RunResult", "Task", "TaskContext"]

TASKS: dict[str, type[Task]] = {
    ItemsTask.name: ItemsTask,
    InventoryTask.name: InventoryTask,
    PricesTask.name: PricesTask,
}
