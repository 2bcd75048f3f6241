"""The ASGI app: control routes, then every other path through the REST dispatcher.

The dispatcher runs one pipeline per request, in Magento's order where Magento has one:

1. base latency (network and proxy, no worker held);
2. method check, store code, ``async``/``async/bulk`` prefix and route match on the *raw*
   path (docs/reference/magento.md#url-and-store-scope, #async-bulk), else 404;
3. fault draw: a fault that does not apply the request answers now, without a worker;
4. a worker slot (queueing like PHP-FPM);
5. authorization (Bearer or OAuth, docs/reference/magento.md#authentication), body checks
(docs/reference/magento.md#request-format), input limits
(docs/reference/magento.md#input-limits-and-hosting, when on), the
   endpoint cost (per request, per record, per KiB), then the handler or, for async forms, a
   202 from the bulk queue, and the ``fields`` filter (docs/reference/magento.md#success-responses);
6. a fault that applies the request (``timeout``, or any fault with ``applied``) replaces or
   delays the answer; counters are updated with what the client got.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpsync_emulator.auth import authorize
from cpsync_emulator.bulk import ASYNC_ARRAY_LIMIT, record_count
from cpsync_emulator.control import control_routes
from cpsync_emulator.errors import (
    CHARSET_NOT_UTF8,
    CONTENT_TYPE_EMPTY,
    CONTENT_TYPE_INVALID,
    CONTENT_TYPE_UNSUPPORTED,
    DEADLOCK,
    DECODING_ERROR,
    METHOD_INVALID,
    MagentoError,
    internal_error,
    no_route,
)
from cpsync_emulator.faults import Fault, QueueFull
from cpsync_emulator.fields import apply_fields, parse_fields
from cpsync_emulator.i18n import translate_body
from cpsync_emulator.inputs import check_array_limits, check_async_inputs
from cpsync_emulator.routing import RestPath, RestRequest, Route, parse_rest_path
from cpsync_emulator.runtime import Emulator
from cpsync_emulator.schema import check_service_input
from cpsync_emulator.stats import UNMATCHED

__all__ = [
    "BULK_SUBMIT",
    "ConnectionDropped",
    "RestDispatcher",
    "create_app",
    "json_response",
]

logger = logging.getLogger(__name__)

#: Endpoint name of every async and bulk submission (costs, faults, counters).
BULK_SUBMIT = "bulk.submit"
ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
JSON_MEDIA_TYPE = "application/json; charset=utf-8"
TRANSPORT_KEY = "cpsync_emulator.transport"
_CONTENT_TYPE = re.compile(r"^([a-z\d\-]+/[a-z\d\-+.]+)(?:\s*;\s*charset=([a-z\d\-]+))?$", re.I)

MAINTENANCE_PAGE = """<!doctype html>
<html><head><title>Error 503: Service Unavailable</title></head>
<body><h1>Service Temporarily Unavailable</h1>
<p>The server is temporarily unable to service your request due to maintenance downtime or
capacity problems. Please try again later.</p></body></html>
"""
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ConnectionDropped(Exception):
    """Raised for a ``drop`` fault when the server gives no access to the connection."""


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer as Magento sends it (``application/json; charset=utf-8``)."""
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=JSON_MEDIA_TYPE, headers=headers)


def _localized(response: Response, locale: str, endpoint: str) -> Response:
    """Translate a JSON error answer, or a price call's list of failures (200), into the store
    view's locale (docs/reference/magento.md#url-and-store-scope)."""
    failures = endpoint.startswith("prices.") and response.status_code == 200
    if locale == "en_US" or response.media_type != JSON_MEDIA_TYPE:
        return response
    if response.status_code < 400 and not failures:
        return response
    body = translate_body(json.loads(bytes(response.body)), locale)
    kept = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return json_response(body, response.status_code, kept)


def _gateway_page(status: int, reason: str) -> Response:
    return HTMLResponse(_GATEWAY_PAGE.format(status=status, reason=reason), status_code=status)


def fault_response(fault: Fault, retry_after: int = 1) -> Response:
    """The answer of a status fault: Magento JSON for 500, 429 and deadlock, proxy HTML else."""
    if fault.kind == "500":
        return json_response(internal_error().to_json(), 500)
    if fault.kind == "429":
        headers = {"Retry-After": str(retry_after)}
        return json_response({"message": "Too Many Requests"}, 429, headers)
    if fault.kind == "429-edge":
        page = _gateway_page(429, "Too Many Requests")
        page.headers["Retry-After"] = str(retry_after)
        return page
    if fault.kind == "deadlock":
        return json_response(MagentoError(400, DEADLOCK).to_json(), 400)
    if fault.kind == "503":
        return HTMLResponse(MAINTENANCE_PAGE, status_code=503)
    if fault.kind == "502":
        return _gateway_page(502, "Bad Gateway")
    return _gateway_page(504, "Gateway Time-out")


class RestDispatcher:
    """ASGI app for every ``/rest/...`` request of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        emulator = self.emulator
        endpoint = UNMATCHED
        tracked = _TrackedReceive(receive)
        response: Response | None
        try:
            await emulator.delay(emulator.config.latency_ms / 1000.0)
            route, params, path = self._match(scope)
            endpoint = BULK_SUBMIT if path.mode else route.endpoint
            response = await self._serve(route, params, path, scope, tracked)
        except MagentoError as exc:
            response = json_response(exc.to_json(), exc.status)
        except Exception:
            logger.exception("Emulator failed on %s %s", scope["method"], scope["path"])
            response = json_response(internal_error().to_json(), 500)
        if response is None:
            emulator.stats.record_response(endpoint, "drop")
            await self._drop(scope, tracked)
            return
        emulator.stats.record_response(endpoint, response.status_code)
        response = _localized(response, emulator.config.locale, endpoint)
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Route, dict[str, str], RestPath]:
        """Route, path parameters and parsed path, or the 404/400 Magento gives.

        Async forms (docs/reference/magento.md#async-bulk) match the same route table:
        ``async/V1/...`` by the ordinary template, ``async/bulk/V1/...`` by its ``by<Param>`` form;
        GET has no async form.
        """
        method = scope["method"]
        if method not in ALLOWED_METHODS:
            raise MagentoError(400, METHOD_INVALID)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = parse_rest_path(
            raw_path.split(b"?", 1)[0],
            self.emulator.topology,
            reject_encoded_slash=self.emulator.config.reject_encoded_slash,
        )
        if path is None or (path.mode and method == "GET"):
            raise no_route()
        router = self.emulator.router
        if path.mode == "async/bulk":
            bulk_route = router.match_bulk(method, path.segments)
            matched = None if bulk_route is None else (bulk_route, {})
        else:
            matched = router.match(method, path.segments)
        if matched is None or (path.mode and matched[0].resource is None):
            raise no_route()
        route, params = matched
        return route, params, path

    async def _serve(
        self,
        route: Route,
        params: dict[str, str],
        path: RestPath,
        scope: Scope,
        receive: Receive,
    ) -> Response | None:
        """Faults, worker, cost and handler; None means drop the connection."""
        emulator, config = self.emulator, self.emulator.config
        endpoint = BULK_SUBMIT if path.mode else route.endpoint
        fault = emulator.faults.draw(endpoint, config.faults)
        if fault is not None:
            emulator.stats.record_fault(endpoint, fault.kind)
            if not fault.applies_request:
                return await self._unapplied_fault(fault, receive)
        try:
            async with emulator.workers.slot(config.workers, config.worker_backlog):
                response = await self._execute(route, params, path, scope, receive)
                if fault is None:
                    return response
                if fault.kind == "timeout":
                    await emulator.delay(config.timeout_seconds, receive)
                    return response
        except QueueFull:  # raised on entry only: nothing was applied
            return _gateway_page(502, "Bad Gateway")
        return None if fault.kind == "drop" else fault_response(fault, config.retry_after_seconds)

    async def _unapplied_fault(self, fault: Fault, receive: Receive) -> Response | None:
        """A fault in front of Magento: nothing was applied."""
        if fault.kind == "drop":
            return None
        if fault.kind == "timeout":
            await self.emulator.delay(self.emulator.config.timeout_seconds, receive)
            return _gateway_page(504, "Gateway Time-out")
        return fault_response(fault, self.emulator.config.retry_after_seconds)

    async def _execute(
        self,
        route: Route,
        params: dict[str, str],
        path: RestPath,
        scope: Scope,
        receive: Receive,
    ) -> Response:
        """Authorize, decode the body, check limits, pay the cost, run the handler.

        Every error becomes a Magento answer.
        """
        emulator, config = self.emulator, self.emulator.config
        headers = Headers(scope=scope)
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), True)
        endpoint = BULK_SUBMIT if path.mode else route.endpoint
        try:
            user_type = 0
            if route.resource is not None:
                user_type = authorize(
                    headers,
                    config,
                    emulator.tokens,
                    route.resource,
                    method=scope["method"],
                    url=_request_url(scope, headers),
                    query=query,
                )
            body, size = None, 0
            if scope["method"] in ("POST", "PUT"):
                body, size = await _read_json(headers, Request(scope, receive))
            if config.input_limit_enabled:
                check_array_limits(route, body, ASYNC_ARRAY_LIMIT if path.mode else None)
            if path.mode:
                check_async_inputs(route, path, body, config.unsupported_field_status)
            else:
                check_service_input(route.endpoint, body, config.unsupported_field_status)
            # Accepting a bulk costs per item too (issue #36276: 5k products accept slowly).
            records = len(body) if isinstance(body, list) else record_count(route, body)
            if route.count is not None and not path.mode:
                records = route.count(body)
            cost = config.cost_seconds(endpoint, records, size)
            emulator.stats.record_cost(cost, endpoint)
            await emulator.delay(cost)
            if path.mode:
                bulk = emulator.bulk
                accepted = bulk.submit(route, path.view, path.mode, params, body, user_type)
                return json_response(accepted, 202)
            request = RestRequest(emulator, route, scope["method"], path.view, params, query, body)
            result = route.handler(request)
        except MagentoError as exc:
            return json_response(exc.to_json(), exc.status)
        except Exception:
            logger.exception("Emulator handler for %s failed", route.endpoint)
            return json_response(internal_error().to_json(), 500)
        fields = next((value for key, value in query if key == "fields"), None)
        if fields:
            result = apply_fields(result, parse_fields(fields))
        return json_response(result)

    async def _drop(self, scope: Scope, receive: _TrackedReceive) -> None:
        """Close the TCP connection without answering.

        The request is read to its end first: closing a socket with unread input makes the
        kernel send a reset, and the client would see ECONNRESET instead of a plain close.

        Raises:
            ConnectionDropped: when the ASGI server gives no access to its transport.
        """
        transport = scope.get(TRANSPORT_KEY)
        if transport is None:
            raise ConnectionDropped("drop fault: the connection cannot be reached")
        await receive.drain()
        transport.close()
        # Let the server see the connection loss, so it does not write a 500 of its own.
        for _ in range(3):
            await asyncio.sleep(0)


def _request_url(scope: Scope, headers: Headers) -> str:
    """``scheme://host/raw-path`` as the client addressed it (the OAuth base string URI)."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    host = headers.get("host") or "{}:{}".format(*scope.get("server", ("127.0.0.1", 80)))
    return f"{scope.get('scheme', 'http')}://{host}{raw_path.split(b'?', 1)[0].decode('latin-1')}"


class _TrackedReceive:
    """ASGI ``receive`` that remembers whether the request body has been read to its end."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.body_complete = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.body_complete = True
        return message

    async def drain(self) -> None:
        """Read and discard whatever is left of the request body."""
        while not self.body_complete:
            await self()


async def _read_json(headers: Headers, request: Request) -> tuple[Any, int]:
    """Check Content-Type as Magento does, then decode the JSON body
    (docs/reference/magento.md#request-format).

    Raises:
        MagentoError: 400 for an empty, malformed or non-UTF-8 Content-Type, a media type
            other than JSON, or a body that is not JSON.

    Returns:
        The decoded body and its size in bytes (for the per-KiB cost).
    """
    content_type = headers.get("content-type", "").strip()
    if not content_type:
        raise MagentoError(400, CONTENT_TYPE_EMPTY)
    found = _CONTENT_TYPE.match(content_type)
    if found is None:
        raise MagentoError(400, CONTENT_TYPE_INVALID)
    if found.group(2) is not None and found.group(2).lower() != "utf-8":
        raise MagentoError(400, CHARSET_NOT_UTF8)
    media_type = found.group(1).lower()
    if media_type != "application/json":
        raise MagentoError(400, CONTENT_TYPE_UNSUPPORTED, [media_type])
    raw = await request.body()
    try:
        return json.loads(raw.decode("utf-8")), len(raw)
    except ValueError:
        raise MagentoError(400, DECODING_ERROR) from None


class _ExposeTransport:
    """Outermost ASGI layer: keeps the server's transport in the scope for ``drop`` faults.

    uvicorn's ``send`` is a bound method of the request cycle, which holds the transport;
    Starlette's middleware wraps ``send`` later, so it is read here, before that.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope[TRANSPORT_KEY] = transport
        await self.app(scope, receive, send)


def create_app(emulator: Emulator) -> ASGIApp:
    """The whole emulator as one ASGI app (lifespan included: the catalog is saved at stop)."""

    async def version(_request: Request) -> Response:
        """`Magento/<major.minor> (<edition>)`, as Magento_Version's Index controller says."""
        if not emulator.config.version_page:
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(f"Magento/2.4 ({emulator.config.edition})")

    app = Starlette(
        routes=[
            *control_routes(emulator),
            StarletteRoute("/magento_version", version, methods=["GET"]),
            StarletteRoute("/{path:path}", RestDispatcher(emulator)),
        ],
        lifespan=emulator.lifespan,
    )
    return _ExposeTransport(app)
