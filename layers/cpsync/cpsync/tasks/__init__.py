"""The sync tasks, by name. Each is one module; `TASKS` is the registry the CLI and API use."""

from __future__ import annotations

from cpsync.tasks.base import RunResult, Task, TaskContext
from cpsync.tasks.image_changes import ImageChangesTask
from cpsync.tasks.images import ImagesTask
from cpsync.tasks.items import ItemsTask

__all__ = ["TASKS", "RunResult", "Task", "TaskContext"]

TASKS: dict[str, type[Task]] = {
    ItemsTask.name: ItemsTask,
    ImageChangesTask.name: ImageChangesTask,
    ImagesTask.name: ImagesTask,
}
