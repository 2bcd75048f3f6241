"""Emulator configuration: credentials, store topology, costs, faults and modes.

One pydantic model, validated on assignment so ``POST /__emulator/config`` and
``handle.configure(...)`` get the same checks as start-up. Fields in :data:`RUNTIME_FIELDS` can
change while the server runs; the others are read once when the emulator is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cpsync_emulator.faults import Fault, check_endpoint

__all__ = ["RUNTIME_FIELDS", "EmulatorConfig"]

#: Fields that ``POST /__emulator/config`` and ``EmulatorHandle.configure`` may change.
RUNTIME_FIELDS: frozenset[str] = frozenset(
    {
        "latency_ms",
        "costs_ms",
        "default_cost_ms",
        "workers",
        "faults",
        "seed",
        "timeout_seconds",
        "reject_encoded_slash",
        "clamp_pages",
        "input_limit_enabled",
        "integration_bearer_enabled",
        "admin_token_lifetime_seconds",
        "record_costs_ms",
        "kb_costs_ms",
        "admin_two_factor",
        "admin_lockout_failures",
        "admin_lockout_seconds",
        "admin_two_factor_configured",
        "bulk_consumer_paused",
        "bulk_consumers",
        "worker_backlog",
        "locale",
        "retry_after_seconds",
        "category_links_on_save",
        "unsupported_field_status",
        "import_row_errors",
        "import_entities",
        "price_scope",
        "special_price_website_copy",
        "edition",
        "version_page",
    }
)


def _default_costs() -> dict[str, float]:
    """A few milliseconds per save: enough to see queueing, cheap enough for tests."""
    return {"products.save": 3.0, "products.delete": 1.0, "import.json": 3.0, "import.csv": 3.0}


def _default_record_costs() -> dict[str, float]:
    """Inventory and prices: about a millisecond per source item or price row.

    See docs/reference/magento.md#msi-source-items, #slow-saves.
    """
    return {
        "inventory.source_items.save": 1.0,
        "inventory.source_items.delete": 0.5,
        "prices.base.save": 0.5,
        "prices.special.save": 1.0,
        "prices.special.delete": 0.5,
        # An imported row is written with bulk SQL: a fraction of a product save.
        "import.json": 0.1,
        "import.csv": 0.1,
    }


class EmulatorConfig(BaseModel):
    """Everything that makes one emulator run behave the way a test or benchmark needs."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # Credentials (docs/reference/magento.md#authentication).
    token: str = Field(
        default="cpsync-emulator-token", description="Integration access token (Bearer)."
    )
    admin_username: str = Field(default="admin", description="Admin user for admin tokens.")
    admin_password: str = Field(default="admin123", description="Password of the admin user.")
    admin_token_lifetime_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="Admin token lifetime; Magento's default is 4 h."
    )
    integration_bearer_enabled: bool = Field(
        default=True,
        description="Accept the integration token as Bearer (off by default in Magento 2.4.4+).",
    )
    admin_lockout_failures: int = Field(
        default=6,
        ge=0,
        description="Failed admin sign-ins before the account locks (0 = never; Magento: 6).",
    )
    admin_lockout_seconds: float = Field(
        default=1800.0, ge=0, description="How long a locked admin account stays locked."
    )
    admin_two_factor: bool = Field(
        default=False,
        description="Magento_TwoFactorAuth on: the admin token endpoint refuses "
        "(docs/reference/magento.md#admin-token-and-two-factor-sign-in).",
    )
    admin_two_factor_secret: str = Field(
        default="JBSWY3DPEHPK3PXP",
        description="Base32 Google Authenticator secret of the admin user (2FA token route).",
    )
    admin_two_factor_configured: bool = Field(
        default=True,
        description="The admin user has set up a 2FA provider (else a different refusal).",
    )
    oauth_consumer_key: str = Field(
        default="cpsync-consumer-key", description="OAuth 1.0a consumer key of the integration."
    )
    oauth_consumer_secret: str = Field(
        default="cpsync-consumer-secret", description="OAuth 1.0a consumer secret."
    )
    oauth_access_token: str = Field(
        default="cpsync-access-token",
        description="OAuth 1.0a access token (also the Bearer token when `token` equals it).",
    )
    oauth_access_token_secret: str = Field(
        default="cpsync-access-token-secret", description="OAuth 1.0a access token secret."
    )

    # Topology (docs/reference/magento.md#url-and-store-scope): one website (id 1); every store code
    # is a store view of it.
    store_codes: list[str] = Field(
        default_factory=lambda: ["default"],
        description="Store view codes; 'default' is always present and is the default view.",
    )

    # Cost model.
    latency_ms: float = Field(default=0.0, ge=0, description="Added to every REST request.")
    costs_ms: dict[str, float] = Field(
        default_factory=_default_costs, description="Worker time by endpoint name."
    )
    default_cost_ms: float = Field(default=0.0, ge=0, description="Worker time of other routes.")
    record_costs_ms: dict[str, float] = Field(
        default_factory=_default_record_costs,
        description="Worker time per record by endpoint: items of the route's array parameter, "
        "or 1 for a single-record route (a price row ~ ms, a product save ~ hundreds of ms).",
    )
    kb_costs_ms: dict[str, float] = Field(
        # An image upload costs more the larger it is: ~20 ms per MB by default.
        default_factory=lambda: {"media.create": 0.02},
        description="Worker time per KiB of request body by endpoint (an image grows with size).",
    )
    workers: int = Field(default=4, ge=1, description="Concurrent requests served (PHP-FPM).")
    worker_backlog: int = Field(
        default=0,
        ge=0,
        description="Requests that may wait for a worker; more get nginx's 502 (0 = no limit).",
    )

    # Fault model.
    faults: list[Fault] = Field(default_factory=list, description="Injected faults, in order.")
    seed: int = Field(default=0, description="Seed of the fault generator.")
    timeout_seconds: float = Field(
        default=30.0, ge=0, description="How long a 'timeout' fault delays the answer."
    )
    retry_after_seconds: int = Field(
        default=1, ge=0, description="The Retry-After header of a '429' fault."
    )

    # Async bulk (docs/reference/magento.md#async-bulk).
    bulk_consumer_paused: bool = Field(
        default=False, description="Hold async operations open (status 4) until resumed."
    )
    bulk_consumers: int = Field(
        default=1, ge=1, description="Consumers (async.operations.all) working in parallel."
    )

    # Modes (docs/reference/magento.md#input-limits-and-hosting, #product-search,
    # #what-differs-between-stores).
    reject_encoded_slash: bool = Field(
        default=False, description="404 for %2F in paths, like Apache without AllowEncodedSlashes."
    )
    clamp_pages: bool = Field(
        default=False, description="Paging past the end repeats the last page (older Magento)."
    )
    input_limit_enabled: bool = Field(
        default=False, description="Default pageSize 20 and maximum 300, as with Web API limits on."
    )
    category_links_on_save: Literal["replace", "merge"] = Field(
        default="replace",
        description="What category_links in a product save do to an existing product's links: "
        "replace them, or merge into them (stores differ; the reference does not say).",
    )

    price_scope: Literal["global", "website"] = Field(
        default="global",
        description="Catalog price scope (catalog/price/scope, Magento's default global): "
        "global refuses special prices of a store view (docs/reference/magento.md#special-prices).",
    )
    special_price_website_copy: bool = Field(
        default=False,
        description="The 2025 fix of issue 39521: a special-price save for a store view is "
        "copied to every store view of its website (a delete is not); an unknown store is 404.",
    )

    unsupported_field_status: Literal[500, 400] = Field(
        default=500,
        description="A body member the data interface has no setter for: 500 'Internal Error' "
        "(production mode up to 2.4.6) or 400 'is not supported' (2.4.7+, patch ACSD-51846).",
    )

    edition: Literal["Community", "Enterprise", "B2B"] = Field(
        default="Community",
        description="What GET /magento_version names (Magento_Version): Community is Magento "
        "Open Source, Enterprise Adobe Commerce.",
    )
    version_page: bool = Field(
        default=True,
        description="Serve GET /magento_version; off: 404, as a store that removed "
        "Magento_Version (a common hardening step).",
    )
    import_api: bool = Field(
        default=True,
        description="Serve POST /V1/import/json and /V1/import/csv (Magento_ImportCsvApi); "
        "off: 404 as a store without the module.",
    )
    import_entities: list[str] = Field(
        default_factory=lambda: ["catalog_product", "stock_sources"],
        description="Import entities the store has an adapter for (stock_sources comes with "
        "Magento_InventoryImportExport); another answers 'Please enter a correct entity model.'",
    )
    import_row_errors: bool = Field(
        default=False,
        description="The import answer lists each row message ('... in row(s): 2'); Magento's "
        "StartImport drops them and says only that the error limit was reached.",
    )

    locale: str = Field(
        default="en_US",
        description="Store view locale of error messages (en_US, or de_DE to test clients).",
    )

    # Configurable products (grids): dropdown attributes the store has, and the 2.3 answer shape.
    select_attributes: list[str] = Field(
        default_factory=lambda: ["color", "size", "width"],
        description="Dropdown product attributes the store has (configurable options use them);"
        " the default matches the sample data's grid dimensions.",
    )
    option_id_prefix: str = Field(
        default="",
        description="Prefix of the id answered for a new attribute option ('id_' as in 2.3).",
    )

    # Persistence.
    state_file: Path | None = Field(
        default=None, description="Catalog JSON loaded at start and written by save()/shutdown."
    )

    @field_validator("faults", mode="before")
    @classmethod
    def _parse_fault_specs(cls, value: Any) -> Any:
        """Accept ``"products.save:503:0.3"`` strings beside Fault objects and dicts."""
        if isinstance(value, list | tuple):
            return [Fault.parse(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("costs_ms", "record_costs_ms", "kb_costs_ms")
    @classmethod
    def _known_cost_endpoints(cls, value: dict[str, float]) -> dict[str, float]:
        """Catch typos in cost names, and negative costs."""
        for name, cost in value.items():
            check_endpoint(name)
            if cost < 0:
                raise ValueError(f"cost of {name} is negative")
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        """Only locales with a translation table."""
        from cpsync_emulator.i18n import LOCALES

        if value not in LOCALES:
            raise ValueError(f"unknown locale {value!r}; known: {', '.join(LOCALES)}")
        return value

    @field_validator("store_codes")
    @classmethod
    def _default_store_first(cls, value: list[str]) -> list[str]:
        """Keep 'default' first and codes unique; 'all' is a scope, not a store code."""
        codes = ["default", *(code for code in value if code != "default")]
        if "all" in codes:
            raise ValueError("'all' is reserved for the admin scope")
        return list(dict.fromkeys(codes))

    def cost_seconds(self, endpoint: str, records: int = 1, body_bytes: int = 0) -> float:
        """Worker time of one request to ``endpoint`` carrying ``records`` records.

        The sum of the per-request, per-record and per-KiB costs (an image grows with its
        size); the dispatcher charges it once, after reading the body.
        """
        per_request = self.costs_ms.get(endpoint, self.default_cost_ms)
        per_kb = self.kb_costs_ms.get(endpoint, 0.0) * body_bytes / 1024.0
        seconds = (per_request + per_kb) / 1000.0
        return seconds + self.record_cost_seconds(endpoint, records)

    def record_cost_seconds(self, endpoint: str, records: int) -> float:
        """Worker time for the records one request to ``endpoint`` carries."""
        return self.record_costs_ms.get(endpoint, 0.0) * records / 1000.0

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply runtime changes, all or nothing.

        Raises:
            ValueError: a field is unknown or not changeable at runtime.
            pydantic.ValidationError: a value is invalid.
        """
        unknown = sorted(set(changes) - RUNTIME_FIELDS)
        if unknown:
            raise ValueError(f"not changeable at runtime: {', '.join(unknown)}")
        merged = self.model_dump() | dict(changes)
        checked = EmulatorConfig.model_validate(merged)
        for name in changes:
            setattr(self, name, getattr(checked, name))

    def public_dump(self) -> dict[str, Any]:
        """The configuration as JSON, without secrets (for ``GET /__emulator/config``)."""
        data = self.model_dump(
            mode="json",
            exclude={
                "token",
                "admin_two_factor_secret",
                "admin_password",
                "oauth_consumer_secret",
                "oauth_access_token_secret",
            },
        )
        data["faults"] = [fault.spec() for fault in self.faults]
        return data
