"""Media gallery routes (docs/reference/magento.md#media-gallery, #duplicated-images,
#media-gallery): create, list, get, update, delete.

Endpoint names for costs and faults: ``media.list``, ``media.get``, ``media.create``,
``media.update``, ``media.delete``; create also costs ``kb_costs_ms["media.create"]`` per KiB.
ACL resource: ``Magento_Catalog::products``.

Entries live in the product's ``media_gallery_entries`` (so product GET shows them, without
content). The decoded bytes are kept per stored file path in :class:`MediaFiles` with their
sha256, size and pixel size, so tests can check exactly what arrived. As in Magento, POSTing
the same image twice makes two entries (issue #13723), the second file with a ``_1`` suffix.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import io
import re
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from cpsync_emulator.errors import MagentoError, internal_error, product_not_found
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.search import snake

__all__ = [
    "ALL_ROLES",
    "MediaFiles",
    "StoredImage",
    "apply_saved_gallery",
    "routes",
]

MEDIA_RESOURCE = "Magento_Catalog::products"
#: The product's media attributes: a first image without roles gets all of them.
ALL_ROLES = ("image", "small_image", "thumbnail", "swatch_image")

CONTENT_INVALID = "The image content is invalid. Verify the content and try again."
CONTENT_NOT_BASE64 = "The image content must be valid base64 encoded data."
MIME_INVALID = "The image MIME type is not valid or not supported."
NAME_FORBIDDEN = "Provided image name contains forbidden characters."
EXTENSION_UNKNOWN = "Cannot recognize image extension."
ENTRY_NOT_FOUND = "No image with the provided ID was found. Verify the ID and try again."
GET_PRODUCT_NOT_FOUND = "The product doesn't exist. Verify and try again."
GET_IMAGE_NOT_FOUND = "The image doesn't exist. Verify and try again."

_SERVICE = "Magento\\Catalog\\Model\\Product\\Gallery\\GalleryManagement"
_MIME_BY_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
_EXT_BY_MIME = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}
_KNOWN_EXTENSIONS = {"jpg", "jpeg", "png", "gif"}
_FORBIDDEN = set('\\/?*:";<>()|{}')
#: Members of a new entry a product save reads without checking they are there.
_SAVE_READS = ("label", "position", "disabled", "media_type")


@dataclass(frozen=True)
class StoredImage:
    """What arrived for one stored file."""

    sha256: str
    size: int
    width: int
    height: int
    mime: str
    data: bytes


class MediaFiles:
    """Stored files by path (``/t/s/tshirt.jpg``) and the entry id counter."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.files: dict[str, StoredImage] = {}
        self._next_id: int | None = None

    def clear(self) -> None:
        with self.lock:
            self.files.clear()
            self._next_id = None

    def next_id(self, products: list[dict[str, Any]]) -> int:
        """A new entry id; ids are never reused, also after a catalog was loaded from disk."""
        with self.lock:
            if self._next_id is None:
                ids = [int(e["id"]) for p in products for e in p.get("media_gallery_entries", [])]
                self._next_id = max(ids, default=0) + 1
            value = self._next_id
            self._next_id += 1
            return value

    def store(self, name: str, image: StoredImage) -> str:
        """Keep ``image`` under a dispersion path, suffixing ``_1``, ``_2``... when taken."""
        with self.lock:
            clean = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
            first = clean[0].lower() if clean[0] != "." else "_"
            second = clean[1].lower() if len(clean) > 1 and clean[1] != "." else "_"
            stem, ext = clean.rsplit(".", 1)
            path, n = f"/{first}/{second}/{clean}", 0
            while path in self.files:
                n += 1
                path = f"/{first}/{second}/{stem}_{n}.{ext}"
            self.files[path] = image
            return path

    def get(self, path: str) -> StoredImage | None:
        with self.lock:
            return self.files.get(path)


def _decode_content(content: Any) -> tuple[StoredImage, str]:
    """Validate ``content`` as ImageContentValidator does; returns the image and the file name.

    Raises:
        MagentoError: 400 with Magento's message for each failure.
    """
    if not isinstance(content, dict):
        raise MagentoError(400, CONTENT_INVALID)
    data = {snake(str(k)): v for k, v in content.items()}
    raw = data.get("base64_encoded_data")
    if not isinstance(raw, str) or not raw:
        raise MagentoError(400, CONTENT_NOT_BASE64)
    try:
        decoded = base64.b64decode(raw, validate=True)
        image = Image.open(io.BytesIO(decoded))
        width, height = image.size
        detected = _MIME_BY_FORMAT.get(image.format or "")
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise MagentoError(400, CONTENT_NOT_BASE64) from None
    declared = str(data.get("type") or "").lower()
    if detected is None or declared != detected:
        raise MagentoError(400, MIME_INVALID)
    name = str(data.get("name") or "").strip()
    if not name or any(ch in _FORBIDDEN for ch in name):
        raise MagentoError(400, NAME_FORBIDDEN)
    if "." not in name:
        name = f"{name}.{_EXT_BY_MIME[detected]}"
    elif name.rsplit(".", 1)[1].lower() not in _KNOWN_EXTENSIONS:
        raise MagentoError(400, EXTENSION_UNKNOWN)
    stored = StoredImage(
        hashlib.sha256(decoded).hexdigest(), len(decoded), width, height, detected, decoded
    )
    return stored, name


def _roles(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MagentoError(400, CONTENT_INVALID)
    return [str(v) for v in value]


def _take_roles(entries: list[dict[str, Any]], owner: dict[str, Any]) -> None:
    """Roles are exclusive: the roles of ``owner`` are removed from every other entry."""
    for entry in entries:
        if entry is not owner:
            entry["types"] = [t for t in entry["types"] if t not in owner["types"]]


def _new_entry(
    request: RestRequest, product: dict[str, Any], data: dict[str, Any], *, in_save: bool = False
) -> tuple[dict[str, Any], str, StoredImage]:
    """A new entry; `in_save` for one inside a product save (MediaGalleryProcessor), where
    the first image gets only the roles it names and the other members must all be there."""
    if "content" not in data or data["content"] is None:
        raise MagentoError(400, CONTENT_INVALID)
    image, name = _decode_content(data["content"])
    entries = product.setdefault("media_gallery_entries", [])
    types = _roles(data.get("types"))
    if in_save and any(data.get(member) is None for member in _SAVE_READS):
        # processNewMediaGalleryEntry reads these keys unconditionally and a null member is
        # dropped before it gets there: PHP's "Undefined array key" warning, which Magento's
        # error handler turns into an exception (500 in production).
        raise internal_error()
    if not entries and not types and not in_save:
        types = list(ALL_ROLES)
    position = data.get("position")
    if position is None:
        position = max((int(e.get("position") or 0) for e in entries), default=0) + 1
    entry = {
        "id": request.emulator.media.next_id(list(request.emulator.store.iter_products())),
        "media_type": str(data.get("media_type") or "image"),
        "label": data.get("label"),
        "position": int(position),
        "disabled": bool(data.get("disabled") or False),
        "types": types,
        "file": "",
    }
    return entry, name, image


def _entry_out(request: RestRequest, entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the media endpoints print it: with the file re-read as base64 content."""
    out = copy.deepcopy(entry)
    stored = request.emulator.media.get(entry["file"])
    if stored is not None:
        out["content"] = {
            "base64_encoded_data": base64.b64encode(stored.data).decode("ascii"),
            "type": stored.mime,
            "name": entry["file"].rsplit("/", 1)[-1],
        }
    return out


def _product(request: RestRequest) -> dict[str, Any]:
    product = request.emulator.store.find_by_sku(request.params["sku"])
    if product is None:
        raise product_not_found()
    return product


def create_entry(request: RestRequest) -> int:
    """``POST /V1/products/:sku/media``: validate, store the file, return the new id."""
    raw = request.body_param("entry")
    if not isinstance(raw, dict):
        raise MagentoError(400, CONTENT_INVALID)
    data = {snake(str(k)): v for k, v in raw.items()}
    store = request.emulator.store
    with store.lock:
        product = _product(request)
        entry, name, image = _new_entry(request, product, data)
        entry["file"] = request.emulator.media.store(name, image)
        product["media_gallery_entries"].append(entry)
        _take_roles(product["media_gallery_entries"], entry)
        product["updated_at"] = request.emulator.now()
    request.emulator.stats.record_write("media.created")
    return int(entry["id"])


def list_entries(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/products/:sku/media``: every entry, content included (large answers)."""
    with request.emulator.store.lock:
        product = _product(request)
        return [_entry_out(request, e) for e in product.get("media_gallery_entries", [])]


def get_entry(request: RestRequest) -> dict[str, Any]:
    """``GET /V1/products/:sku/media/:entryId``."""
    with request.emulator.store.lock:
        product = request.emulator.store.find_by_sku(request.params["sku"])
        if product is None:
            raise MagentoError(404, GET_PRODUCT_NOT_FOUND)
        for entry in product.get("media_gallery_entries", []):
            if str(entry["id"]) == request.params["entryId"]:
                return _entry_out(request, entry)
    raise MagentoError(404, GET_IMAGE_NOT_FOUND)


def _find(product: dict[str, Any], entry_id: Any) -> dict[str, Any]:
    for entry in product.get("media_gallery_entries", []):
        if str(entry["id"]) == str(entry_id):
            return entry
    raise MagentoError(404, ENTRY_NOT_FOUND)


def update_entry(request: RestRequest) -> bool:
    """``PUT /V1/products/:sku/media/:entryId``: label, position, disabled, roles → ``true``.

    The path id is forced into ``entry.id`` when the body holds only ``entry``
    (docs/reference/magento.md#request-format).
    """
    raw = request.body_param("entry")
    if not isinstance(raw, dict):
        raise MagentoError(400, CONTENT_INVALID)
    data = {snake(str(k)): v for k, v in raw.items()}
    only_entry = isinstance(request.body, dict) and len(request.body) == 1
    entry_id = request.params["entryId"] if only_entry or "id" not in data else data["id"]
    with request.emulator.store.lock:
        product = _product(request)
        entry = _find(product, entry_id)
        _update(entry, data)
        _take_roles(product["media_gallery_entries"], entry)
        product["updated_at"] = request.emulator.now()
    request.emulator.stats.record_write("media.updated")
    return True


def _update(entry: dict[str, Any], data: dict[str, Any]) -> None:
    if "label" in data:
        entry["label"] = data["label"]
    if data.get("position") is not None:
        entry["position"] = int(data["position"])
    if "disabled" in data:
        entry["disabled"] = bool(data["disabled"])
    if "types" in data:
        entry["types"] = _roles(data["types"])


def delete_entry(request: RestRequest) -> bool:
    """``DELETE /V1/products/:sku/media/:entryId`` → ``true``."""
    with request.emulator.store.lock:
        product = _product(request)
        entry = _find(product, request.params["entryId"])
        product["media_gallery_entries"].remove(entry)
        product["updated_at"] = request.emulator.now()
    request.emulator.stats.record_write("media.deleted")
    return True


def apply_saved_gallery(
    request: RestRequest, product: dict[str, Any], existing: dict[str, Any] | None, raw: Any
) -> None:
    """``media_gallery_entries`` in a product save is the full list
    (docs/reference/magento.md#product-save, #duplicated-images).

    Entries with a known id are updated, entries without id are created (content required),
    entries not listed are removed; ``[]`` removes every image. Validates everything before
    changing anything.

    Raises:
        MagentoError: 400 for a new entry without valid content, 404 for an unknown id.
    """
    if not isinstance(raw, list):
        raise MagentoError(400, CONTENT_INVALID)
    old = {str(e["id"]): e for e in (existing or {}).get("media_gallery_entries", [])}
    kept: list[dict[str, Any]] = []
    created: list[tuple[dict[str, Any], str, StoredImage]] = []
    for item in raw:
        data = {snake(str(k)): v for k, v in (item or {}).items()}
        if data.get("id") is not None:
            entry = copy.deepcopy(_find({"media_gallery_entries": list(old.values())}, data["id"]))
            _update(entry, data)
            kept.append(entry)
        else:
            created.append(_new_entry(request, {"media_gallery_entries": kept}, data, in_save=True))
    for entry, name, image in created:
        entry["file"] = request.emulator.media.store(name, image)
        kept.append(entry)
        request.emulator.stats.record_write("media.created")
    for entry in kept:
        if entry.get("types"):
            _take_roles(kept, entry)
    product["media_gallery_entries"] = kept


def routes() -> list[Route]:
    """The media routes of ``Magento/Catalog/etc/webapi.xml``."""
    acl = MEDIA_RESOURCE
    base = "/V1/products/:sku/media"
    return [
        Route("GET", base, "media.list", list_entries, acl),
        Route("GET", f"{base}/:entryId", "media.get", get_entry, acl),
        Route(
            "POST",
            base,
            "media.create",
            create_entry,
            acl,
            service=f"{_SERVICE}::create",
            body=("entry",),
        ),
        Route(
            "PUT",
            f"{base}/:entryId",
            "media.update",
            update_entry,
            acl,
            service=f"{_SERVICE}::update",
            body=("entry",),
        ),
        Route("DELETE", f"{base}/:entryId", "media.delete", delete_entry, acl),
    ]
