"""The Images tab's actions behind a small interface: search, check one item, sync/queue one file.

The naming rules and the image tasks belong to the images feature; the API talks to them only
through `ImageActions`. `FolderImageActions` is the version that works from what any cpsync
has: it lists the ItemImages folder (`<item>.<ext>`, `<item>^<anything>.<ext>`, '/' in an
item number written '_'), reads each file's status from state, and runs the `image_changes`
and `images` tasks through the same manual actions as every other tab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cpsync.api.actions import ItemOutcome, queue_run, sync_item
from cpsync.errors import CpsyncError
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS

__all__ = [
    "IMAGE_EXTENSIONS",
    "FolderImageActions",
    "ImageActions",
    "ImageRow",
    "ImagesUnavailable",
    "check_file_name",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})


class ImagesUnavailable(CpsyncError):
    """The image task this action needs is not part of this cpsync."""


def check_file_name(value: str) -> str:
    """A search text or file name without any way out of the image folder.

    Raises:
        ValueError: Empty, or it holds a path separator, `..` or a control character.
    """
    text = value.strip()
    if not text:
        raise ValueError("enter a file name or an item number")
    if "/" in text or "\\" in text or ".." in text or any(ord(c) < 32 for c in text):
        raise ValueError(
            f"{value!r} is not an image file name: it may not contain '/', '\\' or '..'"
        )
    return text


@dataclass(frozen=True)
class ImageRow:
    """One image file as the Images tab lists it."""

    item_no: str
    file_name: str
    status: str  # new, changed, pushed, error
    detail: str = ""
    size: int = 0


class ImageActions(Protocol):
    """What the Images tab needs from the images feature."""

    def search(self, text: str) -> list[ImageRow]:
        """Image files of item `text`, or whose name starts with `text` (`12345^YELLOW`)."""

    def check(self, item_no: str) -> int:
        """Run Image Changes for one item only; returns how many images were queued."""

    def sync(self, file_name: str) -> list[ItemOutcome]:
        """Push one image file to Magento now and answer the outcome."""

    def queue(self, file_name: str) -> int:
        """Queue one image file; returns how many Changes were queued."""


def _stem(item_no: str) -> str:
    return item_no.replace("/", "_")


def _item_of(file_name: str) -> str:
    return Path(file_name).stem.split("^", 1)[0]


class FolderImageActions:
    """`ImageActions` over the image folder and the registered image tasks."""

    STATE_KIND = "image"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def folder(self) -> Path:
        return Path(self.runtime.settings.images_dir)

    def _files(self, text: str) -> list[Path]:
        if not self.folder.is_dir():
            return []
        stem = _stem(text).lower()
        found = []
        for path in self.folder.iterdir():
            name = path.name.lower()
            if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
                continue
            if Path(name).stem == stem or name.startswith(stem + "^") or (
                "^" in stem and name.startswith(stem)
            ):
                found.append(path)
        return sorted(found, key=lambda p: p.name.lower())

    def _status(self, path: Path, docs: dict[str, dict[str, Any]]) -> tuple[str, str]:
        doc = next((d for k, d in docs.items() if k.endswith(path.name)), None)
        if doc is None:
            return "new", ""
        if doc.get("error"):
            return "error", str(doc["error"])
        stat = path.stat()
        if doc.get("size") not in (None, stat.st_size) or doc.get("mtime") not in (
            None,
            stat.st_mtime,
        ):
            return "changed", ""
        return "pushed", ""

    def search(self, text: str) -> list[ImageRow]:
        files = self._files(check_file_name(text))
        docs = self.runtime.state.get_docs(self.STATE_KIND) if files else {}
        rows = []
        for path in files:
            status, detail = self._status(path, docs)
            rows.append(
                ImageRow(_item_of(path.name), path.name, status, detail, path.stat().st_size)
            )
        return rows

    def _need(self, name: str) -> None:
        if name not in TASKS:
            raise ImagesUnavailable(
                f"the {name} task is not installed in this cpsync, so images cannot be sent yet"
            )

    def check(self, item_no: str) -> int:
        self._need("image_changes")
        return queue_run(self.runtime, "image_changes", "item", item_no).queued

    def sync(self, file_name: str) -> list[ItemOutcome]:
        self._need("images")
        return sync_item(self.runtime, "images", check_file_name(file_name)).outcomes

    def queue(self, file_name: str) -> int:
        self._need("images")
        return queue_run(self.runtime, "images", "item", check_file_name(file_name)).queued
