"""Settings of the section "Sync interface and API" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from cpsync.settings._section import SettingsSection

__all__ = ["MIN_API_KEY_LENGTH", "ApiSettings"]


#: Shortest API key accepted: a short key can be guessed even with the per-address lockout.
MIN_API_KEY_LENGTH = 24


class ApiSettings(SettingsSection):
    """`cpsync serve` and the sign-in of the sync interface."""

    section_title: ClassVar[str] = "Sync interface and API"
    section_intro: ClassVar[str] = (
        "`cpsync serve` and the sign-in of the sync interface "
        "([the sync interface](sync-interface.md))."
    )

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
