"""One typed configuration for every entry point.

Environment variables (prefix `CPSYNC_`), each with a default that works for `make demo`:
see `Settings` below; the README lists them all. An argument passed to `Settings(...)` wins
over the environment, which wins over the default.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cpsync.errors import ConfigurationError

__all__ = ["MIN_API_KEY_LENGTH", "Settings", "load_settings"]

DEMO_DIR = Path(".demo")
MIN_API_KEY_LENGTH = 24


def _folder_or_s3(value: object) -> object:
    """Keep an `s3://bucket/prefix/` URL as text (a Path would fold its `//`); other text is
    a folder, and empty text (the stack's empty `ImagesDir`) means unset."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return DEMO_DIR / "ItemImages"
        if text.lower().startswith("s3://"):
            if not text[5:].split("/", 1)[0]:
                raise ValueError(f"{value!r} names no bucket; write s3://bucket/prefix/")
            return text
        return Path(text)
    return value


#: A folder, or an S3 prefix as `s3://bucket/prefix/` text.
FolderOrS3 = Annotated[Path | str, BeforeValidator(_folder_or_s3)]


class Settings(BaseSettings):
    """Configuration of cpsync; every field is read from `CPSYNC_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="CPSYNC_", extra="ignore")

    counterpoint_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/counterpoint.db",
        description="SQLAlchemy URL of the Counterpoint database, "
        "e.g. mssql+pymssql://user:pass@server/DEMOGOLF.",
    )
    images_dir: FolderOrS3 = Field(
        default=DEMO_DIR / "ItemImages",
        description="The Counterpoint ItemImages folder (or its mirror), or an S3 prefix "
        "s3://bucket/prefix/ the store fills (direct mode in AWS).",
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
    sync_now_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long the agent's (or a task function's) Sync Item / Sync now waits "
        'for the cloud\'s updater to apply what it sent before answering "queued".',
    )
    retry_base_seconds: float = Field(
        default=5.0, ge=0, description="First backoff of a transiently failed record."
    )
    retry_max_seconds: float = Field(default=900.0, ge=0, description="Longest backoff.")
    updater_batch_size: int = Field(default=100, ge=1, description="Messages per updater batch.")

    # --- sync interface and HTTP API (cpsync.api, `cpsync serve`) ---------------------------
    api_session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies; unset = a random key per process "
        "(sign-ins end on restart; set it when several processes serve the API).",
    )
    api_session_idle_seconds: int = Field(
        default=1800, ge=30, description="A session unused this long is signed out."
    )
    api_base_path: str = Field(
        default="/",
        description="The path the API is reached under in AWS when it is not the root: an API "
        "Gateway custom-domain mapping such as /cpsync (stripped before routing).",
    )
    api_cookie_secure: bool = Field(
        default=True, description="Mark the session cookie Secure; false only for http://127.0.0.1."
    )
    api_max_failed_signins: int = Field(
        default=6, ge=1, description="Failed sign-ins of a user before the account is locked."
    )
    api_lockout_seconds: int = Field(
        default=900, ge=1, description="How long a locked user is refused, even with the password."
    )
    api_allowed_ips: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) allowed to call the API; empty = any address.",
    )
    api_trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="cpsync serve: reverse proxies (addresses or CIDR) whose X-Forwarded-For "
        "names the caller, for the allow-list and lockouts; [] = trust none.",
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys for scripts, sent in the X-API-Key header (JSON list); each at "
        f"least {MIN_API_KEY_LENGTH} characters.",
    )
    api_local_admin: SecretStr | None = Field(
        default=None,
        description="A local admin who signs in without Magento (works when Magento is "
        "down): `user:<hash>`, the hash made by `cpsync hash-password`; None = none.",
    )
    serve_host: str = Field(default="127.0.0.1", description="Address `cpsync serve` listens on.")
    serve_port: int = Field(default=8080, ge=1, le=65535, description="Port of `cpsync serve`.")

    # --- Items and grids (configurable products) ---------------------------------------
    magento_tax_class_id: int = Field(
        default=2, ge=0, description="Tax class of taxable items (2 = Taxable Goods)."
    )
    magento_nontaxable_tax_class_id: int = Field(
        default=0, ge=0, description="Tax class of items with IS_TXBL = 'N' (0 = None)."
    )
    grid_cells_location: str | None = Field(
        default=None,
        description="When set, a grid's cells are those with an IM_INV_CELL row at this "
        "location (a 'stocking location' such as WEB); unset: any location.",
    )
    grid_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Grid dimension tag -> Magento dropdown attribute code, e.g. "
        '{"Colour": "color"}; unmapped tags use the tag in lower case (Size -> size).',
    )

    # --- Magento client core: auth, input limits, async bulk (area: magento client) ---
    magento_auth: Literal["token", "admin", "oauth"] = Field(
        default="token",
        description="How cpsync signs in: 'token' (integration token as Bearer), 'admin' "
        "(admin user; token fetched and refreshed) or 'oauth' (OAuth 1.0a HMAC-SHA256).",
    )
    magento_admin_username: str | None = Field(
        default=None, description="Admin user for magento_auth=admin."
    )
    magento_admin_password: SecretStr | None = Field(
        default=None, description="Password of the admin user for magento_auth=admin."
    )
    magento_admin_totp_secret: SecretStr | None = Field(
        default=None,
        description="Google Authenticator secret (base32) of the admin user on 2FA stores.",
    )
    magento_admin_token_lifetime: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="Admin token lifetime set in Magento (oauth/access_token_lifetime/admin, "
        "4 h by default); the client refreshes before it ends.",
    )
    magento_oauth_consumer_key: SecretStr | None = Field(
        default=None, description="Integration consumer key (magento_auth=oauth)."
    )
    magento_oauth_consumer_secret: SecretStr | None = Field(
        default=None, description="Integration consumer secret (magento_auth=oauth)."
    )
    magento_oauth_access_token: SecretStr | None = Field(
        default=None, description="Integration access token (magento_auth=oauth)."
    )
    magento_oauth_access_token_secret: SecretStr | None = Field(
        default=None, description="Integration access token secret (magento_auth=oauth)."
    )
    magento_max_items_per_request: int = Field(
        default=20,
        ge=1,
        description="Items per array in one request (Magento's Web API input limit is 20).",
    )
    magento_transient_messages: str | None = Field(
        default=None,
        description="Regular expression of a non-English store's words for a database deadlock,"
        " lock wait or connection error (Magento answers those 400, in the store's language),"
        " so they are retried.",
    )
    magento_bulk_products: bool = Field(
        default=False,
        description="Save large product batches through the async bulk API.",
    )
    magento_bulk_min_batch: int = Field(
        default=50, ge=1, description="Smallest product batch sent through async bulk."
    )
    magento_bulk_wait: float = Field(
        default=300.0, gt=0, description="Seconds to wait for a bulk's operations to finish."
    )
    # Magento's import (POST /V1/import/json) for the first load of a large catalog.
    magento_import: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Create new products through Magento's import: auto (when the store answers"
        " the import route and a batch or its run has more than CPSYNC_MAGENTO_IMPORT_MIN new"
        " products),"
        " on (whenever the route answers), off (never; one product save each).",
    )
    magento_import_min: int = Field(
        default=500,
        ge=0,
        description="New products a batch, or the run that queued it, needs (more than this)"
        " before auto uses the import.",
    )
    magento_import_rows: int = Field(
        default=5000, ge=1, le=100_000, description="Rows per import request."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL at which the Magento server reaches `cpsync serve` (e.g."
        " https://cpsync.example.com): the import then names each image by a signed, expiring"
        " link Magento downloads (allow the store's address in CPSYNC_API_ALLOWED_IPS). Unset:"
        " images are uploaded after the import.",
    )
    magento_import_images: int = Field(
        default=500,
        ge=1,
        description="Image links per import request: Magento downloads each inside the request,"
        " so a file with images is cut short of CPSYNC_MAGENTO_IMPORT_ROWS to stay well within"
        " the web server's timeout.",
    )
    magento_import_image_minutes: float = Field(
        default=60.0, gt=0, description="How long an image link of an import stays valid."
    )

    # --- Categories and category items (tasks/categories.py, tasks/category_items.py) ---
    magento_root_category_id: int = Field(
        default=2,
        ge=1,
        description="Magento category that Counterpoint's top-level e-commerce categories "
        "(PARENT_ID '0') go under: the store's root category (2 on a fresh install).",
    )
    category_items_full_every_minutes: int = Field(
        default=60,
        ge=0,
        description="A scheduled Category Items run reads every EC_CATEG_ITEM row when the "
        "last full read is older than this, to see rows deleted in Counterpoint (nothing "
        "dates a deletion); 0 makes every run a full read.",
    )

    # --- images (Image Changes and Images tasks, image writer) ---------------------------
    blobs_dir: Path = Field(
        default=DEMO_DIR / "blobs",
        description="Folder of the local blob store (prepared image bytes by sha256).",
    )
    image_max_bytes: int = Field(
        default=2_000_000, ge=10_000, description="Images larger than this are shrunk to fit."
    )
    image_max_pixels: int = Field(
        default=12_000_000, ge=10_000, description="Images with more pixels are scaled down."
    )
    image_jpeg_quality: int = Field(
        default=85, ge=30, le=100, description="JPEG quality of re-encoded (rotated/shrunk) images."
    )
    images_mirror_url: str | None = Field(
        default=None,
        description="S3 prefix s3://bucket/prefix/ that `cpsync agent --mirror-images` fills "
        "from CPSYNC_IMAGES_DIR (the stack's ImagesDir, for direct mode).",
    )
    images_mirror_minutes: float = Field(
        default=10, gt=0, description="Minutes between two mirrors of the image folder."
    )
    images_mirror_state: Path = Field(
        default=DEMO_DIR / "image-mirror.json",
        description="File where the mirror remembers the size and mtime it uploaded per file.",
    )

    # --- Sanity warnings (tasks/_sanity.py): reported, never blocking.
    price_max: Decimal = Field(
        default=Decimal(100_000),
        gt=0,
        description="Prices above this are warned about in the run log (a typo, most often); "
        "the product still syncs.",
    )
    weight_max: Decimal = Field(
        default=Decimal(10_000),
        gt=0,
        description="Weights above this are warned about in the run log; the product still syncs.",
    )

    # --- Inventory and prices (tasks/inventory.py, tasks/prices.py, magento/inventory.py,
    # magento/prices.py); price_location, stock_locations and stock_quantity are above.
    sync_published_products_only: bool = Field(
        default=True,
        description="Inventory and Price Changes cover only SKUs the Items task has published; "
        "false when products reach Magento another way.",
    )
    stock_mode: Literal["msi", "legacy"] = Field(
        default="msi",
        description="msi = bulk MSI source items; legacy = one stock item per SKU (no MSI).",
    )
    stock_sources: Literal["single", "per_location"] = Field(
        default="single",
        description="single = counted locations add up into one source; per_location = "
        "each location is its own MSI source (source code = LOC_ID).",
    )
    stock_source_code: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The MSI source of the summed quantity (stock_sources=single).",
    )
    stock_out_of_stock_threshold: float = Field(
        default=0,
        description="A quantity at or below this is out of stock (status 0); the quantity "
        "itself is still sent.",
    )
    stock_full_every_runs: int = Field(
        default=144,
        ge=1,
        description="Every Nth inventory run reads every row (reconciliation); 144 = daily "
        "at one run per 10 minutes. Other runs read only rows changed since the last run.",
    )
    price_promo_horizon_days: float = Field(
        default=7,
        ge=0,
        description="A promotion starting within this many days is sent ahead with price_from.",
    )
    price_method_percent_off: str = Field(
        default="D", min_length=1, max_length=1, description="PRC_METH letter: percent off."
    )
    price_method_amount_off: str = Field(
        default="A", min_length=1, max_length=1, description="PRC_METH letter: amount off."
    )
    price_method_fixed: str = Field(
        default="F",
        min_length=1,
        max_length=1,
        description="PRC_METH letter: fixed price (sources disagree: F or O).",
    )
    price_store_id: int = Field(
        default=0, ge=0, description="store_id of base and special price rows (0 = global)."
    )
    price_dates_timezone: str | None = Field(
        default=None,
        description="Time zone of special price_from/price_to sent to Magento; None = the "
        "Counterpoint server's (CPSYNC_TIMEZONE).",
    )
    magento_bulk_size: int | None = Field(
        default=None,
        ge=1,
        description="Source items or price rows per bulk request; None = 500. With "
        "magento_input_limits on, at most magento_max_items_per_request.",
    )
    magento_input_limits: bool = Field(
        default=False,
        description="The store has Web API input limits on: stock and price requests carry "
        "at most magento_max_items_per_request rows.",
    )

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

    @property
    def bulk_size(self) -> int:
        """Rows per bulk stock or price request.

        `magento_bulk_size` (500 when unset: the reference saw ~2,000 source items take
        11-60 s in one call); with `magento_input_limits` on, at most the store's array limit
        (`magento_max_items_per_request`, 20 in Magento).
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

    @field_validator("images_mirror_url")
    @classmethod
    def _s3_prefix(cls, value: str | None) -> str | None:
        if value is not None and not (
            value.strip().lower().startswith("s3://") and value.strip()[5:].split("/", 1)[0]
        ):
            raise ValueError(f"{value!r} is not an S3 prefix; write s3://bucket/prefix/")
        return value.strip() if value else value

    @field_validator("api_local_admin")
    @classmethod
    def _local_admin_form(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        user, _, stored = value.get_secret_value().partition(":")
        if not user.strip() or not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise ValueError("write user:<hash>, the hash made by `cpsync hash-password`")
        return value

    @field_validator("api_keys")
    @classmethod
    def _long_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        # A short key can be guessed even with the per-address lockout.
        short = [
            str(n) for n, k in enumerate(value, 1) if len(k.get_secret_value()) < MIN_API_KEY_LENGTH
        ]
        if short:
            raise ValueError(
                f"key number {', '.join(short)} is shorter than {MIN_API_KEY_LENGTH} characters; "
                "use long random keys (such as the output of: openssl rand -hex 24)"
            )
        return value

    @field_validator("timezone", "price_dates_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
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
