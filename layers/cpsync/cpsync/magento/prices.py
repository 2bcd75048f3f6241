"""Prices in Magento through the bulk "efficient price API" only (§5).

Magento answers a price call with 200 and a list of failures: invalid rows are skipped, valid
rows are saved. Each failure is `{message, parameters}` with *positional* parameters, and the
SKU is among them (base: `["SKU", sku]`; special: `[sku, store, from, to]`, after the price or
label for those messages). The writer maps each failure back to the record whose SKU it names;
a failure that names no SKU of the request (e.g. `["Price", "-1"]`) is found by sending that
chunk's rows one at a time, which is safe because every price write is an upsert. Whether a
failed record's product is simply not in Magento yet (retried) is asked of Magento with one
product search, not read from the failure's text, which is in the store's language.

Special prices: Magento Open Source keeps one special price per SKU and store, Adobe Commerce
one per date range. The writer reads what Magento has (`special-price-information`), deletes
rows that differ from the desired one (ended, removed or changed), then sends the desired row
if Magento does not already hold it, so both kinds of store end with exactly one row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpsync.errors import ConfigurationError
from cpsync.magento.client import MagentoClient
from cpsync.magento.errors import MagentoRecordError, render_message
from cpsync.magento.inventory import INPUT_LIMIT, learn_input_limit, spread
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, PriceState

__all__ = [
    "BasePriceRow",
    "PriceApi",
    "PriceFailure",
    "PriceWriter",
    "SpecialPriceRow",
    "build_price_rows",
]

logger = logging.getLogger(__name__)


class BasePriceRow(BaseModel):
    """One row of `POST /V1/products/base-prices`."""

    model_config = ConfigDict(frozen=True)

    price: float = Field(ge=0)
    store_id: int = 0
    sku: str = Field(min_length=1)


class SpecialPriceRow(BaseModel):
    """One row of the special-price endpoints (dates `YYYY-MM-DD hh:mm:ss` or None)."""

    model_config = ConfigDict(frozen=True)

    price: float = Field(ge=0)
    store_id: int = 0
    sku: str = Field(min_length=1)
    price_from: str | None = None
    price_to: str | None = None

    def same_as(self, other: SpecialPriceRow) -> bool:
        """Equal for Magento: same SKU (any case), store, price to the cent, and dates."""
        return (
            self.sku.lower() == other.sku.lower()
            and self.store_id == other.store_id
            and abs(self.price - other.price) < 0.005
            and (self.price_from or None) == (other.price_from or None)
            and (self.price_to or None) == (other.price_to or None)
        )


class PriceFailure(BaseModel):
    """One element of a price call's failure list."""

    message: str
    parameters: list[Any] = Field(default_factory=list)

    def text(self) -> str:
        """The message with its placeholders filled.

        Price failures carry named placeholders (`%fieldName`) but a *positional* list; the
        values come in the order the names first appear. When the counts differ the values
        are appended instead of guessed.
        """
        values = [str(p) for p in self.parameters]
        if re.search(r"%\d", self.message):
            return render_message(self.message, values)
        names = list(dict.fromkeys(re.findall(r"%([A-Za-z_]\w*)", self.message)))
        if names and len(names) == len(values):
            return render_message(self.message, dict(zip(names, values, strict=True)))
        return f"{self.message} ({', '.join(values)})" if values else self.message

    def sku_in(self, skus: dict[str, str]) -> str | None:
        """The record key among `skus` (lower-case SKU -> key) that a parameter names."""
        for value in self.parameters:
            key = skus.get(str(value).lower())
            if key is not None:
                return key
        return None


def build_price_rows(
    state: PriceState, store_id: int
) -> tuple[BasePriceRow, SpecialPriceRow | None]:
    """The base price row and, when there is a promotion, the special price row of one SKU."""
    base = BasePriceRow(price=float(state.price), store_id=store_id, sku=state.sku)
    special = None
    if state.special is not None:
        special = SpecialPriceRow(
            price=float(state.special.price),
            store_id=store_id,
            sku=state.sku,
            price_from=state.special.price_from,
            price_to=state.special.price_to,
        )
    return base, special


class PriceApi:
    """Typed price endpoints over `MagentoClient.request()`."""

    def __init__(self, client: MagentoClient) -> None:
        self.client = client

    def _post(self, path: str, endpoint: str, body: dict[str, Any]) -> list[PriceFailure]:
        result = self.client.request("POST", path, endpoint=endpoint, json=body)
        return [PriceFailure.model_validate(f) for f in (result or [])]

    def save_base(self, rows: Sequence[BasePriceRow]) -> list[PriceFailure]:
        """POST /V1/products/base-prices; the failures (valid rows are saved)."""
        body = {"prices": [r.model_dump() for r in rows]}
        return self._post("products/base-prices", "prices.base.save", body)

    def save_special(self, rows: Sequence[SpecialPriceRow]) -> list[PriceFailure]:
        """POST /V1/products/special-price; the failures."""
        body = {"prices": [r.model_dump(exclude_none=True) for r in rows]}
        return self._post("products/special-price", "prices.special.save", body)

    def delete_special(self, rows: Sequence[SpecialPriceRow]) -> list[PriceFailure]:
        """POST /V1/products/special-price-delete; the failures."""
        body = {"prices": [r.model_dump(exclude_none=True) for r in rows]}
        return self._post("products/special-price-delete", "prices.special.delete", body)

    def base_prices(self, skus: Sequence[str]) -> list[BasePriceRow]:
        """POST /V1/products/base-prices-information (unknown SKUs are left out)."""
        result = self.client.request(
            "POST",
            "products/base-prices-information",
            endpoint="prices.base.get",
            json={"skus": list(skus)},
        )
        return [BasePriceRow.model_validate(r) for r in (result or [])]

    def special_prices(self, skus: Sequence[str]) -> list[SpecialPriceRow]:
        """POST /V1/products/special-price-information."""
        result = self.client.request(
            "POST",
            "products/special-price-information",
            endpoint="prices.special.get",
            json={"skus": list(skus)},
        )
        return [SpecialPriceRow.model_validate(r) for r in (result or [])]


@dataclass
class _Chunk:
    """The records of one chunk and what went wrong with each so far."""

    states: dict[str, PriceState]
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Failed records whose SKU Magento does not have (yet): looked up, not read from the
    # failure's text, which is in the store's language.
    missing: set[str] = field(default_factory=set)

    @property
    def skus(self) -> dict[str, str]:
        return {s.sku.lower(): key for key, s in self.states.items()}

    def fail(self, key: str, failure: PriceFailure) -> None:
        self.errors.setdefault(key, []).append(failure.text())

    def outcome(self, key: str) -> Outcome:
        """Applied; or retried when the product is only missing; else refused for good."""
        if key not in self.errors:
            return Outcome.ok(key)
        text = "; ".join(self.errors[key])
        if key in self.missing:
            text += " (the product may still be on its way from the Items task: retried)"
            return Outcome(key, False, text, retryable=True)
        return Outcome(key, False, text)


class PriceWriter(Writer):
    """Writes `price` Changes with the bulk base-price and special-price endpoints.

    Args:
        client: The Magento client.
        store_id: store_id of every row (0 = global).
        chunk_size: Rows per request (20 when the store has input limits on).
        concurrency: Chunks in flight at once.
    """

    kind: ClassVar[Kind] = "price"

    def __init__(
        self, client: MagentoClient, store_id: int = 0, chunk_size: int = 500, concurrency: int = 4
    ) -> None:
        super().__init__(concurrency)
        self.api = PriceApi(client)
        self.store_id = store_id
        self.chunk_size = chunk_size

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        states = {c.key: PriceState.model_validate(c.payload) for c in changes}
        keys = list(states)
        size = spread(len(keys), self.chunk_size)
        chunks = [
            _Chunk({k: states[k] for k in keys[i : i + size]}) for i in range(0, len(keys), size)
        ]
        outcomes: dict[str, Outcome] = {}
        if self.concurrency <= 1 or len(chunks) <= 1:
            results = [self._guarded(c) for c in chunks]
        else:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                results = list(pool.map(self._guarded, chunks))
        for result in results:
            outcomes.update(result)
        return outcomes

    def _guarded(self, chunk: _Chunk) -> dict[str, Outcome]:
        try:
            self._write(chunk)
            self._find_missing(chunk)
        except ConfigurationError:
            raise
        except MagentoRecordError as exc:
            # A price call answers 200 with failures; a 400 refuses the whole call, which on
            # a call over 20 rows is the store's input limit (its text is localized).
            if len(chunk.states) <= INPUT_LIMIT or exc.status != 400:
                return {key: Outcome.from_exception(key, exc) for key in chunk.states}
            self.chunk_size = learn_input_limit(self.chunk_size, len(chunk.states), exc)
            keys = list(chunk.states)
            outcomes: dict[str, Outcome] = {}
            for i in range(0, len(keys), INPUT_LIMIT):
                part = _Chunk({k: chunk.states[k] for k in keys[i : i + INPUT_LIMIT]})
                outcomes.update(self._guarded(part))
            return outcomes
        except Exception as exc:
            # Every step is an upsert or a delete of a known row: repeating the chunk is safe.
            return {key: Outcome.from_exception(key, exc) for key in chunk.states}
        return {key: chunk.outcome(key) for key in chunk.states}

    def _find_missing(self, chunk: _Chunk) -> None:
        """Mark the failed records whose product is not in Magento (one search per chunk)."""
        failed = [key for key in chunk.states if key in chunk.errors]
        if not failed:
            return
        online = self.api.client.find_products(chunk.states[key].sku for key in failed)
        chunk.missing = {key for key in failed if chunk.states[key].sku.lower() not in online}

    def _write(self, chunk: _Chunk) -> None:
        rows = {key: build_price_rows(s, self.store_id) for key, s in chunk.states.items()}
        self._settle(chunk, self.api.save_base, [(key, r[0]) for key, r in rows.items()])
        current = self.api.special_prices([s.sku for s in chunk.states.values()])
        desired = {key: r[1] for key, r in rows.items()}
        stale: list[tuple[str, SpecialPriceRow]] = []
        present: set[str] = set()
        skus = chunk.skus
        for row in current:
            key = skus.get(row.sku.lower())
            if key is None or row.store_id != self.store_id:
                continue
            wanted = desired[key]
            if wanted is not None and row.same_as(wanted) and key not in present:
                present.add(key)
            else:
                stale.append((key, row))
        if stale:
            self._settle(chunk, self.api.delete_special, stale)
        send = [(k, r) for k, r in desired.items() if r is not None and k not in present]
        if send:
            self._settle(chunk, self.api.save_special, send)

    def _settle(
        self,
        chunk: _Chunk,
        call: Callable[[list[Any]], list[PriceFailure]],
        rows: list[tuple[str, Any]],
    ) -> None:
        """Send `rows` (record key, row) and file each failure under the record it names."""
        skus = chunk.skus
        placed: list[tuple[str, PriceFailure]] = []
        unplaced: list[PriceFailure] = []
        for failure in call([row for _, row in rows]):
            key = failure.sku_in(skus)
            if key is None:
                unplaced.append(failure)
            else:
                placed.append((key, failure))
        if unplaced and len(rows) > 1:
            logger.info("%d price failures name no SKU; sending rows one by one", len(unplaced))
            for pair in rows:
                self._settle(chunk, call, [pair])
            return
        placed += [(rows[0][0], f) for f in unplaced]
        for key, failure in placed:
            chunk.fail(key, failure)
