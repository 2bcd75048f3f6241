"""Which blob store holds prepared image bytes: one place, so tasks and writers agree.

On one machine it is a local folder (`CPSYNC_BLOBS_DIR`); the AWS wiring adds its S3 adapter
here, chosen by its own setting.
"""

from __future__ import annotations

from cpsync.ports import BlobPort
from cpsync.settings import Settings

__all__ = ["blob_store"]


def blob_store(settings: Settings) -> BlobPort:
    """The blob store the settings name.

    S3 when `CPSYNC_BUCKET` is set (AWS, the agent), else the folder `CPSYNC_BLOBS_DIR`.
    """
    if settings.bucket:
        from cpsync.aws import blobs_from_settings

        return blobs_from_settings(settings)
    from cpsync.embedded import LocalBlobs  # with the SQLite adapters, not needed in AWS

    return LocalBlobs(settings.blobs_dir)
