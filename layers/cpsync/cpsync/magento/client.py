"""The Magento REST client: auth, store scope, bounded retries, adaptive concurrency, counters.

httpx does not retry on status codes, so this module does, in one place: it caps attempts
*and* elapsed time, adds jitter, honours `Retry-After`, and says which budget ran out.
Writes it retries are upserts (product save by SKU), so a retry after a lost answer is safe.

Every request also holds a slot of one shared :class:`~cpsync.magento.limiter.AdaptiveLimiter`:
when Magento signals overload (429, 502, 503, 504, timeouts) the client sends fewer requests at
once, and more again as answers come back. Helpers others build on: :func:`sku_path` for a
SKU in a URL path, :meth:`MagentoClient.chunks_for_limit` for batches within the input limit.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from cpsync._chunks import chunks
from cpsync.magento.auth import BearerAuth, auth_from_settings
from cpsync.magento.errors import (
    MagentoError,
    MagentoRecordError,
    MagentoRetryableError,
    MagentoTimeUp,
    error_from_response,
)
from cpsync.magento.limiter import AdaptiveLimiter, Signal
from cpsync.magento.models import Product, ProductPayload, ProductSearchResult
from cpsync.settings import Settings

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "MagentoClient",
    "RetryPolicy",
    "chunks_for_limit",
    "search_params",
    "sku_filters",
    "sku_path",
]

logger = logging.getLogger(__name__)

#: Items per array in one request when Magento's Web API input limits are on
#: (docs/reference/magento.md#input-limits-and-hosting).
DEFAULT_MAX_ITEMS = 20
#: Statuses that mean "too much at once": the limiter backs off
#: (docs/reference/magento.md#input-limits-and-hosting; nginx answers 502 when PHP-FPM's listen
#: queue is full).
OVERLOAD_STATUSES = frozenset({429, 502, 503, 504})


def sku_path(sku: str) -> str:
    """A SKU as one URL path segment: `/` becomes `%2F`, a space `%20`.

    See docs/reference/magento.md#skus-with-slashes.

    Apache refuses `%2F` unless `AllowEncodedSlashes NoDecode`; callers that can carry the
    SKU in the body or a search filter instead should do so for SKUs with `/`.
    """
    return quote(sku, safe="")


def chunks_for_limit(items: Iterable[Any], limit: int = DEFAULT_MAX_ITEMS) -> Iterator[list[Any]]:
    """Split `items` into lists of at most `limit` (Magento's array input limit).

    Raises:
        ValueError: `limit` is below 1.
    """
    return chunks(items, limit)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries: attempts, total seconds, backoff shape."""

    max_attempts: int = 4
    budget_seconds: float = 60.0
    base_seconds: float = 0.5
    max_backoff_seconds: float = 10.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (full jitter, Retry-After wins).

        Magento's `Retry-After` is honoured in full, never shortened: when it does not fit in
        the budget the request gives up with it, and the record is retried that much later.
        """
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_backoff_seconds, self.base_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def search_params(
    filters: Sequence[Sequence[tuple[str, str, str]]],
    page_size: int | None = None,
    current_page: int | None = None,
    sort: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """Encode searchCriteria: outer list = groups (AND), inner = filters (OR)."""
    params: dict[str, str] = {}
    for g, group in enumerate(filters):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[condition_type]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if current_page is not None:
        params["searchCriteria[currentPage]"] = str(current_page)
    return params


def sku_filters(skus: Sequence[str]) -> list[tuple[str, str, str]]:
    """One filter group (OR) matching these SKUs.

    An `in` list, and an `eq` filter for each SKU with a comma, which would split the `in` list.
    """
    plain = [sku for sku in skus if "," not in sku]
    group = [("sku", ",".join(plain), "in")] if plain else []
    return group + [("sku", sku, "eq") for sku in skus if "," in sku]


@dataclass(frozen=True)
class _Answer:
    """A successful answer's decoded body (None for an empty body)."""

    value: Any


class MagentoClient:
    """Typed access to the Magento REST endpoints cpsync uses.

    Args:
        base_url: Store URL without `/rest`.
        token: Integration access token, sent as Bearer (when `auth` is not given).
        store_code: `all` writes global values (the default for catalog data,
            docs/reference/magento.md#store-scope-of-saves).
        timeout: httpx timeout (per phase).
        retry: Retry policy for transient failures.
        max_connections: Ceiling of concurrent requests (the limiter starts there).
        sleep: Injected for tests.
        auth: Admin-token or OAuth flow from `cpsync.magento.auth` instead of `token`.
        max_items_per_request: Array input limit used by `chunks_for_limit`.
        limiter: Shared adaptive limiter (built from `max_connections` when not given).
        transient_messages: The store's words for a transient 400 (deadlock, lock wait) when
            it does not answer in English; English is always recognised.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        store_code: str = "all",
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        *,
        auth: httpx.Auth | None = None,
        max_items_per_request: int = DEFAULT_MAX_ITEMS,
        limiter: AdaptiveLimiter | None = None,
        transient_messages: str | None = None,
    ) -> None:
        if auth is None and token is None:
            raise ValueError("MagentoClient needs a token or an auth flow")
        self.base_url = base_url.rstrip("/")
        self.store_code = store_code
        self.retry = retry or RetryPolicy()
        self.max_items_per_request = max_items_per_request
        self.limiter = limiter or AdaptiveLimiter(max_connections)
        self.transient = (
            re.compile(transient_messages, re.IGNORECASE) if transient_messages else None
        )
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json"},
            auth=auth if auth is not None else BearerAuth(str(token)),
            timeout=timeout or httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=max_connections),
        )
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        #: No request starts after this `time.monotonic()` value (None: no limit); see `until`.
        self.deadline: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MagentoClient:
        """A client configured from `CPSYNC_MAGENTO_*`.

        Raises:
            ConfigurationError: the auth mode lacks a setting (named in the message).
        """
        return cls(
            settings.magento_url,
            auth=auth_from_settings(settings),
            max_items_per_request=settings.magento_max_items_per_request,
            store_code=settings.magento_store_code,
            timeout=httpx.Timeout(
                settings.magento_timeout, connect=settings.magento_connect_timeout
            ),
            retry=RetryPolicy(
                max_attempts=settings.magento_max_attempts,
                budget_seconds=settings.magento_retry_budget,
            ),
            max_connections=settings.magento_concurrency * 2,
            transient_messages=settings.magento_transient_messages,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> MagentoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------
    def _url(self, path: str, store: str | None = None, prefix: str = "") -> str:
        code = self.store_code if store is None else store
        parts = [part for part in ("/rest", code, prefix.strip("/"), "V1") if part]
        return "/".join(parts) + "/" + path.lstrip("/")

    @contextmanager
    def until(self, deadline: float | None) -> Iterator[None]:
        """Start no request after `deadline` (a `time.monotonic()` value) inside the block.

        The updater function sets it from the Lambda's remaining time, so a batch that cannot
        finish stops cleanly, and `cpsync serve` to now when it shuts down: a request refused
        this way raises MagentoTimeUp (retryable), and its record goes back to the queue like
        any transient failure. The deadline is the client's, so every thread using it stops
        sending; one block at a time (Lambda runs one event per container).
        """
        previous, self.deadline = self.deadline, deadline
        try:
            yield
        finally:
            self.deadline = previous

    def page_text(self, path: str) -> str | None:
        """The body of a storefront page outside the REST API (`/magento_version`).

        Sent with this client's TLS, proxy and timeouts; None when the page does not answer
        200 or cannot be reached.
        """
        try:
            response = self._http.get(path)
        except httpx.HTTPError:
            return None
        return response.text if response.status_code == 200 else None

    def _time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def chunks_for_limit(self, items: Iterable[Any]) -> Iterator[list[Any]]:
        """Batches of at most `max_items_per_request` (CPSYNC_MAGENTO_MAX_ITEMS_PER_REQUEST)."""
        return chunks_for_limit(items, self.max_items_per_request)

    def _count(self, endpoint: str, failed: bool = False) -> None:
        with self._lock:
            (self.failures if failed else self.requests)[endpoint] += 1

    def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: dict[str, str] | None = None,
        json: Any = None,
        store: str | None = None,
        prefix: str = "",
    ) -> Any:
        """Send one request with bounded retries; returns the decoded JSON body.

        `prefix` is `async` or `async/bulk` for the asynchronous forms
        (docs/reference/magento.md#async-bulk); the store code goes before it.

        Raises:
            MagentoRetryableError: Transient failures outlasted the attempts or time budget,
                or the deadline set by `until` passed before the request could start.
            MagentoRecordError: Magento refused the request (validation, not found).
            MagentoAuthError: The token was refused.
        """
        url = self._url(path, store, prefix)
        started = time.monotonic()
        attempt = 0
        while True:
            if self._time_left() <= 0:
                raise MagentoTimeUp(method, url)
            attempt += 1
            self._count(endpoint)
            outcome = self._attempt(method, url, params, json)
            if isinstance(outcome, _Answer):
                return outcome.value
            error = outcome
            self._count(endpoint, failed=True)
            if not isinstance(error, MagentoRetryableError):
                raise error
            elapsed = time.monotonic() - started
            wait = self.retry.backoff(attempt, error.retry_after)
            if attempt >= self.retry.max_attempts:
                raise MagentoRetryableError(
                    error.status,
                    f"{error.magento_message} (gave up after {attempt} attempts)",
                    method,
                    url,
                    error.retry_after,
                ) from error
            if elapsed + wait > self.retry.budget_seconds:
                raise MagentoRetryableError(
                    error.status,
                    f"{error.magento_message} (retry budget of "
                    f"{self.retry.budget_seconds:g} s used up)",
                    method,
                    url,
                    error.retry_after,
                ) from error
            if wait >= self._time_left():
                raise MagentoTimeUp(method, url, after=error) from error
            logger.info("retrying %s %s in %.2f s: %s", method, url, wait, error)
            self._sleep(wait)

    def _attempt(
        self, method: str, url: str, params: dict[str, str] | None, body: Any
    ) -> _Answer | MagentoError:
        """One HTTP exchange inside a limiter slot: the decoded answer or the error."""
        self.limiter.acquire()
        signal = Signal.NEUTRAL
        try:
            response = self._http.request(method, url, params=params, json=body)
            signal = Signal.OVERLOAD if response.status_code in OVERLOAD_STATUSES else Signal.OK
        except httpx.TimeoutException as exc:
            signal = Signal.OVERLOAD
            return MagentoRetryableError(
                0, f"no answer in time ({type(exc).__name__})", method, url
            )
        except httpx.TransportError as exc:
            return MagentoRetryableError(
                0, f"connection failed ({type(exc).__name__}: {exc})", method, url
            )
        except MagentoError as exc:  # raised by the auth flow (admin token request)
            return exc
        finally:
            self.limiter.release(signal)
        status = response.status_code
        logger.info("%s %s -> %s", method, url, status)
        if response.is_success:
            try:
                return _Answer(response.json() if response.content else None)
            except ValueError:  # a proxy's HTML page with 200: not Magento's answer
                text = " ".join(response.text.split())[:120]
                return MagentoRetryableError(
                    status, f"the answer is not JSON ({text or 'empty'})", method, url
                )
        return error_from_response(response, self.transient)

    # --- products ---------------------------------------------------------------------
    def get_product(self, sku: str) -> dict[str, Any] | None:
        """The product, or None when Magento has no such SKU.

        A SKU with `/` is looked up with a search filter rather than `%2F` in the path,
        which Apache refuses by default (docs/reference/magento.md#input-limits-and-hosting).
        """
        if "/" in sku:
            items = self.search_products(search_params([[("sku", sku, "eq")]], page_size=1))
            found = items.get("items") or []
            return dict(found[0]) if found else None
        try:
            result: dict[str, Any] = self.request(
                "GET", f"products/{sku_path(sku)}", endpoint="products.get"
            )
        except MagentoRecordError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def search_products(self, params: dict[str, str]) -> dict[str, Any]:
        """GET /V1/products with searchCriteria parameters."""
        result: dict[str, Any] = self.request(
            "GET", "products", endpoint="products.search", params=params
        )
        return result

    def find_products(self, skus: Iterable[str], chunk: int = 50) -> dict[str, dict[str, Any]]:
        """Existing products among `skus`, keyed by lower-case SKU (Magento matches any case).

        One search per `chunk` SKUs, paged by total_count (never past the last page, where
        some stores repeat it).
        """
        found: dict[str, dict[str, Any]] = {}
        pending = list(dict.fromkeys(skus))
        for start in range(0, len(pending), chunk):
            filters = sku_filters(pending[start : start + chunk])
            page, seen = 1, 0
            while True:
                result = self.search_products(
                    search_params(
                        [filters], page_size=chunk, current_page=page, sort=[("entity_id", "ASC")]
                    )
                )
                items = result.get("items") or []
                for item in items:
                    found[str(item["sku"]).lower()] = item
                seen += len(items)
                if not items or seen >= int(result.get("total_count", 0)):
                    break
                page += 1
        return found

    def save_product(self, product: dict[str, Any] | ProductPayload) -> dict[str, Any]:
        """Create or update a product by SKU; the saved product as Magento returns it.

        POST carries the SKU in the body, so SKUs with `/` need no `%2F` in the path (which
        Apache refuses unless AllowEncodedSlashes is on).

        Raises:
            MagentoRecordError: Magento refused the product, or answered something that is
                not a product.
        """
        body = product.to_json() if isinstance(product, ProductPayload) else product
        result: dict[str, Any] = self.request(
            "POST", "products", endpoint="products.save", json={"product": body}
        )
        self._check_product(result, "POST", "products")
        return result

    def search(self, params: dict[str, str]) -> ProductSearchResult:
        """Typed `search_products`."""
        return ProductSearchResult.model_validate(self.search_products(params))

    def product(self, sku: str) -> Product | None:
        """Typed `get_product`."""
        found = self.get_product(sku)
        return None if found is None else Product.model_validate(found)

    @staticmethod
    def _check_product(result: Any, method: str, path: str) -> None:
        try:
            Product.model_validate(result)
        except ValidationError as exc:
            raise MagentoRecordError(
                200, f"the answer is not a product ({exc.error_count()} problems)", method, path
            ) from exc

    def stats(self) -> dict[str, Any]:
        """Requests and failures by endpoint and the limiter's state, for summaries."""
        with self._lock:
            counts: dict[str, Any] = {
                "requests": dict(self.requests),
                "failures": dict(self.failures),
            }
        counts["limiter"] = self.limiter.snapshot()
        return counts
