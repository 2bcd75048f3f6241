"""Where the image tasks read the ItemImages files: a local folder, or an S3 prefix.

A Lambda cannot mount the store's share, so in direct mode `CPSYNC_IMAGES_DIR` may be an S3
prefix (`s3://bucket/prefix/`) that the store fills (`cpsync agent --mirror-images`, DataSync,
Storage Gateway). Both adapters list the top level only (sub-folders are ignored, as
Counterpoint does) and answer the same `ImageFile` entries, so the naming rules and the change
detection of `tasks/image_changes.py` are the same on both.

Change detection: a file's `version` is what moves when its bytes do: the modification time
in nanoseconds for the folder (as the scan docs have always stored it under `mtime_ns`, so an
upgraded store does not re-prepare every image), the ETag for S3 (stored under `etag`). The
port's `stamp()` / `unchanged()` compare a scan doc with an entry; adapters only list and read.

Environment variables: `CPSYNC_IMAGES_DIR` (through `Settings.images_dir`); boto3's for S3.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cpsync.errors import ConfigurationError, RetryableError
from cpsync.settings import Settings

__all__ = [
    "FolderImages",
    "ImageFile",
    "ImageSource",
    "S3Images",
    "image_source",
    "parse_s3_url",
]


@dataclass(frozen=True)
class ImageFile:
    """One file of the image source, as listing it tells.

    Attributes:
        name: The file name (no folder part).
        size: Bytes.
        version: Moves when the bytes do: mtime in ns (folder) or the ETag (S3).
        modified: Last modification, seconds since the epoch (for display).
    """

    name: str
    size: int
    version: int | str
    modified: float


class ImageSource(ABC):
    """The ItemImages files: list them cheaply, read one when it moved."""

    #: The scan-doc field that remembers `ImageFile.version`.
    version_field: ClassVar[str]
    #: Where the files are, for messages (`/mnt/ItemImages`, `s3://bucket/prefix/`).
    location: str

    @abstractmethod
    def list(self) -> dict[str, ImageFile]:
        """Every file at the top level, by name.

        Raises:
            ConfigurationError: The source cannot be read (not mounted, no such bucket, no
                permission); an unreadable source must never read as an empty one.
            RetryableError: A transient failure reaching the source.
        """

    @abstractmethod
    def read(self, name: str) -> bytes:
        """The bytes of one file.

        Raises:
            OSError: It cannot be read (FileNotFoundError when it is gone).
        """

    def stamp(self, entry: ImageFile) -> dict[str, Any]:
        """What a scan doc remembers of a file to see later whether it moved."""
        return {"size": entry.size, self.version_field: entry.version}

    def unchanged(self, entry: ImageFile, doc: Mapping[str, Any] | None) -> bool:
        """Whether `doc` (a scan doc) was made from these very bytes."""
        if not doc:
            return False
        return all(doc.get(key) == value for key, value in self.stamp(entry).items())


def _plain_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise FileNotFoundError(f"{name!r} is not a file name of the image folder")
    return name


class FolderImages(ImageSource):
    """The ItemImages folder (a local path or a mounted share)."""

    version_field: ClassVar[str] = "mtime_ns"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.location = str(folder)

    def list(self) -> dict[str, ImageFile]:
        """Every file at the top of the folder, with its size and mtime.

        Raises:
            ConfigurationError: The folder cannot be read (not mounted, no permission).
        """
        listing: dict[str, ImageFile] = {}
        try:
            with os.scandir(self.folder) as entries:
                for item in entries:
                    if item.is_file():
                        stat = item.stat()
                        listing[item.name] = ImageFile(
                            item.name, stat.st_size, stat.st_mtime_ns, stat.st_mtime
                        )
        except OSError as exc:
            raise ConfigurationError(
                f"the image folder {self.folder} cannot be read ({exc.strerror or exc}); is the "
                "share mounted and CPSYNC_IMAGES_DIR right? No image was changed"
            ) from exc
        return listing

    def read(self, name: str) -> bytes:
        """The bytes of one file of the folder.

        Raises:
            OSError: It cannot be read (FileNotFoundError when it is gone or not a plain name).
        """
        return (self.folder / _plain_name(name)).read_bytes()


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> (`bucket`, `some/prefix/`); the prefix ends in `/` or is empty.

    Raises:
        ValueError: Not an `s3://bucket/...` URL.
    """
    text = url.strip()
    if not text.lower().startswith("s3://"):
        raise ValueError(f"{url!r} is not an S3 URL (s3://bucket/prefix/)")
    bucket, _, prefix = text[5:].partition("/")
    if not bucket or any(c in bucket for c in " \\"):
        raise ValueError(f"{url!r} names no bucket (s3://bucket/prefix/)")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


_CONFIG_CODES = frozenset({"NoSuchBucket", "AccessDenied", "403", "AllAccessDisabled"})
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Images(ImageSource):
    """The ItemImages files as objects under an S3 prefix (filled from the store).

    Args:
        bucket: The bucket.
        prefix: Key prefix ending in `/` (or empty for the whole bucket).
        s3: A boto3 S3 client (`cpsync.aws.client("s3")`).
        page_size: Keys per `list_objects_v2` page (S3 answers at most 1,000).
    """

    version_field: ClassVar[str] = "etag"

    def __init__(self, bucket: str, prefix: str, s3: Any, page_size: int = 1000) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.s3 = s3
        self.page_size = page_size
        self.location = f"s3://{bucket}/{prefix}"

    def list(self) -> dict[str, ImageFile]:
        """Every object directly under the prefix, with its size and ETag.

        Raises:
            ConfigurationError: The bucket or prefix cannot be listed (no such bucket, denied).
            RetryableError: Any other failure to list; the next run tries again.
        """
        listing: dict[str, ImageFile] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket,
            Prefix=self.prefix,
            Delimiter="/",
            PaginationConfig={"PageSize": self.page_size},
        )
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    name = str(obj["Key"])[len(self.prefix) :]
                    if not name:
                        continue  # the "folder" object itself
                    listing[name] = ImageFile(
                        name,
                        int(obj["Size"]),
                        str(obj["ETag"]).strip('"'),
                        obj["LastModified"].timestamp(),
                    )
        except Exception as exc:
            code = _error_code(exc)
            if code in _CONFIG_CODES:
                raise ConfigurationError(
                    f"the image prefix {self.location} cannot be listed ({code}); check "
                    "CPSYNC_IMAGES_DIR and the function's s3:ListBucket permission. "
                    "No image was changed"
                ) from exc
            raise RetryableError(
                f"the image prefix {self.location} cannot be listed now ({code or exc}); "
                "the next run tries again"
            ) from exc
        return listing

    def read(self, name: str) -> bytes:
        """The bytes of one object under the prefix.

        Raises:
            FileNotFoundError: The object is gone.
            OSError: It cannot be read otherwise.
        """
        key = self.prefix + _plain_name(name)
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except Exception as exc:
            code = _error_code(exc)
            if code in _MISSING_CODES:
                raise FileNotFoundError(f"s3://{self.bucket}/{key} is gone") from exc
            raise OSError(f"s3://{self.bucket}/{key}: {code or exc}") from exc


def image_source(settings: Settings) -> ImageSource:
    """The image source `CPSYNC_IMAGES_DIR` names: S3 for `s3://...`, else the folder.

    Raises:
        ConfigurationError: An S3 URL without a bucket.
    """
    where = settings.images_dir
    if isinstance(where, str):
        try:
            bucket, prefix = parse_s3_url(where)
        except ValueError as exc:
            raise ConfigurationError(f"CPSYNC_IMAGES_DIR: {exc}") from exc
        from cpsync.aws import client

        return S3Images(bucket, prefix, client("s3"))
    return FolderImages(where)
