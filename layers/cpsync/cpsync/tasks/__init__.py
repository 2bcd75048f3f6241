"""The sync tasks, by name. Each is one module; `TASKS` is the registry the CLI and API use."""

from __future__ import annotations

from cpsync.tasks.base import RunResult, Task, TaskContext
from cpsync.tasks.categories import CategoriesTask
from cpsync.tasks.category_items import CategoryItemsTask
from cpsync.tasks.image_changes import ImageChangesTask
from cpsync.tasks.images import ImagesTask
from cpsync.tasks.inventory import InventoryTask
from cpsync.tasks.items import ItemsTask
from cpsync.tasks.prices import PricesTask

__all__ = ["TASKS", "RunResult", "Task", "TaskContext"]

# Order of `run --all` and the demo: categories first, so new products go up in them.
TASKS: dict[str, type[Task]] = {
    CategoriesTask.name: CategoriesTask,
    ItemsTask.name: ItemsTask,
    CategoryItemsTask.name: CategoryItemsTask,
    InventoryTask.name: InventoryTask,
    PricesTask.name: PricesTask,
    ImageChangesTask.name: ImageChangesTask,
    ImagesTask.name: ImagesTask,
}
