"""Async bulk: submit many records in one request, poll, map each operation back.

See docs/reference/magento.md#async-bulk.

``POST /rest/<store>/async/bulk/V1/<path>`` takes a JSON array of ordinary request bodies and
answers 202 with a ``bulk_uuid`` and one ``request_items`` entry per body (same index). The
store's consumer works the operations off later; ``/V1/bulk/<uuid>/detailed-status`` says how
each ended: 1 complete, 2 failed but retriable (deadlock, lock wait), 3 failed, 4 still open,
5 rejected. :class:`BulkRunner` turns that into one :class:`~cpsync.magento.writer.Outcome`
per record key: status-2 operations are submitted again (in a new bulk) up to ``rounds``
times, operations still open when ``wait`` runs out come back retryable, failures come back
with Magento's message naming the record.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cpsync.errors import DataError
from cpsync.magento.client import MagentoClient, chunks_for_limit
from cpsync.magento.errors import STOPPED_FIRST
from cpsync.magento.models import BulkAccepted, BulkOperation, BulkStatus
from cpsync.magento.writer import Outcome

if TYPE_CHECKING:
    from cpsync.magento.media import ImageWriter
    from cpsync.magento.product_fields import CreateRules
    from cpsync.model import Change, ProductState
    from cpsync.ports import StatePort
    from cpsync.settings import Settings

__all__ = [
    "BULK_CONSUMER",
    "PRODUCTS_PER_BULK",
    "STATUS_COMPLETE",
    "STATUS_NOT_RETRIABLE",
    "STATUS_OPEN",
    "STATUS_REJECTED",
    "STATUS_RETRIABLE",
    "BulkResult",
    "BulkRunner",
]

logger = logging.getLogger(__name__)

STATUS_COMPLETE = 1
STATUS_RETRIABLE = 2
STATUS_NOT_RETRIABLE = 3
STATUS_OPEN = 4
STATUS_REJECTED = 5


@dataclass(frozen=True)
class BulkResult:
    """Outcomes by record key, plus what the completed operations returned (by key)."""

    outcomes: dict[str, Outcome]
    results: dict[str, Any]


#: Option: whether `cpsync check` saw the async bulk consumer work an operation, and when.
BULK_CONSUMER = "magento.bulk_consumer"
#: Products per bulk request: a first load of 10,000 products is 100 requests.
PRODUCTS_PER_BULK = 100


class BulkRunner:
    """Runs record batches through an async bulk endpoint to a per-record outcome.

    Args:
        client: The Magento client (auth, retries and limiter apply to every call).
        label: Names a record in messages, e.g. ``product``.
        wait: Seconds to wait for the operations of one bulk.
        rounds: Submissions of one record at most (status 2 sends it again).
        chunk: Bodies per bulk request (Magento's async array limit is 5,000).
        min_batch: Smallest batch a writer should send this way (smaller: one call each).
        poll_first: First poll delay; it doubles up to ``poll_max``.
        sleep, clock: Injected for tests.
    """

    def __init__(
        self,
        client: MagentoClient,
        *,
        label: str = "record",
        wait: float = 300.0,
        rounds: int = 4,
        chunk: int = 500,
        min_batch: int = 1,
        poll_first: float = 0.05,
        poll_max: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.label = label
        self.wait = wait
        self.rounds = rounds
        self.chunk = chunk
        self.poll_first = poll_first
        self.poll_max = poll_max
        self._sleep = sleep
        self._clock = clock
        self.min_batch = min_batch

    @classmethod
    def from_settings(cls, client: MagentoClient, settings: Settings) -> BulkRunner:
        """A runner for products configured from ``CPSYNC_MAGENTO_BULK_*``."""
        return cls(
            client,
            label="product",
            wait=settings.magento_bulk_wait,
            min_batch=settings.magento_bulk_min_batch,
            chunk=PRODUCTS_PER_BULK,
        )

    # --- wire -----------------------------------------------------------------------------
    def submit(
        self, path: str, bodies: Sequence[Any], method: str = "POST", store: str | None = None
    ) -> BulkAccepted:
        """One bulk request; the 202 answer."""
        answer = self.client.request(
            method,
            path,
            endpoint="bulk.submit",
            json=list(bodies),
            store=store,
            prefix="async/bulk",
        )
        return BulkAccepted.model_validate(answer)

    def status(self, bulk_uuid: str) -> BulkStatus:
        """``GET /V1/bulk/<uuid>/detailed-status``."""
        answer = self.client.request(
            "GET", f"bulk/{bulk_uuid}/detailed-status", endpoint="bulk.detailed_status"
        )
        return BulkStatus.model_validate(answer)

    def poll(self, bulk_uuid: str, deadline: float) -> dict[int, BulkOperation]:
        """Operations by id once none is open, or as they are when the deadline passes.

        The client's own deadline (the updater function's time limit) ends the wait too.
        """
        if self.client.deadline is not None:
            deadline = min(deadline, self.client.deadline)
        delay = self.poll_first
        while True:
            operations = {op.id: op for op in self.status(bulk_uuid).operations_list}
            if all(op.status != STATUS_OPEN for op in operations.values()):
                return operations
            if self._clock() + delay > deadline:
                return operations
            self._sleep(delay)
            delay = min(self.poll_max, delay * 2)

    # --- records --------------------------------------------------------------------------
    def run(
        self,
        path: str,
        bodies: Mapping[str, Any],
        method: str = "POST",
        store: str | None = None,
        max_bytes: int | None = None,
    ) -> BulkResult:
        """Apply ``bodies`` (record key → request body); one Outcome per key.

        A bulk request carries at most ``chunk`` bodies and, with ``max_bytes``, at most that
        many bytes of JSON (one larger body goes alone). Transport failures of the submit or
        status calls surface as retryable outcomes for the records they carried (the client
        already retried them).
        """
        outcomes: dict[str, Outcome] = {}
        results: dict[str, Any] = {}
        pending = dict(bodies)
        for round_no in range(1, self.rounds + 1):
            if not pending:
                break
            retry: dict[str, Any] = {}
            for keys in self._chunks(pending, max_bytes):
                part = {key: pending[key] for key in keys}
                try:
                    again = self._one_bulk(path, part, method, store, outcomes, results)
                except Exception as exc:  # each record gets the reason, none is lost
                    for key in keys:
                        outcomes[key] = Outcome.from_exception(key, exc)
                    continue
                retry.update(again)
            pending = retry
            if pending:
                logger.info("bulk round %d: %d operations to send again", round_no, len(pending))
        for key in pending:
            outcomes[key] = Outcome(
                key,
                False,
                f"{self.label} {key}: Magento kept failing the bulk operation as retriable "
                f"after {self.rounds} submissions",
                retryable=True,
            )
        return BulkResult(outcomes, results)

    def _chunks(self, bodies: Mapping[str, Any], max_bytes: int | None) -> list[list[str]]:
        """Keys per bulk request: at most ``chunk`` bodies and ``max_bytes`` of JSON."""
        if max_bytes is None:
            return list(chunks_for_limit(list(bodies), self.chunk))
        chunks: list[list[str]] = []
        current: list[str] = []
        size = 0
        for key, body in bodies.items():
            cost = len(json.dumps(body)) + 2
            if current and (len(current) >= self.chunk or size + cost > max_bytes):
                chunks.append(current)
                current, size = [], 0
            current.append(key)
            size += cost
        if current:
            chunks.append(current)
        return chunks

    def _one_bulk(
        self,
        path: str,
        part: dict[str, Any],
        method: str,
        store: str | None,
        outcomes: dict[str, Outcome],
        results: dict[str, Any],
    ) -> dict[str, Any]:
        """Submit one bulk and settle its records; returns those to send again."""
        keys = list(part)
        accepted = self.submit(path, [part[k] for k in keys], method, store)
        by_id = dict(enumerate(keys))
        rejected: set[str] = set()
        for item in accepted.request_items:
            key = by_id.get(item.id)
            if key is not None and item.status != "accepted":
                rejected.add(key)
                outcomes[key] = Outcome(
                    key, False, f"{self.label} {key}: rejected by Magento: {item.error_message}"
                )
        limit = self._clock() + self.wait
        cut_short = self.client.deadline is not None and self.client.deadline < limit
        operations = self.poll(accepted.bulk_uuid, limit)
        again: dict[str, Any] = {}
        for op_id, key in by_id.items():
            if key in rejected:
                continue
            op = operations.get(op_id)
            if op is None:
                outcomes[key] = Outcome(
                    key, False, f"{self.label} {key}: bulk operation missing", retryable=True
                )
            elif op.status == STATUS_COMPLETE:
                outcomes[key] = Outcome.ok(key)
                if op.result_serialized_data:
                    results[key] = json.loads(op.result_serialized_data)
            elif op.status == STATUS_RETRIABLE:
                again[key] = part[key]
            elif op.status == STATUS_OPEN:
                why = (
                    f": {STOPPED_FIRST}, the record goes back to the queue"
                    if cut_short
                    else f" after {self.wait:g} s (is the async.operations.all consumer running?)"
                )
                outcomes[key] = Outcome(
                    key,
                    False,
                    f"{self.label} {key}: bulk {accepted.bulk_uuid} operation still open{why}",
                    retryable=True,
                )
            else:
                outcomes[key] = Outcome(
                    key,
                    False,
                    f"{self.label} {key}: Magento refused it: {op.result_message}",
                )
        return again

    # --- products -------------------------------------------------------------------------
    def save_products(
        self,
        changes: Sequence[Change],
        states: Mapping[str, ProductState],
        existing: Mapping[str, int],
        attribute_set_id: int,
        state: StatePort,
        rules: CreateRules | None = None,
        galleries: ImageWriter | None = None,
    ) -> dict[str, Outcome]:
        """The product writer's bulk branch: its payload rules, one bulk per 100 products.

        New products are created complete as single saves are (`plan_create`: price, special
        price, stock, the categories Magento already has, and the images that fit the request
        size limit; the rest are uploaded after), and what they carried is recorded for the
        other tasks.
        """
        from cpsync.magento.categories import new_product_categories, remember_links
        from cpsync.magento.product_fields import CreateRules, note_carried
        from cpsync.magento.products import plan_create, plan_product_save

        rules = rules or CreateRules()
        outcomes: dict[str, Outcome] = {}
        bodies: dict[str, Any] = {}
        linked: dict[str, list[int]] = {}
        carried: dict[str, dict[str, str]] = {}
        creating = [states[c.key] for c in changes if c.key not in existing]
        new_categories = new_product_categories(state, creating)
        skus = [p.sku for p in creating if p.enabled]
        due = galleries.due(skus) if galleries is not None and skus else {}
        for change in changes:
            product = states[change.key]
            create = change.key not in existing
            categories = new_categories.get(change.key, [])
            if create and product.category_ids:
                linked[change.key] = categories
            try:
                if create and product.enabled:
                    plan = plan_create(product, rules, attribute_set_id, categories)
                    payload: dict[str, Any] | None = plan.product
                    for kind, print_ in plan.carried.items():
                        carried.setdefault(kind, {})[change.key] = print_
                    gallery = due.get(change.key)
                    if gallery is not None and galleries is not None:
                        payload = galleries.with_entries(
                            plan.product, gallery, rules.max_request_bytes
                        )
                else:
                    payload = plan_product_save(product, create, attribute_set_id, categories)
            except DataError as exc:
                outcomes[change.key] = Outcome.from_exception(change.key, exc)
                continue
            if payload is None:
                outcomes[change.key] = Outcome.ok(change.key)
                continue
            bodies[change.key] = {"product": payload}
        result = self.run("products", bodies, max_bytes=rules.max_request_bytes)
        outcomes.update(result.outcomes)
        fresh = {
            key: int(saved["id"])
            for key, saved in result.results.items()
            if key not in existing and isinstance(saved, dict) and "id" in saved
        }
        if fresh:
            state.put_magento_ids("product", fresh)
        for key in fresh:
            if key in linked:
                remember_links(state, states[key].sku, linked[key])
                if len(linked[key]) != len(states[key].category_ids):
                    carried.get("category_links", {}).pop(key, None)
        note_carried(
            state, {k: {s: p for s, p in v.items() if s in fresh} for k, v in carried.items()}
        )
        for key in fresh:
            gallery = due.get(key)
            if gallery is None or galleries is None:
                continue
            try:  # the product is saved: its record says what is missing
                galleries.finish_create(gallery, result.results[key])
            except Exception as exc:  # a refused sign-in still stops the batch, as elsewhere
                outcomes[key] = Outcome.from_exception(key, exc)
        return outcomes
