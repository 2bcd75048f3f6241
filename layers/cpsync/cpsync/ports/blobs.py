"""The blob port: content-addressed storage for image bytes."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

__all__ = ["BlobNotFound", "BlobPort"]


class BlobNotFound(KeyError):
    """No blob has this digest."""


class BlobPort(ABC):
    """Content-addressed storage for image bytes: messages carry the sha256, never the bytes."""

    @staticmethod
    def digest(data: bytes) -> str:
        """The key of `data`: its sha256 in hex."""
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def _checked(digest: str) -> str:
        """`digest` when it is a sha256 in lowercase hex, as `digest()` makes them.

        Raises:
            BlobNotFound: Anything else, which no blob can be stored under.
        """
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BlobNotFound(digest)
        return digest

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data` (a no-op when already stored) and return its digest."""

    @abstractmethod
    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`.

        Raises:
            BlobNotFound: Nothing is stored under it.
        """

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether `digest` is stored."""
