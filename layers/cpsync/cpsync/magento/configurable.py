"""Grid items as configurable products: option values, children, parent, links.

Order of a new grid item, so the shopper never sees half a product: the option values
exist (created when missing), then the children (complete, with price and stock, not visible
individually), then the parent in *one* save that carries its options and child links
(docs/reference/magento.md#configurable-products: both may be sent in the save body). A known grid
item is brought up to date with as few requests as what changed needs: only children whose own
fingerprint moved are saved, a new cell is created and linked (`POST .../child`), a cell gone is
unlinked and disabled.

The configurable routes carry the parent SKU in the path, with no body or search form: a grid
item number containing `/` needs Apache's `AllowEncodedSlashes NoDecode`
(docs/reference/magento.md#skus-with-slashes).

State documents: kind `attribute_option` (per attribute code: its id and option ids by
label) and kind `configurable` (per parent SKU: the parent fingerprint, the child
fingerprints and the option attributes last applied).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cpsync.errors import RecordError
from cpsync.magento.attribute_options import ATTRIBUTE_DOC_KIND, OptionValues
from cpsync.magento.categories import new_product_categories, remember_links
from cpsync.magento.client import MagentoClient, search_params, sku_path
from cpsync.magento.errors import MagentoRecordError
from cpsync.magento.grid_payloads import (
    build_child_payload,
    build_parent_payload,
    child_carried,
    child_source_items,
)
from cpsync.magento.media import create_carrying_images
from cpsync.magento.product_fields import (
    STATUS_DISABLED,
    CreateRules,
    links_carried,
    note_carried,
)
from cpsync.model import ConfigurableState, GridChild, ImageState
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.inventory import SourceItem
    from cpsync.magento.media import ImageWriter

# The option values and the bodies live in their own modules; their names stay importable here.
__all__ = [
    "ATTRIBUTE_DOC_KIND",
    "EMPTY_STORE",
    "GRID_DOC_KIND",
    "ConfigurableSaver",
    "OptionValues",
    "build_child_payload",
    "build_parent_payload",
    "child_carried",
]

logger = logging.getLogger(__name__)

#: Takes a new child's MSI source items for the batch's one call: SKU, stock fingerprint, rows.
AddSources = Callable[[str, str, "list[SourceItem]"], None]

#: Option: whether Magento had no product when cpsync first looked, and when (`_first_load`).
EMPTY_STORE = "magento.empty_store"
#: How long after finding the store empty a SKU state does not know is taken as new.
FIRST_LOAD = timedelta(hours=24)
GRID_DOC_KIND = "configurable"


def doc_of(state: StatePort, sku: str) -> dict[str, Any]:
    """The family document of a parent SKU (empty when none was written yet)."""
    return state.get_docs(GRID_DOC_KIND, [sku]).get(sku) or {}


class ConfigurableSaver:
    """Applies one ConfigurableState: children, parent, options and links.

    Args:
        client: The Magento client.
        state: Magento ids and the documents described in the module docstring.
        options: Shared option-value resolver.
        attribute_set_id: Attribute set of new products.
        concurrency: Children of one family saved at once.
        slots: Shared with the product writer, so saves in flight never exceed its
            concurrency however records and children are spread over threads.
        galleries: The image writer: new products are created with their images.
        rules: How creates carry price, stock and images.
    """

    def __init__(
        self,
        client: MagentoClient,
        state: StatePort,
        options: OptionValues,
        attribute_set_id: int = 4,
        concurrency: int = 4,
        slots: threading.Semaphore | None = None,
        galleries: ImageWriter | None = None,
        rules: CreateRules | None = None,
    ) -> None:
        self.galleries = galleries
        self.rules = rules or CreateRules()
        self.client = client
        self.state = state
        self.options = options
        self.attribute_set_id = attribute_set_id
        self.concurrency = concurrency
        self.slots = slots or threading.BoundedSemaphore(concurrency)

    def existing(self, skus: list[str]) -> dict[str, int]:
        """Magento ids of the SKUs that exist.

        From state, else one search per 50 SKUs (none on a first load into an empty store,
        where a SKU state does not know is new).
        """
        known = self.state.get_magento_ids("product", skus)
        unknown = [s for s in skus if s not in known]
        if unknown and not self._first_load():
            found = self.client.find_products(unknown)
            fresh = {s: int(found[s.lower()]["id"]) for s in unknown if s.lower() in found}
            self.state.put_magento_ids("product", fresh)
            known.update(fresh)
        return known

    def _first_load(self) -> bool:
        """Whether cpsync is loading a store that had no product when it first looked.

        One search of one row, once: every product there since was created by cpsync and is
        in state. Trusted for `FIRST_LOAD`; a create of a SKU someone added by hand meanwhile
        is still safe, since a product save upserts by SKU.
        """
        seen = self.state.get_option(EMPTY_STORE)
        now = datetime.now(UTC)
        if not isinstance(seen, dict):
            result = self.client.search_products(search_params([], page_size=1))
            seen = {"empty": int(result.get("total_count") or 0) == 0, "at": now.isoformat()}
            self.state.set_option(EMPTY_STORE, seen)
        if not seen.get("empty"):
            return False
        return now - datetime.fromisoformat(str(seen["at"])) < FIRST_LOAD

    def _save(self, product: dict[str, Any]) -> int:
        with self.slots:
            saved = self.client.save_product(product)
        return int(saved["id"])

    def _save_children(
        self,
        state: ConfigurableState,
        existing: dict[str, int],
        option_ids: dict[str, dict[str, int]],
        sent: dict[str, str],
        add_sources: AddSources | None = None,
    ) -> dict[str, int]:
        """Save the children that are new or whose own fields moved, several at once.

        Returns the Magento ids of the children created; `sent` gets the new fingerprints.
        When a save fails, what did succeed is kept (ids and fingerprints, the family marked
        unlinked) before the error goes on, so a retry continues where this one stopped
        instead of starting over (a big family under a flaky store still finishes).

        Raises:
            Exception: The first failed save, after the progress is kept.
        """
        todo = [
            c for c in state.children if c.sku not in existing or sent.get(c.sku) != c.fingerprint()
        ]
        created: dict[str, int] = {}
        carried: dict[str, dict[str, str]] = {}
        lock = threading.Lock()
        due = self._due([c.sku for c in todo if c.sku not in existing and c.enabled])

        def save(child: GridChild) -> None:
            create = child.sku not in existing
            body = build_child_payload(
                child,
                create,
                option_ids[child.sku],
                self.attribute_set_id,
                state.tax_class_id,
                self.rules,
            )
            if not create:
                self._save(body)
                with lock:
                    sent[child.sku] = child.fingerprint()
                return
            saved = self._create(body, [], due.get(child.sku))
            with lock:
                sent[child.sku] = child.fingerprint()
                created[child.sku] = int(saved["id"])
                for kind, print_ in child_carried(child, self.rules).items():
                    carried.setdefault(kind, {})[child.sku] = print_
            rows = child_source_items(child, self.rules)
            if rows and add_sources is not None and child.stock_record is not None:
                add_sources(child.sku, child.stock_record.fingerprint(), rows)
            self._after_create(due.get(child.sku), saved)

        try:
            workers = min(self.concurrency, len(todo))
            if workers <= 1:
                for child in todo:
                    save(child)
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    for future in [pool.submit(save, c) for c in todo]:
                        future.result()
        except Exception:
            self.state.put_magento_ids("product", created)
            note_carried(self.state, carried)
            progress = {**doc_of(self.state, state.sku), "children": sent, "linked": False}
            self.state.put_docs(GRID_DOC_KIND, {state.sku: progress})
            raise
        note_carried(self.state, carried)
        return created

    def _due(self, skus: list[str]) -> dict[str, ImageState]:
        """The galleries of these new products (one state read)."""
        if self.galleries is None or not skus:
            return {}
        return self.galleries.due(skus)

    def _create(
        self,
        body: dict[str, Any],
        categories: list[int],
        gallery: ImageState | None,
    ) -> dict[str, Any]:
        """Create a product with as many of its images as fit; returns the saved product."""
        if gallery is not None and self.galleries is not None:
            body = self.galleries.with_entries(body, gallery, self.rules.max_request_bytes)
        with self.slots:
            saved, got = create_carrying_images(self.client, body, categories)
        categories[:] = got
        return saved

    def _after_create(self, gallery: ImageState | None, saved: dict[str, Any]) -> None:
        """Note the created entries and upload the images the create did not carry.

        Raises:
            Exception: The images did not all go up (the product is saved).
        """
        if gallery is not None and self.galleries is not None:
            self.galleries.finish_create(gallery, saved)

    def apply(
        self,
        state: ConfigurableState,
        known: dict[str, int] | None = None,
        force: bool = False,
        add_sources: AddSources | None = None,
    ) -> None:
        """Bring Magento to `state` (see the module docstring for the order).

        Args:
            state: The grid item as Magento should show it.
            known: Magento ids already looked up for a batch (saves one search per item).
            force: Save the parent and every child and check options and links against
                Magento, whatever was written last ("queue all", `cpsync verify --repair`:
                a family edited in Magento is put right).
            add_sources: Takes the MSI source items of new children (stock at sources other
                than the default one, which a create cannot carry), sent for the whole batch
                after its creates; without it the Inventory task sends them.
        """
        doc = doc_of(self.state, state.sku)
        if not state.enabled:
            self._disable(state, doc)
            return
        if force:
            doc = {}
        skus = [state.sku, *(c.sku for c in state.children)]
        existing = (
            {s: known[s] for s in skus if s in known} if known is not None else self.existing(skus)
        )
        option_ids, options_body = self._option_ids(state)
        sent: dict[str, str] = dict(doc.get("children", {}))
        new_ids = self._save_children(state, existing, option_ids, sent, add_sources)
        self.state.put_magento_ids("product", new_ids)
        existing.update(new_ids)
        try:
            self._parent_and_links(state, doc, existing, options_body, sent)
        except Exception:  # keep the children's progress (see _save_children), then fail
            progress = {**doc, "children": sent, "linked": False}
            self.state.put_docs(GRID_DOC_KIND, {state.sku: progress})
            raise
        wanted = {c.sku for c in state.children}
        self.state.put_docs(
            GRID_DOC_KIND,
            {
                state.sku: {
                    "parent": state.parent_fingerprint(),
                    "children": {s: p for s, p in sent.items() if s in wanted},
                    "options": sorted(o.code for o in state.options),
                    "linked": True,
                }
            },
        )

    def _parent_and_links(
        self,
        state: ConfigurableState,
        doc: dict[str, Any],
        existing: dict[str, int],
        options_body: list[dict[str, Any]],
        sent: dict[str, str],
    ) -> None:
        """Create the parent complete, or update it and bring its options and links in step."""
        child_ids = [existing[c.sku] for c in state.children]
        parent_print = state.parent_fingerprint()
        if state.sku not in existing:
            categories = new_product_categories(self.state, [state])[state.sku]
            wanted = len(categories)
            body = build_parent_payload(
                state, True, self.attribute_set_id, options_body, child_ids, categories
            )
            gallery = self._due([state.sku]).get(state.sku)
            saved = self._create(body, categories, gallery)
            self.state.put_magento_ids("product", {state.sku: int(saved["id"])})
            if state.category_ids:
                remember_links(self.state, state.sku, categories)
                if len(categories) == wanted:
                    links = links_carried(state, wanted)
                    note_carried(self.state, {k: {state.sku: p} for k, p in links.items()})
            self._after_create(gallery, saved)
        else:
            if doc.get("parent") != parent_print:
                self._save(build_parent_payload(state, False))
            self._reconcile(state, doc, options_body, sent)

    def _option_ids(
        self, state: ConfigurableState
    ) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        """Per child, attribute code -> option id; and the parent's options body."""
        by_code: dict[str, dict[str, int]] = {}
        body: list[dict[str, Any]] = []
        for position, option in enumerate(state.options):
            attribute_id, ids = self.options.resolve(option.code, option.values)
            by_code[option.code] = {label.lower(): i for label, i in ids.items()}
            body.append(
                {
                    "attribute_id": str(attribute_id),
                    "label": option.label,
                    "position": position,
                    "is_use_default": True,
                    "values": [{"value_index": ids[v]} for v in option.values],
                }
            )
        per_child: dict[str, dict[str, int]] = {}
        for child in state.children:
            try:
                per_child[child.sku] = {
                    code: by_code[code][value.lower()] for code, value in child.attributes.items()
                }
            except KeyError as exc:
                raise RecordError(f"child {child.sku}: no option value for {exc}") from exc
        return per_child, body

    def _reconcile(
        self,
        state: ConfigurableState,
        doc: dict[str, Any],
        options_body: list[dict[str, Any]],
        sent: dict[str, str],
    ) -> None:
        """Options and links of a known parent, checked against Magento only when they moved."""
        wanted = [c.sku for c in state.children]
        codes = sorted(o.code for o in state.options)
        settled = doc.get("linked", True) and doc.get("options") == codes
        if settled and set(doc.get("children", {})) == set(wanted):
            return
        have = self._option_attributes(state.sku)
        for option in options_body:
            if option["attribute_id"] not in have:
                self._add_option(state.sku, option)
        linked = self._linked(state.sku)
        for sku in wanted:
            if sku.lower() not in linked:
                self._link(state.sku, sku)
        keep = {w.lower() for w in wanted}
        for low, sku in linked.items():
            if low not in keep:
                self._unlink(state.sku, sku)
                self._save({"sku": sku, "status": STATUS_DISABLED})
                sent.pop(sku, None)

    # Each write below may be a retry whose first attempt Magento applied (the answer was
    # lost): a refusal is checked against Magento's own list before it counts as a failure.

    def _option_attributes(self, sku: str) -> set[str]:
        path = f"configurable-products/{sku_path(sku)}/options/all"
        present = self.client.request("GET", path, endpoint="configurable.options.list")
        return {str(o.get("attribute_id")) for o in present or []}

    def _linked(self, sku: str) -> dict[str, str]:
        path = f"configurable-products/{sku_path(sku)}/children"
        children = self.client.request("GET", path, endpoint="configurable.children.list")
        return {str(c["sku"]).lower(): str(c["sku"]) for c in children or []}

    def _add_option(self, sku: str, option: dict[str, Any]) -> None:
        path = f"configurable-products/{sku_path(sku)}/options"
        try:
            self.client.request(
                "POST", path, endpoint="configurable.options.save", json={"option": option}
            )
        except MagentoRecordError:
            if option["attribute_id"] not in self._option_attributes(sku):
                raise

    def _link(self, sku: str, child: str) -> None:
        path = f"configurable-products/{sku_path(sku)}/child"
        try:
            self.client.request(
                "POST", path, endpoint="configurable.child.add", json={"childSku": child}
            )
        except MagentoRecordError:
            if child.lower() not in self._linked(sku):  # "already attached" is success
                raise

    def _unlink(self, sku: str, child: str) -> None:
        path = f"configurable-products/{sku_path(sku)}/children/{sku_path(child)}"
        try:
            self.client.request("DELETE", path, endpoint="configurable.child.remove")
        except MagentoRecordError:
            if child.lower() in self._linked(sku):
                raise

    def _disable(self, state: ConfigurableState, doc: dict[str, Any]) -> None:
        """Disable the parent and every child Magento has; nothing is created or deleted.

        The children's fingerprints are forgotten, so re-enabling the item saves them again.
        """
        linked = list(doc.get("children", {}))
        skus = list(dict.fromkeys([state.sku, *(c.sku for c in state.children), *linked]))
        existing = self.existing(skus)
        for sku in skus:
            if sku in existing:
                self._save({"sku": sku, "status": STATUS_DISABLED})
        if doc:
            forgotten: dict[str, Any] = {
                "parent": None,
                "children": dict.fromkeys(linked, ""),
                "options": [],
            }
            self.state.put_docs(GRID_DOC_KIND, {state.sku: {**doc, **forgotten}})
