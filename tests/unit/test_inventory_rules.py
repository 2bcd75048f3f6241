"""How the Inventory task shapes quantities into MSI source items, without a database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cpsync.errors import DataError
from cpsync.model import StockState
from cpsync.settings import Settings
from cpsync.tasks.base import TaskContext
from cpsync.tasks.inventory import InventoryTask, StockRow, source_code_for


def task(**settings: Any) -> InventoryTask:
    ctx = TaskContext(Settings(**settings), None, None, None)  # type: ignore[arg-type]
    return InventoryTask(ctx)


def build(t: InventoryTask, **by_location: int) -> StockState:
    row = StockRow("MUG", "MUG", {k: Decimal(v) for k, v in by_location.items()})
    return t.build(row, None)


def test_given_one_summed_source_then_quantities_add_up_and_the_threshold_sets_status() -> None:
    t = task(stock_out_of_stock_threshold=2)
    low = build(t, MAIN=1, WEB=1)
    high = build(t, MAIN=1, WEB=2)
    assert [(s.source_code, s.quantity, s.in_stock) for s in low.sources] == [
        ("default", Decimal(2), False)
    ]
    assert high.sources[0].in_stock is True


def test_given_a_negative_total_then_it_is_out_of_stock() -> None:
    state = build(task(), MAIN=-3)
    assert state.sources[0].quantity == Decimal(-3)
    assert state.in_stock is False


def test_given_per_location_sources_then_a_location_without_a_row_is_sent_as_zero() -> None:
    t = task(stock_sources="per_location")
    t._locations = ("MAIN", "OUT LET", "WEB")
    state = build(t, MAIN=4, WEB=0)
    assert [(s.source_code, s.quantity, s.in_stock) for s in state.sources] == [
        ("MAIN", Decimal(4), True),
        ("OUT_LET", Decimal(0), False),
        ("WEB", Decimal(0), False),
    ]
    assert (state.total, state.in_stock) == (Decimal(4), True)


def test_given_a_grid_cell_whose_sku_is_too_long_then_the_record_names_it() -> None:
    row = StockRow("G", "G|X", {"MAIN": Decimal(1)}, error="item G: grid cell SKU too long")
    with pytest.raises(DataError, match="item G"):
        task().build(row, None)


@pytest.mark.parametrize(("loc", "code"), [("MAIN", "MAIN"), ("WEB-1", "WEB-1"), ("A/B", "A_B")])
def test_given_a_location_then_its_source_code_is_what_msi_accepts(loc: str, code: str) -> None:
    assert source_code_for(loc) == code


@pytest.mark.parametrize(
    ("rows", "limit", "size"),
    [
        (45, 20, 15),  # never over the limit: 3 calls of 15
        (100, 500, 100),  # one call carries them all
        (500, 500, 500),
        (1_287, 500, 429),  # 3 calls, not 26 of 50
        (10_000, 500, 500),  # 20 full calls
    ],
)
def test_given_rows_then_the_fewest_calls_the_limit_allows_carry_them(
    rows: int, limit: int, size: int
) -> None:
    from cpsync.magento.inventory import spread

    assert spread(rows, limit) == size
    assert -(-rows // size) == -(-rows // limit)


def test_given_records_of_two_rows_when_chunked_then_calls_stay_the_fewest_the_limit_allows() -> (
    None
):
    from cpsync.magento.inventory import chunked, spread

    # GIVEN 644 SKUs with two source items each (per-location stock), 500 rows a call
    groups = [(f"S{n}", ["MAIN", "WEB"]) for n in range(644)]
    # WHEN packed at the spread size
    chunks = chunked(groups, spread(1288, 500), 500)
    # THEN 3 calls carry them, none over 500 rows, and no record is split
    sizes = [sum(len(rows) for _, rows in chunk) for chunk in chunks]
    assert len(chunks) == 3 and max(sizes) <= 500 and sum(sizes) == 1288
