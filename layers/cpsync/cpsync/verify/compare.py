"""Magento's side of verify, read in bulk, and the comparison per kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cpsync.documents import IMAGE_ENTRIES
from cpsync.magento.categories import Category, CategoryApi
from cpsync.magento.client import MagentoClient, chunks_for_limit, search_params, sku_filters
from cpsync.magento.grid_payloads import build_child_payload
from cpsync.magento.inventory import SOURCES_WRITTEN
from cpsync.magento.media import MediaApi, tag_of
from cpsync.magento.prices import PriceApi, SpecialPriceRow, build_price_rows
from cpsync.magento.product_fields import owned_fields
from cpsync.model import (
    CategoryLinksState,
    CategoryState,
    Change,
    ConfigurableState,
    Desired,
    ImageState,
    PriceState,
    ProductState,
    StockState,
)
from cpsync.runtime import Runtime
from cpsync.verify.report import Difference, KindReport

__all__ = ["PAGE_SIZE", "compare"]

#: Rows per search page (Magento's maximum page size with Web API input limits on is 300).
PAGE_SIZE = 300
#: Characters of SKUs per `in` filter, so a search URL stays well under Apache's 8 KiB line.
MAX_FILTER_CHARS = 3000


def _desired(change: Change) -> Desired:
    """The desired-state record a Change carries."""
    payload = change.payload
    if change.kind == "product":
        if payload.get("type") == "configurable":
            return ConfigurableState.model_validate(payload)
        return ProductState.model_validate(payload)
    models: dict[str, type[Desired]] = {
        "category": CategoryState,
        "category_links": CategoryLinksState,
        "stock": StockState,
        "price": PriceState,
        "image": ImageState,
    }
    return models[change.kind].model_validate(payload)


# --- Magento's side ----------------------------------------------------------------------------
def _sku_groups(skus: Sequence[str], size: int = PAGE_SIZE) -> Iterator[list[str]]:
    """SKUs in groups of at most `size` whose `in` filter stays under MAX_FILTER_CHARS."""
    group: list[str] = []
    chars = 0
    for sku in skus:
        if group and (len(group) >= size or chars + len(sku) + 1 > MAX_FILTER_CHARS):
            yield group
            group, chars = [], 0
        group.append(sku)
        chars += len(sku) + 1
    if group:
        yield group


def _search(
    client: MagentoClient, path: str, endpoint: str, skus: Sequence[str], page_size: int
) -> Iterator[dict[str, Any]]:
    """Every row of a searchCriteria endpoint for these SKUs, page by page."""
    for group in _sku_groups(skus, page_size):
        yield from _pages(client, path, endpoint, [sku_filters(group)], page_size)


def _pages(
    client: MagentoClient,
    path: str,
    endpoint: str,
    filters: list[list[tuple[str, str, str]]],
    page_size: int,
) -> Iterator[dict[str, Any]]:
    """Every row a searchCriteria endpoint holds under `filters`, paged by total_count."""
    page, seen = 1, 0
    while True:
        params = search_params(filters, page_size=page_size, current_page=page)
        result = client.request("GET", path, endpoint=endpoint, params=params) or {}
        rows = result.get("items") or []
        yield from rows
        seen += len(rows)
        if not rows or seen >= int(result.get("total_count", 0)):
            return
        page += 1


def _rows(
    client: MagentoClient, path: str, endpoint: str, skus: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """The rows of these SKUs, read with SKU `in` filters or as whole pages.

    Whole pages when the SKUs are most of what the endpoint holds (one probe for its count),
    which spares the store the filter.
    """
    probe = search_params([], page_size=1, current_page=1)
    total = int(
        (client.request("GET", path, endpoint=endpoint, params=probe) or {}).get("total_count", 0)
    )
    if len(skus) * 2 < total:
        yield from _search(client, path, endpoint, skus, PAGE_SIZE)
        return
    wanted = {sku.lower() for sku in skus}
    rows = _pages(client, path, endpoint, [], PAGE_SIZE)
    yield from (row for row in rows if str(row.get("sku", "")).lower() in wanted)


def _close(a: Any, b: Any) -> bool:
    """Equal as Magento stores it: numbers to 4 places, None and "" alike, text as text."""
    if a in (None, "") or b in (None, ""):
        return a in (None, "") and b in (None, "")
    try:
        return abs(float(a) - float(b)) < 0.00005
    except (TypeError, ValueError):
        return str(a) == str(b)


def _attributes(product: dict[str, Any]) -> dict[str, Any]:
    return {
        str(a.get("attribute_code")): a.get("value") for a in product.get("custom_attributes") or []
    }


def _field_diff(expected: dict[str, Any], product: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields of a product save body (`owned_fields`) that Magento holds otherwise."""
    found: dict[str, tuple[Any, Any]] = {}
    attributes = _attributes(product)
    for name, wanted in expected.items():
        if name in ("sku", "visibility"):
            continue
        if name == "custom_attributes":
            for entry in wanted:
                code, value = entry["attribute_code"], entry["value"]
                if not _close(attributes.get(code), value):
                    found[code] = (attributes.get(code), value)
        elif not _close(product.get(name), wanted):
            found[name] = (product.get(name), wanted)
    return found


# --- the comparison per kind -------------------------------------------------------------------
@dataclass
class _Context:
    runtime: Runtime
    client: MagentoClient
    desired: dict[str, dict[str, Change]]
    products: dict[str, dict[str, Any]]

    def product(self, sku: str) -> dict[str, Any] | None:
        return self.products.get(sku.lower())

    def records(self, kind: str) -> list[tuple[Change, Desired]]:
        return [(c, _desired(c)) for _, c in sorted(self.desired.get(kind, {}).items())]


def _missing(report: KindReport, kind: str, change: Change, state: Desired) -> None:
    """A record Magento lacks: a difference only when a run would create it."""
    if state.publish_if_new():
        report.checked += 1
        report.differences.append(Difference(kind, change.key, {"exists": (False, True)}))


def _compare_products(ctx: _Context, report: KindReport) -> None:
    for change, state in ctx.records("product"):
        assert isinstance(state, ProductState | ConfigurableState)
        product = ctx.product(state.sku)
        if product is None:
            _missing(report, "product", change, state)
            continue
        report.checked += 1
        fields = _field_diff(owned_fields(state), product)
        if isinstance(state, ConfigurableState):
            for child in state.children:
                expected = build_child_payload(child, False, {}, tax_class_id=state.tax_class_id)
                found = ctx.product(child.sku)
                if found is None:
                    if child.enabled:
                        fields[f"{child.sku}.exists"] = (False, True)
                    continue
                for name, pair in _field_diff(expected, found).items():
                    fields[f"{child.sku}.{name}"] = pair
        if fields:
            report.differences.append(Difference("product", change.key, fields))


def _online(ctx: _Context, kind: str) -> list[tuple[Change, Desired]]:
    """Records of `kind` whose product Magento has (a missing product is a product difference)."""
    out = []
    for change, state in ctx.records(kind):
        if ctx.product(getattr(state, "sku", change.key)) is not None:
            out.append((change, state))
    return out


def _compare_stock(ctx: _Context, report: KindReport) -> None:
    records = _online(ctx, "stock")
    settings = ctx.runtime.settings
    current: dict[str, dict[str, tuple[float, int]]] = {}
    if settings.stock_mode == "msi" and records:
        skus = [state.key() for _, state in records]
        for row in _rows(
            ctx.client, "inventory/source-items", "inventory.source_items.search", skus
        ):
            sku = str(row["sku"]).lower()
            entry = (float(row.get("quantity") or 0), int(row.get("status") or 0))
            current.setdefault(sku, {})[str(row["source_code"])] = entry
    written = set(ctx.runtime.state.get_option(SOURCES_WRITTEN, []) or [])
    for change, state in records:
        assert isinstance(state, StockState)
        report.checked += 1
        if settings.stock_mode == "legacy":
            product = ctx.product(state.sku) or {}
            item = (product.get("extension_attributes") or {}).get("stock_item") or {}
            have: dict[str, tuple[float, int]] = {
                "default": (float(item.get("qty") or 0), int(bool(item.get("is_in_stock"))))
            }
            want = {"default": (float(max(state.total, Decimal(0))), int(state.in_stock))}
        else:
            have = current.get(state.sku.lower(), {})
            want = {
                s.source_code: (float(max(s.quantity, Decimal(0))), int(s.in_stock))
                for s in state.sources
            }
        fields: dict[str, tuple[Any, Any]] = {}
        for code, wanted in want.items():
            got = have.get(code)
            if got is None or not _close(got[0], wanted[0]) or got[1] != wanted[1]:
                fields[code] = (_stock_json(got), _stock_json(wanted))
        for code in sorted(set(have) - set(want) & written):
            fields[code] = (_stock_json(have[code]), None)
        if fields:
            report.differences.append(Difference("stock", change.key, fields))


def _stock_json(value: tuple[float, int] | None) -> dict[str, Any] | None:
    return None if value is None else {"quantity": value[0], "in_stock": bool(value[1])}


def _special_json(row: SpecialPriceRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"price": row.price, "from": row.price_from, "to": row.price_to}


def _compare_prices(ctx: _Context, report: KindReport) -> None:
    records = _online(ctx, "price")
    store = ctx.runtime.settings.price_store_id
    api = PriceApi(ctx.client)
    skus = [state.key() for _, state in records]
    base: dict[str, float] = {}
    special: dict[str, list[SpecialPriceRow]] = {}
    for chunk in chunks_for_limit(skus, ctx.runtime.settings.bulk_size):
        for row in api.base_prices(chunk):
            if row.store_id == store:
                base[row.sku.lower()] = row.price
        for srow in api.special_prices(chunk):
            if srow.store_id == store:
                special.setdefault(srow.sku.lower(), []).append(srow)
    for change, state in records:
        assert isinstance(state, PriceState)
        report.checked += 1
        wanted_base, wanted_special = build_price_rows(state, store)
        fields: dict[str, tuple[Any, Any]] = {}
        got = base.get(state.sku.lower())
        if got is None or not _close(got, wanted_base.price):
            fields["price"] = (got, wanted_base.price)
        rows = special.get(state.sku.lower(), [])
        matches = wanted_special is not None and len(rows) == 1 and rows[0].same_as(wanted_special)
        if not matches and (rows or wanted_special is not None):
            shown = [_special_json(r) for r in rows]
            fields["special_price"] = (
                shown[0] if len(shown) == 1 else shown or None,
                _special_json(wanted_special),
            )
        if fields:
            report.differences.append(Difference("price", change.key, fields))


def _managed_categories(ctx: _Context) -> dict[str, int]:
    """Magento ids of the categories cpsync manages (sent, or named by a desired record)."""
    state = ctx.runtime.state
    keys = set(state.get_sent("category")) | set(ctx.desired.get("category", {}))
    return state.get_magento_ids("category", sorted(keys))


def _compare_links(ctx: _Context, report: KindReport, managed: dict[str, int]) -> None:
    records = [
        (c, s)
        for c, s in _online(ctx, "category_links")
        if isinstance(s, CategoryLinksState) and s.is_product
    ]
    if not records:
        return
    api = CategoryApi(ctx.client)
    present: dict[str, set[int]] = {}
    for category_id in sorted(set(managed.values())):
        for link in api.products(category_id):
            present.setdefault(link.sku.lower(), set()).add(category_id)
    names = {v: k for k, v in managed.items()}
    for change, state in records:
        assert isinstance(state, CategoryLinksState)
        report.checked += 1
        have = present.get(state.sku.lower(), set())
        want = {managed[c] for c in state.category_ids if c in managed}
        unknown = [c for c in state.category_ids if c not in managed]
        if have != want or unknown:
            shown_have = sorted(names.get(i, str(i)) for i in have)
            shown_want = sorted(state.category_ids)
            report.differences.append(
                Difference("category_links", change.key, {"categories": (shown_have, shown_want)})
            )


def _entry_text(tag: str | None, roles: Iterable[str], position: Any) -> str:
    return f"{tag} [{','.join(sorted(roles))}] @{int(position or 0)}"


def _compare_images(ctx: _Context, report: KindReport) -> None:
    records = _online(ctx, "image")
    if not records:
        return
    known = IMAGE_ENTRIES.get(ctx.runtime.state, [s.key() for _, s in records])
    media = MediaApi(ctx.client)
    for change, state in records:
        assert isinstance(state, ImageState)
        product = ctx.product(state.sku) or {}
        entries = product.get("media_gallery_entries")
        if entries is None:  # a store whose search leaves galleries out: one list per SKU
            entries = media.list(state.sku) or []
        doc = known.get(state.key())
        ids = {e.id for e in doc.entries} if doc else set()
        ours = [
            _entry_text(tag_of(e.get("file")), e.get("types") or [], e.get("position"))
            for e in entries
            if int(e.get("id") or 0) in ids or tag_of(e.get("file")) is not None
        ]
        wanted = [_entry_text(i.digest[:12], i.roles, i.position) for i in state.images]
        report.checked += 1
        if sorted(ours) != sorted(wanted):
            report.differences.append(
                Difference("image", change.key, {"gallery": (sorted(ours), sorted(wanted))})
            )


def _compare_categories(ctx: _Context, report: KindReport, managed: dict[str, int]) -> None:
    records = ctx.records("category")
    ids = sorted({str(managed[c.key]) for c, _ in records if c.key in managed})
    found: dict[int, Category] = {}
    api = CategoryApi(ctx.client)
    for group in chunks_for_limit(ids, PAGE_SIZE):
        for node in api.search([[("entity_id", ",".join(group), "in")]], PAGE_SIZE):
            found[node.id] = node
    root = ctx.runtime.settings.magento_root_category_id
    for change, state in records:
        assert isinstance(state, CategoryState)
        magento_id = managed.get(state.categ_id)
        category = found.get(magento_id) if magento_id is not None else None
        if category is None:
            _missing(report, "category", change, state)
            continue
        report.checked += 1
        fields: dict[str, tuple[Any, Any]] = {}
        if category.is_active != state.active:
            fields["is_active"] = (category.is_active, state.active)
        if state.active:
            parent = root if state.parent_id is None else managed.get(state.parent_id)
            if category.parent_id != parent:
                fields["parent_id"] = (category.parent_id, parent)
            pairs = [
                ("name", category.name, state.name),
                ("url_key", category.attribute("url_key"), state.url_key),
                ("description", category.attribute("description"), state.description),
            ]
            for name, have, want in pairs:
                if not _close(have, want):
                    fields[name] = (have, want)
        if fields:
            report.differences.append(Difference("category", change.key, fields))


def _read_products(client: MagentoClient, desired: dict[str, dict[str, Change]]) -> dict[str, Any]:
    """Magento's products for every SKU a desired record names, by lower-case SKU."""
    skus: set[str] = set()
    for kind, changes in desired.items():
        if kind == "category":
            continue
        for change in changes.values():
            state = _desired(change)
            skus.add(str(getattr(state, "sku", change.key)))
            if isinstance(state, ConfigurableState):
                skus.update(state.child_skus())
    rows = _rows(client, "products", "products.search", sorted(skus))
    return {str(p["sku"]).lower(): p for p in rows}


_COMPARE: dict[str, Callable[..., None]] = {
    "product": _compare_products,
    "stock": _compare_stock,
    "price": _compare_prices,
    "image": _compare_images,
}


def compare(
    runtime: Runtime,
    client: MagentoClient,
    desired: dict[str, dict[str, Change]],
    reports: dict[str, KindReport],
) -> None:
    """Fill each kind's report with the records Magento holds differently.

    A report already marked `skipped` stays empty.
    """
    ctx = _Context(runtime, client, desired, _read_products(client, desired))
    managed = _managed_categories(ctx)
    for kind, part in reports.items():
        if part.skipped:
            continue
        if kind == "category_links":
            _compare_links(ctx, part, managed)
        elif kind == "category":
            _compare_categories(ctx, part, managed)
        else:
            _COMPARE[kind](ctx, part)
