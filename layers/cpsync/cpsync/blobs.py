"""Which blob store holds prepared image bytes: one place, so tasks and writers agree.

On one machine it is a local folder (`CPSYNC_BLOBS_DIR`); the AWS wiring adds its S3 adapter
here, chosen by its own setting.
"""

from __future__ import annotations

from cpsync.embedded import LocalBlobs
from cpsync.ports import BlobPort
from cpsync.settings import Settings

__all__ = ["blob_store"]


def blob_store(settings: Settings) -> BlobPort:
    """The blob store the settings name (reads `CPSYNC_BLOBS_DIR`)."""
    return LocalBlobs(settings.blobs_dir)
