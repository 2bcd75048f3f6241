"""Settings of the section "Magento: connection and sign-in" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from cpsync.settings._section import SettingsSection

__all__ = ["MagentoSignInSettings"]


class MagentoSignInSettings(SettingsSection):
    """Which Magento store, and how cpsync signs in to it."""

    section_title: ClassVar[str] = "Magento: connection and sign-in"
    section_intro: ClassVar[str] = (
        "Which store, and how cpsync signs in (`CPSYNC_MAGENTO_AUTH`). A missing setting of the "
        "chosen mode stops start-up with a message naming every variable it still needs; see "
        "[Magento](magento.md#sign-in) for the three modes."
    )

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
