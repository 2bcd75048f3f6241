"""Benchmark: stock rows, prices and products through the Magento client and writers.

`python -m bench.magento_client` pushes 10,000 stock rows, 10,000 prices and 1,000 products
through the writers (over HTTP) into the emulator's cost model, and prints for each phase the
requests made, records per request, the time taken, and the lower bound the cost model allows:
the worker time of the fewest requests the REST API needs for the phase (one bulk call per
`bulk` rows, one save per product) and of their rows, divided by the emulator's workers. The
bound does not move with the client's requests, so a client that sends more calls than needed
shows up as further from it. A phase close to its bound is limited by the store, not by the
client. Figures are printed and stored in
`bench/results/magento_client.json`, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from math import ceil
from pathlib import Path
from typing import Any

from cpsync.magento.client import MagentoClient
from cpsync.magento.inventory import StockWriter
from cpsync.magento.prices import PriceWriter
from cpsync.magento.products import ProductWriter
from cpsync.magento.writer import Writer
from cpsync.model import (
    Change,
    Desired,
    PriceState,
    ProductState,
    SourceQuantity,
    SpecialPrice,
    StockState,
)
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator

RESULTS = Path(__file__).parent / "results" / "magento_client.json"
REQUEST_MS = 20.0  # PHP bootstrap and routing of one REST call


class _NoState:
    """ProductWriter keeps Magento ids, options and what creates carried in state; the
    benchmark keeps only the options (so the store is looked at once) and forgets the rest."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def get_magento_ids(self, kind: str, keys: list[str]) -> dict[str, int]:
        return {}

    def put_magento_ids(self, kind: str, ids: dict[str, int]) -> None:
        return None

    def get_option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def set_option(self, name: str, value: Any) -> None:
        self.options[name] = value

    def get_applied(self, kind: str, keys: list[str]) -> dict[str, Any]:
        return {}

    def get_sent(self, kind: str, keys: list[str] | None = None) -> dict[str, str]:
        return {}

    def put_applied(self, kind: str, records: dict[str, Any]) -> None:
        return None

    def put_sent(self, kind: str, fingerprints: dict[str, str]) -> None:
        return None

    def get_docs(self, kind: str, keys: list[str] | None = None) -> dict[str, Any]:
        return {}

    def put_docs(self, kind: str, docs: dict[str, Any]) -> None:
        return None


def _change(state: Desired) -> Change:
    return Change(
        kind=state.kind,
        key=state.key(),
        version="0",
        fingerprint=state.fingerprint(),
        payload=state.payload(),
        task="bench",
        run_id="bench",
        detected_at=datetime.now(UTC),
    )


def _stock(n: int) -> list[Change]:
    return [
        _change(
            StockState(
                sku=f"P{i:06d}",
                sources=(
                    SourceQuantity(
                        source_code="default", quantity=Decimal(i % 40), in_stock=i % 40 > 0
                    ),
                ),
            )
        )
        for i in range(n)
    ]


def _prices(n: int) -> list[Change]:
    sale = SpecialPrice(price=Decimal("7.50"), price_from="2026-12-01 06:00:00", price_to=None)
    return [
        _change(
            PriceState(sku=f"P{i:06d}", price=Decimal("9.99"), special=sale if i % 5 == 0 else None)
        )
        for i in range(n)
    ]


def _products(n: int) -> list[Change]:
    return [
        _change(
            ProductState(
                sku=f"NEW{i:05d}",
                enabled=True,
                name=f"New product {i}",
                url_key=f"new-product-{i}",
                price=Decimal("12.00"),
                qty=Decimal(3),
            )
        )
        for i in range(n)
    ]


def _seed_products(emulator: EmulatorHandle, n: int) -> None:
    """Products the stock and price rows refer to, put straight into the store (not timed)."""
    store = emulator.store
    with store.lock:
        for i in range(n):
            store.put_product(
                {"id": store.next_id, "sku": f"P{i:06d}", "name": f"Product {i}", "price": 1.0,
                 "status": 1, "extension_attributes": {"website_ids": [1]},
                 "custom_attributes": []}
            )  # fmt: skip


def _minimum_ms(config: EmulatorConfig, minimum: dict[str, int]) -> float:
    """Per-request worker time of the fewest requests a phase needs (endpoint -> count)."""
    return sum(n * config.costs_ms.get(ep, config.default_cost_ms) for ep, n in minimum.items())


def _phase(
    name: str,
    emulator: EmulatorHandle,
    client: MagentoClient,
    writer: Writer,
    changes: list[Change],
    minimum: dict[str, int],
    record_ms: Callable[[], float],
) -> dict[str, Any]:
    config = emulator.config
    before_requests = sum(client.stats()["requests"].values())
    started = time.perf_counter()
    outcomes = writer.write(changes)
    seconds = time.perf_counter() - started
    requests = sum(client.stats()["requests"].values()) - before_requests
    cost_ms = _minimum_ms(config, minimum) + record_ms()
    bound = cost_ms / 1000.0 / config.workers
    applied = sum(1 for o in outcomes.values() if o.applied)
    return {
        "phase": name,
        "records": len(changes),
        "applied": applied,
        "requests": requests,
        "minimum_requests": sum(minimum.values()),
        "records_per_request": round(len(changes) / requests, 1) if requests else None,
        "seconds": round(seconds, 2),
        "lower_bound_seconds": round(bound, 2),
        "of_bound": round(seconds / bound, 2) if bound else None,
    }


def run(
    stock_rows: int, price_rows: int, products: int, save_ms: float, workers: int, bulk: int,
    concurrency: int, latency_ms: float,
) -> dict[str, Any]:  # fmt: skip
    costs = {
        "products.save": save_ms,
        "products.search": REQUEST_MS,
        "inventory.source_items.save": REQUEST_MS,
        "inventory.sources.search": REQUEST_MS,
        "prices.base.save": REQUEST_MS,
        "prices.special.get": REQUEST_MS,
        "prices.special.save": REQUEST_MS,
        "prices.special.delete": REQUEST_MS,
    }
    config = EmulatorConfig(costs_ms=costs, workers=workers, latency_ms=latency_ms)
    record_costs = config.record_costs_ms
    specials = len(range(0, price_rows, 5))
    with running_emulator(config) as emulator:
        _seed_products(emulator, max(stock_rows, price_rows))
        with MagentoClient(emulator.url, emulator.token, max_connections=concurrency * 2) as client:
            stock = _phase(
                "stock rows (MSI source items)",
                emulator,
                client,
                StockWriter(client, chunk_size=bulk, concurrency=concurrency),
                _stock(stock_rows),
                {"inventory.source_items.save": ceil(stock_rows / bulk)},
                lambda: stock_rows * record_costs["inventory.source_items.save"],
            )
            prices = _phase(
                "prices (base + 20% special)",
                emulator,
                client,
                PriceWriter(client, chunk_size=bulk, concurrency=concurrency),
                _prices(price_rows),
                {
                    "prices.base.save": ceil(price_rows / bulk),
                    "prices.special.save": ceil(specials / bulk),
                },
                lambda: (
                    price_rows * record_costs["prices.base.save"]
                    + specials * record_costs["prices.special.save"]
                ),
            )
            phases = [stock, prices]
    if products:
        # A fresh store: the emulator's product search scans the whole catalog in its event
        # loop (~0.9 s per search at 10,000 products), which would measure the emulator.
        with (
            running_emulator(config) as emulator,
            MagentoClient(emulator.url, emulator.token, max_connections=concurrency * 2) as client,
        ):
            phases.append(_product_phase(emulator, client, products, concurrency))
    return {
        "bulk_size": bulk,
        "concurrency": concurrency,
        "emulator_workers": workers,
        "request_ms": REQUEST_MS,
        "product_save_ms": save_ms,
        "latency_ms": latency_ms,
        "record_costs_ms": record_costs,
        "phases": phases,
    }


def _product_phase(
    emulator: EmulatorHandle, client: MagentoClient, products: int, concurrency: int
) -> dict[str, Any]:
    writer = ProductWriter(client, _NoState(), concurrency=concurrency)  # type: ignore[arg-type]
    changes = _products(products)
    return _phase(
        "products (ProductWriter, one save each)",
        emulator,
        client,
        writer,
        changes,
        {"products.save": products},
        lambda: 0.0,
    )


def _print(result: dict[str, Any]) -> None:
    print(
        f"\nbulk {result['bulk_size']} rows/request, {result['concurrency']} in flight, "
        f"{result['emulator_workers']} emulator workers, {result['request_ms']:g} ms/request, "
        f"{result['product_save_ms']:g} ms/product save, {result['latency_ms']:g} ms latency"
    )
    header = f"{'phase':42} {'records':>8} {'applied':>8} {'requests':>9} {'minimum':>8}"
    header += f" {'rec/req':>8}"
    print(header + f" {'seconds':>8} {'bound s':>8} {'x bound':>8}")
    for p in result["phases"]:
        print(
            f"{p['phase']:42} {p['records']:>8} {p['applied']:>8} {p['requests']:>9} "
            f"{p['minimum_requests']:>8} {p['records_per_request']!s:>8} {p['seconds']:>8} "
            f"{p['lower_bound_seconds']:>8} {p['of_bound']!s:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.magento_client")
    parser.add_argument("--stock", type=int, default=10_000)
    parser.add_argument("--prices", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=1_000)
    parser.add_argument("--save-ms", type=float, default=150.0, help="cost of one product save")
    parser.add_argument("--workers", type=int, default=8, help="emulator PHP-FPM workers")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = []
    for bulk in (500, 20):  # the default, and what a store with input limits on allows
        products = args.products if bulk == 500 else 0  # product saves do not batch
        result = run(
            args.stock, args.prices, products, args.save_ms, args.workers, bulk,
            args.concurrency, args.latency_ms,
        )  # fmt: skip
        _print(result)
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
