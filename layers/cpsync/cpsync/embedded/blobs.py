"""Blobs as files in a folder."""

from __future__ import annotations

import uuid
from pathlib import Path

from cpsync.ports import (
    BlobNotFound,
    BlobPort,
)

__all__ = ["LocalBlobs"]


class LocalBlobs(BlobPort):
    """Blobs as files named by digest in a folder (`<root>/<2 hex>/<digest>`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / self._checked(digest)

    def put(self, data: bytes) -> str:
        """Write the file unless it exists (a temporary name, then a rename).

        Returns:
            The digest of `data`.
        """
        digest = self.digest(data)
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{uuid.uuid4().hex}.part")
            partial.write_bytes(data)
            partial.replace(path)
        return digest

    def get(self, digest: str) -> bytes:
        """The file's bytes.

        Raises:
            BlobNotFound: No file has this digest.
        """
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(digest) from None

    def exists(self, digest: str) -> bool:
        """Whether the file is there."""
        try:
            return self._path(digest).exists()
        except BlobNotFound:
            return False
