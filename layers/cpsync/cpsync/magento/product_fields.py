"""The product fields the Items task owns, and what a create carries for the other tasks.

The fields are shared by simple products and configurable parents; a create also carries the
price, special price and stock.

One place builds them, so a simple product, a grid child and a grid parent can never disagree
on how a name, a weight, a tax class, a special price or a stock item reaches Magento.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from cpsync.documents import PRICE_SPECIAL, SpecialHeld
from cpsync.magento.inventory import SourceItem, build_source_items
from cpsync.model import (
    CategoryLinksState,
    ConfigurableState,
    PriceState,
    ProductState,
    StockState,
    make_version,
)
from cpsync.ports import AppliedRecord, StatePort

if TYPE_CHECKING:
    from cpsync.settings import Settings

__all__ = [
    "CARRIED_SINCE",
    "DEFAULT_SOURCE",
    "STATUS_DISABLED",
    "STATUS_ENABLED",
    "VISIBILITY_CATALOG_SEARCH",
    "VISIBILITY_NOT_INDIVIDUALLY",
    "CreateRules",
    "add_special_price",
    "carried_records",
    "custom_attributes",
    "links_carried",
    "note_carried",
    "owned_fields",
    "special_attributes",
    "stock_item_of",
]

STATUS_ENABLED = 1
STATUS_DISABLED = 2
VISIBILITY_NOT_INDIVIDUALLY = 1
VISIBILITY_CATALOG_SEARCH = 4


def custom_attributes(pairs: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Magento's `custom_attributes` list; None values are left out (left as they are)."""
    return [{"attribute_code": c, "value": v} for c, v in pairs if v is not None]


def owned_fields(state: ProductState | ConfigurableState) -> dict[str, Any]:
    """sku, status, name, weight and the owned custom attributes; None fields are not sent."""
    product: dict[str, Any] = {
        "sku": state.sku,
        "status": STATUS_ENABLED if state.enabled else STATUS_DISABLED,
    }
    if state.name is not None:
        product["name"] = state.name
    if state.weight is not None:
        product["weight"] = float(state.weight)
    custom = custom_attributes(
        [
            ("description", state.description),
            ("short_description", state.short_description),
            ("url_key", state.url_key),
            ("tax_class_id", None if state.tax_class_id is None else str(state.tax_class_id)),
        ]
    )
    if custom:
        product["custom_attributes"] = custom
    return product


#: The MSI source whose quantity Magento keeps in step with the legacy stock item.
DEFAULT_SOURCE = "default"
#: Version of a record applied by a create: older than any detected version, so a Change the
#: task queued meanwhile is compared by fingerprint only (never dropped as stale).
CARRIED_SINCE = datetime(1970, 1, 1)
#: Not a kind: in `carried`, the special price a create set (a `SpecialHeld` as JSON), noted
#: for the price writer (`PRICE_SPECIAL`) so its first change to the product reads nothing.
SPECIAL_HELD = "price_special"


@dataclass(frozen=True)
class CreateRules:
    """How a create carries what other tasks own afterwards.

    Args:
        stock_mode: `msi` or `legacy`, as the stock writer.
        prices_global: The price writer writes store 0 and the client saves through
            `/rest/all/`, so a create writes the same price rows (Open Source keeps the special
            price in the `special_price`/`special_from_date`/`special_to_date` attributes, which
            the special-price API writes too).
        max_request_bytes: Largest request body; images past it are uploaded after.
    """

    stock_mode: Literal["msi", "legacy"] = "msi"
    prices_global: bool = True
    max_request_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> CreateRules:
        """The rules the settings give: stock mode, global prices, largest request body."""
        return cls(
            stock_mode=settings.stock_mode,
            prices_global=settings.price_store_id == 0 and settings.magento_store_code == "all",
            max_request_bytes=settings.magento_max_request_bytes,
        )


def stock_item_of(
    record: StockState | None, qty: Decimal, mode: Literal["msi", "legacy"]
) -> tuple[dict[str, Any], bool, list[SourceItem]]:
    """The create's stock item, and what it leaves to the Inventory task.

    Magento keeps the default source's item in step with the legacy stock item
    (InventoryCatalog's UpdateSourceItemAtLegacyStockItemSavePlugin), so a record whose only
    source is `default` (or a store without MSI) is applied by the stock item. Other sources
    need source items; the stock item then says 0 and out of stock, so no default source item
    is made up. So does an empty record at the default source: the plugin aligns only an item
    in stock or with a quantity, and Magento should hold the source item the task asks for.

    Returns:
        The create's `stock_item`, whether it sets the whole stock record, and the MSI source
        items that must follow it.
    """
    if record is None:
        left = max(qty, Decimal(0))
        return {"qty": float(left), "is_in_stock": left > 0}, False, []
    codes = [s.source_code for s in record.sources]
    # The plugin aligns the default source only when the item is in stock or has a quantity
    # (or the source item exists, which it cannot for a new product): an empty one is left to
    # the stock writer, so Magento holds the source item the Inventory task asks for.
    qty = max(record.total, Decimal(0))
    if mode == "legacy" or (codes == [DEFAULT_SOURCE] and (record.in_stock or qty != 0)):
        return {"qty": float(qty), "is_in_stock": record.in_stock}, True, []
    return {"qty": 0.0, "is_in_stock": False}, False, build_source_items(record)


def special_attributes(record: PriceState) -> list[tuple[str, Any]]:
    """The special price as the product attributes the special-price API writes."""
    special = record.special
    if special is None:
        return []
    return [
        ("special_price", format(special.price, "f")),
        ("special_from_date", special.price_from),
        ("special_to_date", special.price_to),
    ]


def add_special_price(
    product: dict[str, Any], record: PriceState | None, rules: CreateRules
) -> None:
    """Add the special price to a create's custom attributes, where the create can set it."""
    if record is None or record.special is None or not rules.prices_global:
        return
    product["custom_attributes"] = [
        *product.get("custom_attributes", []),
        *custom_attributes(special_attributes(record)),
    ]


def carried_records(
    price: PriceState | None, stock: StockState | None, stock_set: bool, rules: CreateRules
) -> dict[str, str]:
    """Kind -> fingerprint of the price and stock records a create applies whole."""
    carried: dict[str, str] = {}
    if stock is not None and stock_set:
        carried["stock"] = stock.fingerprint()
    if price is not None and rules.prices_global:
        carried["price"] = price.fingerprint()
        # what Magento now holds as special price, so the price writer need not read it
        carried[SPECIAL_HELD] = SpecialHeld(store_id=0, special=price.special).model_dump_json()
    return carried


def links_carried(state: ProductState | ConfigurableState, linked: int) -> dict[str, str]:
    """The category links record a create applies whole: it linked all `linked` of them."""
    if not state.category_ids or linked != len(state.category_ids):
        return {}
    links = CategoryLinksState(sku=state.sku, category_ids=state.category_ids)
    return {"category_links": links.fingerprint()}


def note_carried(state: StatePort, carried: dict[str, dict[str, str]]) -> None:
    """Record what creates applied for other tasks as sent and applied.

    `carried` is kind -> SKU -> fingerprint; those tasks and their writers then send nothing
    for it.

    A SKU that already has an applied record of that kind (written before the create, e.g.
    stock for a SKU MSI accepted early) keeps it: the create does not claim what it may have
    overwritten, so that task's next Change still goes out.
    """
    if held := carried.get(SPECIAL_HELD):
        PRICE_SPECIAL.put(
            state, {sku: SpecialHeld.model_validate_json(doc) for sku, doc in held.items()}
        )
    for kind, prints in carried.items():
        if not prints or kind == SPECIAL_HELD:
            continue
        done = state.get_applied(kind, list(prints))
        fresh = {sku: p for sku, p in prints.items() if sku not in done}
        if not fresh:
            continue
        version = make_version(CARRIED_SINCE)
        sent = state.get_sent(kind, list(fresh))  # a newer Change already queued stays sent
        state.put_sent(kind, {sku: p for sku, p in fresh.items() if sku not in sent})
        state.put_applied(kind, {sku: AppliedRecord(version, p) for sku, p in fresh.items()})
