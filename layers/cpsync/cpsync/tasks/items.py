"""The Items task: item details of non-grid items, as Magento simple products.

Status is enabled only while the item is an e-commerce item (`IS_ECOMM_ITEM = 'Y'`) and
active (`STAT = 'A'`); an item that leaves e-commerce, or is deleted, becomes disabled and is
never deleted. A product new to Magento goes up complete, with its Price-1 and its stock.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from cpsync.counterpoint.categories import categories_of_items
from cpsync.counterpoint.queries import MAX_IN_LIST, item_rows, price_1, quantities
from cpsync.errors import DataError
from cpsync.model import Kind, ProductState
from cpsync.tasks.base import Task, Window

__all__ = ["ItemsTask", "url_key_for"]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def url_key_for(name: str, sku: str, url: str | None = None) -> str:
    """A url_key unique per SKU: Magento refuses a second product with the same url_key.

    Counterpoint's `URL` column wins when set. Otherwise name and SKU are combined; when the
    SKU's slug loses characters (`MUG/12` and `MUG 12` both give `mug-12`), a short hash of
    the SKU keeps the keys apart.
    """
    if url and _slug(url):
        return _slug(url)
    sku_slug = _slug(sku) or "item"
    key = f"{_slug(name)}-{sku_slug}".strip("-")
    if sku_slug != sku.lower():
        key += "-" + hashlib.sha1(sku.encode()).hexdigest()[:6]
    return key


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class _Extras:
    prices: dict[str, Decimal | None]
    quantities: dict[str, Decimal]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)


class ItemsTask(Task):
    """Items -> Magento simple products (grid items come with the tasks issue)."""

    name: ClassVar[str] = "items"
    title: ClassVar[str] = "Items"
    kind: ClassVar[Kind] = "product"
    schedule: ClassVar[str] = "rate(10 minutes)"

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[Any]:
        if keys is not None:
            for start in range(0, len(keys), MAX_IN_LIST):
                yield from self._query(None, keys[start : start + MAX_IN_LIST])
            return
        yield from self._query(window, None)

    def _query(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[Any]:
        stmt = item_rows(
            since_utc=window.since_utc if window else None,
            since_local=window.since_local if window else None,
            keys=keys,
        )
        with self.ctx.counterpoint.connect() as conn:
            yield from conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)

    def key_of(self, row: Any) -> str:
        return str(row.ITEM_NO)

    def enrich(self, rows: Sequence[Any]) -> _Extras:
        item_nos = [r.ITEM_NO for r in rows if r.IS_ECOMM_ITEM == "Y"]
        location = self.settings.price_location
        prices: dict[str, Decimal | None] = {}
        qty: dict[str, Decimal] = {}
        categories: dict[str, tuple[str, ...]] = {}
        if item_nos:
            with self.ctx.counterpoint.connect() as conn:
                for row in conn.execute(price_1(item_nos, location)):
                    if location == row.LOC_ID or row.ITEM_NO not in prices:
                        prices[row.ITEM_NO] = row.PRC_1
                stmt = quantities(
                    item_nos, self.settings.stock_locations, self.settings.stock_quantity
                )
                qty = {r.ITEM_NO: Decimal(str(r.QTY or 0)) for r in conn.execute(stmt)}
                categories = categories_of_items(conn, item_nos)
        for row in rows:
            if prices.get(row.ITEM_NO) is None:
                prices[row.ITEM_NO] = row.PRC_1
        return _Extras(prices, qty, categories)

    def build(self, row: Any, extra: _Extras) -> ProductState:
        sku = str(row.ITEM_NO)
        if row.IS_ECOMM_ITEM != "Y":
            return ProductState.disabled(sku)
        name = _text(row.DESCR)
        if name is None:
            raise DataError("DESCR is empty, and Magento needs a product name")
        weight = row.WEIGHT
        if weight is not None and Decimal(str(weight)) < 0:
            raise DataError(f"WEIGHT is negative ({weight})")
        price = extra.prices.get(sku)
        if price is None:
            raise DataError("Price-1 is NULL (IM_PRC and IM_ITEM.PRC_1)")
        if Decimal(str(price)) < 0:
            raise DataError(f"Price-1 is negative ({price})")
        return ProductState(
            sku=sku,
            enabled=row.STAT == "A",
            name=name,
            description=row.HTML_DESCR or _text(row.LONG_DESCR) or "",
            short_description=_text(row.SHORT_DESCR) or "",
            weight=None if weight is None else Decimal(str(weight)),
            url_key=url_key_for(name, sku, _text(row.URL)),
            price=Decimal(str(price)),
            qty=extra.quantities.get(sku, Decimal(0)),
            category_ids=extra.categories.get(sku, ()),
        )

    def gone(self, key: str) -> ProductState:
        return ProductState.disabled(key)
