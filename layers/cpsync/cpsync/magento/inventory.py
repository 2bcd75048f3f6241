"""Stock in Magento: bulk MSI source items, or legacy stock items on stores without MSI.

See docs/reference/magento.md#inventory.

`POST /V1/inventory/source-items` is all-or-nothing: one invalid item fails the whole call with
`Validation Failed`, and an unknown source fails it with `Could not save Source Item`. So the
writer checks sources before sending, and when Magento still refuses a chunk it splits it to
find the record at fault, so the other records are applied.

Sources cpsync stops writing (CPSYNC_STOCK_SOURCES switched between `single` and
`per_location`, a location dropped from CPSYNC_STOCK_LOCATIONS) would otherwise keep their old
quantities and still count in the salable quantity. The writer remembers every source code it
has written (option `stock.sources_written`); when a SKU is written without one of them, that
SKU's source item of the old source is deleted. A code is forgotten once Magento holds no
source item with it, so the extra search stops after the switch has been worked off.

A large batch (CPSYNC_MAGENTO_IMPORT_STOCK_MIN rows or more, a full reconciliation) can go
through Magento's ``stock_sources`` import instead, one request per CPSYNC_MAGENTO_IMPORT_ROWS
rows, when the store accepts that entity. Magento's import saves the rows with the same
service as the bulk endpoint, so it saves requests, not work per row (docs/benchmarks.md).
Its answer cannot tell rows apart: ``Entities Processed: N`` marks the file's records
applied; any other answer sends the file's records through the bulk endpoint, where each
record gets its own outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cpsync.errors import ConfigurationError, RecordError, RetryableError
from cpsync.magento.client import (
    DEFAULT_MAX_ITEMS,
    MagentoClient,
    search_params,
    sku_filters,
    sku_path,
)
from cpsync.magento.errors import MagentoError, MagentoRecordError
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, StockState
from cpsync.ports import StatePort

if TYPE_CHECKING:
    from cpsync.magento.importer import ImportProbe

__all__ = [
    "SOURCES_WRITTEN",
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

#: Option: every MSI source code the stock writer has written (see the module docstring).
SOURCES_WRITTEN = "stock.sources_written"
#: Magento's import entity of MSI source items (Magento_InventoryImportExport).
IMPORT_ENTITY = "stock_sources"
#: How long the list of Magento's sources is trusted before it is read again.
SOURCES_TTL_SECONDS = 900.0


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


#: Magento's Web API input limit (docs/reference/magento.md#input-limits-and-hosting): arrays of
#: more items are refused when it is on.
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


def spread(rows: int, limit: int) -> int:
    """Rows per request: as few requests as `limit` allows, the rows shared evenly among them.

    Every request costs Magento its bootstrap, so rows are spread over more requests only when
    there are more than one request carries: 1,287 rows at 500 go as 3 requests of 429, not
    26 of 50. Requests of different chunks and kinds still run side by side.
    """
    calls = -(-max(rows, 1) // max(1, limit))
    return max(1, min(limit, -(-rows // calls)))


def chunked(
    groups: Sequence[tuple[str, list[Any]]], size: int, limit: int | None = None
) -> list[list[tuple[str, list[Any]]]]:
    """Pack per-record row lists into chunks of about `size` rows, never more than `limit`.

    `limit` is `size` when not given. A record is never split (a record with more rows than
    the limit gets a chunk of its own, split by the caller). A chunk is closed once it holds
    `size` rows, so records of several rows do not add a call: 1,287 rows at 429 stay 3 calls.
    """
    ceiling = limit or size
    chunks: list[list[tuple[str, list[Any]]]] = []
    current: list[tuple[str, list[Any]]] = []
    count = 0
    for key, rows in groups:
        if current and (count >= size or count + len(rows) > ceiling):
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

    def source_items(self, skus: Sequence[str], chunk: int = 50) -> list[SourceItem]:
        """Source items of these SKUs: one search per `chunk` SKUs.

        Paged by total_count, never past the last page (which some stores repeat).
        """
        found: list[SourceItem] = []
        for start in range(0, len(skus), chunk):
            found += self._search_source_items([sku_filters(skus[start : start + chunk])])
        return found

    def count_source_items(self, source_code: str) -> int:
        """How many source items Magento holds for `source_code` (one search, one row)."""
        params = search_params([[("source_code", source_code, "eq")]], page_size=1)
        result = self.client.request(
            "GET", "inventory/source-items", endpoint="inventory.source_items.search", params=params
        )
        return int((result or {}).get("total_count", 0))

    def _search_source_items(
        self, filters: Sequence[Sequence[tuple[str, str, str]]]
    ) -> list[SourceItem]:
        items: list[SourceItem] = []
        page = 1
        while True:
            params = search_params(filters, page_size=100, current_page=page)
            result = self.client.request(
                "GET",
                "inventory/source-items",
                endpoint="inventory.source_items.search",
                params=params,
            )
            rows = (result or {}).get("items", [])
            items += [SourceItem.model_validate(i) for i in rows]
            if not rows or len(items) >= int((result or {}).get("total_count", 0)):
                return items
            page += 1

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
        state: Where the source codes written so far are remembered; without it, source
            items of sources no longer written are left alone.
        clock: Injected for tests (the list of sources is read again after
            `SOURCES_TTL_SECONDS`, or at once when a Change names a source not in it).
        import_min: Rows a batch needs before it goes through the stock_sources import
            (0: never).
        import_rows: Rows per import request.
    """

    kind: ClassVar[Kind] = "stock"

    def __init__(
        self,
        client: MagentoClient,
        mode: Literal["msi", "legacy"] = "msi",
        chunk_size: int = 500,
        concurrency: int = 4,
        state: StatePort | None = None,
        clock: Callable[[], float] = time.monotonic,
        import_min: int = 0,
        import_rows: int = 5000,
    ) -> None:
        super().__init__(concurrency)
        self.client = client
        self.api = InventoryApi(client)
        self.import_min = import_min
        self.import_rows = import_rows
        self._import_ok: ImportProbe | None = None
        self.mode = mode
        self.chunk_size = chunk_size
        self.state = state
        self.clock = clock
        self._sources: set[str] | None = None
        self._sources_read_at = 0.0

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Write the stock of each SKU: bulk MSI source items, or one stock item per SKU.

        A record naming a source Magento lacks is parked with what to do; the others are sent
        in chunks of about `chunk_size` rows, and source items under sources cpsync no longer
        writes are deleted afterwards.
        """
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
        written = self._remember_sources(groups)
        rows = sum(len(items) for _, items in groups)
        if self.import_min and rows >= self.import_min and self._import_accepted():
            for part in chunked(groups, self.import_rows):
                outcomes.update(self._import(part))
        else:
            outcomes.update(self._bulk(groups))
        if written:
            self._drop_old_sources(written, groups, outcomes)
        return outcomes

    def _bulk(self, groups: list[tuple[str, list[Any]]]) -> dict[str, Outcome]:
        """Send the groups through the bulk endpoint, chunks side by side."""
        outcomes: dict[str, Outcome] = {}
        size = spread(sum(len(items) for _, items in groups), self.chunk_size)
        for result in self._parallel(chunked(groups, size, self.chunk_size), self._send_chunk):
            outcomes.update(result)
        return outcomes

    def _import_accepted(self) -> bool:
        """Whether the store's import takes stock_sources (asked once per writer)."""
        if self._import_ok is None:
            from cpsync.magento.importer import ImportProbe  # importer imports this module

            fallback = "stock goes through the bulk endpoint, not the import"
            self._import_ok = ImportProbe(self.client, IMPORT_ENTITY, fallback)
        return self._import_ok()

    def _import(self, part: list[tuple[str, list[Any]]]) -> dict[str, Outcome]:
        """One stock_sources import of these records; the bulk endpoint when it is refused.

        Only ``Entities Processed`` with no other line says Magento holds every row; a
        refused file may have been written in part, which the bulk write then overwrites.
        """
        items = [
            {
                "source_code": item.source_code,
                "sku": item.sku,
                "status": str(item.status),
                "quantity": repr(item.quantity),
            }
            for _, rows in part
            for item in rows
        ]
        source = {
            "entity": IMPORT_ENTITY,
            "behavior": "append",
            "validation_strategy": "validation-stop-on-errors",
            "allowed_error_count": "0",
            "items": items,
        }
        try:
            answer = self.client.request(
                "POST", "import/json", endpoint="import.json", json={"source": source}
            )
        except ConfigurationError:
            raise
        except MagentoError as exc:
            answer = [str(exc)]
        lines = [str(a) for a in answer] if isinstance(answer, list) else [str(answer)]
        if len(lines) == 1 and lines[0].startswith("Entities Processed"):
            return {key: Outcome.ok(key) for key, _ in part}
        logger.warning(
            "stock import of %d rows refused (%s); sending them through the bulk endpoint",
            len(items),
            "; ".join(lines),
        )
        return self._bulk(part)

    def _remember_sources(self, groups: list[tuple[str, list[Any]]]) -> set[str]:
        """Add this batch's source codes to those written so far; returns them all."""
        if self.state is None:
            return set()
        known = set(self.state.get_option(SOURCES_WRITTEN, []))
        wanted = {item.source_code for _, items in groups for item in items}
        if not wanted <= known:
            known |= wanted
            self.state.set_option(SOURCES_WRITTEN, sorted(known))
        return known

    def _drop_old_sources(
        self,
        written: set[str],
        groups: list[tuple[str, list[Any]]],
        outcomes: dict[str, Outcome],
    ) -> None:
        """Delete the source items cpsync wrote before under sources it no longer writes."""
        old_by_sku = {
            items[0].sku: written - {item.source_code for item in items}
            for key, items in groups
            if items and outcomes.get(key, Outcome.ok(key)).applied
        }
        old_by_sku = {sku: codes for sku, codes in old_by_sku.items() if codes}
        if not old_by_sku:
            return
        try:
            old_codes = {sku.lower(): codes for sku, codes in old_by_sku.items()}  # any case
            stale = [
                (item.sku, item.source_code)
                for item in self.api.source_items(sorted(old_by_sku))
                if item.source_code in old_codes.get(item.sku.lower(), set())
            ]
            for start in range(0, len(stale), self.chunk_size):
                self.api.delete_source_items(stale[start : start + self.chunk_size])
            if stale:
                logger.info(
                    "stock: deleted %d source items of sources no longer written", len(stale)
                )
            retired = {
                code
                for code in set().union(*old_by_sku.values())
                if self.api.count_source_items(code) == 0
            }
        except (ConfigurationError, MagentoRecordError, RetryableError) as exc:
            # The quantities are written; the old rows go with the SKU's next write.
            logger.warning("stock: old source items not cleaned up this time: %s", exc)
            return
        if retired and self.state is not None:
            left = set(self.state.get_option(SOURCES_WRITTEN, [])) - retired
            self.state.set_option(SOURCES_WRITTEN, sorted(left))

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
        """The sources these Changes name that Magento lacks.

        The list is read once per process, and again after `SOURCES_TTL_SECONDS` or when a
        source is missing from it.
        """
        wanted = {s.source_code for state in states.values() for s in state.sources}
        now = self.clock()
        if (
            self._sources is None
            or not wanted <= self._sources
            or now - self._sources_read_at > SOURCES_TTL_SECONDS
        ):
            self._sources = self.api.source_codes()  # new sources appear: look again
            self._sources_read_at = now
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
