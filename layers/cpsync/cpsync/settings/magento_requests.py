"""Settings of the section "Magento: requests, limits and bulk" of `docs/configuration.md`."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from cpsync.settings._section import SettingsSection

__all__ = ["MagentoRequestSettings"]


class MagentoRequestSettings(SettingsSection):
    """How hard cpsync may push the store: timeouts, retries, limits, bulk."""

    section_title: ClassVar[str] = "Magento: requests, limits and bulk"
    section_intro: ClassVar[str] = (
        "How hard cpsync may push the store: timeouts, retries, parallel requests, Web API input "
        "limits and the async bulk API. See [Magento](magento.md#how-the-client-behaves)."
    )

    magento_timeout: float = Field(
        default=30.0, gt=0, description="Read timeout of a Magento request, seconds.", examples=[60]
    )
    magento_connect_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Connect timeout of a Magento request, seconds.",
        examples=[10],
    )
    magento_max_attempts: int = Field(
        default=4,
        ge=1,
        description="Attempts per Magento request before giving up (transient failures only: "
        "timeouts, 429, 5xx, deadlocks).",
        examples=[6],
    )
    magento_retry_budget: float = Field(
        default=60.0,
        gt=0,
        description="Seconds one request may spend on retries; a `Retry-After` longer than "
        "this sends the record back to the queue for that long.",
        examples=[120],
    )
    magento_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Parallel Magento requests from one updater; the adaptive limiter starts "
        "at twice this, halves on overload (429, 502-504, timeouts) and grows back.",
        examples=[2],
    )
    magento_max_items_per_request: int = Field(
        default=20,
        ge=1,
        description="Items per array in one request when the store's Web API input limits are "
        "on (Magento 2.4.3+ refuses more than 20).",
        examples=[50],
    )
    magento_input_limits: bool = Field(
        default=False,
        description="The store has Web API input limits on: stock and price requests carry at "
        "most `magento_max_items_per_request` rows. Unset on such a store, the writers find out "
        "at the first refusal, resend in calls of 20 and warn.",
        examples=[True],
    )
    magento_bulk_size: int | None = Field(
        default=None,
        ge=1,
        description="Source items or price rows per bulk request; unset = 500. With "
        "`magento_input_limits` on, at most `magento_max_items_per_request`.",
        examples=[200],
    )
    magento_transient_messages: str | None = Field(
        default=None,
        description="Regular expression (case-insensitive) of a non-English store's words for "
        "a database deadlock, lock wait or connection error: Magento answers those 400 in the "
        "store view's language, so they are retried only when recognised (English always is).",
        examples=["verrou|impasse"],
    )
    magento_max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest request body cpsync sends (PHP `post_max_size`, the web server's "
        "body limit): a new product carries its images in its create up to this size, and the "
        "rest follow as uploads.",
        examples=[2097152],
    )
    magento_bulk_products: bool = Field(
        default=False,
        description="Save large product batches through the async bulk API "
        "(`POST /rest/all/async/bulk/V1/products`, then poll the bulk's status); needs the "
        "`async.operations.all` consumer running on the store.",
        examples=[True],
    )
    magento_bulk_min_batch: int = Field(
        default=50,
        ge=1,
        description="Smallest product batch sent through async bulk; smaller ones are saved "
        "one request per product.",
        examples=[100],
    )
    magento_bulk_wait: float = Field(
        default=300.0,
        gt=0,
        description="Seconds to wait for a bulk's operations; records still open after that "
        "are retried later.",
        examples=[600],
    )

    @property
    def bulk_size(self) -> int:
        """Rows per bulk stock or price request.

        `magento_bulk_size` (500 when unset: ~2,000 source items took 11-60 s in one call in
        reports, docs/reference/magento.md#msi-source-items); with `magento_input_limits` on, at
        most the store's array limit (`magento_max_items_per_request`, 20 in Magento).
        """
        size = self.magento_bulk_size or 500
        if self.magento_input_limits:
            return min(size, self.magento_max_items_per_request)
        return size

    @field_validator("magento_transient_messages")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value or None
