"""Who may call the API: Magento admin sign-in, session cookies, lockout, API keys, allow-list.

- Sign-in checks the user against Magento's admin token route (`POST /V1/integration/admin/
  token`); the token itself is thrown away, cpsync keeps only its own session. A store with
  two-factor sign-in refuses that route after checking the password
  (docs/reference/magento.md#admin-token-and-two-factor-sign-in): the person is told so and pointed
  to an API key instead.
- The session is a cookie signed with HMAC-SHA256 carrying the user and the time of the last
  request; it is re-issued on every request, so it expires after `api_session_idle_seconds`
  without use. It is HttpOnly, SameSite=Strict and Secure (configurable for http://127.0.0.1).
  Nothing is stored server-side, so every Lambda instance accepts it if they share the key.
- Attempts are counted per user name and per address in state before they are checked (see
  `Lockout`): after `api_max_failed_signins` failures the user is refused for
  `api_lockout_seconds`, even with the right password; an address after four times as many.
- Scripts send one of `api_keys` in the `X-API-Key` header; wrong keys count against the
  address like wrong passwords.
- An optional local admin (`api_local_admin`, `user:<hash>` made by `cpsync hash-password`)
  signs in without asking Magento, so the page works when Magento is down. The hash is scrypt
  with a random salt, compared in constant time, and the attempts count against the same
  lockout as every other sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from cpsync.ports import StatePort
from cpsync.settings import Settings

__all__ = [
    "COOKIE_NAME",
    "AccessRules",
    "Attempt",
    "Locked",
    "Lockout",
    "Session",
    "SessionSigner",
    "SignInOutcome",
    "hash_password",
    "local_admin_sign_in",
    "magento_sign_in",
    "verify_password",
]

logger = logging.getLogger(__name__)

COOKIE_NAME = "cpsync_session"
_TWO_FACTOR_MARKERS = ("2fa provider", "two-factor", "two factor")


@dataclass(frozen=True)
class Session:
    """A signed-in user and the id of their sign-in (kept across refreshes, for sign-out)."""

    user: str
    sid: str


class SessionSigner:
    """Signs and reads session cookies: `<user b64>.<sid>.<last-seen>.<hmac>`.

    Args:
        secret: The signing key.
        idle_seconds: A cookie whose last-seen time is older than this is refused.
        clock: Seconds since the epoch (injected for tests).
    """

    def __init__(
        self, secret: bytes, idle_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.idle_seconds = idle_seconds
        self.clock = clock

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: str, sid: str | None = None) -> str:
        """A cookie value for `user`, fresh now (a new sign-in when `sid` is None)."""
        name = base64.urlsafe_b64encode(user.encode()).decode().rstrip("=")
        text = f"{name}.{sid or secrets.token_hex(12)}.{int(self.clock())}"
        return f"{text}.{self._mac(text)}"

    def read(self, value: str | None) -> Session | None:
        """The session of a valid, unexpired cookie, else None."""
        if not value or value.count(".") != 3:
            return None
        name, sid, seen, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(f"{name}.{sid}.{seen}")) or not seen.isdigit():
            return None
        if self.clock() - int(seen) > self.idle_seconds:
            return None
        try:
            return Session(base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode(), sid)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class SignInOutcome:
    """What Magento said about a user name and password."""

    ok: bool
    # "bad_credentials", "two_factor", "unreachable" when not ok
    reason: str = ""
    message: str = ""


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$<salt b64>$<hash b64>` for `password`, with a random 16-byte salt."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.urlsafe_b64encode
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a `hash_password` result (constant-time; False if malformed)."""
    try:
        name, n, r, p, salt, digest = stored.split("$")
        if name != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        found = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def local_admin_sign_in(settings: Settings, username: str, password: str) -> bool | None:
    """Check a sign-in against the local admin (`CPSYNC_API_LOCAL_ADMIN`).

    Returns:
        None when `username` is not the local admin (ask Magento), else whether the password
        is right.
    """
    if settings.api_local_admin is None:
        return None
    user, _, stored = settings.api_local_admin.get_secret_value().partition(":")
    if not hmac.compare_digest(username.encode(), user.encode()):
        return None
    return verify_password(password, stored)


def magento_sign_in(
    settings: Settings, username: str, password: str, timeout: float = 15.0
) -> SignInOutcome:
    """Check an admin user against Magento's admin token route; never raises.

    See docs/reference/magento.md#admin-token-and-two-factor-sign-in.
    """
    url = f"{settings.magento_url.rstrip('/')}/rest/V1/integration/admin/token"
    try:
        response = httpx.post(
            url, json={"username": username, "password": password}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        logger.warning("sign-in: Magento did not answer: %s", type(exc).__name__)
        return SignInOutcome(
            False, "unreachable", "The Magento store did not answer; try again in a minute."
        )
    if response.is_success:
        return SignInOutcome(True)
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = ""
    if response.status_code in (400, 401) and any(
        marker in message.lower() for marker in _TWO_FACTOR_MARKERS
    ):
        return SignInOutcome(
            False,
            "two_factor",
            "This Magento store requires two-factor sign-in for admin users, which cpsync "
            "cannot do. Sign in with an API key instead (ask whoever runs cpsync to add one to "
            "CPSYNC_API_KEYS).",
        )
    if response.status_code == 401 or response.status_code == 400:
        return SignInOutcome(
            False, "bad_credentials", "The user name or password is not right for this store."
        )
    return SignInOutcome(
        False,
        "unreachable",
        f"The Magento store answered HTTP {response.status_code}; try again in a minute.",
    )


class Locked(Exception):
    """Too many failed attempts: `what` ("user" or "address") is refused for `seconds`."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what} locked for {seconds:.0f} s")
        self.what = what
        self.seconds = seconds


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt, counted before it is checked (see `Lockout.reserve`)."""

    user: str
    address: str


class Lockout:
    """Counts attempts per user name and per address in state (shared by every process).

    An attempt is reserved (counted) *before* Magento or the key list is asked, with the
    state's atomic counter, so however many arrive in parallel at most `max_failures` per user
    and `ADDRESS_FACTOR` times as many per address are ever checked in one lockout period.
    A success clears the user's count and gives the address its reservation back; an attempt
    that could not be checked (Magento down, two-factor store) gives both back. A counter
    forgets after `lock_seconds` without attempts, so a locked user waits that long after the
    last try.

    Args:
        state: Where the counters live (`signin:user:<name>`, `signin:address:<host>`).
        max_failures: Failed sign-ins that lock the user.
        lock_seconds: How long the lock lasts after the last attempt.
        clock: Seconds since the epoch, for sign-outs (counters run on the state's clock).
    """

    KIND = "signin"
    ADDRESS_FACTOR = 4

    def __init__(
        self,
        state: StatePort,
        max_failures: int,
        lock_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self.clock = clock

    def _add(self, counter: str, delta: int) -> int:
        return self.state.add_counter(f"{self.KIND}:{counter}", delta, self.lock_seconds)

    def _count_address(self, address: str, delta: int) -> None:
        if self._add(address, delta) > self.max_failures * self.ADDRESS_FACTOR:
            logger.warning("sign-in: %s is locked (too many failures)", address)
            raise Locked("address", self.lock_seconds)

    def reserve(self, user: str, host: str) -> Attempt:
        """Count one sign-in by `user` from `host` before Magento is asked.

        Raises:
            Locked: The address or the user has used up its attempts; nothing is asked.
        """
        address = f"address:{host}"
        self._count_address(address, 1)
        name = f"user:{user.strip().lower()[:200] or '(empty)'}"
        if self._add(name, 1) > self.max_failures:
            self._add(address, -1)
            logger.warning("sign-in: %s is locked (too many failures)", name)
            raise Locked("user", self.lock_seconds)
        return Attempt(name, address)

    def succeeded(self, attempt: Attempt) -> None:
        """A good sign-in: the user starts over, the address gets its reservation back."""
        self.state.reset_counter(f"{self.KIND}:{attempt.user}")
        self._add(attempt.address, -1)

    def not_checked(self, attempt: Attempt) -> None:
        """The attempt could not be checked (Magento down, two-factor): it does not count."""
        self._add(attempt.user, -1)
        self._add(attempt.address, -1)

    def api_key(self, host: str, valid: bool) -> None:
        """Count an API key from `host` in one counter call.

        A wrong key counts like a failed sign-in, a right one only reads whether the address
        is locked. The key is checked
        locally (nothing is asked of Magento), and each call gets its own count from the
        atomic counter, so however many arrive at once at most `ADDRESS_FACTOR` times
        `max_failures` wrong keys are answered with anything but 429.

        Raises:
            Locked: The address has used up its attempts.
        """
        self._count_address(f"address:{host}", 0 if valid else 1)

    # Signed-out sessions: the cookie is stateless, so sign-out records its id until the
    # cookie could have expired anyway.
    def revoke(self, sid: str, idle_seconds: float) -> None:
        """Refuse session `sid` from now on (and forget sign-outs whose cookies expired)."""
        now = self.clock()
        stale = [k for k, d in self.state.get_docs("signout").items() if d.get("until", 0) < now]
        if stale:
            self.state.delete_docs("signout", stale)
        self.state.put_docs("signout", {sid: {"until": now + idle_seconds}})

    def revoked(self, sid: str) -> bool:
        """Whether session `sid` was signed out."""
        doc = self.state.get_docs("signout", [sid]).get(sid)
        return doc is not None and float(doc.get("until", 0)) > self.clock()


class AccessRules:
    """The allow-list and the API keys, from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in settings.api_allowed_ips]
        self.keys = [k.get_secret_value() for k in settings.api_keys if k.get_secret_value()]

    def address_allowed(self, host: str | None) -> bool:
        """True when no allow-list is set or `host` is inside one of its networks."""
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def key_valid(self, key: str | None) -> bool:
        """True when `key` is one of the configured API keys (constant-time)."""
        if not key:
            return False
        given = key.encode()
        return any(secrets.compare_digest(given, k.encode()) for k in self.keys)
