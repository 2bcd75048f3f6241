"""Product images in Magento: typed media-gallery calls and the image writer.

The writer owns the entries it uploaded and nothing else (a merchant may add images by hand).
An entry is ours when its id is remembered in state (docs `image_entries`) or its file name
carries our content tag (`<stem>-cp<digest>.<ext>`; Magento may add `_1`, and its import adds `_`
and 16 random letters and digits to a file it downloads from a URL): the tag is what lets
a crash between an upload and the state write, a retried POST whose first answer was lost, or
an entry deleted by hand be reconciled from Magento's own gallery list. Per SKU:

1. list the gallery (one GET, without the base64 `content` Magento would add to each entry),
   unless state knows every entry cpsync owns there (ids, roles, positions): then the GET is
   spared, and made again on a forced run ("sync now", queue all) or after a failed sync;
2. delete our entries that are no longer wanted (removed or replaced images) and duplicates;
3. update roles/position of kept entries whose roles or position moved;
4. add what is missing, the main image first (delete-then-add replaces an image);
5. if an upload was retried (the client counted a failed attempt), list again and delete
   the duplicate that a POST whose answer was lost leaves behind.

The five steps run under a lock per SKU (`gallery:<sku>` in state): "sync now" from the page
and the updater draining the same gallery from the queue would otherwise both list an empty
gallery and both upload every image. The lock names its owner (host, process) and expires
within seconds unless the owner renews it while it works (before a request, once a third of
the expiry has passed); a lock whose owner process is gone (killed on this machine) is taken
over at once.

A product's gallery is part of applying that product: a new product carries its images in its
create (`create_entries()`, as many as fit the request size limit) and `after_create()` notes
the entry ids Magento answered and uploads the rest, with that answer as the gallery (no
list GET). For a product that exists, the product writer asks `due()` which galleries Magento
does not hold yet and `bring()`s them. Either way a failed upload fails (and retries) the
product record itself, naming the image file. Uploads are idempotent: an entry already
holding the same content tag is adopted, never added again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import quote

from cpsync._process import process_state
from cpsync.documents import IMAGE_DESIRED, IMAGE_ENTRIES, IMAGE_PENDING, EntryRef, ImageEntries
from cpsync.errors import ConfigurationError, DataError, RecordError, RetryableError
from cpsync.magento.categories import create_in_categories
from cpsync.magento.client import MagentoClient
from cpsync.magento.errors import MagentoRecordError
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, ImageEntry, ImageState, Kind, make_version
from cpsync.ports import AppliedRecord, BlobNotFound, BlobPort, StatePort

__all__ = [
    "GalleryBusy",
    "ImageRefused",
    "ImageWriter",
    "MediaApi",
    "build_entry_payload",
    "create_carrying_images",
    "gallery_failure",
    "image_budget",
    "tag_of",
    "upload_name",
]

logger = logging.getLogger(__name__)

_LIST_FIELDS = "id,media_type,label,position,disabled,types,file"
#: A gallery lock expires this long after its owner last renewed it (after every request).
GALLERY_LOCK_TTL_SECONDS = 30.0
#: How long a writer waits for another writer of the same gallery before giving up (retried).
GALLERY_LOCK_WAIT_SECONDS = 20.0
#: The content tag, then the import's random part (Uploader::downloadFileFromUrl), then `_1`...
_TAG = re.compile(r"-cp([0-9a-f]{12})(?:_[a-z0-9]{16})?(?:_\d+)?\.[a-z0-9]+$")


#: Characters kept of a source file's stem: Magento refuses a file name over 90 characters
#: (File\Uploader::getCorrectFileName), and its import adds 17 to a name it downloads.
STEM_CHARS = 50


def upload_name(entry: ImageEntry) -> str:
    """The file name sent to Magento: a safe stem of the source file plus a content tag.

    At most 70 characters (a 4-letter extension), so that Magento accepts it also as the last
    segment of an import link.
    """
    stem = entry.file.rsplit(".", 1)[0].lower()
    safe = re.sub(r"[^a-z0-9_-]+", "_", stem).strip("_") or "image"
    ext = entry.name.rsplit(".", 1)[-1].lower()
    return f"{safe[:STEM_CHARS]}-cp{entry.digest[:12]}.{ext}"


def tag_of(magento_file: str | None) -> str | None:
    """The content tag in a Magento file path (`/t/s/tshirt-cp0123456789ab_1.jpg`), if ours."""
    if not magento_file:
        return None
    found = _TAG.search(magento_file.lower())
    return found.group(1) if found else None


def build_entry_payload(entry: ImageEntry, data: bytes | None) -> dict[str, Any]:
    """The `entry` object of a create (with content) or update (without) request."""
    payload: dict[str, Any] = {
        "media_type": "image",
        "label": None,
        "position": entry.position,
        "disabled": False,
        "types": list(entry.roles),
    }
    if data is not None:
        payload["content"] = {
            "base64_encoded_data": base64.b64encode(data).decode("ascii"),
            "type": entry.mime,
            "name": upload_name(entry),
        }
    return payload


def create_carrying_images(
    client: MagentoClient, product: dict[str, Any], category_ids: Sequence[int]
) -> tuple[dict[str, Any], list[int]]:
    """Create a product in its categories with the gallery entries it carries.

    When Magento refuses a create that carries images, create it without them (the uploads
    that follow find and name the image at fault).

    Returns:
        The saved product and the categories it got.

    Raises:
        MagentoRecordError: Magento refused the product itself.
    """
    try:
        return create_in_categories(client, product, category_ids)
    except MagentoRecordError as exc:
        if exc.status != 400 or not product.get("media_gallery_entries"):
            raise
        logger.info(
            "product %s: create with images refused (%s); creating without", product.get("sku"), exc
        )
    rest = {k: v for k, v in product.items() if k != "media_gallery_entries"}
    return create_in_categories(client, rest, category_ids)


def image_budget(product: dict[str, Any], max_request_bytes: int) -> int:
    """Bytes left for images in a create of `product` (16 KiB kept for the JSON around)."""
    return max_request_bytes - 16 * 1024 - len(json.dumps(product))


def gallery_failure(exc: Exception) -> Exception:
    """A product record's error when its images did not all go up after its create.

    The product is in Magento, and the record is retried or parked as the image's error says.
    """
    text = f"the product is saved, but its images are not: {exc}"
    if isinstance(exc, RetryableError):
        return RetryableError(text, exc.retry_after)
    if isinstance(exc, RecordError):
        return RecordError(text)
    return RetryableError(text)


class MediaApi:
    """Typed media-gallery endpoints over `MagentoClient.request()`.

    See docs/reference/magento.md#media-gallery.
    """

    def __init__(self, client: MagentoClient) -> None:
        self.client = client

    @staticmethod
    def _path(sku: str, entry_id: int | None = None) -> str:
        path = f"products/{quote(sku, safe='')}/media"
        return path if entry_id is None else f"{path}/{entry_id}"

    def list(self, sku: str) -> list[dict[str, Any]] | None:
        """The product's gallery entries without their content; None when there is no product."""
        try:
            result = self.client.request(
                "GET", self._path(sku), endpoint="media.list", params={"fields": _LIST_FIELDS}
            )
        except MagentoRecordError as exc:
            if exc.status == 404:
                return None
            raise
        return list(result or [])

    def add(self, sku: str, entry: dict[str, Any]) -> int:
        """Create an entry; returns its id."""
        result = self.client.request(
            "POST", self._path(sku), endpoint="media.create", json={"entry": entry}
        )
        return int(result)

    def update(self, sku: str, entry_id: int, entry: dict[str, Any]) -> None:
        """Change an entry's roles, position, label or disabled flag."""
        body = {"entry": {**entry, "id": entry_id}}
        self.client.request("PUT", self._path(sku, entry_id), endpoint="media.update", json=body)

    def delete(self, sku: str, entry_id: int) -> bool:
        """Delete an entry; False when it was already gone."""
        try:
            self.client.request("DELETE", self._path(sku, entry_id), endpoint="media.delete")
        except MagentoRecordError as exc:
            if exc.status == 404:
                return False
            raise
        return True


class ProductNotOnline(RetryableError):
    """The product is not in Magento (yet): its images wait for the product."""


class GalleryBusy(RetryableError):
    """Another writer holds the SKU's gallery: this record is retried later."""


class ImageRefused(RecordError):
    """Magento refused one image file (its content, type or name): a person must look."""


def upload_order(images: Sequence[ImageEntry]) -> list[ImageEntry]:
    """The order images go up in: those with roles (the main image) first, then by position."""
    return sorted(images, key=lambda e: (not e.roles, e.position))


class ImageWriter(Writer):
    """Brings each SKU's gallery to its `ImageState`, touching only cpsync's own entries.

    Args:
        client: The Magento client.
        state: Where uploaded entry ids are remembered.
        blobs: Where the prepared image bytes are.
    """

    kind: ClassVar[Kind] = "image"

    def __init__(
        self, client: MagentoClient, state: StatePort, blobs: BlobPort, concurrency: int = 4
    ) -> None:
        super().__init__(concurrency)
        self.api = MediaApi(client)
        self.state = state
        self.blobs = blobs
        self.lock_wait_seconds = GALLERY_LOCK_WAIT_SECONDS

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Bring each SKU's gallery to its Change (see `sync`), then store the entries once."""
        entries: dict[str, list[EntryRef]] = {}

        def one(change: Change) -> None:
            desired = ImageState.model_validate(change.payload)
            entries[desired.sku] = self.sync(desired, remember=False, force=change.force)

        outcomes = self.map_records(changes, one)
        # One state write per batch: a crash before it is repaired from the content tags.
        self._remember(entries)
        return outcomes

    def sync(
        self, desired: ImageState, remember: bool = True, force: bool = False
    ) -> list[EntryRef]:
        """Bring one SKU's gallery to `desired` (the five steps of the module docstring).

        Returns the entries now ours (id, digest, file); stored in state unless `remember`
        is False (the caller then stores them, for a whole batch at once). `force` reads the
        gallery from Magento even when state knows it.

        Raises:
            ProductNotOnline: Magento has no such product yet (retried later).
            DataError: An image's bytes are missing from the blob store.
            MagentoError: Magento refused a request.
            GalleryBusy: Another writer kept the SKU's gallery for too long (retried later).
        """
        with self._gallery_lock(desired.sku) as lease:
            known = None if force else self._gallery_in_state(desired.sku)
            try:
                return self._sync(desired, remember, lease, current=known)
            except Exception:
                if known is not None:  # the next try reads what Magento really holds
                    IMAGE_ENTRIES.delete(self.state, [desired.sku])
                raise

    def _gallery_in_state(self, sku: str) -> list[dict[str, Any]] | None:
        """The entries cpsync wrote to a gallery, as state knows them.

        In the shape of Magento's list (the file stands for our content tag); None when state
        does not know them all.
        """
        doc = IMAGE_ENTRIES.get(self.state, [sku]).get(sku)
        if doc is None or any(e.types is None or e.position is None for e in doc.entries):
            return None
        return [
            {
                "id": e.id,
                "file": f"-cp{e.digest[:12]}.img",
                "types": e.types,
                "position": e.position,
            }
            for e in doc.entries
        ]

    @contextmanager
    def _gallery_lock(self, sku: str) -> Iterator[_Lease]:
        lease = _Lease(self.state, f"gallery:{sku}")
        deadline = time.monotonic() + self.lock_wait_seconds
        while not lease.take():
            if time.monotonic() >= deadline:
                raise GalleryBusy(
                    f"image {sku}: another sync of this product's images is still running; "
                    "it is retried later"
                )
            time.sleep(0.1)
        try:
            yield lease
        finally:
            lease.give_back()

    def _sync(
        self,
        desired: ImageState,
        remember: bool,
        lease: _Lease,
        current: list[dict[str, Any]] | None = None,
    ) -> list[EntryRef]:
        sku = desired.sku
        if current is None:
            current = self.api.list(sku)
        if current is None:
            hint = ""
            if "/" in sku:
                hint = " (or the web server refuses %2F in URLs: Apache needs AllowEncodedSlashes)"
            raise ProductNotOnline(f"image {sku}: the product is not in Magento yet{hint}")
        known = self._known_ids(sku)
        wanted = {e.digest[:12]: e for e in desired.images}
        keep: dict[str, dict[str, Any]] = {}
        drop: list[int] = []
        for entry in sorted(current, key=lambda e: (int(e["id"]) not in known, int(e["id"]))):
            entry_id, tag = int(entry["id"]), tag_of(entry.get("file"))
            if entry_id not in known and tag is None:
                continue  # not ours: added by hand
            if tag in wanted and tag not in keep:
                keep[tag] = entry
            else:
                drop.append(entry_id)
        for entry_id in drop:
            lease.renew()
            self.api.delete(sku, entry_id)
        ids: dict[str, int] = {}
        for tag, entry in keep.items():
            target = wanted[tag]
            ids[tag] = int(entry["id"])
            if sorted(entry.get("types") or []) != sorted(target.roles) or int(
                entry.get("position") or 0
            ) != int(target.position):
                lease.renew()
                self.api.update(sku, int(entry["id"]), build_entry_payload(target, None))
        missing = upload_order([e for tag, e in wanted.items() if tag not in keep])
        retries_before = self.api.client.failures["media.create"]
        refused: RecordError | None = None
        for image in missing:
            lease.renew()
            payload = build_entry_payload(image, self._bytes(image))
            try:
                ids[image.digest[:12]] = self.api.add(sku, payload)
            except MagentoRecordError as exc:  # the other images still go up
                if exc.status == 404:
                    raise ProductNotOnline(f"image {sku}: the product is not in Magento") from exc
                refused = refused or ImageRefused(
                    f"image {sku}: Magento refused image file {image.file}: {exc}"
                )
        if missing and self.api.client.failures["media.create"] != retries_before:
            self._drop_duplicates(sku, ids)
        ours = [
            EntryRef(
                id=ids[e.digest[:12]],
                digest=e.digest,
                file=e.file,
                types=list(e.roles),
                position=e.position,
            )
            for e in desired.images
            if e.digest[:12] in ids
        ]
        if remember or refused is not None:
            self._remember({sku: ours})
        if refused is not None:
            raise refused
        return ours

    def create_entries(self, desired: ImageState, budget: int) -> list[dict[str, Any]]:
        """The `media_gallery_entries` a product create carries.

        The images in upload order while their base64 fits in `budget` bytes (the rest go up
        after the create).

        An image whose bytes are missing stops the list there: `after_create()` then names
        the file when it tries to upload it.
        """
        entries: list[dict[str, Any]] = []
        for image in upload_order(desired.images):
            try:
                data = self._bytes(image)
            except DataError:
                break
            cost = 4 * -(-len(data) // 3) + 400  # base64 plus the entry's other members
            if cost > budget:
                break
            budget -= cost
            # A product save reads label, position, disabled and media_type of a new entry
            # unconditionally (MediaGalleryProcessor) and a null is dropped before it gets
            # there, so the label is an empty string, not null.
            entries.append({**build_entry_payload(image, data), "label": ""})
        return entries

    def with_entries(
        self, product: dict[str, Any], desired: ImageState, max_request_bytes: int
    ) -> dict[str, Any]:
        """A create's body `product` with the `create_entries()` that fit the request limit."""
        entries = self.create_entries(desired, image_budget(product, max_request_bytes))
        return {**product, "media_gallery_entries": entries} if entries else product

    def after_create(self, desired: ImageState, saved: dict[str, Any]) -> None:
        """Note the entries a product create carried and upload the images it did not carry.

        The ids come from Magento's answer, which also serves as the gallery: no list GET.

        Raises:
            ImageRefused: Magento refused an image file (the others are uploaded).
            Exception: An upload failed otherwise (the caller's record fails with it).
        """
        current = list(saved.get("media_gallery_entries") or [])
        with self._gallery_lock(desired.sku) as lease:
            self._sync(desired, True, lease, current=current)
        self._note_applied({desired.sku: desired.fingerprint()})

    def finish_create(self, desired: ImageState, saved: dict[str, Any]) -> None:
        """`after_create()` for a product's create, whose record fails if the images do not.

        Raises:
            ConfigurationError: As `after_create()` raised it.
            Exception: `gallery_failure()` of any other failure (the product is saved).
        """
        try:
            self.after_create(desired, saved)
        except ConfigurationError:
            raise
        except Exception as exc:
            raise gallery_failure(exc) from exc

    def _bytes(self, image: ImageEntry) -> bytes:
        try:
            return self.blobs.get(image.digest)
        except BlobNotFound:
            raise DataError(
                f"image file {image.file}: its prepared bytes ({image.digest[:12]}) are not in "
                "the blob store; run Image Changes for the item again"
            ) from None

    def _drop_duplicates(self, sku: str, ids: dict[str, int]) -> None:
        """A POST retried after a lost answer makes a second entry: remove all but ours."""
        for entry in self.api.list(sku) or []:
            tag = tag_of(entry.get("file"))
            if tag in ids and int(entry["id"]) != ids[tag]:
                logger.info("image %s: removing duplicate gallery entry %s", sku, entry["id"])
                self.api.delete(sku, int(entry["id"]))

    def _known_ids(self, sku: str) -> set[int]:
        doc = IMAGE_ENTRIES.get(self.state, [sku]).get(sku)
        return {e.id for e in doc.entries} if doc else set()

    def _remember(self, entries: dict[str, list[EntryRef]]) -> None:
        keep = {sku: ImageEntries(entries=ours) for sku, ours in entries.items() if ours}
        IMAGE_ENTRIES.put(self.state, keep)
        IMAGE_ENTRIES.delete(self.state, [sku for sku, ours in entries.items() if not ours])

    def due(self, skus: Sequence[str]) -> dict[str, ImageState]:
        """The galleries of these SKUs that Image Changes wants and Magento does not hold yet.

        As far as cpsync applied them: two state reads for any number of SKUs.
        """
        docs = IMAGE_DESIRED.get(self.state, skus) if skus else {}
        if not docs:
            return {}
        applied = self.state.get_applied(self.kind, list(docs))
        return {
            sku: doc.image_state()
            for sku, doc in docs.items()
            if sku not in applied or applied[sku].fingerprint != doc.fingerprint
        }

    def bring(self, galleries: Sequence[ImageState]) -> None:
        """Write these galleries now and record them as sent and applied.

        So the Images task does not queue them again.

        Raises:
            Exception: The first gallery that failed (after the others were tried): the
                caller's record fails with it and is retried or parked.
        """
        failed: Exception | None = None
        written: dict[str, str] = {}
        for desired in galleries:
            try:
                self.sync(desired)
            except Exception as exc:
                failed = failed or exc
                continue
            written[desired.sku] = desired.fingerprint()
        self._note_applied(written)
        if failed is not None:
            raise failed

    def _note_applied(self, written: dict[str, str]) -> None:
        """Record galleries as sent and applied, so the Images task does not queue them."""
        if not written:
            return
        version = make_version(None)
        self.state.put_sent(self.kind, written)
        applied = {sku: AppliedRecord(version, print_) for sku, print_ in written.items()}
        self.state.put_applied(self.kind, applied)
        IMAGE_PENDING.delete(self.state, written)


class _Lease:
    """A gallery lock held by this process: owner `host:pid:random`, renewed as work goes on."""

    def __init__(self, state: StatePort, name: str) -> None:
        self.state = state
        self.name = name
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.renewed = 0.0  # time.monotonic() of the last take or renewal

    def _acquire(self) -> bool:
        if not self.state.acquire_lock(self.name, self.owner, GALLERY_LOCK_TTL_SECONDS):
            return False
        self.renewed = time.monotonic()
        return True

    def take(self) -> bool:
        if self._acquire():
            return True
        holder = self.state.lock_holder(self.name)
        if holder is not None and _owner_is_gone(holder):
            logger.info("%s: taking over the lock of %s, a process that is gone", self.name, holder)
            self.state.release_lock(self.name, holder)
            return self._acquire()
        return False

    def renew(self) -> None:
        """Extend the lock before a request, once a third of its expiry has passed.

        One state write per ten seconds of work, not one per request.
        """
        if time.monotonic() - self.renewed >= GALLERY_LOCK_TTL_SECONDS / 3:
            self._acquire()

    def give_back(self) -> None:
        self.state.release_lock(self.name, self.owner)


_HOST = socket.gethostname()


def _owner_is_gone(owner: str) -> bool:
    """Whether a lock owner is a process on this machine that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False  # another machine's (or an old-style) lock: wait for its expiry
    return process_state(int(pid_text)) == "gone"  # "unknown" waits for the expiry
