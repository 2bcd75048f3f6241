"""The Image Changes task (find): which products' galleries the ItemImages folder changed.

How the two image tasks split the work:
- **Image Changes** (this module, daily at 00:00) lists the image source (`image_source.py`:
  the folder, or an S3 prefix in direct mode; name, size, mtime or ETag), and prepares only
  files whose size or version moved since the last scan (scan memory in state docs
  `image_scan`): decode (a corrupt file is reported by name), EXIF orientation, shrink, then the
  bytes go to the blob store under their sha256. It matches files to items by Counterpoint's
  rules (`counterpoint/images.py`) and computes each SKU's desired gallery (`ImageState`,
  digests only), kept in state docs `image_desired`. Galleries of products already online are
  queued at once as `image` Changes (fingerprint filter: only what changed); galleries of
  products not online yet are recorded as pending (docs `image_pending`).
  A changed run compares only the galleries that can have moved: of items named by a file
  whose size or version moved, that is new, or that left the folder since the last run (the
  scan memory is the per-file signature), and of items Counterpoint changed since the
  watermark (`changed_items`). The first run, a full run (Queue All) and `--full` compare
  every gallery.
- **Images** (`tasks/images.py`, every 15 minutes) turns pending galleries of products that
  have come online into Changes, and in a full run re-queues every gallery that differs from
  what was sent. It never reads the folder: only state, so it can run anywhere.
- A product the product writer applies gets its gallery in the same record when the gallery
  is due (`ImageWriter.bring`), so a new product goes up with its images.

An unreachable folder is an error, not an empty folder: a share that is not mounted must not
read as "every image was removed" and empty every gallery online. For the same reason a
changed run refuses a folder that is empty now but held files at the last scan; a full run
(Queue All), which an operator starts on purpose, goes ahead.

Entry points for the sync interface: `check_item_images(ctx, item_no)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from cpsync.blobs import blob_store
from cpsync.counterpoint import needs
from cpsync.counterpoint.columns import Need
from cpsync.counterpoint.image_queries import grid_cells, image_items
from cpsync.counterpoint.images import (
    FolderIndex,
    GridCell,
    ItemImages,
    PlannedImage,
    item_stems,
    plan_item_images,
    split_name,
)
from cpsync.counterpoint.queries import MAX_IN_LIST, changed_items
from cpsync.documents import IMAGE_DESIRED, IMAGE_PENDING
from cpsync.errors import ConfigurationError, DataError
from cpsync.image_source import ImageFile, ImageSource, image_source
from cpsync.model import ImageEntry, ImageState, Kind
from cpsync.ports import BlobPort, StatePort
from cpsync.settings import Settings
from cpsync.skus import child_sku, record_key
from cpsync.tasks.base import RunResult, Task, TaskContext, Window

if TYPE_CHECKING:
    from cpsync.imaging import PreparedImage

__all__ = [
    "DESIRED_DOC",
    "PENDING_DOC",
    "SCAN_DOC",
    "ImageChangesTask",
    "check_item_images",
    "online_skus",
]

logger = logging.getLogger(__name__)

SCAN_DOC = "image_scan"
DESIRED_DOC = IMAGE_DESIRED.kind
PENDING_DOC = IMAGE_PENDING.kind


def _image_preparer() -> Callable[..., PreparedImage]:
    """`prepare_image`, imported here so that Pillow loads only in runs that scan image files.

    Raises:
        ConfigurationError: Pillow is not installed (in AWS: the imaging layer is missing).
    """
    try:
        from cpsync.imaging import prepare_image
    except ImportError as exc:
        raise ConfigurationError(
            f"image files cannot be prepared without Pillow ({exc}); in AWS the function "
            "needs the imaging layer. No image was changed"
        ) from exc
    return prepare_image


class _Scanner:
    """The source's listing against the scan memory; prepares a file only when it moved."""

    def __init__(
        self,
        source: ImageSource,
        state: StatePort,
        blobs: BlobPort,
        settings: Settings,
        whole_memory: bool = True,
        watermark: datetime | None = None,
    ) -> None:
        """List the image source.

        Args:
            source: The ItemImages folder or S3 prefix.
            state: Where the scan memory (one doc per file) is kept.
            blobs: Where prepared image bytes go, by sha256.
            settings: The image limits (bytes, pixels, JPEG quality).
            watermark: The task's watermark when the run starts: scan docs written in this
                run carry it (`run`), and a run that finishes moves it, so a doc still
                carrying the current one was written by a run that did not finish.
            whole_memory: Read the scan memory of every file now (a whole-folder run);
                otherwise `recall()` reads it for the files a chunk plans to use, so checking
                one item costs the state reads of that item's files only.

        Raises:
            ConfigurationError: The folder or prefix cannot be read, or Pillow is missing (no
                gallery is touched).
            RetryableError: The S3 prefix cannot be listed now.
        """
        self.prepare_image = _image_preparer()
        self.source = source
        self.state = state
        self.blobs = blobs
        self.settings = settings
        self.listing: dict[str, ImageFile] = source.list()
        self.memory = state.get_docs(SCAN_DOC) if whole_memory else {}
        self.whole_memory = whole_memory
        self.run_mark = watermark.isoformat() if watermark else ""
        self.dirty: dict[str, dict[str, Any]] = {}
        self.hashed = 0

    @cached_property
    def index(self) -> FolderIndex:
        """The listing by stem, built when a gallery is planned (not in a run with none)."""
        return FolderIndex(self.listing)

    def forget_missing(self) -> None:
        """Drop the memory of files no longer in the folder, once a finished run saw them go.

        A file that just left is marked `gone` with the watermark of its run instead, so it
        still counts as moved (`moved()`) until the watermark moves on, i.e. until a run that
        saw it go has queued what followed: a run that fails half-way loses nothing.
        """
        gone, marked = [], {}
        for name, doc in self.memory.items():
            if name in self.listing:
                if "gone" in doc:  # back again: a later removal is news again
                    marked[name] = {k: v for k, v in doc.items() if k != "gone"}
                continue
            if "gone" not in doc:
                marked[name] = doc | {"gone": self.run_mark}
            elif doc["gone"] != self.run_mark:
                gone.append(name)
        if gone:
            self.state.delete_docs(SCAN_DOC, gone)
        if marked:
            self.state.put_docs(SCAN_DOC, marked)
            self.memory.update(marked)

    def moved(self) -> set[str]:
        """Files whose galleries may differ from what the last finished run compared.

        New, resized or of another version, gone, or prepared by a run that did not finish.
        """
        moved = {
            name
            for name, doc in self.memory.items()
            if name not in self.listing and doc.get("gone", self.run_mark) == self.run_mark
        }
        for name, entry in self.listing.items():
            doc = self.memory.get(name)
            unsettled = doc is not None and doc.get("run") == self.run_mark
            if unsettled or not self.source.unchanged(entry, doc):
                moved.add(name)
        return moved

    def remember_unused(self) -> None:
        """Keep the signature of listed files no gallery uses.

        An orphan, a default image beside a custom one: remembered, the next changed run does
        not take them for new.
        """
        unused = {
            name: self.source.stamp(entry) | {"run": self.run_mark}
            for name, entry in self.listing.items()
            if name not in self.memory and name not in self.dirty
        }
        if unused:
            self.state.put_docs(SCAN_DOC, unused)
            self.memory.update(unused)

    def recall(self, names: Sequence[str]) -> None:
        """Read the scan memory of these files (a no-op when all of it was read)."""
        wanted = [n for n in names if n not in self.memory]
        if not self.whole_memory and wanted:
            self.memory.update(self.state.get_docs(SCAN_DOC, wanted))

    def prepared(self, name: str) -> dict[str, Any]:
        """The scan doc of a file: its digest and format, or the error that stops it."""
        entry = self.listing[name]
        doc = self.dirty.get(name) or self.memory.get(name)
        if doc and ("digest" in doc or "error" in doc) and self.source.unchanged(entry, doc):
            return doc
        self.hashed += 1
        doc = self.source.stamp(entry) | {"run": self.run_mark}
        try:
            image = self.prepare_image(
                self.source.read(name),
                name,
                self.settings.image_max_bytes,
                self.settings.image_max_pixels,
                self.settings.image_jpeg_quality,
            )
        except DataError as exc:
            doc["error"] = str(exc)
        except OSError as exc:
            doc["error"] = f"image file {name} cannot be read ({exc})"
        except Exception as exc:  # one odd file must not stop the scan (MemoryError too)
            doc["error"] = f"image file {name} cannot be prepared ({type(exc).__name__}: {exc})"
        else:
            doc.update(
                digest=self.blobs.put(image.data),
                mime=image.mime,
                ext=image.extension,
                width=image.width,
                height=image.height,
                rotated=image.rotated,
                shrunk=image.shrunk,
            )
        self.dirty[name] = doc
        return doc

    def flush(self) -> None:
        if self.dirty:
            self.state.put_docs(SCAN_DOC, self.dirty)
            self.memory.update(self.dirty)
            self.dirty = {}


def gallery_of(
    sku: str, planned: Sequence[PlannedImage], scanner: _Scanner
) -> tuple[ImageState, list[str]]:
    """The desired gallery of one SKU from its good files, and why each other file is left out.

    Raises:
        DataError: Every file of the gallery is bad (corrupt, truncated, empty, a bomb); the
            SKU's gallery is left as it is in Magento until a file is fixed.
    """
    entries: list[ImageEntry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for image in planned:
        doc = scanner.prepared(image.file)
        if "error" in doc:
            problems.append(str(doc["error"]))
            continue
        if doc["digest"] in seen:
            continue  # the same picture twice would be a duplicate entry
        seen.add(doc["digest"])
        stem = image.file.rsplit(".", 1)[0]
        entries.append(
            ImageEntry(
                file=image.file,
                digest=doc["digest"],
                mime=doc["mime"],
                name=f"{stem}.{doc['ext']}",
                position=image.position,
                roles=image.roles,
            )
        )
    if problems and not entries:
        raise DataError("; ".join(problems))
    return ImageState(sku=sku, images=tuple(entries)), problems


def online_skus(state: StatePort, skus: dict[str, str]) -> set[str]:
    """Which of `skus` (SKU -> its item number) are products in Magento, as far as state knows.

    A SKU is online when the product writer recorded its id or applied a product Change for
    it; a grid child is taken as online when its parent item is (children go up with it).
    """
    keys = sorted(set(skus) | set(skus.values()))
    known = set(state.get_magento_ids("product", keys)) | set(state.get_applied("product", keys))
    return {sku for sku, item_no in skus.items() if sku in known or item_no in known}


@dataclass
class _SkuRow:
    item_no: str
    sku: str
    state: ImageState | None
    error: str | None = None
    children: list[str] = field(default_factory=list)
    # Files left out of an otherwise good gallery (reported, the rest syncs).
    problems: list[str] = field(default_factory=list)


class ImageChangesTask(Task):
    """Finds image changes in the ItemImages folder (see the module docstring)."""

    name: ClassVar[str] = "image_changes"
    title: ClassVar[str] = "Image Changes"
    kind: ClassVar[Kind] = "image"
    schedule: ClassVar[str] = "cron(0 0 * * ? *)"
    batch_size: ClassVar[int] = 200
    needs: ClassVar[tuple[Need, ...]] = needs.IMAGE_ITEMS

    def __init__(
        self, ctx: TaskContext, blobs: BlobPort | None = None, images: ImageSource | None = None
    ) -> None:
        super().__init__(ctx)
        self.blobs = blobs if blobs is not None else blob_store(ctx.settings)
        self.images = images if images is not None else image_source(ctx.settings)
        self.hashed = 0

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[_SkuRow]:
        """One row per SKU to compare: those whose files moved, every SKU, or those of `keys`.

        A changed run reads the SKUs whose image files moved since the last scan; a full run
        (no window) every SKU.

        Raises:
            ConfigurationError: The source is empty but held files at the last scan (a share
                not mounted): nothing is changed.
        """
        scanner = _Scanner(
            self.images,
            self.ctx.state,
            self.blobs,
            self.settings,
            whole_memory=keys is None,
            watermark=self.ctx.state.get_watermark(self.name),
        )
        if keys is None and window is not None and not scanner.listing and scanner.memory:
            raise ConfigurationError(
                f"the image folder {scanner.source.location} is empty, but held "
                f"{len(scanner.memory)} image files at the last scan; is the share mounted? "
                "No image was changed. If every image was removed on purpose, run Image "
                "Changes with Queue All"
            )
        items = self._items(keys)
        if keys is None and window is not None and scanner.memory:
            items = self._touched(items, scanner.moved(), window)
        if keys is None:
            scanner.forget_missing()
        while chunk := [row for _, row in zip(range(MAX_IN_LIST), items, strict=False)]:
            rows = self._plan_chunk(chunk, scanner)
            scanner.flush()
            yield from self._route(rows)
        if keys is None:
            scanner.remember_unused()
        self.hashed = scanner.hashed

    def _items(self, keys: Sequence[str] | None) -> Iterator[Any]:
        parts: list[Sequence[str] | None] = [None]
        if keys is not None:
            parts = [keys[i : i + MAX_IN_LIST] for i in range(0, len(keys), MAX_IN_LIST)]
        with self.ctx.counterpoint.connect() as conn:
            for part in parts:
                stmt = image_items(part, self.catalog)
                yield from conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)

    def _touched(self, items: Iterator[Any], moved: set[str], window: Window) -> Iterator[Any]:
        """The items whose gallery can have moved since the window opened (changed runs).

        Items named by a moved file (by stem, or by `ECOMM_IMG_FILE`), and items Counterpoint
        changed in the window (a new custom image name, a new grid cell). When no file moved,
        only the changed items are read; when nothing moved at all, the folder listing and one
        query were the whole run.
        """
        names = {name.lower() for name in moved}
        stems = {parts[0] for parts in map(split_name, moved) if parts is not None}
        with self.ctx.counterpoint.connect() as conn:
            stmt = changed_items(window.since_utc, window.since_local, self.catalog)
            raw = sorted({str(row[0]) for row in conn.execute(stmt)})
        changed = {record_key(item_no) for item_no in raw}
        if not moved:  # only Counterpoint changes: read just those items
            yield from self._items(raw) if raw else ()
            return
        for row in items:
            item_no = record_key(row.ITEM_NO)
            custom = str(row.ECOMM_IMG_FILE or "").replace("\\", "/").rsplit("/", 1)[-1]
            if (
                item_no in changed
                or custom.strip().lower() in names
                or any(stem in stems for stem in item_stems(item_no))
            ):
                yield row

    def _cells(self, item_nos: list[str]) -> dict[str, list[GridCell]]:
        cells: dict[str, list[GridCell]] = {}
        if not item_nos:
            return cells
        separator = self.settings.grid_sku_separator
        with self.ctx.counterpoint.connect() as conn:
            for row in conn.execute(grid_cells(item_nos)):
                dims = [row.DIM_1_UPR, row.DIM_2_UPR, row.DIM_3_UPR]
                used = (str(d).strip() for d in dims if d)
                values = tuple(v for v in used if v not in ("", "*"))
                try:
                    sku = child_sku(str(row.ITEM_NO), dims, separator)
                except DataError:
                    continue  # the Items task reports an over-long child SKU
                cells.setdefault(record_key(row.ITEM_NO), []).append(GridCell(sku, values))
        return cells

    def _plan_chunk(self, chunk: list[Any], scanner: _Scanner) -> list[_SkuRow]:
        grid = [str(r.ITEM_NO) for r in chunk if str(r.TRK_METH or "").strip() == "G"]
        cells = self._cells(grid)
        plans = []
        out: list[_SkuRow] = []
        for row in chunk:
            item_no = record_key(row.ITEM_NO)
            item = ItemImages(item_no, row.ECOMM_IMG_FILE, tuple(cells.get(item_no, ())))
            try:
                plans.append((item_no, plan_item_images(item, scanner.index)))
            except Exception as exc:  # the item is reported, the chunk goes on
                out.append(_SkuRow(item_no, item_no, None, f"its image files: {exc}"))
        scanner.recall(
            [i.file for _, plan in plans for planned in plan.by_sku.values() for i in planned]
        )
        for item_no, plan in plans:
            children = [sku for sku in plan.by_sku if sku != item_no]
            for sku, planned in plan.by_sku.items():
                problems: list[str] = []
                try:
                    desired: ImageState | None
                    desired, problems = gallery_of(sku, planned, scanner)
                    error = None
                except Exception as exc:
                    desired, error = None, f"{exc}; the gallery of {sku} is left as it is"
                mine = children if sku == item_no else []
                out.append(_SkuRow(item_no, sku, desired, error, mine, problems))
        return out

    def _route(self, rows: list[_SkuRow]) -> list[_SkuRow]:
        """Store desired galleries; keep rows of online products, mark the others pending."""
        state = self.ctx.state
        skus = [r.sku for r in rows]
        stored = state.get_docs(DESIRED_DOC, skus)
        sent = state.get_sent(self.kind, skus)
        online = online_skus(state, {r.sku: r.item_no for r in rows})
        now = datetime.now(UTC).isoformat()
        desired_docs: dict[str, dict[str, Any]] = {}
        pending: dict[str, dict[str, Any]] = {}
        out: list[_SkuRow] = []
        for row in rows:
            if row.state is None:
                out.append(row)  # build() reports the error
                continue
            for problem in row.problems:  # online or pending, the file is named now
                self.report(row.sku, f"image {row.sku}: {problem}; the other images sync")
            print_ = row.state.fingerprint()
            doc = stored.get(row.sku)
            moved = doc is None or (doc.get("fingerprint"), doc.get("children")) != (
                print_,
                row.children,
            )
            if moved and (doc is not None or row.state.images):
                desired_docs[row.sku] = {
                    "item_no": row.item_no,
                    "fingerprint": print_,
                    "children": row.children,
                    "state": row.state.payload(),
                }
            if row.sku in online:
                out.append(row)
            elif sent.get(row.sku) != print_ and (row.state.images or row.sku in sent):
                pending[row.sku] = {"item_no": row.item_no, "since": now}
        if desired_docs:
            state.put_docs(DESIRED_DOC, desired_docs)
        if pending:
            state.put_docs(PENDING_DOC, pending)
        return out

    def key_of(self, row: _SkuRow) -> str:
        """The SKU."""
        return row.sku

    def build(self, row: _SkuRow, extra: Any) -> ImageState:
        """The gallery the scan made for the SKU.

        Raises:
            DataError: The scan could not make one (the message says why).
        """
        if row.state is None:
            raise DataError(row.error or "no gallery")
        return row.state


def check_item_images(ctx: TaskContext, item_no: str, blobs: BlobPort | None = None) -> RunResult:
    """Check one item for new images now (the sync interface's magnifying glass).

    Scans the folder for that item's files only, prepares the ones that moved, and queues the
    item's (and its grid children's) galleries where they changed.
    """
    return ImageChangesTask(ctx, blobs).run(keys=[item_no])
