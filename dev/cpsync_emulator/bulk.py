"""Async and bulk API (docs/reference/magento.md#async-bulk): operations queued at 202 and worked
off by in-process consumers.

``POST /rest/<store>/async/V1/products`` queues one operation; ``/async/bulk/V1/...`` takes a
JSON array of ordinary request bodies and queues one operation per item, path parameters
replaced by ``by<Param>`` and read from each item (``[{"sku": "A", "entry": {...}}]``).
Operations start open (4). Consumers (``bulk_consumers``, paused by ``bulk_consumer_paused``)
run them through the *same* handlers as the synchronous routes, with the endpoint's cost:

- success → 1, ``Service execution success <Class>::<method>``;
- a ``deadlock`` fault on the endpoint → 2 (failed, retriable), nothing applied;
- a Magento error → 3 with the rendered message (placeholders filled) and its code (0).

Status routes: ``GET /V1/bulk/:bulkUuid/status``, ``/detailed-status`` and
``/operation-status/:status`` (a bare count); an unknown uuid is 404
``Bulk uuid %bulkUuid not exist``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpsync_emulator.errors import (
    ARRAY_ITEMS_MAX,
    BULK_NOT_FOUND,
    DEADLOCK,
    SERVICE_SUCCESS,
    MagentoError,
)
from cpsync_emulator.routing import RestRequest, Route
from cpsync_emulator.store import StoreView

if TYPE_CHECKING:
    from cpsync_emulator.runtime import Emulator

__all__ = [
    "ASYNC_ARRAY_LIMIT",
    "STATUS_COMPLETE",
    "STATUS_NOT_RETRIABLE",
    "STATUS_OPEN",
    "STATUS_REJECTED",
    "STATUS_RETRIABLE",
    "Bulk",
    "BulkQueue",
    "Operation",
    "record_count",
    "routes",
]

logger = logging.getLogger(__name__)

STATUS_COMPLETE = 1
STATUS_RETRIABLE = 2
STATUS_NOT_RETRIABLE = 3
STATUS_OPEN = 4
STATUS_REJECTED = 5

#: Array input limit of async routes when input limits are on
#: (docs/reference/magento.md#input-limits-and-hosting).
ASYNC_ARRAY_LIMIT = 5000
BULK_RESOURCE = "Magento_Logging::system_magento_logging_bulk_operations"

#: Service class and method by endpoint, for ``result_message`` and ``topic_name``.
SERVICES: dict[str, tuple[str, str, str]] = {
    "products.save": (
        "Magento\\Catalog\\Model\\ProductRepository\\Interceptor::save",
        "magento.catalog.api.productrepositoryinterface.save",
        "",
    ),
    "products.delete": (
        "Magento\\Catalog\\Model\\ProductRepository\\Interceptor::deleteById",
        "magento.catalog.api.productrepositoryinterface.deletebyid",
        "",
    ),
}


@dataclass
class Operation:
    """One queued request of a bulk."""

    id: int
    bulk_uuid: str
    route: Route
    view: StoreView
    params: dict[str, str]
    body: Any
    status: int = STATUS_OPEN
    result_message: str | None = None
    error_code: int | None = None
    result_serialized_data: str | None = None

    @property
    def topic_name(self) -> str:
        """``async.<interface>.<method>.<http method>`` as Magento names the queue topic."""
        service = SERVICES.get(self.route.endpoint)
        base = service[1] if service else f"magento.{self.route.endpoint}"
        return f"async.{base}.{self.route.method.lower()}"

    def summary(self) -> dict[str, Any]:
        """The ``operations_list`` entry of ``/status``."""
        return {
            "id": self.id,
            "status": self.status,
            "result_message": self.result_message,
            "error_code": self.error_code,
        }

    def detailed(self) -> dict[str, Any]:
        """The ``operations_list`` entry of ``/detailed-status``."""
        serialized = {
            "entity_id": None,
            "entity_link": "",
            "meta_information": json.dumps(self.body),
        }
        return {
            **self.summary(),
            "bulk_uuid": self.bulk_uuid,
            "topic_name": self.topic_name,
            "serialized_data": json.dumps(serialized),
            "result_serialized_data": self.result_serialized_data,
        }


@dataclass
class Bulk:
    """One accepted request (async or bulk) and its operations."""

    uuid: str
    description: str
    start_time: str
    user_type: int
    operations: list[Operation] = field(default_factory=list)

    def status(self, detailed: bool) -> dict[str, Any]:
        """The ``/status`` or ``/detailed-status`` document."""
        return {
            "operations_list": [
                op.detailed() if detailed else op.summary() for op in self.operations
            ],
            "user_type": self.user_type,
            "bulk_id": self.uuid,
            "description": self.description,
            "start_time": self.start_time,
            "user_id": None,
            "operation_count": len(self.operations),
        }


def _data_hash(item: Any) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode("utf-8")).hexdigest()


def _service_name(route: Route) -> str:
    if route.service:
        return route.service
    service = SERVICES.get(route.endpoint)
    return service[0] if service else f"Magento\\Emulator\\{route.endpoint}::execute"


class BulkQueue:
    """Every bulk of one emulator and the consumers that work off their operations."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._lock = threading.Lock()
        self.bulks: dict[str, Bulk] = {}
        self._pending: deque[Operation] = deque()
        self._consumers: set[asyncio.Task[None]] = set()

    # Submitting ------------------------------------------------------------------------

    def submit(
        self,
        route: Route,
        view: StoreView,
        mode: str,
        path_params: dict[str, str],
        body: Any,
        user_type: int,
    ) -> dict[str, Any]:
        """Accept an async (one body) or bulk (array of bodies) request; the 202 body.

        Raises:
            MagentoError: 400 when a bulk body is not an array, or has more items than the
                async input limit while limits are on.
        """
        if mode == "async/bulk":
            if not isinstance(body, list):
                raise MagentoError(400, "Request body must be an array of requests.")
            if self.emulator.config.input_limit_enabled and len(body) > ASYNC_ARRAY_LIMIT:
                raise MagentoError(
                    400, ARRAY_ITEMS_MAX, {"type": route.endpoint, "max": ASYNC_ARRAY_LIMIT}
                )
            items = body
        else:
            items = [body]
        bulk_uuid = str(uuid.uuid4())
        bulk = Bulk(
            uuid=bulk_uuid,
            description=f"Topic {Operation(0, '', route, view, {}, None).topic_name}",
            start_time=self.emulator.now(),
            user_type=user_type,
        )
        request_items = [
            self._accept(bulk, index, item, route, view, mode, path_params)
            for index, item in enumerate(items)
        ]
        accepted = [op for op in bulk.operations if op.status == STATUS_OPEN]
        with self._lock:
            self.bulks[bulk_uuid] = bulk
            self._pending.extend(accepted)
        self.emulator.stats.record_write("bulk.accepted")
        self._start_consumers()
        return {
            "bulk_uuid": bulk_uuid,
            "request_items": request_items,
            "errors": len(accepted) != len(items),
        }

    @staticmethod
    def _accept(
        bulk: Bulk,
        index: int,
        item: Any,
        route: Route,
        view: StoreView,
        mode: str,
        path_params: dict[str, str],
    ) -> dict[str, Any]:
        """Add one item's operation to the bulk; its ``request_items`` entry."""
        entry: dict[str, Any] = {"id": index, "data_hash": _data_hash(item)}
        if not isinstance(item, dict):
            reason = "The request item must be an object."
            entry.update(status="rejected", error_message=reason, error_code=0)
            bulk.operations.append(
                Operation(index, bulk.uuid, route, view, {}, item, STATUS_REJECTED, reason, 0)
            )
            return entry
        params = dict(path_params)
        if mode == "async/bulk":  # ``by<Param>``: the value is a member of the item
            params = {name: str(item[name]) for name in route.path_params if name in item}
        bulk.operations.append(
            Operation(index, bulk.uuid, route, view, params, copy.deepcopy(item))
        )
        entry["status"] = "accepted"
        return entry

    # Consuming -------------------------------------------------------------------------

    def _start_consumers(self) -> None:
        """Start consumers in the server loop up to ``bulk_consumers`` (called from it)."""
        self._consumers = {task for task in self._consumers if not task.done()}
        while len(self._consumers) < self.emulator.config.bulk_consumers:
            self._consumers.add(asyncio.ensure_future(self._consume()))

    async def _consume(self) -> None:
        """Work off open operations; exit when none is left or the server stops."""
        emulator = self.emulator
        while not emulator.is_closing:
            if emulator.config.bulk_consumer_paused:
                await asyncio.sleep(0.02)
                continue
            with self._lock:
                operation = self._pending.popleft() if self._pending else None
            if operation is None:
                return
            records = record_count(operation.route, operation.body)
            cost = emulator.config.cost_seconds(operation.route.endpoint, records)
            emulator.stats.record_cost(cost, operation.route.endpoint)
            await emulator.delay(cost)
            self.run(operation)

    def run(self, operation: Operation) -> None:
        """Apply one operation through the route's handler and set its status."""
        emulator = self.emulator
        deadlocks = [f for f in emulator.config.faults if f.kind == "deadlock"]
        fault = emulator.faults.draw(operation.route.endpoint, deadlocks)
        if fault is not None:
            emulator.stats.record_fault(operation.route.endpoint, "deadlock")
            operation.status, operation.result_message = STATUS_RETRIABLE, DEADLOCK
            operation.error_code = 0
            emulator.stats.record_write("bulk.failed_retriable")
            return
        request = RestRequest(
            emulator,
            operation.route,
            operation.route.method,
            operation.view,
            operation.params,
            [],
            operation.body,
        )
        try:
            result = operation.route.handler(request)
        except MagentoError as exc:
            operation.status, operation.result_message = STATUS_NOT_RETRIABLE, exc.rendered()
            operation.error_code = 0
            emulator.stats.record_write("bulk.failed")
            return
        # any other exception: 3 with its message (docs/reference/magento.md#async-bulk)
        except Exception as exc:
            logger.exception("async operation %s failed", operation.route.endpoint)
            operation.status, operation.result_message = STATUS_NOT_RETRIABLE, str(exc)
            operation.error_code = 0
            emulator.stats.record_write("bulk.failed")
            return
        operation.status = STATUS_COMPLETE
        operation.result_message = SERVICE_SUCCESS.replace("%1", _service_name(operation.route))
        operation.result_serialized_data = json.dumps(result)
        emulator.stats.record_write("bulk.complete")

    # Reading ---------------------------------------------------------------------------

    def get(self, bulk_uuid: str) -> Bulk:
        """The bulk, or the 404 of docs/reference/magento.md#async-bulk.

        Raises:
            MagentoError: 404 ``Bulk uuid %bulkUuid not exist``.
        """
        with self._lock:
            bulk = self.bulks.get(bulk_uuid)
        if bulk is None:
            raise MagentoError(404, BULK_NOT_FOUND, {"bulkUuid": bulk_uuid})
        return bulk

    @property
    def open_operations(self) -> int:
        """Operations still waiting for a consumer."""
        with self._lock:
            return len(self._pending)

    def clear(self) -> None:
        """Forget every bulk and drop open operations (reset)."""
        with self._lock:
            self.bulks.clear()
            self._pending.clear()


def record_count(route: Route, body: Any) -> int:
    """Records a request carries: items of ``route.records`` or of a declared array, else 1."""
    if isinstance(body, dict):
        wanted = [route.records] if route.records else []
        wanted += list(route.arrays)
        loose = {str(key).replace("_", "").lower(): value for key, value in body.items()}
        for name in wanted:
            value = loose.get(name.replace("_", "").lower())
            if isinstance(value, list):
                return len(value)
    return 1


def _status(request: RestRequest) -> dict[str, Any]:
    return request.emulator.bulk.get(request.params["bulkUuid"]).status(detailed=False)


def _detailed_status(request: RestRequest) -> dict[str, Any]:
    return request.emulator.bulk.get(request.params["bulkUuid"]).status(detailed=True)


def _operation_count(request: RestRequest) -> int:
    bulk = request.emulator.bulk.get(request.params["bulkUuid"])
    wanted = request.params["status"]
    return sum(1 for op in bulk.operations if str(op.status) == wanted)


def routes() -> list[Route]:
    """The bulk status routes (``Magento/AsynchronousOperations/etc/webapi.xml``)."""
    acl = BULK_RESOURCE
    return [
        Route("GET", "/V1/bulk/:bulkUuid/status", "bulk.status", _status, acl),
        Route(
            "GET",
            "/V1/bulk/:bulkUuid/detailed-status",
            "bulk.detailed_status",
            _detailed_status,
            acl,
        ),
        Route(
            "GET",
            "/V1/bulk/:bulkUuid/operation-status/:status",
            "bulk.operation_count",
            _operation_count,
            acl,
        ),
    ]
