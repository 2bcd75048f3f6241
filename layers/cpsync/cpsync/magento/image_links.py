"""Signed, expiring links to image blobs, for the URLs Magento's import downloads.

The import's ``base_image``/``additional_images`` columns take URLs; Magento fetches each and
keeps the last path segment as the file name. The link therefore ends with the gallery
writer's upload name (``<stem>-cp<digest12>.<ext>``), so the entry Magento makes carries
cpsync's content tag and the gallery writer adopts it instead of uploading the image again.

On one machine the link points at ``cpsync serve`` (``GET /media/import/<digest>/<name>``),
signed with a key derived from the API session secret (or the Magento token) and valid for
``CPSYNC_MAGENTO_IMPORT_IMAGE_MINUTES``. Only used when ``CPSYNC_PUBLIC_URL`` says where the
store reaches cpsync; otherwise the gallery writer uploads the images after the import.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cpsync.magento.media import upload_name
from cpsync.model import ImageEntry

if TYPE_CHECKING:
    from cpsync.settings import Settings

__all__ = ["ServeLinks", "check_link", "link_key", "links_from_settings"]

ROUTE = "/media/import"


def link_key(settings: Settings) -> bytes:
    """The signing key: from the API session secret, else the Magento token (both secret)."""
    secret = settings.api_session_secret or settings.magento_token
    return hashlib.sha256(b"cpsync image links:" + secret.get_secret_value().encode()).digest()


def _signature(key: bytes, digest: str, name: str, expires: int) -> str:
    message = f"{digest}/{name}/{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def check_link(key: bytes, digest: str, name: str, expires: int, sig: str, now: float) -> bool:
    """Whether a link is genuine and not expired."""
    if expires < now:
        return False
    return hmac.compare_digest(_signature(key, digest, name, expires), sig)


class ServeLinks:
    """Links to ``cpsync serve``'s image route.

    Args:
        base_url: Where the store reaches cpsync serve (``CPSYNC_PUBLIC_URL``).
        key: The signing key (:func:`link_key`).
        minutes: How long a link is valid.
        clock: Seconds since the epoch (tests move it).
    """

    def __init__(
        self,
        base_url: str,
        key: bytes,
        minutes: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.minutes = minutes
        self.clock = clock

    def url(self, entry: ImageEntry) -> str:
        """A link to this image's bytes, named as the gallery writer names its uploads."""
        name = upload_name(entry)
        expires = int(self.clock() + self.minutes * 60)
        sig = _signature(self.key, entry.digest, name, expires)
        return f"{self.base_url}{ROUTE}/{entry.digest}/{name}?expires={expires}&sig={sig}"


def links_from_settings(settings: Settings) -> ServeLinks | None:
    """Links when the store can reach cpsync serve (``CPSYNC_PUBLIC_URL``), else None."""
    if not settings.public_url:
        return None
    return ServeLinks(
        settings.public_url, link_key(settings), settings.magento_import_image_minutes
    )
