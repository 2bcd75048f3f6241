"""Emulator configuration: credentials, store topology, costs, faults and modes.

One pydantic model, validated on assignment so ``POST /__emulator/config`` and
``handle.configure(...)`` get the same checks as start-up. Fields in :data:`RUNTIME_FIELDS` can
change while the server runs; the others are read once when the emulator is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator.faults import Fault, check_endpoint

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
        "admin_two_factor",
        "media_cost_ms_per_mb",
    }
)


def _default_costs() -> dict[str, float]:
    """A few milliseconds per save: enough to see queueing, cheap enough for tests."""
    return {"products.save": 3.0, "products.delete": 1.0}


class EmulatorConfig(BaseModel):
    """Everything that makes one emulator run behave the way a test or benchmark needs."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # Credentials (§1).
    token: str = Field(
        default="cpsync-emulator-token", description="Integration access token (Bearer)."
    )
    admin_username: str = Field(default="admin", description="Admin user for admin tokens.")
    admin_password: str = Field(default="admin123", description="Password of the admin user.")
    admin_token_lifetime_seconds: float = Field(
        default=4 * 3600.0, gt=0, description="Admin token lifetime; Magento's default is 4 h."
    )
    # Sync interface: a store with Magento_TwoFactorAuth refuses the admin token route (§1.2).
    admin_two_factor: bool = Field(
        default=False, description="Refuse admin tokens as a 2FA-enabled store does (§1.2)."
    )
    integration_bearer_enabled: bool = Field(
        default=True,
        description="Accept the integration token as Bearer (off by default in Magento 2.4.4+).",
    )

    # Topology (§0.1): one website (id 1); every store code is a store view of it.
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
    workers: int = Field(default=4, ge=1, description="Concurrent requests served (PHP-FPM).")
    # Media (emulator/media.py): an image upload costs more the larger it is.
    media_cost_ms_per_mb: float = Field(
        default=20.0, ge=0, description="Extra worker time of media writes per MB of request body."
    )

    # Fault model.
    faults: list[Fault] = Field(default_factory=list, description="Injected faults, in order.")
    seed: int = Field(default=0, description="Seed of the fault generator.")
    timeout_seconds: float = Field(
        default=30.0, ge=0, description="How long a 'timeout' fault delays the answer."
    )

    # Modes (§0.5, §2.3, §10.14).
    reject_encoded_slash: bool = Field(
        default=False, description="404 for %2F in paths, like Apache without AllowEncodedSlashes."
    )
    clamp_pages: bool = Field(
        default=False, description="Paging past the end repeats the last page (older Magento)."
    )
    input_limit_enabled: bool = Field(
        default=False, description="Default pageSize 20 and maximum 300, as with Web API limits on."
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

    @field_validator("costs_ms")
    @classmethod
    def _known_cost_endpoints(cls, value: dict[str, float]) -> dict[str, float]:
        """Catch typos in cost names, and negative costs."""
        for name, cost in value.items():
            check_endpoint(name)
            if cost < 0:
                raise ValueError(f"cost of {name} is negative")
        return value

    @field_validator("store_codes")
    @classmethod
    def _default_store_first(cls, value: list[str]) -> list[str]:
        """Keep 'default' first and codes unique; 'all' is a scope, not a store code."""
        codes = ["default", *(code for code in value if code != "default")]
        if "all" in codes:
            raise ValueError("'all' is reserved for the admin scope")
        return list(dict.fromkeys(codes))

    def cost_seconds(self, endpoint: str) -> float:
        """Worker time of one request to ``endpoint``."""
        return self.costs_ms.get(endpoint, self.default_cost_ms) / 1000.0

    def size_cost_seconds(self, endpoint: str, body_bytes: int) -> float:
        """Extra worker time that grows with the request body (image uploads)."""
        if not endpoint.startswith("media.") or body_bytes <= 0:
            return 0.0
        return self.media_cost_ms_per_mb * body_bytes / 1_000_000 / 1000.0

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
        data = self.model_dump(mode="json", exclude={"token", "admin_password"})
        data["faults"] = [fault.spec() for fault in self.faults]
        return data
