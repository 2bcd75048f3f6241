"""Bearer authentication and the admin token route (§1).

A request is authorized when its ``Authorization: Bearer`` token is the integration token (if
integration tokens are accepted as Bearer) or an admin token that has not expired. Anything
else, including OAuth 1.0a signatures, is treated as anonymous and gets the 401 of §1.4.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping

from emulator.config import EmulatorConfig
from emulator.errors import ADMIN_SIGN_IN_INCORRECT, MagentoError, not_authorized
from emulator.routing import RestRequest, Route

__all__ = ["TokenRegistry", "authorize", "bearer_token", "routes"]

_ALPHABET = string.ascii_lowercase + string.digits


class TokenRegistry:
    """Admin tokens issued by this emulator and when they expire (not persisted)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self, lifetime_seconds: float) -> str:
        """A new opaque token: 32 lowercase alphanumerics, as older Magento issues (§1.2)."""
        token = "".join(secrets.choice(_ALPHABET) for _ in range(32))
        with self._lock:
            self._expiry[token] = self._clock() + lifetime_seconds
        return token

    def is_valid(self, token: str) -> bool:
        """True for an issued token that has not expired."""
        with self._lock:
            expiry = self._expiry.get(token)
            return expiry is not None and self._clock() < expiry

    def clear(self) -> None:
        """Revoke every admin token."""
        with self._lock:
            self._expiry.clear()


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input."""
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authorize(
    headers: Mapping[str, str], config: EmulatorConfig, tokens: TokenRegistry, resource: str
) -> None:
    """Let the request through or raise the 401 naming the route's ACL resource.

    Raises:
        MagentoError: 401 ``The consumer isn't authorized to access %resources.``
    """
    token = bearer_token(headers)
    if token is not None:
        if config.integration_bearer_enabled and _same(token, config.token):
            return
        if tokens.is_valid(token):
            return
    raise not_authorized(resource)


def admin_token(request: RestRequest) -> str:
    """``POST /V1/integration/admin/token`` → a bare JSON string (§1.2).

    Raises:
        MagentoError: 400 when username or password is missing, 401 when they are wrong.
    """
    username = request.body_param("username")
    password = request.body_param("password")
    config = request.emulator.config
    valid = _same(str(username), config.admin_username) and _same(
        str(password), config.admin_password
    )
    if not valid:
        raise MagentoError(401, ADMIN_SIGN_IN_INCORRECT)
    if config.admin_two_factor:
        # Magento_TwoFactorAuth checks the password first, then refuses (§1.2).
        raise MagentoError(
            401,
            "Please use the 2fa provider-specific endpoints to obtain a token.",
            {"active_providers": ["google"]},
        )
    return request.emulator.tokens.issue(config.admin_token_lifetime_seconds)


def routes() -> list[Route]:
    """The anonymous token route."""
    return [Route("POST", "/V1/integration/admin/token", "admin.token", admin_token, None)]
