"""Mirror the store's ItemImages folder into the S3 prefix the direct-mode Lambdas read.

Outbound only: the mirror uploads and deletes under the prefix, never writes the folder.
- A file is uploaded when the prefix lacks it, when its size there differs, or when its size
  or mtime moved since this mirror last uploaded it (remembered per file in a small JSON file,
  `CPSYNC_IMAGES_MIRROR_STATE`); unchanged files cost nothing but the two listings.
- An image deleted from the folder is deleted from the prefix.
- Only image files (the extensions Counterpoint's naming rules take) at the top level go up.
- A folder that cannot be read stops the mirror before anything is deleted, and an empty folder
  never empties a prefix that holds images (a share that is not mounted looks empty).
- One file that fails to upload is reported and retried next time; the others go on.

Environment variables: `CPSYNC_IMAGES_DIR` (the folder), `CPSYNC_IMAGES_MIRROR_URL` (the
prefix), `CPSYNC_IMAGES_MIRROR_MINUTES`, `CPSYNC_IMAGES_MIRROR_STATE`; boto3's for S3.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpsync.counterpoint.images import split_name
from cpsync.errors import ConfigurationError, CpsyncError
from cpsync.image_source import FolderImages, ImageFile, S3Images, parse_s3_url
from cpsync.settings import Settings

__all__ = ["ImageMirror", "MirrorResult", "mirror_forever", "mirror_from_settings"]

logger = logging.getLogger(__name__)


@dataclass
class MirrorResult:
    """What one mirror did."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts for the log and the job outcome; `failed` keeps each file's reason."""
        return {
            "uploaded": len(self.uploaded),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
            "failed": self.failed,
        }


class ImageMirror:
    """Uploads what moved in the folder to the prefix and deletes what is gone (see module).

    Args:
        folder: The ItemImages folder.
        target: The S3 prefix (its client must be allowed to put, list and delete there).
        state_file: Where the size and mtime of each uploaded file are remembered.
    """

    def __init__(self, folder: FolderImages, target: S3Images, state_file: Path) -> None:
        self.folder = folder
        self.target = target
        self.state_file = Path(state_file)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # the first mirror (or a lost file): every image goes up once
        return data if isinstance(data, dict) else {}

    def _save(self, memory: dict[str, dict[str, Any]]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.state_file.with_name(self.state_file.name + ".tmp")
        scratch.write_text(json.dumps(memory, sort_keys=True), encoding="utf-8")
        scratch.replace(self.state_file)

    def run(self) -> MirrorResult:
        """Mirror once.

        Raises:
            ConfigurationError: The folder cannot be read, or the prefix cannot be listed.
            RetryableError: The prefix cannot be listed now.
        """
        local = {n: e for n, e in self.folder.list().items() if split_name(n) is not None}
        remote = {n: e for n, e in self.target.list().items() if split_name(n) is not None}
        if not local and remote:
            raise ConfigurationError(
                f"the image folder {self.folder.location} is empty but {self.target.location} "
                f"holds {len(remote)} images; is the share mounted? Nothing was deleted"
            )
        memory = self._load()
        result = MirrorResult()
        for name, entry in sorted(local.items()):
            there = remote.get(name)
            same_size = there is not None and there.size == entry.size
            if same_size and self.folder.unchanged(entry, memory.get(name)):
                result.unchanged += 1
                continue
            try:
                self._upload(name, entry)
            except Exception as exc:  # one file must not stop the mirror
                result.failed[name] = f"{type(exc).__name__}: {exc}"
                logger.warning("image %s not mirrored: %s", name, exc)
                continue
            memory[name] = self.folder.stamp(entry)
            result.uploaded.append(name)
        gone = sorted(set(remote) - set(local))
        for start in range(0, len(gone), 1000):  # DeleteObjects takes 1,000 keys a call
            part = gone[start : start + 1000]
            self.target.s3.delete_objects(
                Bucket=self.target.bucket,
                Delete={"Objects": [{"Key": self.target.prefix + n} for n in part], "Quiet": True},
            )
            result.deleted.extend(part)
        for name in [n for n in memory if n not in local]:
            del memory[name]
        self._save(memory)
        logger.info(
            "mirrored %s to %s: %d uploaded, %d deleted, %d unchanged, %d failed",
            self.folder.location,
            self.target.location,
            len(result.uploaded),
            len(result.deleted),
            result.unchanged,
            len(result.failed),
        )
        return result

    def _upload(self, name: str, entry: ImageFile) -> None:
        self.target.s3.put_object(
            Bucket=self.target.bucket,
            Key=self.target.prefix + name,
            Body=self.folder.read(name),
            Metadata={"mtime-ns": str(entry.version)},
        )


def mirror_from_settings(settings: Settings) -> ImageMirror:
    """The mirror of `CPSYNC_IMAGES_DIR` into `CPSYNC_IMAGES_MIRROR_URL`.

    Raises:
        ConfigurationError: The mirror URL is unset, or the images dir is not a folder.
    """
    if not settings.images_mirror_url:
        raise ConfigurationError(
            "CPSYNC_IMAGES_MIRROR_URL: set it to the stack's ImagesDir (s3://bucket/prefix/)"
        )
    if isinstance(settings.images_dir, str):
        raise ConfigurationError(
            "CPSYNC_IMAGES_DIR: the mirror reads the store's folder; this is an S3 URL"
        )
    from cpsync.aws import client

    bucket, prefix = parse_s3_url(settings.images_mirror_url)
    return ImageMirror(
        FolderImages(settings.images_dir),
        S3Images(bucket, prefix, client("s3")),
        settings.images_mirror_state,
    )


def mirror_forever(
    mirror: ImageMirror, minutes: float, stop: threading.Event | None = None
) -> None:
    """Mirror every `minutes` until `stop` is set; a failed mirror is logged and retried."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            mirror.run()
        except CpsyncError as exc:
            logger.error("%s", exc)
        except Exception:  # the network, AWS throttling: keep the service alive
            logger.exception("image mirror failed; retrying in %s minutes", minutes)
        stop.wait(minutes * 60)
