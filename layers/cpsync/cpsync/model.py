"""The Change message and the desired-state records it carries.

A Change holds the *full desired Magento state* of one record, so the updater never needs
Counterpoint and any Change can be applied on its own, in any order, any number of times.
`version` orders Changes of one (kind, key): `<source time UTC>/<detection sequence>`, both
zero-padded so that plain string comparison is the order (SQLite and DynamoDB compare strings).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "KINDS",
    "CategoryLinksState",
    "CategoryState",
    "Change",
    "ConfigurableState",
    "Desired",
    "GridChild",
    "GridOption",
    "ImageEntry",
    "ImageState",
    "Kind",
    "PriceState",
    "ProductState",
    "SourceQuantity",
    "SpecialPrice",
    "StockState",
    "fingerprint",
    "make_version",
    "new_run_id",
    "utc_now",
]

Kind = Literal["product", "category", "category_links", "stock", "price", "image"]
KINDS: tuple[Kind, ...] = ("product", "category", "category_links", "stock", "price", "image")


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
        return "n:" + format(number.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def fingerprint(payload: dict[str, Any]) -> str:
    """Content hash of a desired state: equal states give equal fingerprints.

    Numbers are normalised (10, 10.0 and Decimal('10.0000') are equal) and keys sorted, so
    a fingerprint survives a round trip through JSON and a different database driver.
    """
    text = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_last_seq = 0


def make_version(source_time: datetime | None, now: datetime | None = None) -> str:
    """A version string: source change time (UTC), then a detection sequence.

    The sequence is a nanosecond clock forced to increase within the process, so two Changes
    for one key detected in the same run still order by detection.
    """
    global _last_seq
    seq = max(time.time_ns(), _last_seq + 1)
    _last_seq = seq
    when = source_time or now or datetime.now(UTC)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return f"{when:%Y-%m-%dT%H:%M:%S.%f}/{seq:020d}"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock of tasks and the runtime)."""
    return datetime.now(UTC)


def new_run_id(task: str) -> str:
    """A sortable, readable run id: `<task>-<UTC time>-<ns>`."""
    return f"{task}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{time.time_ns() % 1_000_000_000:09d}"


class Change(BaseModel):
    """One record's desired Magento state, as it travels through the queue."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    key: str = Field(min_length=1)
    version: str
    fingerprint: str
    payload: dict[str, Any]
    task: str
    run_id: str
    detected_at: datetime
    # A manual "queue item" / "queue all": apply even if Magento already has this fingerprint.
    force: bool = False
    #: A "sync now" that waits for the updater (the agent): the outcome is noted under this id.
    reply: str | None = None

    def to_json(self) -> str:
        """Serialise for a queue message body."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, body: str) -> Change:
        """Parse a queue message body (raises pydantic.ValidationError when malformed)."""
        return cls.model_validate_json(body)


class Desired(BaseModel):
    """Base of desired-state records: a key, and the fields that count for change detection."""

    model_config = ConfigDict(frozen=True)

    kind: ClassVar[Kind]
    # Fields that travel with the record but must not trigger a Change when they alone differ.
    fingerprint_exclude: ClassVar[frozenset[str]] = frozenset()

    def key(self) -> str:  # pragma: no cover - every subclass overrides
        """The record's key in state and on the queue: a SKU or a category id."""
        raise NotImplementedError

    def publish_if_new(self) -> bool:
        """Whether a record never sent before should be sent at all."""
        return True

    def payload(self) -> dict[str, Any]:
        """The JSON-ready payload of the Change."""
        return self.model_dump(mode="json")

    def fingerprint(self) -> str:
        """Fingerprint over the tracked fields only."""
        return fingerprint(self.model_dump(mode="json", exclude=set(self.fingerprint_exclude)))


class ProductState(Desired):
    """A simple product as Magento should show it.

    `price` and `qty` are what a *new* product is created with, so a shopper never sees a
    product without price or stock; afterwards the Price and Inventory tasks own them, so they
    are excluded from the fingerprint and the product writer only sends them on create.
    """

    kind: ClassVar[Kind] = "product"
    fingerprint_exclude: ClassVar[frozenset[str]] = frozenset(
        {"price", "qty", "category_ids", "price_record", "stock_record"}
    )

    sku: str = Field(min_length=1, max_length=64)
    enabled: bool
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    short_description: str | None = None
    weight: Decimal | None = Field(default=None, ge=0)
    url_key: str | None = Field(default=None, min_length=1)
    price: Decimal | None = Field(default=None, ge=0)
    qty: Decimal = Decimal(0)
    # Counterpoint CATEG_IDs a *new* product is created in (category links owned by the
    # Category Items task afterwards, so not part of the fingerprint).
    category_ids: tuple[str, ...] = ()
    tax_class_id: int | None = None
    # For a product never sent: the records the Price and Inventory tasks would send for it
    # (built by their own code), so its create carries them and they are not sent again.
    price_record: PriceState | None = None
    stock_record: StockState | None = None

    @model_validator(mode="after")
    def _enabled_needs_name(self) -> ProductState:
        if self.enabled and (self.name is None or self.url_key is None):
            raise ValueError("an enabled product needs a name and a url_key")
        return self

    @classmethod
    def disabled(cls, sku: str) -> ProductState:
        """The state of an item that left e-commerce or was deleted: disabled, else untouched."""
        return cls(sku=sku, enabled=False)

    def key(self) -> str:
        """The SKU."""
        return self.sku

    def publish_if_new(self) -> bool:
        """A disabled product is never created: only products already online get disabled."""
        return self.enabled


class CategoryState(Desired):
    """An EC_CATEG category as Magento should show it (key: Counterpoint CATEG_ID).

    `parent_id` is the parent's CATEG_ID, None for a top-level category (PARENT_ID '0'), which
    goes under the store's root category. A category removed from Counterpoint is kept in
    Magento but deactivated (`active` false, the other fields None: left as they are).
    `depth` (1 = top level) lets the writer create parents before children; it follows from
    the tree, so it is not part of the fingerprint.
    """

    kind: ClassVar[Kind] = "category"
    fingerprint_exclude: ClassVar[frozenset[str]] = frozenset({"depth"})

    categ_id: str = Field(min_length=1)
    active: bool
    name: str | None = Field(default=None, min_length=1, max_length=255)
    parent_id: str | None = None
    position: int | None = None
    url_key: str | None = Field(default=None, min_length=1)
    description: str | None = None
    depth: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _active_needs_name(self) -> CategoryState:
        if self.active and (self.name is None or self.url_key is None):
            raise ValueError("an active category needs a name and a url_key")
        return self

    @classmethod
    def removed(cls, categ_id: str) -> CategoryState:
        """The state of a category deleted in Counterpoint: deactivated, never deleted."""
        return cls(categ_id=categ_id, active=False)

    def key(self) -> str:
        """The Counterpoint category id."""
        return self.categ_id

    def publish_if_new(self) -> bool:
        """A removed category that never reached Magento needs nothing."""
        return self.active


class CategoryLinksState(Desired):
    """The full set of Counterpoint categories one product belongs to (key: the product SKU).

    Grid items are linked through their configurable parent (the item number); the children
    are not linked. `is_product` says whether the Items task has sent the product: one it has
    not (yet) sent is not linked now but created in its categories later, so a links record
    for it is not published (and links never wait on a product that may never come).
    """

    kind: ClassVar[Kind] = "category_links"
    fingerprint_exclude: ClassVar[frozenset[str]] = frozenset({"is_product"})

    sku: str = Field(min_length=1, max_length=64)
    category_ids: tuple[str, ...] = ()
    is_product: bool = True

    @field_validator("category_ids")
    @classmethod
    def _as_sorted_set(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(value)))

    def key(self) -> str:
        """The SKU."""
        return self.sku

    def publish_if_new(self) -> bool:
        """An item never linked and in no category, or not a product yet, needs nothing now."""
        return bool(self.category_ids) and self.is_product


# --- Inventory and prices (tasks/inventory.py, tasks/prices.py) ---------------------------


class SourceQuantity(BaseModel):
    """One MSI source item: the quantity at a source and whether it is sellable there."""

    model_config = ConfigDict(frozen=True)

    source_code: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    quantity: Decimal
    in_stock: bool


class StockState(Desired):
    """The stock of one SKU: one entry per MSI source (one entry when locations are summed).

    Stores without MSI get the sum of the entries as their legacy stock item.
    """

    kind: ClassVar[Kind] = "stock"

    sku: str = Field(min_length=1, max_length=64)
    sources: tuple[SourceQuantity, ...] = Field(min_length=1)

    def key(self) -> str:
        """The SKU."""
        return self.sku

    @property
    def total(self) -> Decimal:
        """Quantity over every source (the legacy stock item's qty)."""
        return sum((s.quantity for s in self.sources), Decimal(0))

    @property
    def in_stock(self) -> bool:
        """Sellable at any source (the legacy stock item's is_in_stock)."""
        return any(s.in_stock for s in self.sources)


class SpecialPrice(BaseModel):
    """A promotional price with its window, dates as Magento wants them (`YYYY-MM-DD hh:mm:ss`)."""

    model_config = ConfigDict(frozen=True)

    price: Decimal = Field(ge=0)
    price_from: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    price_to: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


class PriceState(Desired):
    """The regular price (Price-1) of one SKU and its promotional price, if any, now or soon."""

    kind: ClassVar[Kind] = "price"

    sku: str = Field(min_length=1, max_length=64)
    price: Decimal = Field(ge=0)
    special: SpecialPrice | None = None

    def key(self) -> str:
        """The SKU."""
        return self.sku


# --- Grid items: configurable products (Items task) ------------------------------------------


class GridOption(BaseModel):
    """One configurable option: a grid dimension as a Magento dropdown attribute.

    `values` are the dimension's display values in Counterpoint's order; the writer maps each
    to the attribute's option id (creating the option value when Magento lacks it).
    """

    model_config = ConfigDict(frozen=True)

    code: str = Field(min_length=1)
    label: str = Field(min_length=1)
    values: list[str]


#: What a grid cell carries only for its create (owned by the Price and Inventory tasks after).
CREATE_ONLY = ("price", "qty", "price_record", "stock_record")


class GridChild(BaseModel):
    """One grid cell as a simple product, not visible on its own.

    `attributes` maps attribute code to the cell's display value. `price` and `qty` are
    create-only, as for ProductState.
    """

    model_config = ConfigDict(frozen=True)

    sku: str = Field(min_length=1, max_length=64)
    enabled: bool
    name: str | None = None
    url_key: str | None = None
    weight: Decimal | None = Field(default=None, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict)
    price: Decimal | None = Field(default=None, ge=0)
    qty: Decimal = Decimal(0)
    # As for ProductState: what the Price and Inventory tasks would send for a new cell.
    price_record: PriceState | None = None
    stock_record: StockState | None = None

    def fingerprint(self) -> str:
        """Fingerprint of what the Items task owns (price and stock excluded)."""
        return fingerprint(self.model_dump(mode="json", exclude=set(CREATE_ONLY)))


class ConfigurableState(Desired):
    """A grid item as Magento should show it: a configurable parent and one child per cell.

    Key: the item number (the parent SKU). A Change carries the whole family, so a parent is
    never created without its options and children; the writer saves only the children whose
    own fingerprint moved. Price and stock are excluded from the fingerprint, as for simple
    products: afterwards the Price and Inventory tasks own them.
    """

    kind: ClassVar[Kind] = "product"

    type: Literal["configurable"] = "configurable"
    sku: str = Field(min_length=1, max_length=64)
    enabled: bool
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    short_description: str | None = None
    weight: Decimal | None = Field(default=None, ge=0)
    url_key: str | None = Field(default=None, min_length=1)
    tax_class_id: int | None = None
    options: list[GridOption] = Field(default_factory=list)
    children: list[GridChild] = Field(default_factory=list)
    # Counterpoint CATEG_IDs the parent is created in (then owned by Category Items).
    category_ids: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _enabled_needs_cells(self) -> ConfigurableState:
        if self.enabled and (self.name is None or self.url_key is None):
            raise ValueError("an enabled product needs a name and a url_key")
        if self.enabled and not (self.options and self.children):
            raise ValueError("a grid item needs at least one dimension and one cell")
        return self

    @classmethod
    def disabled(cls, sku: str, child_skus: list[str]) -> ConfigurableState:
        """A grid item that left e-commerce or was deleted: parent and children disabled."""
        return cls(
            sku=sku, enabled=False, children=[GridChild(sku=s, enabled=False) for s in child_skus]
        )

    def key(self) -> str:
        """The SKU."""
        return self.sku

    def child_skus(self) -> list[str]:
        """The SKUs of the children, in order."""
        return [c.sku for c in self.children]

    def publish_if_new(self) -> bool:
        """Never create a grid item only to disable it."""
        return self.enabled

    def fingerprint(self) -> str:
        """Over everything but the create-only price and stock of the children."""
        exclude: Any = {"children": {"__all__": set(CREATE_ONLY)}, "category_ids": True}
        return fingerprint(self.model_dump(mode="json", exclude=exclude))

    def parent_fingerprint(self) -> str:
        """Fingerprint of the parent's own fields (a save is needed when it moves)."""
        parent_only = {"children", "options", "category_ids"}
        return fingerprint(self.model_dump(mode="json", exclude=parent_only))


# --- images ---------------------------------------------------------------------------------


class ImageEntry(BaseModel):
    """One gallery entry a product should have; the bytes are in the blob store under `digest`."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(min_length=1, description="Source file name in the ItemImages folder.")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the prepared bytes.")
    mime: str
    name: str = Field(min_length=1, description="File name sent to Magento.")
    position: int = Field(ge=0)
    roles: tuple[str, ...] = ()


class ImageState(Desired):
    """The whole image gallery cpsync owns for one SKU (key: the SKU).

    One record per product rather than per file, so the writer sees the full desired set
    and can remove what Counterpoint no longer has. An empty list removes our images.
    """

    kind: ClassVar[Kind] = "image"

    sku: str = Field(min_length=1, max_length=64)
    images: tuple[ImageEntry, ...] = ()

    def key(self) -> str:
        """The SKU."""
        return self.sku

    def publish_if_new(self) -> bool:
        """A product never sent images needs no empty gallery."""
        return bool(self.images)


ProductState.model_rebuild()
