"""Authentication (docs/reference/magento.md#authentication): Bearer tokens, OAuth 1.0a signatures,
the admin token route, 2FA.

A request is authorized when

- its ``Authorization: Bearer`` token is the integration token (only while integration tokens
  are accepted as Bearer: off by default since Magento 2.4.4) or an admin token that has not
  expired; or
- its ``Authorization: OAuth ...`` header carries a valid HMAC-SHA1/SHA256 signature by the
  integration's consumer and access token.

Anything else is anonymous and gets the 401 of docs/reference/magento.md#authorization-failure
naming the route's ACL resource, except a signed request whose signature is wrong, which gets
docs/reference/magento.md#error-catalogue's ``The signature is invalid``.

The signature base string follows the reference (docs/reference/magento.md#oauth-signatures):
method, the URL without query, and the sorted oauth and *decoded* query parameters. Decoding the
query first is what makes brackets in ``searchCriteria`` verify whether the client sent them raw or
as ``%5B``/``%5D`` (docs/reference/magento.md#oauth-and-searchcriteria).
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.errors import (
    ADMIN_SIGN_IN_INCORRECT,
    NONCE_USED,
    OAUTH_VERSION_UNSUPPORTED,
    SIGNATURE_INVALID,
    SIGNATURE_METHOD_UNSUPPORTED,
    TFA_CONFIGURE,
    TFA_INVALID_CODE,
    TFA_PROVIDER_NOT_CONFIGURED,
    TFA_USE_PROVIDER,
    MagentoError,
    not_authorized,
    required_field,
)
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.totp import verify_totp

__all__ = [
    "USER_TYPE_ADMIN",
    "USER_TYPE_INTEGRATION",
    "TokenRegistry",
    "authorize",
    "bearer_token",
    "routes",
]

_ALPHABET = string.ascii_lowercase + string.digits

#: ``user_type`` of a bulk (docs/reference/magento.md#async-bulk): 1 integration, 2 admin.
USER_TYPE_INTEGRATION = 1
USER_TYPE_ADMIN = 2

_OAUTH_REQUIRED = (
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_token",
)
_SIGNERS: dict[str, Callable[[str, Any], str]] = {
    "HMAC-SHA1": oauth_signature.sign_hmac_sha1_with_client,
    "HMAC-SHA256": oauth_signature.sign_hmac_sha256_with_client,
}


class TokenRegistry:
    """Admin tokens issued by this emulator and when they expire, plus used OAuth nonces."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def issue(self, lifetime_seconds: float) -> str:
        """A new opaque token: 32 lowercase alphanumerics, as older Magento issues.

        See docs/reference/magento.md#admin-token-and-two-factor-sign-in.
        """
        token = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        with self._lock:
            self._expiry[token] = self._clock() + lifetime_seconds
        return token

    def is_valid(self, token: str) -> bool:
        """True for an issued token that has not expired."""
        with self._lock:
            expiry = self._expiry.get(token)
            return expiry is not None and self._clock() < expiry

    def use_nonce(self, nonce: str, timestamp: str) -> bool:
        """Record an OAuth nonce; False when it was used before (a replayed request)."""
        with self._lock:
            if (nonce, timestamp) in self._nonces:
                return False
            self._nonces.add((nonce, timestamp))
            return True

    def is_locked(self, username: str) -> bool:
        """True while the account is locked after too many failed sign-ins.

        See docs/reference/magento.md#bearer-tokens.
        """
        with self._lock:
            return self._clock() < self._locked_until.get(username, 0.0)

    def sign_in(self, username: str, valid: bool, max_failures: int, lock_seconds: float) -> bool:
        """Count a sign-in attempt; False when refused (wrong, or the account is locked)."""
        with self._lock:
            if self._clock() < self._locked_until.get(username, 0.0):
                return False
            if valid:
                self._failures.pop(username, None)
                return True
            failures = self._failures.get(username, 0) + 1
            self._failures[username] = failures
            if max_failures and failures >= max_failures:
                self._locked_until[username] = self._clock() + lock_seconds
                self._failures.pop(username, None)
            return False

    def clear(self) -> None:
        """Revoke every admin token, forget used nonces, failures and locks."""
        with self._lock:
            self._expiry.clear()
            self._nonces.clear()
            self._failures.clear()
            self._locked_until.clear()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input."""
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _oauth_params(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The parameters of an ``Authorization: OAuth ...`` header, or None for another scheme."""
    header = headers.get("authorization", "").strip()
    if header[:6].lower() != "oauth ":
        return None
    try:
        pairs = oauth_utils.parse_authorization_header(header)
    except (ValueError, IndexError):
        return {}
    # Header values are percent-encoded (RFC 5849 §3.5.1); oauthlib leaves them so.
    return {key: unquote(value) for key, value in pairs if key != "realm"}


def verify_oauth(
    oauth: Mapping[str, str],
    config: EmulatorConfig,
    tokens: TokenRegistry,
    resource: str,
    *,
    method: str,
    url: str,
    query: Sequence[tuple[str, str]],
) -> None:
    """Check an OAuth 1.0a signed request as ``Magento\\Framework\\Oauth\\Oauth`` does.

    Args:
        oauth: the ``oauth_*`` parameters of the Authorization header.
        url: scheme, host and raw path of the request, without the query.
        query: the *decoded* query parameters.

    Raises:
        MagentoError: 400 for a missing parameter, an unsupported signature method or
            version; 401 for an unknown consumer or token, a replayed nonce or a bad signature.
    """
    for name in _OAUTH_REQUIRED:
        if not oauth.get(name):
            raise required_field(name)
    if oauth.get("oauth_version", "1.0") != "1.0":
        raise MagentoError(400, OAUTH_VERSION_UNSUPPORTED, [oauth["oauth_version"]])
    signer = _SIGNERS.get(oauth["oauth_signature_method"])
    if signer is None:
        raise MagentoError(400, SIGNATURE_METHOD_UNSUPPORTED, [oauth["oauth_signature_method"]])
    if not _same(oauth["oauth_consumer_key"], config.oauth_consumer_key) or not _same(
        oauth["oauth_token"], config.oauth_access_token
    ):
        raise not_authorized(resource)
    params = [(k, v) for k, v in oauth.items() if k != "oauth_signature"] + list(query)
    base = oauth_signature.signature_base_string(
        method.upper(),
        oauth_signature.base_string_uri(url),
        oauth_signature.normalize_parameters(params),
    )
    secrets_of = SimpleNamespace(
        client_secret=config.oauth_consumer_secret,
        resource_owner_secret=config.oauth_access_token_secret,
    )
    expected = signer(base, secrets_of)
    if not _same(oauth["oauth_signature"], expected):
        raise MagentoError(401, SIGNATURE_INVALID)
    if not tokens.use_nonce(oauth["oauth_nonce"], oauth["oauth_timestamp"]):
        raise MagentoError(401, NONCE_USED, [1])


def authorize(
    headers: Mapping[str, str],
    config: EmulatorConfig,
    tokens: TokenRegistry,
    resource: str,
    *,
    method: str = "GET",
    url: str = "",
    query: Sequence[tuple[str, str]] = (),
) -> int:
    """Let the request through (returning its bulk ``user_type``) or raise.

    Raises:
        MagentoError: 401 ``The consumer isn't authorized to access %resources.``, or an
            OAuth error (see :func:`verify_oauth`).
    """
    oauth = _oauth_params(headers)
    if oauth is not None:
        verify_oauth(oauth, config, tokens, resource, method=method, url=url, query=query)
        return USER_TYPE_INTEGRATION
    token = bearer_token(headers)
    if token is not None:
        if config.integration_bearer_enabled and _same(token, config.token):
            return USER_TYPE_INTEGRATION
        if tokens.is_valid(token):
            return USER_TYPE_ADMIN
    raise not_authorized(resource)


def _check_credentials(request: RestRequest, username: str, password: str) -> None:
    """Admin credentials, with Magento's lockout after repeated failures (same message).

    Raises:
        MagentoError: 401 sign-in incorrect (wrong credentials or a locked account).
    """
    config = request.emulator.config
    valid = _same(username, config.admin_username) and _same(password, config.admin_password)
    allowed = request.emulator.tokens.sign_in(
        username, valid, config.admin_lockout_failures, config.admin_lockout_seconds
    )
    if not allowed:
        raise MagentoError(401, ADMIN_SIGN_IN_INCORRECT)


def admin_token(request: RestRequest) -> str:
    """``POST /V1/integration/admin/token`` → a bare JSON string
    (docs/reference/magento.md#admin-token-and-two-factor-sign-in).

    Raises:
        MagentoError: 400 when username or password is missing, 401 when they are wrong,
            401 with ``active_providers`` when two-factor authentication is on.
    """
    username, password = request.body_params("username", "password")
    config = request.emulator.config
    _check_credentials(request, str(username), str(password))
    if config.admin_two_factor:
        # Current AdminAccessTokenService: credentials are checked first, then refused.
        if not config.admin_two_factor_configured:
            parameters = {"providers": ["google"], "active_providers": []}
            raise MagentoError(401, TFA_CONFIGURE, parameters)
        raise MagentoError(401, TFA_USE_PROVIDER, {"active_providers": ["google"]})
    return request.emulator.tokens.issue(config.admin_token_lifetime_seconds)


def google_token(request: RestRequest) -> str:
    """``POST /V1/tfa/provider/google/authenticate`` with ``otp`` → a bare JSON string
    (docs/reference/magento.md#admin-token-and-two-factor-sign-in).

    Statuses of the 2FA errors are not in the reference; both are authentication failures
    here (401).

    Raises:
        MagentoError: 400 for missing parameters, 401 for wrong credentials, a provider that
            is not configured, or a wrong code.
    """
    username, password, otp = request.body_params("username", "password", "otp")
    config = request.emulator.config
    _check_credentials(request, str(username), str(password))
    if not config.admin_two_factor_configured:
        raise MagentoError(401, TFA_PROVIDER_NOT_CONFIGURED)
    if not verify_totp(config.admin_two_factor_secret, str(otp)):
        raise MagentoError(401, TFA_INVALID_CODE)
    return request.emulator.tokens.issue(config.admin_token_lifetime_seconds)


def routes() -> list[Route]:
    """The anonymous token routes."""
    return [
        Route("POST", "/V1/integration/admin/token", "admin.token", admin_token, None),
        Route("POST", "/V1/tfa/provider/google/authenticate", "admin.token", google_token, None),
    ]
