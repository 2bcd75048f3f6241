"""Signed, expiring links to image blobs, for the URLs Magento's import downloads.

The import's ``base_image``/``additional_images`` columns take URLs; Magento fetches each and
names the file after the last path segment, with ``_`` and 16 random characters before the
extension. The link therefore ends with the gallery writer's upload name
(``<stem>-cp<digest12>.<ext>``), so the entry Magento makes carries cpsync's content tag
(``tag_of`` reads it past the random part) and the gallery writer adopts it instead of
uploading the image again.

In AWS (blobs in S3) the link is a presigned S3 GET of a copy of the blob under
``import-media/<digest>/<name>``: blob keys are bare digests, and Magento's uploader refuses a
download whose name has no allowed extension. The copy is made once (S3 CopyObject, only when
absent, or again when it is 12 hours old, so no link outlives its copy) and the bucket's
lifecycle rule deletes the prefix a day after a copy is made.

On one machine the link points at ``cpsync serve`` (``GET /media/import/<digest>/<name>``),
signed with a key derived from the API session secret (or the Magento token). Only used when
``CPSYNC_PUBLIC_URL`` says where the store reaches cpsync; otherwise the gallery writer uploads
the images after the import. Either link is valid for ``CPSYNC_MAGENTO_IMPORT_IMAGE_MINUTES``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from cpsync.magento.media import upload_name
from cpsync.model import ImageEntry

if TYPE_CHECKING:
    from cpsync.aws.s3 import S3Blobs
    from cpsync.ports import BlobPort
    from cpsync.settings import Settings

__all__ = [
    "ImageLinks",
    "S3Links",
    "ServeLinks",
    "check_link",
    "link_key",
    "links_from_settings",
]

logger = logging.getLogger(__name__)

ROUTE = "/media/import"
S3_PREFIX = "import-media/"


class ImageLinks(Protocol):
    """What the importer needs: a URL Magento downloads an image from."""

    def prepare(self, entries: Sequence[ImageEntry]) -> None:
        """Make ready, side by side, what the links of these images need (before `url`)."""
        ...

    def url(self, entry: ImageEntry) -> str:
        """A link to this image's bytes whose last path segment is the upload name."""
        ...


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

    def prepare(self, entries: Sequence[ImageEntry]) -> None:
        """Nothing to make ready: cpsync serve reads the blobs when Magento asks."""

    def url(self, entry: ImageEntry) -> str:
        """A link to this image's bytes, named as the gallery writer names its uploads."""
        name = upload_name(entry)
        expires = int(self.clock() + self.minutes * 60)
        sig = _signature(self.key, entry.digest, name, expires)
        return f"{self.base_url}{ROUTE}/{entry.digest}/{name}?expires={expires}&sig={sig}"


#: A named copy older than this is copied again before it is linked: the bucket deletes a copy
#: a day after it is made, and a link (at most 6 hours) must not outlive it.
REFRESH_SECONDS = 12 * 3600
#: Copies this process remembers before it forgets the stale ones (one entry per image).
_REMEMBERED = 100_000


class S3Links:
    """Presigned S3 GET links of per-name copies of the blobs (the AWS deployment).

    Args:
        blobs: The S3 blob store the images are in.
        minutes: How long a link is valid.
        prefix: Where the named copies go (the template expires it after a day).
        presigner: An S3 client that signs with SigV4 (made from the environment if None;
            S3 refuses SigV2 links of new buckets).
        workers: Copies made at once by `prepare` (the S3 client keeps 16 connections).
        clock: Wall-clock seconds (S3's LastModified is wall-clock); injected for tests.
    """

    def __init__(
        self,
        blobs: S3Blobs,
        minutes: float = 60.0,
        prefix: str = S3_PREFIX,
        presigner: Any | None = None,
        workers: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.blobs = blobs
        self.clock = clock
        self.workers = workers
        self.minutes = minutes
        self.prefix = prefix
        if presigner is None:
            from botocore.config import Config

            from cpsync.aws._boto import client

            presigner = client("s3", config=Config(signature_version="s3v4"))
        self.presigner = presigner
        self._copied: dict[str, float] = {}  # key -> when its copy was made (one HEAD each)

    def _key(self, entry: ImageEntry) -> str:
        return f"{self.prefix}{entry.digest}/{upload_name(entry)}"

    def prepare(self, entries: Sequence[ImageEntry]) -> None:
        """Make the missing copies side by side (a HEAD, and a CopyObject if absent, each).

        One that fails is logged and tried again by `url`, whose error then names it.
        """
        if len(self._copied) > _REMEMBERED:
            self._copied = {k: t for k, t in self._copied.items() if self._fresh(k)}
        todo = {self._key(e): e for e in entries if not self._fresh(self._key(e))}
        if not todo:
            return

        def ensure(key: str) -> None:
            try:
                self._copied[key] = self._copy(todo[key], key)
            except Exception as exc:
                logger.warning("image %s: no import copy yet (%s)", key, exc)

        with ThreadPoolExecutor(min(self.workers, len(todo))) as pool:
            list(pool.map(ensure, todo))

    def url(self, entry: ImageEntry) -> str:
        """A presigned link to a copy of the blob named as the gallery writer names uploads."""
        key = self._key(entry)
        if not self._fresh(key):
            self._copied[key] = self._copy(entry, key)
        return str(
            self.presigner.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.blobs.bucket, "Key": key},
                ExpiresIn=max(1, int(self.minutes * 60)),
            )
        )

    def _fresh(self, key: str) -> bool:
        made = self._copied.get(key)
        return made is not None and self.clock() - made < REFRESH_SECONDS

    def _copy(self, entry: ImageEntry, key: str) -> float:
        """Copy the blob under `key` unless a fresh copy is there (with its image type).

        Returns:
            When the copy under `key` was made (wall-clock seconds).
        """
        from cpsync.aws._boto import error_code

        s3, bucket = self.blobs.s3, self.blobs.bucket
        made: float | None = None
        try:
            made = s3.head_object(Bucket=bucket, Key=key)["LastModified"].timestamp()
        except Exception as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
        if made is not None and self.clock() - made < REFRESH_SECONDS:
            return made
        try:
            s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": self.blobs.object_key(entry.digest)},
                MetadataDirective="REPLACE",
                ContentType=entry.mime,
            )
        except Exception as exc:
            if made is None:
                raise
            # The blob is gone, the old copy is not: link it rather than fail the record.
            logger.warning("image %s: an old copy is linked, it could not be renewed: %s", key, exc)
            return made
        return self.clock()


def links_from_settings(settings: Settings, blobs: BlobPort) -> ImageLinks | None:
    """The links Magento can download from, or None (the gallery writer uploads the images).

    S3 links when the blobs are in S3 (AWS); else serve links when ``CPSYNC_PUBLIC_URL`` says
    where the store reaches cpsync serve; else none.
    """
    from cpsync.aws.s3 import S3Blobs  # no boto3 import: the client is made elsewhere

    minutes = settings.magento_import_image_minutes
    if isinstance(blobs, S3Blobs):
        return S3Links(blobs, minutes)
    if not settings.public_url:
        return None
    return ServeLinks(settings.public_url, link_key(settings), minutes)
