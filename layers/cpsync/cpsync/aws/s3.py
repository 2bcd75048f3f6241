"""The blob port on S3."""

from __future__ import annotations

from typing import Any

from cpsync.aws._boto import error_code
from cpsync.ports import BlobNotFound, BlobPort

__all__ = ["S3Blobs"]


class S3Blobs(BlobPort):
    """Blobs as S3 objects `<prefix><2 hex>/<digest>` in a private, encrypted bucket.

    Args:
        bucket: The bucket.
        s3: A boto3 S3 client.
        prefix: Key prefix (`blobs/` for images, `overflow/` for big queue messages).
    """

    def __init__(self, bucket: str, s3: Any, prefix: str = "blobs/") -> None:
        self.bucket = bucket
        self.s3 = s3
        self.prefix = prefix

    def object_key(self, digest: str) -> str:
        """The object's key (for copies, e.g. the import's named image links)."""
        return f"{self.prefix}{digest[:2]}/{self._checked(digest)}"

    def put(self, data: bytes) -> str:
        """Store the object unless it is there already.

        Returns:
            The digest of `data`.
        """
        digest = self.digest(data)
        if not self.exists(digest):
            self.s3.put_object(Bucket=self.bucket, Key=self.object_key(digest), Body=data)
        return digest

    def get(self, digest: str) -> bytes:
        """The object's bytes.

        Raises:
            BlobNotFound: No object has this digest.
        """
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=self.object_key(digest))
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise BlobNotFound(digest) from None
            raise
        return bytes(response["Body"].read())

    def exists(self, digest: str) -> bool:
        """Whether the object is there (a HEAD request)."""
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.object_key(digest))
        except BlobNotFound:
            return False
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
