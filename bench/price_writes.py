"""Benchmark: the requests the price writer makes per chunk, by endpoint, for each kind of change.

`python -m bench.price_writes [--skus 1000]` seeds the emulator with products, writes every
SKU's price (30% of them on sale) through the price writer (one chunk per 500 rows, one chunk
in flight), then runs the changes a store day brings: Price-1 moved on 10% with the special
unchanged, the special's price moved (dates kept) on 5%, its dates moved on 5%, its end date
dropped on 5%, the special ended on 5%, the same again (nothing to send), a forced write of
5% ("queue all"), a first write of 5% new SKUs on sale without an end date, and a first
promotion without an end date on 5% of the SKUs first written without one. Each phase
prints the requests by endpoint next to the API minimum computed from the phase itself (one
call per 500 rows of each kind of row that must change; a dropped date needs a delete and a
save, since a save keeps a date it is not sent), and whether Magento ends with the desired
rows, dates included (docs/reference/magento.md#special-prices).
Figures are printed and stored in `bench/results/price_writes.json`, never asserted.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.magento.client import MagentoClient
from cpsync.magento.prices import PriceWriter
from cpsync.model import Change, PriceState, SpecialPrice
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle, running_emulator

RESULTS = Path(__file__).parent / "results" / "price_writes.json"
CHUNK = 500
FROM, TO = "2026-12-01 00:00:00", "2026-12-24 23:59:59"
FROM2, TO2 = "2026-12-26 00:00:00", "2027-01-06 23:59:59"


def _change(state: PriceState, force: bool = False) -> Change:
    return Change(
        kind="price",
        key=state.key(),
        version="v",
        fingerprint=state.fingerprint(),
        payload=state.payload(),
        task="bench",
        run_id="bench",
        detected_at=datetime.now(UTC),
        force=force,
    )


def _seed(emulator: EmulatorHandle, skus: list[str]) -> None:
    store = emulator.store
    with store.lock:
        for sku in skus:
            store.put_product(
                {"id": store.next_id, "sku": sku, "name": sku, "price": 1.0, "status": 1,
                 "extension_attributes": {"website_ids": [1]}, "custom_attributes": []}
            )  # fmt: skip


def _phases(skus: list[str]) -> Iterator[tuple[str, dict[str, PriceState], int, bool]]:
    """(phase, the desired states it writes, special calls it needs at least, forced)."""
    n = len(skus)
    on_sale = {s for i, s in enumerate(skus) if i % 10 < 3}
    desired = {
        s: PriceState(
            sku=s,
            price=Decimal(20),
            special=SpecialPrice(price=Decimal(15), price_from=FROM, price_to=TO)
            if s in on_sale
            else None,
        )
        for s in skus
    }
    yield "first write", dict(desired), _calls_for(len(on_sale)), False
    moved = skus[: n // 10]  # 30% of them on sale: their special stays
    for s in moved:
        desired[s] = desired[s].model_copy(update={"price": Decimal(21)})
    yield "Price-1 moved, special unchanged (10%)", {s: desired[s] for s in moved}, 0, False
    sale = sorted(on_sale)
    step = n // 20
    repriced, redated, open_ended, ended = (sale[i * step : (i + 1) * step] for i in range(4))
    for s in repriced:
        special = SpecialPrice(price=Decimal(14), price_from=FROM, price_to=TO)
        desired[s] = desired[s].model_copy(update={"special": special})
    yield (
        "special price moved, dates kept (5%)",
        {s: desired[s] for s in repriced},
        _calls_for(len(repriced)),
        False,
    )
    for s in redated:
        special = SpecialPrice(price=Decimal(15), price_from=FROM2, price_to=TO2)
        desired[s] = desired[s].model_copy(update={"special": special})
    yield "special dates moved (5%)", {s: desired[s] for s in redated}, _calls_for(step), False
    for s in open_ended:
        special = SpecialPrice(price=Decimal(15), price_from=FROM, price_to=None)
        desired[s] = desired[s].model_copy(update={"special": special})
    yield (
        "special end date dropped (5%)",
        {s: desired[s] for s in open_ended},
        2 * _calls_for(step),  # a delete, then a save: a save keeps a date it is not sent
        False,
    )
    for s in ended:
        desired[s] = desired[s].model_copy(update={"special": None})
    yield "special ended (5%)", {s: desired[s] for s in ended}, _calls_for(len(ended)), False
    yield "same again", {s: desired[s] for s in ended}, 0, False
    forced = skus[: n // 20]
    yield "forced (queue all, 5%)", {s: desired[s] for s in forced}, 0, True
    # New SKUs whose promotion has no end: Magento's read cannot show dates an earlier product
    # save left without a price, so each chunk clears them with a delete before the save.
    fresh = [f"N{s}" for s in skus[: n // 20]]
    special = SpecialPrice(price=Decimal(15), price_from=FROM, price_to=None)
    states = {s: PriceState(sku=s, price=Decimal(20), special=special) for s in fresh}
    yield "new SKUs, promotions without end (5%)", states, _calls_for(len(fresh)), False
    # SKUs first written without a promotion (read, no row) now get one without end: state
    # remembers the read could not show dates, so the first such save clears them too.
    later = sorted(set(skus) - on_sale)[-step:]
    for s in later:
        desired[s] = desired[s].model_copy(update={"special": special})
    yield (
        "old SKUs' first promotion, no end (5%)",
        {s: desired[s] for s in later},
        2 * _calls_for(len(later)),  # a delete, then a save
        False,
    )


def _calls_for(rows: int) -> int:
    return math.ceil(rows / CHUNK)


def _held(emulator: EmulatorHandle) -> dict[str, tuple[float, str | None, str | None]]:
    """What Magento holds: each SKU's special price and dates at store 0."""
    return {
        r["sku"]: (r["price"], r["price_from"], r["price_to"])
        for r in prices_of(emulator.store).special_prices()
        if r["store_id"] == 0 and r["price"] is not None
    }


def _calls(emulator: EmulatorHandle, before: dict[str, int]) -> dict[str, int]:
    after = emulator.stats()["requests"]
    return {
        k: after[k] - before.get(k, 0)
        for k in sorted(after)
        if k.startswith("prices.") and after[k] != before.get(k, 0)
    }


def bench(n: int, folder: Path) -> list[dict[str, Any]]:
    skus = [f"P{i:06d}" for i in range(n)]
    state = SqliteState(sqlite_engine(f"sqlite:///{folder}/state.db"))
    figures = []
    with running_emulator(EmulatorConfig()) as emulator:
        _seed(emulator, [*skus, *(f"N{s}" for s in skus[: n // 20])])
        with MagentoClient(emulator.url, emulator.token) as client:
            # The same writer on a cpsync whose PriceWriter takes no state (the baseline).
            kwargs: dict[str, Any] = {"chunk_size": CHUNK, "concurrency": 1}
            if "state" in inspect.signature(PriceWriter).parameters:
                kwargs["state"] = state
            writer = PriceWriter(client, **kwargs)
            held: dict[str, PriceState] = {}
            for phase, states, special_calls, force in _phases(skus):
                before = emulator.stats()["requests"]
                outcomes = writer.write([_change(s, force) for s in states.values()])
                held.update(states)
                calls = _calls(emulator, before)
                chunks = math.ceil(len(states) / CHUNK)
                minimum = chunks + special_calls
                wanted = {
                    s: (float(p.special.price), p.special.price_from, p.special.price_to)
                    for s, p in held.items()
                    if p.special is not None
                }
                figures.append(
                    {
                        "phase": phase,
                        "rows": len(states),
                        "chunks": chunks,
                        "requests": sum(calls.values()),
                        "minimum": minimum,
                        "by_endpoint": calls,
                        "applied": sum(o.applied for o in outcomes.values()),
                        "magento_right": _held(emulator) == wanted,
                    }
                )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.price_writes")
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = bench(args.skus, Path(folder))
    print(f"\n{args.skus} SKUs, {CHUNK} rows per chunk")
    print(f"{'phase':42} {'chunks':>6} {'requests':>8} {'minimum':>7}  right  by endpoint")
    for f in figures:
        endpoints = ", ".join(
            f"{k.removeprefix('prices.')} {v}" for k, v in f["by_endpoint"].items()
        )
        print(
            f"{f['phase']:42} {f['chunks']:>6} {f['requests']:>8} {f['minimum']:>7}  "
            f"{'yes' if f['magento_right'] else 'NO':>5}  {endpoints}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
