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
