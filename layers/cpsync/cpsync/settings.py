"""One typed configuration for every entry point.

Environment variables (prefix `CPSYNC_`), each with a default that works for `make demo`:
every field of `Settings` below, grouped by `SECTIONS`. An argument passed to `Settings(...)`
wins over the environment, which wins over the default. `docs/configuration.md` is generated
from this module: `python -m cpsync.settings --markdown > docs/configuration.md`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cpsync.errors import ConfigurationError

__all__ = ["MIN_API_KEY_LENGTH", "SECTIONS", "Section", "Settings", "load_settings", "markdown"]

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


@dataclass(frozen=True)
class Section:
    """A group of settings: a heading of `docs/configuration.md` and a block of `Settings`."""

    title: str
    intro: str
    fields: tuple[str, ...]


#: The sections in order, each naming its fields in the order `Settings` declares them.
#: Why a table and not a marker on each field: it is the table of contents of the
#: configuration in one place, and a test checks that `Settings` declares the fields in this
#: order, so the code is grouped the same way as the page.
SECTIONS: tuple[Section, ...] = (
    Section(
        "Counterpoint",
        "Where the Counterpoint database is and how its clocks are read. `LST_MAINT_DT` is read "
        "in `CPSYNC_TIMEZONE` (the server's local time), `RS_UTC_DT` in UTC.",
        ("counterpoint_url", "timezone", "watermark_lookback_seconds"),
    ),
    Section(
        "Magento: connection and sign-in",
        "Which store, and how cpsync signs in (`CPSYNC_MAGENTO_AUTH`). A missing setting of the "
        "chosen mode stops start-up with a message naming every variable it still needs; see "
        "[Magento](magento.md#sign-in) for the three modes.",
        (
            "magento_url",
            "magento_store_code",
            "magento_auth",
            "magento_token",
            "magento_admin_username",
            "magento_admin_password",
            "magento_admin_totp_secret",
            "magento_admin_token_lifetime",
            "magento_oauth_consumer_key",
            "magento_oauth_consumer_secret",
            "magento_oauth_access_token",
            "magento_oauth_access_token_secret",
        ),
    ),
    Section(
        "Magento: requests, limits and bulk",
        "How hard cpsync may push the store: timeouts, retries, parallel requests, Web API input "
        "limits and the async bulk API. See [Magento](magento.md#how-the-client-behaves).",
        (
            "magento_timeout",
            "magento_connect_timeout",
            "magento_max_attempts",
            "magento_retry_budget",
            "magento_concurrency",
            "magento_max_items_per_request",
            "magento_input_limits",
            "magento_bulk_size",
            "magento_transient_messages",
            "magento_max_request_bytes",
            "magento_bulk_products",
            "magento_bulk_min_batch",
            "magento_bulk_wait",
        ),
    ),
    Section(
        "Items and grids",
        "How an item becomes a product and a grid item a configurable product "
        "([rules](sync-rules.md#items)).",
        (
            "magento_attribute_set_id",
            "magento_tax_class_id",
            "magento_nontaxable_tax_class_id",
            "grid_sku_separator",
            "grid_cells_location",
            "grid_attributes",
            "price_max",
            "weight_max",
            "items_full_every_minutes",
        ),
    ),
    Section(
        "Categories",
        "The e-commerce category tree and each product's links "
        "([rules](sync-rules.md#categories-and-category-items)).",
        ("magento_root_category_id", "category_items_full_every_minutes"),
    ),
    Section(
        "Inventory",
        "Which quantity goes to Magento, and into which sources "
        "([rules](sync-rules.md#inventory)). "
        "Where Counterpoint does not say, a new product's stock is on hand minus committed "
        "(committed can be negative), summed over every location; below zero counts as zero.",
        (
            "sync_published_products_only",
            "stock_locations",
            "stock_quantity",
            "stock_mode",
            "stock_sources",
            "stock_source_code",
            "stock_out_of_stock_threshold",
            "stock_full_every_runs",
        ),
    ),
    Section(
        "Prices and promotions",
        "The regular price and promotions as special prices "
        "([rules](sync-rules.md#prices-and-promotions)).",
        (
            "price_location",
            "price_store_id",
            "price_promo_horizon_days",
            "price_method_percent_off",
            "price_method_amount_off",
            "price_method_fixed",
            "price_dates_timezone",
        ),
    ),
    Section(
        "Images",
        "The ItemImages folder, how images are prepared, and the S3 mirror of direct mode "
        "([rules](sync-rules.md#images), [direct mode](deploy-aws.md#images-in-direct-mode)).",
        (
            "images_dir",
            "blobs_dir",
            "image_max_bytes",
            "image_max_pixels",
            "image_jpeg_quality",
            "images_mirror_url",
            "images_mirror_minutes",
            "images_mirror_state",
        ),
    ),
    Section(
        "State, queue and retries",
        "cpsync's own memory and queue, and how a failed record is retried before it is parked.",
        (
            "state_url",
            "queue_visibility_seconds",
            "queue_max_receives",
            "retry_base_seconds",
            "retry_max_seconds",
            "updater_batch_size",
            "sync_now_wait_seconds",
        ),
    ),
    Section(
        "Sync interface and API",
        "`cpsync serve` and the sign-in of the sync interface "
        "([the sync interface](sync-interface.md)).",
        (
            "api_session_secret",
            "api_session_idle_seconds",
            "api_base_path",
            "api_cookie_secure",
            "api_max_failed_signins",
            "api_lockout_seconds",
            "api_allowed_ips",
            "api_trusted_proxies",
            "api_keys",
            "api_local_admin",
            "serve_host",
            "serve_port",
        ),
    ),
    Section(
        "AWS",
        "Set by the SAM stack (or, for the agent, from the stack's outputs): set, they switch the "
        "adapters to SQS, DynamoDB and S3 ([deploying to AWS](deploy-aws.md)).",
        (
            "queue_url",
            "dead_letter_queue_url",
            "table_name",
            "bucket",
            "command_queue_url",
            "secret_id",
            "stack_name",
            "run_log_days",
            "connection_mode",
        ),
    ),
)


class Settings(BaseSettings):
    """Configuration of cpsync; every field is read from `CPSYNC_<FIELD>`.

    Fields are declared section by section, in the order of `SECTIONS`.
    """

    model_config = SettingsConfigDict(env_prefix="CPSYNC_", extra="ignore")

    # --- Counterpoint -------------------------------------------------------------------------
    counterpoint_url: str = Field(
        default=f"sqlite:///{DEMO_DIR}/counterpoint.db",
        description="SQLAlchemy URL of the Counterpoint database; the login needs read rights "
        "on the tables cpsync reads, nothing more.",
        examples=["mssql+pymssql://cpsync_reader:secret@10.20.0.5:1433/DEMOGOLF"],
    )
    timezone: str = Field(
        default="America/New_York",
        description="Time zone of the Counterpoint server: `LST_MAINT_DT` is read in it, and "
        "every schedule and time on the page is in it.",
        examples=["America/Chicago"],
    )
    watermark_lookback_seconds: int = Field(
        default=300,
        ge=0,
        description="Overlap re-read before the watermark, for clock skew and transactions "
        "that commit late; fingerprints keep the overlap from being sent twice.",
        examples=[600],
    )

    # --- Magento: connection and sign-in ------------------------------------------------------
    magento_url: str = Field(
        default="http://127.0.0.1:8081",
        description="Base URL of the Magento store, without `/rest`.",
        examples=["https://shop.example.com"],
    )
    magento_store_code: str = Field(
        default="all",
        description="Store code in `/rest/<code>/V1`; `all` writes global values (the admin "
        "scope, what a catalog sync wants).",
        examples=["default"],
    )
    magento_auth: Literal["token", "admin", "oauth"] = Field(
        default="token",
        description="How cpsync signs in: `token` (integration access token as Bearer), "
        "`admin` (an admin user; the token is fetched and refreshed) or `oauth` (OAuth 1.0a "
        "HMAC-SHA256 signatures with the integration's four values).",
        examples=["oauth"],
    )
    magento_token: SecretStr = Field(
        default=SecretStr("demo-token"),
        description="Integration access token, sent as Bearer (`magento_auth=token`). Magento "
        "2.4.4+ accepts it only with 'Allow OAuth Access Tokens to be used as standalone Bearer "
        "tokens' = Yes.",
        examples=["<access token from System > Integrations>"],
    )
    magento_admin_username: str | None = Field(
        default=None,
        description="Admin user (`magento_auth=admin`).",
        examples=["cpsync"],
    )
    magento_admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the admin user (`magento_auth=admin`).",
        examples=["<the admin user's password>"],
    )
    magento_admin_totp_secret: SecretStr | None = Field(
        default=None,
        description="Google Authenticator secret (base32) of the admin user, for stores with "
        "two-factor sign-in (the 2.4 default): the token then comes from "
        "`/V1/tfa/provider/google/authenticate` with a fresh code.",
        examples=["JBSWY3DPEHPK3PXP"],
    )
    magento_admin_token_lifetime: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="Admin token lifetime set in Magento (Stores > Configuration > Services > "
        "OAuth > Access Token Expiration, `oauth/access_token_expiration_period/admin`: 4 hours by "
        "default), in seconds; the token is fetched again before it ends and once after "
        "a 401.",
        examples=[3600],
    )
    magento_oauth_consumer_key: SecretStr | None = Field(
        default=None,
        description="Integration consumer key (`magento_auth=oauth`).",
        examples=["<consumer key from System > Integrations>"],
    )
    magento_oauth_consumer_secret: SecretStr | None = Field(
        default=None,
        description="Integration consumer secret (`magento_auth=oauth`).",
        examples=["<consumer secret>"],
    )
    magento_oauth_access_token: SecretStr | None = Field(
        default=None,
        description="Integration access token (`magento_auth=oauth`).",
        examples=["<access token>"],
    )
    magento_oauth_access_token_secret: SecretStr | None = Field(
        default=None,
        description="Integration access token secret (`magento_auth=oauth`).",
        examples=["<access token secret>"],
    )

    # --- Magento: requests, limits and bulk ---------------------------------------------------
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

    # --- Items and grids ----------------------------------------------------------------------
    magento_attribute_set_id: int = Field(
        default=4,
        description="Attribute set of new products (4 = Default on a clean install).",
        examples=[9],
    )
    magento_tax_class_id: int = Field(
        default=2, ge=0, description="Tax class of taxable items (2 = Taxable Goods).", examples=[5]
    )
    magento_nontaxable_tax_class_id: int = Field(
        default=0,
        ge=0,
        description="Tax class of items with `IS_TXBL = 'N'` (0 = None).",
        examples=[6],
    )
    grid_sku_separator: str = Field(
        default="|",
        min_length=1,
        max_length=3,
        description="Joins item number and grid dimension values into a child SKU (`ITEM|RED|S`).",
        examples=["-"],
    )
    grid_cells_location: str | None = Field(
        default=None,
        description="When set, a grid's cells are those with an `IM_INV_CELL` row at this "
        "location (a 'stocking location' such as WEB); unset: any location.",
        examples=["WEB"],
    )
    grid_attributes: dict[str, str] = Field(
        default_factory=dict,
        description="Grid dimension tag -> Magento dropdown attribute code; unmapped tags use "
        "the tag in lower case (Size -> size).",
        examples=['{"Colour": "color"}'],
    )
    price_max: Decimal = Field(
        default=Decimal(100_000),
        gt=0,
        description="Prices above this are warned about in the run log (a typo, most often); "
        "the product still syncs.",
        examples=[5000],
    )
    weight_max: Decimal = Field(
        default=Decimal(10_000),
        gt=0,
        description="Weights above this are warned about in the run log; the product still syncs.",
        examples=[500],
    )
    items_full_every_minutes: int = Field(
        default=1440,
        ge=0,
        description="A scheduled Items run reads every item and every SKU claim when the last "
        "full read is older than this: it finds items deleted in Counterpoint (disabled in "
        "Magento) and edits whose change stamp the watermark missed (a clock set back). "
        "Other runs read only items changed since the last run; 0 makes every run a full read.",
        examples=[720],
    )

    # --- Categories ---------------------------------------------------------------------------
    magento_root_category_id: int = Field(
        default=2,
        ge=1,
        description="Magento category that Counterpoint's top-level e-commerce categories "
        "(`PARENT_ID` '0') go under: the store's root category (2 on a fresh install).",
        examples=[3],
    )
    category_items_full_every_minutes: int = Field(
        default=60,
        ge=0,
        description="A scheduled Category Items run reads every `EC_CATEG_ITEM` row when the "
        "last full read is older than this, to see rows deleted in Counterpoint (nothing "
        "dates a deletion); 0 makes every run a full read.",
        examples=[0],
    )

    # --- Inventory ----------------------------------------------------------------------------
    sync_published_products_only: bool = Field(
        default=True,
        description="Inventory and Price Changes cover only SKUs the Items task has published; "
        "false when products reach Magento another way.",
        examples=[False],
    )
    stock_locations: list[str] = Field(
        default_factory=list,
        description="Locations whose quantity counts (JSON list); empty = all.",
        examples=['["MAIN", "WEB"]'],
    )
    stock_quantity: Literal["available", "on_hand"] = Field(
        default="available",
        description="`available` = on hand minus committed; `on_hand` = on hand.",
        examples=["on_hand"],
    )
    stock_mode: Literal["msi", "legacy"] = Field(
        default="msi",
        description="`msi` = bulk MSI source items; `legacy` = one stock item per SKU, for "
        "stores without MSI.",
        examples=["legacy"],
    )
    stock_sources: Literal["single", "per_location"] = Field(
        default="single",
        description="`single` = counted locations add up into one source; `per_location` = "
        "each location is its own MSI source (source code = `LOC_ID`). Switching (or dropping "
        "a location) deletes each SKU's source items under sources cpsync no longer writes as "
        "the SKU is next written; source items cpsync never wrote are left alone.",
        examples=["per_location"],
    )
    stock_source_code: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The MSI source of the summed quantity (`stock_sources=single`).",
        examples=["web"],
    )
    stock_out_of_stock_threshold: float = Field(
        default=0,
        description="A quantity at or below this is out of stock (status 0); the quantity "
        "itself is still sent.",
        examples=[2],
    )
    stock_full_every_runs: int = Field(
        default=144,
        ge=1,
        description="Every Nth Inventory run reads every row (reconciliation); 144 = daily at "
        "one run per 10 minutes. Other runs read only rows changed since the last run.",
        examples=[72],
    )

    # --- Prices and promotions ----------------------------------------------------------------
    price_location: str | None = Field(
        default=None,
        description="`IM_PRC` location whose Price-1 is the regular price (and the price "
        "location of promotions' store filters); unset: the `'*'` row, else `IM_ITEM.PRC_1`.",
        examples=["MAIN"],
    )
    price_store_id: int = Field(
        default=0,
        ge=0,
        description="`store_id` of base and special price rows (0 = global).",
        examples=[1],
    )
    price_promo_horizon_days: float = Field(
        default=7,
        ge=0,
        description="A promotion starting within this many days is sent ahead, with its "
        "`price_from`, so Magento switches on time.",
        examples=[14],
    )
    price_method_percent_off: str = Field(
        default="D",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: percent off.",
        examples=["D"],
    )
    price_method_amount_off: str = Field(
        default="A",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: amount off.",
        examples=["A"],
    )
    price_method_fixed: str = Field(
        default="F",
        min_length=1,
        max_length=1,
        description="`PRC_METH` letter: fixed price (sources disagree: F or O).",
        examples=["O"],
    )
    price_dates_timezone: str | None = Field(
        default=None,
        description="Time zone of the special prices' `price_from`/`price_to` sent to Magento; "
        "unset = the Counterpoint server's (`CPSYNC_TIMEZONE`).",
        examples=["UTC"],
    )

    # --- Images -------------------------------------------------------------------------------
    images_dir: FolderOrS3 = Field(
        default=DEMO_DIR / "ItemImages",
        description="The Counterpoint ItemImages folder (or its mirror), or an S3 prefix "
        "`s3://bucket/prefix/` the store fills (direct mode in AWS).",
        examples=[r"C:\CPSQL.1\Toplevel\DEMOGOLF\Configuration\ItemImages"],
    )
    blobs_dir: Path = Field(
        default=DEMO_DIR / "blobs",
        description="Folder of the local blob store (prepared image bytes by sha256).",
        examples=["/var/lib/cpsync/blobs"],
    )
    image_max_bytes: int = Field(
        default=2_000_000,
        ge=10_000,
        description="Images larger than this are shrunk to fit (CP-Commerce skips them instead).",
        examples=[5000000],
    )
    image_max_pixels: int = Field(
        default=12_000_000,
        ge=10_000,
        description="Images with more pixels are scaled down.",
        examples=[25000000],
    )
    image_jpeg_quality: int = Field(
        default=85,
        ge=30,
        le=100,
        description="JPEG quality of re-encoded (rotated or shrunk) images.",
        examples=[90],
    )
    images_mirror_url: str | None = Field(
        default=None,
        description="S3 prefix `s3://bucket/prefix/` that `cpsync mirror-images` (or `cpsync "
        "agent --mirror-images`) fills from `CPSYNC_IMAGES_DIR`: the stack's `ImagesDir`.",
        examples=["s3://store-images/itemimages/"],
    )
    images_mirror_minutes: float = Field(
        default=10,
        gt=0,
        description="Minutes between two mirrors of the image folder.",
        examples=[5],
    )
    images_mirror_state: Path = Field(
        default=DEMO_DIR / "image-mirror.json",
        description="File where the mirror remembers the size and mtime it uploaded per file.",
        examples=[r"C:\ProgramData\cpsync\image-mirror.json"],
    )

    # --- State, queue and retries -------------------------------------------------------------
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
    sync_now_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long the agent's (or a task function's) Sync Item / Sync now waits "
        'for the cloud\'s updater to apply what it sent before answering "queued".',
        examples=[30],
    )

    # --- Sync interface and API ---------------------------------------------------------------
    api_session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies; unset = a random key per process "
        "(sign-ins end on restart). Set it when several processes serve the API; in AWS the "
        "stack generates it in the secret as `api_session_secret`.",
        examples=["<openssl rand -hex 32>"],
    )
    api_session_idle_seconds: int = Field(
        default=1800,
        ge=30,
        description="A session unused this long is signed out.",
        examples=[3600],
    )
    api_base_path: str = Field(
        default="/",
        description="In AWS, the path the API is reached under when it is not the root (an API "
        "Gateway custom-domain mapping), stripped before routing. The page uses relative links: "
        "open it with the trailing slash (`https://example.com/cpsync/`).",
        examples=["/cpsync"],
    )
    api_cookie_secure: bool = Field(
        default=True,
        description="Mark the session cookie Secure; `false` only for plain http on "
        "127.0.0.1 (browsers keep a Secure cookie only over https).",
        examples=[False],
    )
    api_max_failed_signins: int = Field(
        default=6,
        ge=1,
        description="Failed sign-ins of a user before the account is locked.",
        examples=[5],
    )
    api_lockout_seconds: int = Field(
        default=900,
        ge=1,
        description="How long a locked user is refused, even with the right password.",
        examples=[1800],
    )
    api_allowed_ips: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR, JSON list) allowed to call the API; empty = any address.",
        examples=['["192.168.1.0/24"]'],
    )
    api_trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="`cpsync serve` behind a reverse proxy (nginx, IIS ARR): the proxies, by "
        "address or CIDR, whose `X-Forwarded-For` names the real caller for the allow-list and "
        "the sign-in lockouts; `[]` trusts none. In AWS, API Gateway passes the caller itself.",
        examples=['["10.0.0.0/8"]'],
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys for scripts, sent in the `X-API-Key` header (JSON list); each at "
        f"least {MIN_API_KEY_LENGTH} characters (`openssl rand -hex 24`), or cpsync refuses to "
        "start.",
        examples=['["<48 hex characters>"]'],
    )
    api_local_admin: SecretStr | None = Field(
        default=None,
        description="A local admin who signs in without asking Magento (so the page works when "
        "Magento is down): `user:<hash>`, made by `cpsync hash-password --user NAME` (scrypt, "
        "random salt). Counts against the same lockout.",
        examples=["admin:scrypt$..."],
    )
    serve_host: str = Field(
        default="127.0.0.1", description="Address `cpsync serve` listens on.", examples=["0.0.0.0"]
    )
    serve_port: int = Field(
        default=8080, ge=1, le=65535, description="Port of `cpsync serve`.", examples=[8443]
    )

    # --- AWS ----------------------------------------------------------------------------------
    queue_url: str | None = Field(
        default=None,
        description="SQS queue of Changes; set, the queue is SQS (AWS mode).",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-changes"],
    )
    dead_letter_queue_url: str | None = Field(
        default=None,
        description="Its dead-letter queue; unset, read from the redrive policy.",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-changes-dlq"],
    )
    table_name: str | None = Field(
        default=None,
        description="DynamoDB table of cpsync's state; set, state is DynamoDB.",
        examples=["cpsync-state"],
    )
    bucket: str | None = Field(
        default=None,
        description="S3 bucket of image blobs and oversized queue messages.",
        examples=["cpsync-blobs-123456789012"],
    )
    command_queue_url: str | None = Field(
        default=None,
        description="SQS queue the agent long-polls for commands from the cloud.",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-commands"],
    )
    secret_id: str | None = Field(
        default=None,
        description="Secrets Manager secret (a JSON object whose keys are settings, such as "
        "`magento_token` and `counterpoint_url`), read at start and cached 5 minutes.",
        examples=["arn:aws:secretsmanager:us-east-1:123456789012:secret:cpsync-AbCdEf"],
    )
    stack_name: str | None = Field(
        default=None,
        description="Name of the SAM stack (set by the template): the API function moves the "
        "task schedules and invokes the task functions named `<stack>-<task>`.",
        examples=["cpsync"],
    )
    run_log_days: int = Field(
        default=30,
        ge=1,
        description="Days runs and errors are kept in DynamoDB (TTL).",
        examples=[90],
    )
    connection_mode: Literal["direct", "agent"] = Field(
        default="direct",
        description="How AWS reaches Counterpoint: `direct` (the task Lambdas) or `agent` (in "
        "the store); manual actions (jobs) go to the task's Lambda in direct mode and to the "
        "agent's command queue in agent mode.",
        examples=["agent"],
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


_UNSET = "unset"


def _env(name: str) -> str:
    return f"CPSYNC_{name.upper()}"


def _shown(value: object) -> str:
    """A value as it is written in the environment (JSON for lists and dicts)."""
    if value is None:
        return _UNSET
    if isinstance(value, SecretStr):
        return value.get_secret_value() or '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps([_shown(v) for v in value] if isinstance(value, list) else value)
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"


def markdown() -> str:
    """`docs/configuration.md`: every setting, by section, with default, meaning and example.

    Returns:
        The page, ending with a newline.
    """
    fields = Settings.model_fields
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m cpsync.settings --markdown > docs/configuration.md`;",
        "     edit the descriptions in layers/cpsync/cpsync/settings.py, not this file. -->",
        "",
        "Every setting is an environment variable with a default that works for the demo "
        "(`make demo`). An invalid value stops start-up with a message naming the variable. "
        "In AWS, secrets come from the stack's Secrets Manager secret "
        "([deploying to AWS](deploy-aws.md#step-by-step)); the agent reads "
        "`--env-file PATH` ([the agent](agent.md)).",
        "",
    ]
    lines += [f"- [{s.title}](#{_anchor(s.title)})" for s in SECTIONS]
    for section in SECTIONS:
        lines += ["", f"## {section.title}", "", section.intro, ""]
        lines += ["| variable | default | meaning | example |", "|---|---|---|---|"]
        for name in section.fields:
            info = fields[name]
            default = info.get_default(call_default_factory=True)
            if name == "api_session_secret":
                shown_default = "random per process"
            else:
                shown_default = _code(_shown(default)) if default is not None else _UNSET
            example = _shown(info.examples[0]) if info.examples else None
            lines.append(
                f"| {_code(_env(name))} | {shown_default} | {_cell(info.description or '')} | "
                + (_code(f"{_env(name)}={example}") if example is not None else "")
                + " |"
            )
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m cpsync.settings --markdown > docs/configuration.md")
    sys.stdout.write(markdown())
