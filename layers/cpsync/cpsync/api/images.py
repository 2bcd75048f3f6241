"""The Images tab's actions behind a small interface: search, check one item, sync/queue one file.

The naming rules and the image tasks belong to the images feature (`counterpoint/images.py`,
`tasks/image_changes.py`, `tasks/images.py`); the API talks to them only through
`ImageActions`, so another implementation (the agent's, in AWS) can stand in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cpsync.api.actions import ItemOutcome, apply_now
from cpsync.control import run_locked
from cpsync.counterpoint.image_queries import image_items
from cpsync.counterpoint.images import FolderIndex
from cpsync.errors import CpsyncError, NothingToSend
from cpsync.image_source import ImageFile
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync.tasks import RunResult
from cpsync.tasks.image_changes import SCAN_DOC
from cpsync.tasks.images import desired_galleries

__all__ = [
    "FolderImageActions",
    "ImageActions",
    "ImageRow",
    "NothingToSend",
    "check_file_name",
]


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

    def check(self, item_no: str) -> RunResult:
        """Run Image Changes for one item only (queues its galleries that changed)."""

    def sync(self, file_name: str, item_no: str | None = None) -> list[ItemOutcome]:
        """Push one image file to Magento now and answer the outcome.

        `item_no` says whose file it is when its name does not (a custom image file).
        """

    def queue(self, file_name: str, item_no: str | None = None) -> int:
        """Queue one image file; returns how many Changes were queued."""


def _changes_with(changes: list[Change], file_name: str) -> list[Change]:
    wanted = file_name.lower()
    return [
        c
        for c in changes
        if any(str(e.get("file", "")).lower() == wanted for e in c.payload.get("images", []))
    ]


class FolderImageActions:
    """`ImageActions` over the image source and the Image Changes task.

    The source is the ItemImages folder or its S3 prefix, through `Runtime.images`.

    Statuses: `new` (never sent for its product), `changed` (the file moved since it was
    scanned, or its product's gallery differs from what Magento has), `pushed` (Magento has
    the gallery as planned), `error` (the file cannot be used; the reason names it).
    "Sync now" and "queue" re-plan the file's item with Image Changes (forced, captured) and
    send only the galleries that hold the file; other galleries of the item are left alone.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _listing(self) -> dict[str, ImageFile]:
        """The image source's files (the folder or the S3 prefix); none when unreadable."""
        try:
            return self.runtime.images.list()
        except CpsyncError:
            return {}

    def _index(self, listing: dict[str, ImageFile] | None = None) -> FolderIndex:
        return FolderIndex(self._listing() if listing is None else listing)

    def search(self, text: str) -> list[ImageRow]:
        """Image files of item `text`, or whose name starts with `text`, with their status.

        Raises:
            ValueError: `text` is empty or holds `..` or a backslash.
        """
        text = text.strip()
        if not text or ".." in text or "\\" in text:
            raise ValueError(f"{text!r} is not an item number or image file name")
        listing = self._listing()
        index = self._index(listing)
        exact = index.find(text) if "." in text else None
        typed, _, suffix = (Path(exact).stem if exact else text).partition("^")
        item_no, custom = self._item(typed)
        files = [
            name
            for name, found in index.files_of(item_no)
            if (exact and name == exact)
            or (not exact and (not suffix or (found or "").startswith(suffix.lower())))
        ]
        extra = index.find(custom) if custom and not suffix and not exact else None
        if extra and extra not in files:
            files.append(extra)
        return self._rows(item_no, files, listing)

    def _item(self, typed: str) -> tuple[str, str | None]:
        """The Counterpoint item number for what was typed, and its custom image file.

        What was typed is an item number, or a file stem where '/' became '_'; the custom
        file is `ECOMM_IMG_FILE`. An unknown item comes back as typed, with no custom file.
        """
        replaced = typed.replace("_", "/")
        candidates = list(dict.fromkeys([typed, typed.upper(), replaced, replaced.upper()]))
        with self.runtime.counterpoint.connect() as conn:
            rows = conn.execute(image_items(candidates)).all()
        found = {str(r.ITEM_NO): r for r in rows}
        for candidate in candidates:
            row = found.get(candidate)
            if row is not None:
                custom = str(row.ECOMM_IMG_FILE).strip() if row.ECOMM_IMG_FILE else None
                return candidate, custom
        return typed, None

    def _rows(
        self, item_no: str, files: list[str], listing: dict[str, ImageFile]
    ) -> list[ImageRow]:
        if not files:
            return []
        state = self.runtime.state
        scans = state.get_docs(SCAN_DOC, files)
        desired = desired_galleries(state, [item_no])
        owner = {
            str(e.get("file")): sku
            for sku, doc in desired.items()
            for e in doc.get("state", {}).get("images", [])
        }
        applied = state.get_applied("image", list(desired))
        rows = []
        for name in files:
            entry = listing[name]
            scan = scans.get(name)
            moved = scan is not None and not self.runtime.images.unchanged(entry, scan)
            sku = owner.get(name)
            done = applied.get(sku) if sku else None
            if scan is not None and not moved and scan.get("error"):
                status, detail = "error", str(scan["error"])
            elif scan is None or sku is None or done is None:
                status, detail = "new", "" if scan is None else "not in Magento yet"
            elif moved or done.fingerprint != desired[sku].get("fingerprint"):
                status, detail = "changed", ""
            else:
                status, detail = "pushed", f"in the gallery of {sku}"
            rows.append(ImageRow(item_no, name, status, detail, entry.size))
        return rows

    def check(self, item_no: str) -> RunResult:
        """Run Image Changes for one item only (queues its galleries that changed).

        Raises:
            TaskBusy: Image Changes is running.
        """
        task = self.runtime.task("image_changes")
        return run_locked(self.runtime.state, task, lambda t: t.run(keys=[item_no]))

    def _changes_for(self, file_name: str, item_no: str | None) -> list[Change]:
        name = self._index().find(check_file_name(file_name))
        if name is None:
            raise NothingToSend(f"there is no image file {file_name} in the image folder")
        item_no = item_no or self._item(Path(name).stem.partition("^")[0])[0]
        state = self.runtime.state
        before = state.get_sent("image")
        changes: list[Change] = []
        task = self.runtime.task("image_changes")
        result = run_locked(
            state, task, lambda t: t.run(keys=[item_no], force=True, emit=changes.extend)
        )
        chosen = _changes_with(changes, name)
        # Galleries captured but not sent keep their previous sent fingerprint.
        others = [c.key for c in changes if c not in chosen]
        state.forget_sent("image", [k for k in others if k not in before])
        state.put_sent("image", {k: before[k] for k in others if k in before})
        if not chosen:
            problems = [e.message for e in result.errors if name.lower() in e.message.lower()]
            raise NothingToSend(
                f"image {name} cannot be sent: "
                + (
                    problems[0]
                    if problems
                    else f"item {item_no} is not in Magento yet, or "
                    "the file is not one of its images; sync the item first (its images go with it)"
                )
            )
        return chosen

    def sync(self, file_name: str, item_no: str | None = None) -> list[ItemOutcome]:
        """Push the galleries that hold `file_name` to Magento now and answer their outcome.

        Raises:
            ValueError: `file_name` is not a plain file name.
            NothingToSend: No such file, or no gallery of its item holds it (the reason says).
            TaskBusy: Image Changes is running.
        """
        return apply_now(self.runtime, self._changes_for(file_name, item_no))

    def queue(self, file_name: str, item_no: str | None = None) -> int:
        """Queue the galleries that hold `file_name`; returns how many Changes were queued.

        Raises:
            ValueError: `file_name` is not a plain file name.
            NothingToSend: No such file, or no gallery of its item holds it (the reason says).
            TaskBusy: Image Changes is running.
        """
        return self.runtime.queue.send(self._changes_for(file_name, item_no))
