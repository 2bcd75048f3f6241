"""The product writer: one product save per product, never one request per field.

Changes of kind `product` carry either a simple product (ProductState) or a grid item
(ConfigurableState, payload `type = "configurable"`), which `magento.configurable` applies.

A new product goes up complete in one request (`plan_create()`, the one place that builds a
create): its fields, price and special price, stock, category links and images
(`media_gallery_entries` with base64 content, as many as fit `max_request_bytes`; the rest are
uploaded right after). What the create carried for the Price Changes, Inventory, Category
Items and Image tasks is then recorded as sent and applied for them, so they send nothing for
it. A refused image does not stop the product: it is created without images, and the uploads
that follow name the file Magento refused, failing (and parking) the product record.

A product that exists gets its due gallery from the image writer after its save, inside the
same record; a failed upload fails the product record, retried or parked like any other.

Which SKUs exist: state's Magento ids, else one search per 50 SKUs, except on a first load
into an empty store (`EMPTY_STORE`), where a SKU state does not know is new.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from cpsync.errors import DataError
from cpsync.magento.bulk import BULK_CONSUMER
from cpsync.magento.categories import (
    new_product_categories,
    remember_links,
)
from cpsync.magento.client import MagentoClient
from cpsync.magento.configurable import ConfigurableSaver, OptionValues
from cpsync.magento.inventory import InventoryApi, SourceItem
from cpsync.magento.media import create_carrying_images
from cpsync.magento.product_fields import (
    VISIBILITY_CATALOG_SEARCH,
    CreateRules,
    add_special_price,
    carried_records,
    links_carried,
    note_carried,
    owned_fields,
    stock_item_of,
)
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import (
    Change,
    ConfigurableState,
    Kind,
    ProductState,
)
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.bulk import BulkRunner
    from cpsync.magento.importer import ProductImporter
    from cpsync.magento.media import ImageWriter

__all__ = [
    "CreatePlan",
    "ProductWriter",
    "build_product_payload",
    "plan_create",
    "plan_product_save",
]

logger = logging.getLogger(__name__)


@dataclass
class CreatePlan:
    """A create: the `product` body, and what it applies for other tasks.

    `carried` maps kind to the fingerprint of the record the create applies (`price`,
    `stock`, `category_links`); `source_items` are MSI rows that must follow the create
    (stock at sources other than the default one, which the legacy stock item cannot set).
    """

    product: dict[str, Any]
    carried: dict[str, str] = field(default_factory=dict)
    source_items: list[SourceItem] = field(default_factory=list)


def build_product_payload(
    state: ProductState,
    create: bool,
    attribute_set_id: int = 4,
    category_ids: Sequence[int] = (),
    stock_item: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `product` object of a save request.

    An update sends only what the Items task owns (so price, stock and category links, owned
    by their own tasks, are never overwritten); a create sends a complete product with price,
    stock and its Magento `category_ids` as `category_links` (see `plan_create`). Fields that
    are None are left as they are in Magento.
    """
    product = owned_fields(state)
    if create:
        price = state.price_record.price if state.price_record is not None else state.price
        if stock_item is None:
            stock_item, _, _ = stock_item_of(None, state.qty, "msi")
        product.update(
            {
                "attribute_set_id": attribute_set_id,
                "type_id": "simple",
                "visibility": VISIBILITY_CATALOG_SEARCH,
                "price": float(price) if price is not None else None,
                "extension_attributes": {"stock_item": stock_item},
            }
        )
        if category_ids:
            product["extension_attributes"]["category_links"] = [
                {"position": 0, "category_id": str(i)} for i in category_ids
            ]
    return product


#: How long a check's "the async bulk consumer runs" is trusted for first loads.
BULK_SEEN_FOR = timedelta(days=7)


def bulk_consumer_seen(state: StatePort) -> bool:
    """Whether the last `cpsync check` saw the store's async bulk consumer work, within a week.

    A consumer stopped since then makes bulk saves wait and retry, never lose.
    """
    seen = state.get_option(BULK_CONSUMER)
    if not isinstance(seen, dict) or seen.get("runs") is not True:
        return False
    return datetime.now(UTC) - datetime.fromisoformat(str(seen["at"])) < BULK_SEEN_FOR


def plan_create(
    state: ProductState,
    rules: CreateRules,
    attribute_set_id: int = 4,
    category_ids: Sequence[int] = (),
) -> CreatePlan:
    """The complete create of a new simple product and what it applies for other tasks.

    The one place a new product's body is built (single saves, async bulk and import reuse
    it); images are added by the caller (`ImageWriter.create_entries`), which has the bytes.

    Raises:
        DataError: the product has no price.
    """
    if state.price is None and state.price_record is None:
        raise DataError(f"item {state.sku}: no Price-1, and a new product needs a price")
    stock_item, stock_carried, source_items = stock_item_of(
        state.stock_record, state.qty, rules.stock_mode
    )
    product = build_product_payload(state, True, attribute_set_id, category_ids, stock_item)
    carried = carried_records(state.price_record, state.stock_record, stock_carried, rules)
    add_special_price(product, state.price_record, rules)
    carried |= links_carried(state, len(category_ids))
    return CreatePlan(product, carried, source_items)


def plan_product_save(
    state: ProductState,
    create: bool,
    attribute_set_id: int = 4,
    category_ids: Sequence[int] = (),
    rules: CreateRules | None = None,
) -> dict[str, Any] | None:
    """The `product` body to save, or None when there is nothing to send.

    `category_ids` are the Magento categories a new product is created in.

    Raises:
        DataError: a new product has no price.
    """
    if create and not state.enabled:
        return None  # never create a product only to disable it
    if create:
        return plan_create(state, rules or CreateRules(), attribute_set_id, category_ids).product
    return build_product_payload(state, create, attribute_set_id, category_ids)


class ProductWriter(Writer):
    """Saves products; finds which exist from state, else with one search per 50 SKUs.

    Args:
        client: The Magento client.
        state: Where known Magento product ids are kept.
        attribute_set_id: Attribute set for new products.
        rules: How creates carry price, stock and images (defaults: MSI, global prices, 8 MB).
    """

    kind: ClassVar[Kind] = "product"
    #: Kinds a create applies too (recorded by `note_carried`): the updater checks queued
    #: Changes of these kinds again after this writer ran.
    also_applies: ClassVar[tuple[Kind, ...]] = ("category_links", "stock", "price", "image")

    def __init__(
        self,
        client: MagentoClient,
        state: StatePort,
        attribute_set_id: int = 4,
        concurrency: int = 4,
        bulk: BulkRunner | None = None,
        galleries: ImageWriter | None = None,
        rules: CreateRules | None = None,
        bulk_always: bool = True,
        importer: ProductImporter | None = None,
    ) -> None:
        super().__init__(concurrency)
        self.client = client
        self.state = state
        self.attribute_set_id = attribute_set_id
        self.rules = rules or CreateRules()
        self.bulk = bulk  # async bulk for batches of at least bulk.min_batch (off when None)
        # Every large batch through bulk (on), or only first loads once check saw a consumer.
        self.bulk_always = bulk_always
        # One pool of save slots for simple products and grid children alike.
        self.slots = threading.BoundedSemaphore(concurrency)
        self.configurable = ConfigurableSaver(
            client,
            state,
            OptionValues(client, state),
            attribute_set_id,
            concurrency,
            self.slots,
            galleries=galleries,
            rules=self.rules,
        )
        # Brings each applied product's gallery when it is due (None: images are not synced).
        self.galleries = galleries
        self.importer = importer  # Magento's import for large first loads (None: never)

    @property
    def galleries(self) -> ImageWriter | None:
        """The image writer new products get their images from (None: no images)."""
        return self.configurable.galleries

    @galleries.setter
    def galleries(self, writer: ImageWriter | None) -> None:
        self.configurable.galleries = writer

    def _use_bulk(self, simple: Sequence[Change], existing: dict[str, int]) -> bool:
        """Whether to save through async bulk.

        Yes when it is on (CPSYNC_MAGENTO_BULK_PRODUCTS), or for a first load of many new
        products when `cpsync check` saw the store's consumer run.
        """
        if self.bulk is None or len(simple) < self.bulk.min_batch:
            return False
        if self.bulk_always:
            return True
        new = sum(1 for c in simple if c.key not in existing)
        return new >= self.bulk.min_batch and bulk_consumer_seen(self.state)

    def _existing(self, skus: list[str]) -> dict[str, int]:
        return self.configurable.existing(skus)

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Save products, one request each (a new one complete), or through import or bulk.

        Returns:
            One outcome per Change's key.
        """
        # A large first load goes through Magento's import first (magento/importer.py); what
        # Magento does not hold afterwards is saved below, one product at a time.
        imported = self.importer.apply(changes) if self.importer is not None else {}
        if imported:
            rest = [c for c in changes if c.key not in imported]
            outcomes = {**imported, **(self._apply(rest) if rest else {})}
            if self.galleries is not None:
                self._bring_galleries_of(
                    self.galleries, [c for c in changes if c.key in imported], outcomes
                )
            return outcomes
        return self._apply(changes)

    def _bring_galleries_of(
        self, galleries: ImageWriter, changes: Sequence[Change], outcomes: dict[str, Outcome]
    ) -> None:
        grids = {
            c.key: ConfigurableState.model_validate(c.payload)
            for c in changes
            if c.payload.get("type") == "configurable"
        }
        states = {
            c.key: ProductState.model_validate(c.payload) for c in changes if c.key not in grids
        }
        self._bring_galleries(galleries, changes, grids, states, outcomes)

    def _apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        grids = {
            c.key: ConfigurableState.model_validate(c.payload)
            for c in changes
            if c.payload.get("type") == "configurable"
        }
        simple = [c for c in changes if c.key not in grids]
        states = {c.key: ProductState.model_validate(c.payload) for c in simple}
        # One lookup for the batch: simple SKUs, grid parents and their children.
        family = [s for g in grids.values() if g.enabled for s in (g.sku, *g.child_skus())]
        existing = self._existing([*states, *family]) if states or family else {}
        outcomes: dict[str, Outcome] = {}
        one_by_one: list[Change] = list(changes)
        if self._use_bulk(simple, existing):
            assert self.bulk is not None
            outcomes = self.bulk.save_products(
                simple,
                states,
                existing,
                self.attribute_set_id,
                self.state,
                rules=self.rules,
                galleries=self.galleries,
            )
            one_by_one = [c for c in changes if c.key in grids]

        creates = _Creates(self, [s for key, s in states.items() if key not in existing])

        def save(change: Change) -> None:
            if change.key in grids:
                grid = grids[change.key]
                self.configurable.apply(
                    grid, existing, force=change.force, add_sources=creates.add_sources
                )
                return
            state = states[change.key]
            if change.key in existing:
                payload = plan_product_save(state, False, self.attribute_set_id)
                if payload is not None:
                    with self.slots:
                        self.client.save_product(payload)
                return
            if state.enabled:
                creates.create(state)

        outcomes.update(self.map_records(one_by_one, save))
        creates.finish()
        if self.galleries is not None:
            self._bring_galleries(self.galleries, changes, grids, states, outcomes)
        return outcomes

    def _bring_galleries(
        self,
        galleries: ImageWriter,
        changes: Sequence[Change],
        grids: dict[str, ConfigurableState],
        states: dict[str, ProductState],
        outcomes: dict[str, Outcome],
    ) -> None:
        """Upload the due galleries of the products just applied; a failure fails the product."""
        skus: dict[str, tuple[str, ...]] = {}
        for change in changes:
            if not outcomes[change.key].applied:
                continue
            grid = grids.get(change.key)
            if grid is not None and grid.enabled:
                skus[change.key] = (grid.sku, *grid.child_skus())
            elif grid is None and states[change.key].enabled:
                skus[change.key] = (change.key,)
        due = galleries.due([s for family in skus.values() for s in family])
        if not due:
            return
        owners = [c for c in changes if any(s in due for s in skus.get(c.key, ()))]

        def bring(change: Change) -> None:
            galleries.bring([due[s] for s in skus[change.key] if s in due])

        for key, outcome in self.map_records(owners, bring).items():
            if not outcome.applied:
                error = f"the product is saved, but its images are not: {outcome.error}"
                outcomes[key] = Outcome(
                    key, False, error, outcome.retryable, retry_after=outcome.retry_after
                )


class _Creates:
    """The creates of one batch: each product in one request.

    Then one state write per kind for what they carried, and one source-items call per 500
    rows where MSI needs them.
    """

    def __init__(self, writer: ProductWriter, creating: Sequence[ProductState]) -> None:
        self.writer = writer
        self.categories = new_product_categories(writer.state, creating)
        galleries = writer.galleries
        skus = [s.sku for s in creating if s.enabled]
        self.due = galleries.due(skus) if galleries is not None and skus else {}
        self.lock = threading.Lock()
        self.carried: dict[str, dict[str, str]] = {}
        self.sources: dict[str, tuple[str, list[SourceItem]]] = {}

    def create(self, state: ProductState) -> None:
        """Create one product complete (see the module docstring).

        Raises:
            DataError: The product has no price.
            MagentoError: Magento refused the product (or, once it is saved, an image).
        """
        writer = self.writer
        categories = self.categories.get(state.sku, [])
        plan = plan_create(state, writer.rules, writer.attribute_set_id, categories)
        gallery = self.due.get(state.sku)
        if gallery is not None and writer.galleries is not None:
            plan.product = writer.galleries.with_entries(
                plan.product, gallery, writer.rules.max_request_bytes
            )
        with writer.slots:
            saved, categories = create_carrying_images(writer.client, plan.product, categories)
        if "id" in saved:
            writer.state.put_magento_ids("product", {state.sku: int(saved["id"])})
        if state.category_ids:
            remember_links(writer.state, state.sku, categories)
            if len(categories) != len(state.category_ids):
                plan.carried.pop("category_links", None)
        with self.lock:
            for kind, print_ in plan.carried.items():
                self.carried.setdefault(kind, {})[state.sku] = print_
        if plan.source_items and state.stock_record is not None:
            self.add_sources(state.sku, state.stock_record.fingerprint(), plan.source_items)
        if gallery is not None and writer.galleries is not None:
            writer.galleries.finish_create(gallery, saved)

    def add_sources(self, sku: str, fingerprint: str, rows: list[SourceItem]) -> None:
        """Send these MSI source items of a new product (a simple or a grid child) at `finish`.

        `fingerprint` is its stock record's: the record counts as applied once they went.
        """
        with self.lock:
            self.sources[sku] = (fingerprint, rows)

    def finish(self) -> None:
        """Send the MSI source items the creates need, then record what the creates carried."""
        if self.sources:
            self._send_sources()
        if self.carried:
            note_carried(self.writer.state, self.carried)

    def _send_sources(self) -> None:
        """One call per 500 rows; a refused call leaves that stock to the Inventory task."""
        chunk: dict[str, tuple[str, list[SourceItem]]] = {}
        size = 0
        for sku, (print_, rows) in self.sources.items():
            if chunk and size + len(rows) > 500:  # a product of more rows goes alone
                self._send_chunk(chunk)
                chunk, size = {}, 0
            chunk[sku] = (print_, rows)
            size += len(rows)
        if chunk:
            self._send_chunk(chunk)

    def _send_chunk(self, chunk: dict[str, tuple[str, list[SourceItem]]]) -> None:
        """One source-items call; its products' stock counts as carried once it went."""
        try:
            InventoryApi(self.writer.client).save_source_items(
                [row for _, rows in chunk.values() for row in rows]
            )
        except Exception as exc:  # the Inventory task's Change brings this stock
            logger.warning("stock of %d new products not sent with them: %s", len(chunk), exc)
        else:
            for sku, (print_, _) in chunk.items():
                self.carried.setdefault("stock", {})[sku] = print_
