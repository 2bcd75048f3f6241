"""How the client signs its requests to Magento: three httpx ``Auth`` flows.

See docs/reference/magento.md#authentication.

- :class:`BearerAuth`: an integration access token as ``Authorization: Bearer``. Since
  Magento 2.4.4 the store must allow this (Stores > Configuration > Services > OAuth >
  Consumer Settings), otherwise every call is a 401 that looks like a missing ACL grant.
- :class:`AdminTokenAuth`: ``POST /V1/integration/admin/token`` with an admin user; the token
  (4 h by default) is fetched again shortly before it expires, and once after a 401 (an
  expired token is answered exactly like no token). A store with two-factor authentication
  refuses this endpoint; the error says so.
- :class:`OAuth1Auth`: OAuth 1.0a HMAC-SHA256 signatures made by ``oauthlib`` over the URL as
  sent (query already encoded by httpx), so the bracketed ``searchCriteria`` keys are signed
  exactly as Magento will decode them (docs/reference/magento.md#oauth-and-searchcriteria).

:func:`auth_from_settings` picks one from ``CPSYNC_MAGENTO_AUTH`` and names any missing setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from oauthlib import oauth1

from cpsync.errors import ConfigurationError
from cpsync.magento.errors import MagentoAuthError, error_from_response
from cpsync.settings import Settings

__all__ = ["AdminTokenAuth", "BearerAuth", "OAuth1Auth", "auth_from_settings"]

logger = logging.getLogger(__name__)

ADMIN_TOKEN_PATH = "/rest/V1/integration/admin/token"
GOOGLE_TOKEN_PATH = "/rest/V1/tfa/provider/google/authenticate"


def totp(secret_base32: str, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 code (Google Authenticator: HMAC-SHA1, 6 digits, 30 s steps)."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


class BearerAuth(httpx.Auth):
    """A fixed token sent as ``Authorization: Bearer``."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header."""
        request.headers["Authorization"] = self._header
        yield request


class AdminTokenAuth(httpx.Auth):
    """An admin token, fetched on first use, refreshed before expiry and once after a 401.

    Args:
        username: Magento admin user.
        password: Its password.
        lifetime: Token lifetime configured in Magento, seconds.
        clock: Injected for tests.
        totp_secret: The admin user's Google Authenticator secret (base32): the token is
            then asked from the 2FA endpoint with a fresh one-time code.
        wall_clock: Time for one-time codes; injected for tests.
    """

    requires_response_body = True

    def __init__(
        self,
        username: str,
        password: str,
        lifetime: float = 4 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
        totp_secret: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = {"username": username, "password": password}
        self._totp_secret = totp_secret
        self._wall_clock = wall_clock
        self._lifetime = lifetime
        # Refresh a little early: a request may take a while to reach Magento.
        self._margin = min(300.0, lifetime * 0.1)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0

    def _usable(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            return None

    def _store(self, token: str) -> None:
        with self._lock:
            self._token = token
            self._expires_at = self._clock() + self._lifetime - self._margin
            self.fetched += 1

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        # Keep whatever path the store lives under (https://host/shop/rest/...).
        raw = request.url.raw_path.split(b"?", 1)[0]
        prefix = raw[: raw.find(b"/rest/")] if b"/rest/" in raw else b""
        body: dict[str, str] = dict(self._credentials)
        path = ADMIN_TOKEN_PATH
        if self._totp_secret is not None:
            path = GOOGLE_TOKEN_PATH
            body["otp"] = totp(self._totp_secret, self._wall_clock())
        url = request.url.copy_with(raw_path=prefix + path.encode("ascii"))
        return httpx.Request(
            "POST",
            url,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            content=json.dumps(body).encode("utf-8"),
        )

    def _fetch(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, str]:
        """Ask Magento for a token (sent through the same client and transport).

        Raises:
            MagentoAuthError: wrong credentials, or 2FA refuses this endpoint.
        """
        response = yield self._token_request(request)
        if not response.is_success:
            error = error_from_response(response)
            if isinstance(error, MagentoAuthError) or response.status_code in (400, 401):
                hint = (
                    "check CPSYNC_MAGENTO_ADMIN_TOTP_SECRET and the clock"
                    if self._totp_secret is not None
                    else "with two-factor authentication on, set "
                    "CPSYNC_MAGENTO_ADMIN_TOTP_SECRET or use magento_auth=oauth or token"
                )
                raise MagentoAuthError(
                    response.status_code,
                    f"{error.magento_message} (admin token for CPSYNC_MAGENTO_ADMIN_USERNAME; "
                    f"{hint})",
                    "POST",
                    ADMIN_TOKEN_PATH,
                )
            raise error
        token = response.json()
        if not isinstance(token, str) or not token:
            raise MagentoAuthError(
                response.status_code,
                "the admin token answer is not a token",
                "POST",
                ADMIN_TOKEN_PATH,
            )
        self._store(token)
        logger.info("fetched a Magento admin token")
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the current token; after a 401, fetch a new one and send once more."""
        token = self._usable()
        if token is None:
            token = yield from self._fetch(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._forget(token)
            # Another thread may have fetched a fresh token meanwhile: one fetch per expiry.
            fresh = self._usable()
            token = fresh if fresh is not None else (yield from self._fetch(request))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class OAuth1Auth(httpx.Auth):
    """OAuth 1.0a (HMAC-SHA256) signature of every request, made by ``oauthlib``."""

    def __init__(
        self, consumer_key: str, consumer_secret: str, token: str, token_secret: str
    ) -> None:
        self._client = oauth1.Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=token,
            resource_owner_secret=token_secret,
            signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        )
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request's decoded query parameters; JSON bodies are not signed.

        See docs/reference/magento.md#oauth-signatures.

        Magento decodes the query before building the base string, so the URL is signed in
        one canonical encoding whatever form the brackets take on the wire
        (docs/reference/magento.md#oauth-and-searchcriteria).
        """
        url = request.url
        pairs = parse_qsl(url.query.decode("utf-8"), keep_blank_values=True)
        query = urlencode(pairs, quote_via=quote)
        signed_url = str(url.copy_with(query=None)) + (f"?{query}" if query else "")
        with self._lock:  # oauthlib's Client keeps per-call state (nonce, timestamp)
            method: Any = request.method  # the stubs want a Literal of method names
            _, headers, _ = self._client.sign(signed_url, http_method=method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter is not None else value)


def auth_from_settings(settings: Settings) -> httpx.Auth:
    """The auth flow ``CPSYNC_MAGENTO_AUTH`` asks for.

    Raises:
        ConfigurationError: a setting the chosen mode needs is missing; names each one.
    """
    mode = settings.magento_auth
    if mode == "token":
        return BearerAuth(settings.magento_token.get_secret_value())
    if mode == "admin":
        needed = {
            "CPSYNC_MAGENTO_ADMIN_USERNAME": settings.magento_admin_username,
            "CPSYNC_MAGENTO_ADMIN_PASSWORD": settings.magento_admin_password,
        }
    else:
        needed = {
            "CPSYNC_MAGENTO_OAUTH_CONSUMER_KEY": settings.magento_oauth_consumer_key,
            "CPSYNC_MAGENTO_OAUTH_CONSUMER_SECRET": settings.magento_oauth_consumer_secret,
            "CPSYNC_MAGENTO_OAUTH_ACCESS_TOKEN": settings.magento_oauth_access_token,
            "CPSYNC_MAGENTO_OAUTH_ACCESS_TOKEN_SECRET": settings.magento_oauth_access_token_secret,
        }
    missing = [name for name, value in needed.items() if value is None or _secret(value) == ""]
    if missing:
        raise ConfigurationError(f"CPSYNC_MAGENTO_AUTH={mode} needs {', '.join(missing)} (not set)")
    values = [_secret(value) for value in needed.values()]
    if mode == "admin":
        secret = settings.magento_admin_totp_secret
        return AdminTokenAuth(
            values[0],
            values[1],
            settings.magento_admin_token_lifetime,
            totp_secret=None if secret is None else secret.get_secret_value(),
        )
    return OAuth1Auth(*values)
