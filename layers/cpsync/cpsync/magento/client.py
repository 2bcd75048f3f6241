"""The Magento REST client: auth, store scope, bounded retries, request counters.

httpx does not retry on status codes, so this module does, in one place: it caps attempts
*and* elapsed time, adds jitter, honours `Retry-After`, and says which budget ran out.
Writes it retries are upserts (product save by SKU), so a retry after a lost answer is safe.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from cpsync.magento.errors import (
    MagentoError,
    MagentoRecordError,
    MagentoRetryableError,
    error_from_response,
)
from cpsync.settings import Settings

__all__ = ["MagentoClient", "RetryPolicy", "search_params"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries: attempts, total seconds, backoff shape."""

    max_attempts: int = 4
    budget_seconds: float = 60.0
    base_seconds: float = 0.5
    max_backoff_seconds: float = 10.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (full jitter, Retry-After wins)."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
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


class MagentoClient:
    """Typed access to the Magento REST endpoints cpsync uses.

    Args:
        base_url: Store URL without `/rest`.
        token: Integration access token, sent as Bearer.
        store_code: `all` writes global values (the default for catalog data).
        timeout: httpx timeout (per phase).
        retry: Retry policy for transient failures.
        sleep: Injected for tests.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        store_code: str = "all",
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.store_code = store_code
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout or httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=max_connections),
        )
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings) -> MagentoClient:
        """A client configured from `CPSYNC_MAGENTO_*`."""
        return cls(
            settings.magento_url,
            settings.magento_token.get_secret_value(),
            store_code=settings.magento_store_code,
            timeout=httpx.Timeout(
                settings.magento_timeout, connect=settings.magento_connect_timeout
            ),
            retry=RetryPolicy(
                max_attempts=settings.magento_max_attempts,
                budget_seconds=settings.magento_retry_budget,
            ),
            max_connections=settings.magento_concurrency * 2,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> MagentoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------
    def _url(self, path: str, store: str | None = None) -> str:
        code = self.store_code if store is None else store
        return f"/rest/{code}/V1/{path.lstrip('/')}" if code else f"/rest/V1/{path.lstrip('/')}"

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
    ) -> Any:
        """Send one request with bounded retries; returns the decoded JSON body.

        Raises:
            MagentoRetryableError: Transient failures outlasted the attempts or time budget.
            MagentoRecordError: Magento refused the request (validation, not found).
            MagentoAuthError: The token was refused.
        """
        url = self._url(path, store)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self._count(endpoint)
            try:
                response = self._http.request(method, url, params=params, json=json)
            except httpx.TimeoutException as exc:
                error: MagentoError = MagentoRetryableError(
                    0, f"no answer in time ({type(exc).__name__})", method, url
                )
            except httpx.TransportError as exc:
                error = MagentoRetryableError(
                    0, f"connection failed ({type(exc).__name__}: {exc})", method, url
                )
            else:
                logger.info("%s %s -> %s", method, url, response.status_code)
                if response.is_success:
                    return response.json() if response.content else None
                error = error_from_response(response)
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
            logger.info("retrying %s %s in %.2f s: %s", method, url, wait, error)
            self._sleep(wait)

    # --- products ---------------------------------------------------------------------
    def get_product(self, sku: str) -> dict[str, Any] | None:
        """The product, or None when Magento has no such SKU."""
        try:
            result: dict[str, Any] = self.request(
                "GET", f"products/{quote(sku, safe='')}", endpoint="products.get"
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
            part = pending[start : start + chunk]
            # A comma inside a SKU would split the `in` list, so such SKUs get an `eq` filter.
            plain = [s for s in part if "," not in s]
            filters: list[tuple[str, str, str]] = []
            if plain:
                filters.append(("sku", ",".join(plain), "in"))
            filters += [("sku", s, "eq") for s in part if "," in s]
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

    def save_product(self, product: dict[str, Any]) -> dict[str, Any]:
        """Create or update a product by SKU.

        POST carries the SKU in the body, so SKUs with `/` need no `%2F` in the path (which
        Apache refuses unless AllowEncodedSlashes is on).
        """
        result: dict[str, Any] = self.request(
            "POST", "products", endpoint="products.save", json={"product": product}
        )
        return result

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests and failures by endpoint, for summaries and metrics."""
        with self._lock:
            return {"requests": dict(self.requests), "failures": dict(self.failures)}
