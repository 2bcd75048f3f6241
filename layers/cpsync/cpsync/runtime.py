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
        """The SQLite engine of one-machine state and queue (`CPSYNC_STATE_URL`).

        Raises:
            ConfigurationError: `CPSYNC_STATE_URL` is not a `sqlite:///` URL.
        """
        if not self.settings.state_url.startswith("sqlite"):
            raise ConfigurationError(
                "CPSYNC_STATE_URL: only sqlite:/// state is supported on one machine"
            )
        from cpsync.embedded import sqlite_engine

        return sqlite_engine(self.settings.state_url)

    @cached_property
    def state(self) -> StatePort:
        """DynamoDB when `CPSYNC_TABLE_NAME` is set (AWS), else SQLite (one machine)."""
        if self.settings.table_name:  # AWS mode (cpsync.aws)
            from cpsync import aws

            return aws.state_from_settings(self.settings)
        from cpsync.embedded import SqliteState

        return SqliteState(self.state_engine)

    @cached_property
    def queue(self) -> QueuePort:
        """SQS when `CPSYNC_QUEUE_URL` is set (AWS), else the SQLite queue beside the state."""
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
    def writer_state(self) -> StatePort:
        """The state the writers and the updater note into.

        While a batch is applied, their notes are written once per kind when it ends (see
        `cpsync._batch_state`).
        """
        from cpsync._batch_state import BatchState

        return BatchState(self.state)

    @cached_property
    def blobs(self) -> BlobPort:
        """Prepared image bytes by sha256 (`CPSYNC_BLOBS_DIR` on one machine)."""
        from cpsync.blobs import blob_store

        return blob_store(self.settings)

    @cached_property
    def images(self) -> ImageSource:
        """The ItemImages files: `CPSYNC_IMAGES_DIR`, a folder or an `s3://` prefix.

        The Image Changes task builds the same from the settings.
        """
        from cpsync.image_source import image_source

        return image_source(self.settings)

    @cached_property
    def counterpoint(self) -> Engine:
        """The Counterpoint engine; nothing connects until the first query.

        Raises:
            ConfigurationError: `CPSYNC_COUNTERPOINT_URL` cannot be used.
        """
        from cpsync.counterpoint.connection import counterpoint_engine

        return counterpoint_engine(self.settings.counterpoint_url)

    @cached_property
    def magento(self) -> MagentoClient:
        """The one Magento client every writer shares (its sign-in and rate limit with it)."""
        from cpsync.magento.client import MagentoClient

        return MagentoClient.from_settings(self.settings)

    @cached_property
    def context(self) -> TaskContext:
        """What every task reads and writes: Counterpoint, state, queue and the clock."""
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
        """The Magento writers by the Change kind each applies."""
        from cpsync.magento.bulk import BulkRunner
        from cpsync.magento.categories import CategoryLinksWriter, CategoryWriter
        from cpsync.magento.image_links import links_from_settings
        from cpsync.magento.importer import ProductImporter
        from cpsync.magento.product_fields import CreateRules
        from cpsync.magento.products import ProductWriter
        from cpsync.magento.stock_price import stock_price_writers

        # Every writer may fill the client's limiter: the limiter, shared by all of them,
        # caps what is in flight at once (kinds of one stage are written side by side).
        concurrency = self.magento.limiter.max_limit
        products = ProductWriter(
            self.magento,
            self.writer_state,
            attribute_set_id=self.settings.magento_attribute_set_id,
            concurrency=concurrency,
            galleries=self.image_writer,
            rules=CreateRules.from_settings(self.settings),
            # Always at hand: on, every large batch; off, first loads once `cpsync check`
            # saw the store's consumer run.
            bulk=BulkRunner.from_settings(self.magento, self.settings),
            bulk_always=self.settings.magento_bulk_products,
        )
        if self.settings.magento_import != "off":
            products.importer = ProductImporter(
                self.magento,
                self.writer_state,
                products.configurable.options,
                self.settings.magento_import,
                self.settings.magento_import_min,
                self.settings.magento_import_rows,
                self.settings.magento_import_images,
                rules=products.rules,
            )
            products.importer.links = links_from_settings(self.settings, self.blobs)
            products.importer.galleries = self.image_writer
        categories = CategoryWriter(
            self.magento, self.writer_state, self.settings.magento_root_category_id, concurrency
        )
        links = CategoryLinksWriter(self.magento, self.writer_state, concurrency)
        writers: dict[str, Writer] = {
            products.kind: products,
            categories.kind: categories,
            links.kind: links,
        }
        writers.update(
            stock_price_writers(self.magento, self.settings, self.writer_state, concurrency)
        )
        writers[self.image_writer.kind] = self.image_writer
        return writers

    @cached_property
    def image_writer(self) -> ImageWriter:
        """The gallery writer; the product writer also uploads a new product's images with it."""
        from cpsync.magento.media import ImageWriter

        return ImageWriter(
            self.magento, self.writer_state, self.blobs, concurrency=self.magento.limiter.max_limit
        )

    @cached_property
    def updater(self) -> Updater:
        """The queue consumer: applies Changes with `writers`, backs off, parks for good."""
        return Updater(
            self.queue,
            self.writer_state,
            self.writers,
            retry_base_seconds=self.settings.retry_base_seconds,
            retry_max_seconds=self.settings.retry_max_seconds,
        )

    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply Changes to Magento now (the one apply path; see `cpsync.updater`)."""
        return apply_changes(changes, self.writer_state, self.writers)

    def close(self) -> None:
        """Close the Magento client and the database engines."""
        if "magento" in self.__dict__:
            self.magento.close()
        for name in ("state_engine", "counterpoint"):
            if name in self.__dict__:
                self.__dict__[name].dispose()
