"""The drain over the emulator: full bulk calls, the order of kinds kept while kinds run side by
side, and a failing record that fails only itself."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from cpsync.model import Change, ProductState
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo
from tests.helpers import change, price, stock


def _stock(sku: str, qty: int, source: str = "default") -> Change:
    return stock(sku, qty, source, version="v1")


def _product(sku: str) -> Change:
    return change(
        ProductState(
            sku=sku,
            enabled=True,
            name=f"Product {sku}",
            url_key=f"p-{sku.lower()}",
            price=Decimal(1),
        ),
        "v1",
    )


def _price(sku: str, amount: str) -> Change:
    return price(sku, amount, version="v1")


def test_given_1250_stock_rows_and_bulk_size_500_when_drained_then_3_source_item_calls_carry_them(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN 1,250 stock Changes queued and bulk requests of at most 500 rows
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_bulk_size=500)
    runtime.queue.send(_stock(f"S{n:04d}", n % 7) for n in range(1250))
    # WHEN the queue is drained
    drained = runtime.updater.drain(batch_size=runtime.settings.updater_batch_size)
    # THEN every row is applied with the fewest calls 500 rows a call allow: ceil(1250/500)
    assert drained.applied == 1250
    assert emulator.stats()["requests"]["inventory.source_items.save"] == 3
    # AND Magento's sources are read once, not per batch
    assert emulator.stats()["requests"]["inventory.sources.search"] == 1


def test_given_stock_and_prices_queued_before_their_new_products_when_drained_then_none_waits(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN prices and stock of 40 new products, queued before the products themselves
    runtime = make_runtime(sample[0], tmp_path, emulator)
    skus = [f"NEW{n:03d}" for n in range(40)]
    runtime.queue.send([_price(sku, "12.50") for sku in skus] + [_stock(sku, 3) for sku in skus])
    runtime.queue.send(_product(sku) for sku in skus)
    # WHEN one batch is drained, its kinds written side by side where they may be
    drained = runtime.updater.drain(batch_size=1000)
    # THEN each product was created before its price and stock were written: nothing retried,
    # and the price Change, not the create's price, is what Magento holds
    assert (drained.applied, drained.retried, drained.dead) == (120, 0, 0)
    catalog = emulator.store.products_by_sku()
    assert all(float(catalog[sku]["price"]) == 12.5 for sku in skus)


def test_given_one_bad_record_among_kinds_written_together_then_only_it_is_parked(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # GIVEN products, prices and stock, one stock row naming a source Magento lacks
    runtime = make_runtime(sample[0], tmp_path, emulator)
    skus = [f"OK{n:03d}" for n in range(30)]
    changes = [_product(sku) for sku in skus] + [_price(sku, "5") for sku in skus]
    changes += [_stock(sku, 1) for sku in skus] + [_stock("OK007-BAD", 1, source="NOPE")]
    runtime.queue.send(changes)
    # WHEN drained
    drained = runtime.updater.drain(batch_size=1000)
    # THEN that record alone is parked, named, with what to do; every other one is applied
    assert (drained.applied, drained.dead) == (90, 1)
    (reason,) = drained.errors
    assert reason.startswith("stock OK007-BAD:") and "no source NOPE" in reason
    (letter,) = runtime.queue.dead_letters()
    assert Change.from_json(letter.body).key == "OK007-BAD"
