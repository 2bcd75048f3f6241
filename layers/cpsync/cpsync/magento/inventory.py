"""Stock in Magento: bulk MSI source items, or legacy stock items on stores without MSI (§4).

`POST /V1/inventory/source-items` is all-or-nothing: one invalid item fails the whole call with
`Validation Failed`, and an unknown source fails it with `Could not save Source Item`. So the
writer checks sources before sending, and when Magento still refuses a chunk it splits it to
find the record at fault, so the other records are applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cpsync.errors import ConfigurationError, RecordError, RetryableError
from cpsync.magento.client import DEFAULT_MAX_ITEMS, MagentoClient, search_params, sku_path
from cpsync.magento.errors import MagentoRecordError
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, StockState

__all__ = [
    "InventoryApi",
    "SourceItem",
    "StockItemUpdate",
    "StockWriter",
    "build_source_items",
    "chunked",
    "learn_input_limit",
    "spread",
]

logger = logging.getLogger(__name__)


class SourceItem(BaseModel):
    """One row of `sourceItems` (MSI `SourceItemInterface`)."""

    model_config = ConfigDict(frozen=True)

    sku: str = Field(min_length=1)
    source_code: str = Field(min_length=1)
    quantity: float
    status: Literal[0, 1]


class StockItemUpdate(BaseModel):
    """The part of a legacy `stockItem` cpsync owns."""

    model_config = ConfigDict(frozen=True)

    qty: float
    is_in_stock: bool


def build_source_items(state: StockState) -> list[SourceItem]:
    """The source items of one SKU; a negative quantity is sent as 0."""
    return [
        SourceItem(
            sku=state.sku,
            source_code=s.source_code,
            quantity=float(max(s.quantity, Decimal(0))),
            status=1 if s.in_stock else 0,
        )
        for s in state.sources
    ]


#: Magento's Web API input limit (§0.5): arrays of more items are refused when it is on.
INPUT_LIMIT = DEFAULT_MAX_ITEMS


def learn_input_limit(current: int, sent: int, exc: Exception) -> int:
    """The chunk size after Magento refused `sent` rows at once: its input limit, 20.

    The limit error's text is localized, so any 400 on a call over 20 rows is taken as the
    limit; the smaller calls that follow still find a record that is really at fault.
    """
    if current > INPUT_LIMIT:
        logger.warning(
            "Magento refused %d rows in one call (%s); sending at most %d per call from now "
            "on. Set CPSYNC_MAGENTO_INPUT_LIMITS=true if the store has Web API input limits on.",
            sent,
            exc,
            INPUT_LIMIT,
        )
    return min(current, INPUT_LIMIT)


#: Fewer rows than this per request cost Magento more in request overhead than they save.
MIN_SPREAD_ROWS = 50


def spread(rows: int, limit: int, concurrency: int) -> int:
    """Rows per request: at most `limit`, and few enough that every request slot gets work.

    Magento serves requests in parallel (PHP-FPM workers), so 1,000 rows go faster as 8
    requests of 125 than as 2 of 500, and 10,000 rows as 24 of 417 (3 full rounds of 8) than
    as 20 of 500 (the third round half idle); but never below 50 rows (or `limit`) per
    request, since each request also costs Magento its bootstrap.
    """
    slots = max(1, concurrency)
    calls = -(-max(rows, 1) // max(1, limit))
    calls = -(-calls // slots) * slots  # whole rounds: no round with idle slots
    even = -(-rows // calls)
    return max(1, min(limit, max(even, MIN_SPREAD_ROWS)))


def chunked(
    groups: Sequence[tuple[str, list[Any]]], size: int
) -> list[list[tuple[str, list[Any]]]]:
    """Pack per-record row lists into chunks of at most `size` rows; a record is never split
    (a record with more rows than `size` gets a chunk of its own, split by the caller)."""
    chunks: list[list[tuple[str, list[Any]]]] = []
    current: list[tuple[str, list[Any]]] = []
    count = 0
    for key, rows in groups:
        if current and count + len(rows) > size:
            chunks.append(current)
            current, count = [], 0
        current.append((key, rows))
        count += len(rows)
    if current:
        chunks.append(current)
    return chunks


class InventoryApi:
    """Typed inventory endpoints over `MagentoClient.request()`."""

    def __init__(self, client: MagentoClient) -> None:
        self.client = client

    def save_source_items(self, items: Sequence[SourceItem]) -> None:
        """POST /V1/inventory/source-items (answers `[]`)."""
        body = {"sourceItems": [i.model_dump() for i in items]}
        self.client.request(
            "POST", "inventory/source-items", endpoint="inventory.source_items.save", json=body
        )

    def delete_source_items(self, items: Sequence[tuple[str, str]]) -> None:
        """POST /V1/inventory/source-items-delete for (sku, source_code) pairs."""
        body = {"sourceItems": [{"sku": sku, "source_code": code} for sku, code in items]}
        self.client.request(
            "POST",
            "inventory/source-items-delete",
            endpoint="inventory.source_items.delete",
            json=body,
        )

    def source_items(self, skus: Sequence[str]) -> list[SourceItem]:
        """Source items of these SKUs (one search)."""
        params = search_params([[("sku", ",".join(skus), "in")]])
        result = self.client.request(
            "GET", "inventory/source-items", endpoint="inventory.source_items.search", params=params
        )
        return [SourceItem.model_validate(i) for i in (result or {}).get("items", [])]

    def source_codes(self) -> set[str]:
        """Codes of every source (paged, 100 at a time)."""
        codes: set[str] = set()
        page = 1
        while True:
            result = self.client.request(
                "GET",
                "inventory/sources",
                endpoint="inventory.sources.search",
                params=search_params([], page_size=100, current_page=page),
            )
            items = (result or {}).get("items", [])
            codes.update(str(i["source_code"]) for i in items)
            if not items or len(codes) >= int((result or {}).get("total_count", 0)):
                return codes
            page += 1

    def save_stock_item(self, sku: str, update: StockItemUpdate) -> int:
        """PUT /V1/products/:sku/stockItems/1 (Magento ignores the item id in the path)."""
        result = self.client.request(
            "PUT",
            f"products/{sku_path(sku)}/stockItems/1",
            endpoint="stock_items.save",
            json={"stockItem": update.model_dump()},
        )
        return int(result) if result is not None else 0


class StockWriter(Writer):
    """Writes `stock` Changes: bulk MSI source items, or legacy stock items.

    Args:
        client: The Magento client.
        mode: `msi` or `legacy` (stores without MSI).
        chunk_size: Source items per request (20 when the store has input limits on).
        concurrency: Requests in flight at once.
    """

    kind: ClassVar[Kind] = "stock"

    def __init__(
        self,
        client: MagentoClient,
        mode: Literal["msi", "legacy"] = "msi",
        chunk_size: int = 500,
        concurrency: int = 4,
    ) -> None:
        super().__init__(concurrency)
        self.api = InventoryApi(client)
        self.mode = mode
        self.chunk_size = chunk_size
        self._sources: set[str] | None = None

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        states = {c.key: StockState.model_validate(c.payload) for c in changes}
        if self.mode == "legacy":
            return self.map_records(changes, lambda c: self._legacy(states[c.key]))
        outcomes: dict[str, Outcome] = {}
        groups: list[tuple[str, list[Any]]] = []
        missing = self._missing_sources(states)
        for key, state in states.items():
            absent = sorted({s.source_code for s in state.sources} & missing)
            if absent:
                outcomes[key] = Outcome(
                    key,
                    False,
                    f"Magento has no source {', '.join(absent)}; create it "
                    "(Stores > Inventory > Sources) or change CPSYNC_STOCK_SOURCES",
                )
            else:
                groups.append((key, build_source_items(state)))
        rows = sum(len(items) for _, items in groups)
        size = spread(rows, self.chunk_size, self.concurrency)
        for result in self._parallel(chunked(groups, size), self._send_chunk):
            outcomes.update(result)
        return outcomes

    def _legacy(self, state: StockState) -> None:
        update = StockItemUpdate(
            qty=float(max(state.total, Decimal(0))), is_in_stock=state.in_stock
        )
        try:
            self.api.save_stock_item(state.sku, update)
        except MagentoRecordError as exc:
            if exc.status != 404:
                raise
            # Not a product (yet): the Items task may still create it, so retry, then park.
            raise RetryableError(f"{exc} (the product may still be on its way: retried)") from exc

    def _missing_sources(self, states: dict[str, StockState]) -> set[str]:
        wanted = {s.source_code for state in states.values() for s in state.sources}
        if self._sources is None or not wanted <= self._sources:
            self._sources = self.api.source_codes()  # new sources appear: look again
        return wanted - self._sources

    def _parallel(
        self,
        chunks: list[list[tuple[str, list[Any]]]],
        send: Callable[[list[tuple[str, list[Any]]]], dict[str, Outcome]],
    ) -> list[dict[str, Outcome]]:
        if self.concurrency <= 1 or len(chunks) <= 1:
            return [send(chunk) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(send, chunks))

    def _send_chunk(self, chunk: list[tuple[str, list[Any]]]) -> dict[str, Outcome]:
        """Send one chunk; split it when Magento refuses it, to find the record at fault."""
        items = [item for _, rows in chunk for item in rows]
        try:
            for start in range(0, len(items), self.chunk_size):
                self.api.save_source_items(items[start : start + self.chunk_size])
        except ConfigurationError:
            raise
        except MagentoRecordError as exc:
            if len(items) > INPUT_LIMIT and exc.status == 400:
                self.chunk_size = learn_input_limit(self.chunk_size, len(items), exc)
                results = [self._send_chunk(part) for part in chunked(chunk, INPUT_LIMIT)]
                return {k: o for result in results for k, o in result.items()}
            if len(chunk) == 1:
                key = chunk[0][0]
                return {key: Outcome.from_exception(key, RecordError(str(exc)))}
            middle = len(chunk) // 2
            logger.info("source items refused (%s); splitting %d records", exc, len(chunk))
            return self._send_chunk(chunk[:middle]) | self._send_chunk(chunk[middle:])
        except Exception as exc:
            return {key: Outcome.from_exception(key, exc) for key, _ in chunk}
        return {key: Outcome.ok(key) for key, _ in chunk}
