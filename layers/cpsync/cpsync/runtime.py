"""Wiring: builds the adapters, tasks, writers and updater from one Settings.

This is the only place that decides which adapter backs which port, so the CLI, the API
and the Lambda handlers all run the same objects.

Each collaborator imports its modules when it is first built: a Lambda function builds only
what its job uses, so the updater never imports SQLAlchemy or a task, and a task function
never imports the Magento writers (cold starts; see `bench/cold_start.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from cpsync.errors import ConfigurationError
from cpsync.model import Change, utc_now
from cpsync.ports import BlobPort, ChangeResult, QueuePort, StatePort
from cpsync.settings import Settings
from cpsync.tasks import TASKS
from cpsync.updater import Updater, apply_changes

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cpsync.image_source import ImageSource
    from cpsync.magento.client import MagentoClient
    from cpsync.magento.media import ImageWriter
    from cpsync.magento.writer import Writer
    from cpsync.tasks.base import Task, TaskContext

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Lazily built collaborators for one Settings (nothing connects until it is used)."""

    settings: Settings
    #: The tasks' clock; tests give it the sample's time so no test depends on today's date.
    clock: Callable[[], datetime] = utc_now
    #: False in the agent: only the cloud's updater writes Magento (the agent has no Magento
    #: credentials), so "sync now" sends through the queue and waits for the outcome.
    writes_magento: bool = True

    @cached_property
    def state_engine(self) -> Engine:
        if not self.settings.state_url.startswith("sqlite"):
            raise ConfigurationError(
                "CPSYNC_STATE_URL: only sqlite:/// state is supported on one machine"
            )
        from cpsync.embedded import sqlite_engine

        return sqlite_engine(self.settings.state_url)

    @cached_property
    def state(self) -> StatePort:
        if self.settings.table_name:  # AWS mode (cpsync.aws)
            from cpsync import aws

            return aws.state_from_settings(self.settings)
        from cpsync.embedded import SqliteState

        return SqliteState(self.state_engine)

    @cached_property
    def queue(self) -> QueuePort:
        if self.settings.queue_url:  # AWS mode (cpsync.aws)
            from cpsync import aws

            return aws.queue_from_settings(self.settings, self.state)
        from cpsync.embedded import SqliteQueue

        return SqliteQueue(
            self.state_engine,
            visibility_seconds=self.settings.queue_visibility_seconds,
            max_receives=self.settings.queue_max_receives,
        )

    @cached_property
    def blobs(self) -> BlobPort:
        """Prepared image bytes by sha256 (`CPSYNC_BLOBS_DIR` on one machine)."""
        from cpsync.blobs import blob_store

        return blob_store(self.settings)

    @cached_property
    def images(self) -> ImageSource:
        """The ItemImages files: `CPSYNC_IMAGES_DIR`, a folder or an `s3://` prefix (the Image
        Changes task builds the same from the settings)."""
        from cpsync.image_source import image_source

        return image_source(self.settings)

    @cached_property
    def counterpoint(self) -> Engine:
        from cpsync.counterpoint.connection import counterpoint_engine

        return counterpoint_engine(self.settings.counterpoint_url)

    @cached_property
    def magento(self) -> MagentoClient:
        from cpsync.magento.client import MagentoClient

        return MagentoClient.from_settings(self.settings)

    @cached_property
    def context(self) -> TaskContext:
        from cpsync.tasks.base import TaskContext

        return TaskContext(
            self.settings, self.counterpoint, self.state, self.queue, clock=self.clock
        )

    def task(self, name: str) -> Task:
        """The task called `name`.

        Raises:
            ConfigurationError: No such task.
        """
        try:
            return TASKS[name](self.context)
        except KeyError:
            known = ", ".join(sorted(TASKS))
            raise ConfigurationError(f"unknown task {name!r}; tasks are: {known}") from None

    @cached_property
    def writers(self) -> dict[str, Writer]:
        from cpsync.magento.bulk import BulkRunner
        from cpsync.magento.categories import CategoryLinksWriter, CategoryWriter
        from cpsync.magento.image_links import links_from_settings
        from cpsync.magento.importer import ProductImporter
        from cpsync.magento.products import ProductWriter
        from cpsync.magento.stock_price import stock_price_writers

        products = ProductWriter(
            self.magento,
            self.state,
            attribute_set_id=self.settings.magento_attribute_set_id,
            concurrency=self.settings.magento_concurrency,
            galleries=self.image_writer,
            bulk=BulkRunner.from_settings(self.magento, self.settings)
            if self.settings.magento_bulk_products
            else None,
        )
        if self.settings.magento_import != "off":
            products.importer = ProductImporter(
                self.magento,
                self.state,
                products.configurable.options,
                self.settings.magento_import,
                self.settings.magento_import_min,
                self.settings.magento_import_rows,
                self.settings.magento_import_images,
            )
            products.importer.links = links_from_settings(self.settings)
            products.importer.galleries = self.image_writer
        concurrency = self.settings.magento_concurrency
        categories = CategoryWriter(
            self.magento, self.state, self.settings.magento_root_category_id, concurrency
        )
        links = CategoryLinksWriter(self.magento, self.state, concurrency)
        writers: dict[str, Writer] = {
            products.kind: products,
            categories.kind: categories,
            links.kind: links,
        }
        writers.update(stock_price_writers(self.magento, self.settings, self.state))
        writers[self.image_writer.kind] = self.image_writer
        return writers

    @cached_property
    def image_writer(self) -> ImageWriter:
        from cpsync.magento.media import ImageWriter

        return ImageWriter(
            self.magento, self.state, self.blobs, concurrency=self.settings.magento_concurrency
        )

    @cached_property
    def updater(self) -> Updater:
        return Updater(
            self.queue,
            self.state,
            self.writers,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_max_seconds=self.settings.retry_max_seconds,
        )

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply Changes to Magento now (the one apply path; see `cpsync.updater`)."""
        return apply_changes(changes, self.state, self.writers)

    def close(self) -> None:
        """Close the Magento client and the database engines."""
        if "magento" in self.__dict__:
            self.magento.close()
        for name in ("state_engine", "counterpoint"):
            if name in self.__dict__:
                self.__dict__[name].dispose()
