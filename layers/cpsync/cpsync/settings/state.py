"""Settings of the section "State, queue and retries" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cpsync.settings._section import DEMO_DIR, SettingsSection

__all__ = ["StateSettings"]


class StateSettings(SettingsSection):
    """cpsync's own state and queue, and the retries of a failed record."""

    section_title: ClassVar[str] = "State, queue and retries"
    section_intro: ClassVar[str] = (
        "cpsync's own memory and queue, and how a failed record is retried before it is parked."
    )

    state_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/state.db",
        description="Where cpsync keeps its own state and queue on one machine (a SQLite URL).",
        examples=["sqlite:////var/lib/cpsync/state.db"],
    )
    queue_visibility_seconds: int = Field(
        default=120, ge=0, description="How long a received message stays hidden.", examples=[300]
    )
    queue_max_receives: int = Field(
        default=8,
        ge=1,
        description="Receives before a message is parked as a dead letter with its reason.",
        examples=[5],
    )
    retry_base_seconds: float = Field(
        default=5.0,
        ge=0,
        description="First backoff of a transiently failed record.",
        examples=[10],
    )
    retry_max_seconds: float = Field(
        default=900.0,
        ge=0,
        description="Longest backoff of a transiently failed record.",
        examples=[3600],
    )
    updater_batch_size: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="Messages one drain batch receives (`cpsync drain`, `cpsync serve`); the "
        "updater groups them by kind and sends up to `CPSYNC_MAGENTO_BULK_SIZE` rows per request.",
        examples=[500],
    )
    updater_time_reserve_seconds: float = Field(
        default=45.0,
        ge=0,
        description="How long before the updater function's Lambda timeout it starts no new "
        "Magento request; what it had not sent goes back to the queue for the next batch, so a "
        "slow store never ends a batch by timeout. Leave room for a request in flight "
        "(`CPSYNC_MAGENTO_TIMEOUT`) and for saving the batch's state; at most half the time is "
        "kept back.",
        examples=[90],
    )
    sync_now_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long the agent's (or a task function's) Sync Item / Sync now waits "
        'for the cloud\'s updater to apply what it sent before answering "queued".',
        examples=[30],
    )
