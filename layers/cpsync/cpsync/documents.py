"""The state documents cpsync keeps between runs, one typed model per kind, in one place.

`StatePort` stores small JSON documents per (kind, key). Reading them as plain dicts in many
modules spread the shape of each one over its readers; a `DocKind` names the kind and its
model, and reads and writes only validated models. Tasks and writers both import from here,
so no task needs `magento/` to read what a writer stored (or the other way round).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cpsync.model import ImageState, SpecialPrice
from cpsync.ports import StatePort

__all__ = [
    "IMAGE_DESIRED",
    "IMAGE_ENTRIES",
    "IMAGE_PENDING",
    "PRICE_SPECIAL",
    "SKU_CLASHES",
    "DocKind",
    "EntryRef",
    "ImageDesired",
    "ImageEntries",
    "ImagePending",
    "SkuClashes",
    "SpecialHeld",
]

M = TypeVar("M", bound=BaseModel)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ImageDesired(_Doc):
    """The gallery Image Changes wants for one SKU (docs `image_desired`)."""

    item_no: str
    fingerprint: str
    #: For an item's own SKU: the SKUs of its grid children (their galleries go with it).
    children: list[str] = Field(default_factory=list)
    state: dict[str, Any]

    def image_state(self) -> ImageState:
        """The stored gallery state as its model.

        Raises:
            pydantic.ValidationError: The stored state no longer reads as an `ImageState`.
        """
        return ImageState.model_validate(self.state)


class ImagePending(_Doc):
    """A gallery waiting for its product to be online (docs `image_pending`)."""

    item_no: str
    since: str = ""


class EntryRef(_Doc):
    """One gallery entry cpsync uploaded.

    Magento's id, the content digest, the source file, and the roles and position it was last
    given (None in documents written before these were kept: the gallery is then read from
    Magento).
    """

    id: int
    digest: str
    file: str
    types: list[str] | None = None
    position: int | None = None


class ImageEntries(_Doc):
    """The entries cpsync owns in one SKU's gallery (docs `image_entries`)."""

    entries: list[EntryRef] = Field(default_factory=list)


class SkuClashes(_Doc):
    """Magento SKUs two or more Counterpoint records claim, as the Items task last found them.

    Docs `sku_clashes`, key `all`: folded SKU -> claimant key -> how it claims the SKU.
    """

    owners: dict[str, dict[str, str]] = Field(default_factory=dict)


class SpecialHeld(_Doc):
    """The special price Magento holds for one SKU at one store, as cpsync last wrote or read it.

    Kept in docs `price_special`; `special` None: none. No document: unknown, so it is read.
    `loose_dates`: Magento's read showed no row, but the store may keep a start or end date
    without a price (a product save that cleared only `special_price`), which a save that
    leaves a date out would bring back.
    """

    store_id: int
    special: SpecialPrice | None = None
    loose_dates: bool = False


@dataclass(frozen=True)
class DocKind(Generic[M]):
    """A kind of state document and its model."""

    kind: str
    model: type[M]

    def get(self, state: StatePort, keys: Iterable[str] | None = None) -> dict[str, M]:
        """The documents for `keys` (all when None), by key.

        A document that no longer reads as its model (written by an older cpsync) is left
        out, as if it were missing.
        """
        found: dict[str, M] = {}
        for key, raw in state.get_docs(self.kind, None if keys is None else list(keys)).items():
            try:
                found[key] = self.model.model_validate(raw)
            except ValidationError:
                continue
        return found

    def put(self, state: StatePort, docs: dict[str, M]) -> None:
        """Store `docs` by key, replacing what was there; nothing is written when empty."""
        if docs:
            state.put_docs(self.kind, {k: d.model_dump(mode="json") for k, d in docs.items()})

    def delete(self, state: StatePort, keys: Iterable[str]) -> None:
        """Remove the documents of `keys`; a missing one is not an error."""
        keys = list(keys)
        if keys:
            state.delete_docs(self.kind, keys)


IMAGE_DESIRED = DocKind("image_desired", ImageDesired)
IMAGE_PENDING = DocKind("image_pending", ImagePending)
IMAGE_ENTRIES = DocKind("image_entries", ImageEntries)
SKU_CLASHES = DocKind("sku_clashes", SkuClashes)
PRICE_SPECIAL = DocKind("price_special", SpecialHeld)
