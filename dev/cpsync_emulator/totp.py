"""RFC 6238 time-based one-time passwords (Google Authenticator: SHA-1, 6 digits, 30 s)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

__all__ = ["totp", "verify_totp"]


def totp(secret_base32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The code for ``at`` (now by default)."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def verify_totp(secret_base32: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """True when ``code`` matches a step within ``window`` steps of ``at``."""
    now = time.time() if at is None else at
    return any(
        hmac.compare_digest(totp(secret_base32, now + drift * 30), str(code))
        for drift in range(-window, window + 1)
    )
