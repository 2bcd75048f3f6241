"""One typed configuration for every entry point.

Environment variables (prefix `CPSYNC_`), each with a default that works for `make demo`:
see `Settings` below; the README lists them all. An argument passed to `Settings(...)` wins
over the environment, which wins over the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cpsync.errors import ConfigurationError

__all__ = ["Settings", "load_settings"]

DEMO_DIR = Path(".demo")


class Settings(BaseSettings):
    """Configuration of cpsync; every field is read from `CPSYNC_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="CPSYNC_", extra="ignore")

    counterpoint_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/counterpoint.db",
        description="SQLAlchemy URL of the Counterpoint database, "
        "e.g. mssql+pymssql://user:pass@server/DEMOGOLF.",
    )
    images_dir: Path = Field(
        default=DEMO_DIR / "ItemImages",
        description="The Counterpoint ItemImages folder (or its mirror).",
    )
    magento_url: str = Field(
        default="http://127.0.0.1:8081",
        description="Base URL of the Magento store, without /rest.",
    )
    magento_token: SecretStr = Field(
        default=SecretStr("demo-token"),
        description="Magento integration access token (sent as Bearer).",
    )
    magento_store_code: str = Field(
        default="all",
        description="Store code in /rest/<code>/V1; 'all' writes global values.",
    )
    magento_timeout: float = Field(default=30.0, gt=0, description="Read timeout, seconds.")
    magento_connect_timeout: float = Field(default=5.0, gt=0, description="Connect timeout.")
    magento_max_attempts: int = Field(
        default=4, ge=1, description="Attempts per Magento request before giving up."
    )
    magento_retry_budget: float = Field(
        default=60.0, gt=0, description="Seconds one request may spend on retries."
    )
    magento_attribute_set_id: int = Field(default=4, description="Attribute set of new products.")
    grid_sku_separator: str = Field(
        default="|",
        min_length=1,
        max_length=3,
        description="Joins item number and grid dimension values into a child SKU.",
    )
    magento_concurrency: int = Field(
        default=4, ge=1, le=64, description="Parallel Magento requests from one updater."
    )
    state_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/state.db",
        description="Where cpsync keeps its own state and queue (SQLite URL on one machine).",
    )
    timezone: str = Field(
        default="America/New_York",
        description="Time zone of the Counterpoint server (LST_MAINT_DT and schedules).",
    )
    price_location: str | None = Field(
        default=None, description="IM_PRC location for Price-1; None uses the '*' row."
    )
    stock_locations: list[str] = Field(
        default_factory=list, description="Locations whose quantity counts; empty = all."
    )
    stock_quantity: Literal["available", "on_hand"] = Field(
        default="available", description="available = on hand - committed, or on hand."
    )
    watermark_lookback_seconds: int = Field(
        default=300, ge=0, description="Overlap re-read before the watermark (clock skew)."
    )
    queue_visibility_seconds: int = Field(
        default=120, ge=0, description="How long a received message stays hidden."
    )
    queue_max_receives: int = Field(
        default=8, ge=1, description="Receives before a message is dead-lettered."
    )
    retry_base_seconds: float = Field(
        default=5.0, ge=0, description="First backoff of a transiently failed record."
    )
    retry_max_seconds: float = Field(default=900.0, ge=0, description="Longest backoff.")
    updater_batch_size: int = Field(default=100, ge=1, description="Messages per updater batch.")

    # --- AWS (SAM stack and the agent): set, they switch the adapters to SQS/DynamoDB/S3 ---
    queue_url: str | None = Field(
        default=None, description="SQS queue of Changes; set, the queue is SQS (AWS mode)."
    )
    dead_letter_queue_url: str | None = Field(
        default=None, description="Its dead-letter queue; unset, read from the redrive policy."
    )
    table_name: str | None = Field(
        default=None, description="DynamoDB table of cpsync's state; set, state is DynamoDB."
    )
    bucket: str | None = Field(
        default=None, description="S3 bucket of image blobs and oversized queue messages."
    )
    command_queue_url: str | None = Field(
        default=None, description="SQS queue the agent long-polls for commands from the cloud."
    )
    secret_id: str | None = Field(
        default=None,
        description="Secrets Manager secret (JSON) with magento_token and counterpoint_url.",
    )
    run_log_days: int = Field(
        default=30, ge=1, description="Days runs and errors are kept in DynamoDB (TTL)."
    )
    connection_mode: Literal["direct", "agent"] = Field(
        default="direct",
        description="How AWS reaches Counterpoint: direct (task Lambdas) or agent (in the store).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The Counterpoint server's time zone."""
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation error into one line per bad setting.

    Raises:
        ConfigurationError: A setting is invalid; the message names its environment variable.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            lines.append(f"CPSYNC_{field.upper()}: {err['msg']}")
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(lines)) from exc
