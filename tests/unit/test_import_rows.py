"""The rows of Magento's import: order, grids, refusals, and files cut by rows and images."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cpsync.magento.import_rows import build_rows
from cpsync.magento.importer import ProductImporter
from cpsync.magento.product_fields import SPECIAL_HELD
from cpsync.model import (
    ConfigurableState,
    GridChild,
    GridOption,
    PriceState,
    ProductState,
    SourceQuantity,
    SpecialPrice,
    StockState,
)


def _simple(sku: str, **kw: Any) -> ProductState:
    values: dict[str, Any] = {
        "sku": sku,
        "enabled": True,
        "name": f"Item {sku}",
        "url_key": sku.lower(),
        "price": Decimal("9.50"),
        "qty": Decimal(3),
    }
    return ProductState(**(values | kw))


def _grid(separator: str) -> ConfigurableState:
    children = [
        GridChild(sku=f"G{separator}{c}", enabled=True, name=f"G {c}", attributes={"color": c})
        for c in ("Red", "Blue")
    ]
    return ConfigurableState(
        sku="G",
        enabled=True,
        name="G",
        url_key="g",
        options=[GridOption(code="color", label="Color", values=["Red", "Blue"])],
        children=children,
    )


def test_given_products_and_a_grid_when_planned_then_children_come_first_and_parents_last() -> None:
    plan, refused = build_rows([_simple("A")], [_grid("-")], {"A": "Default Category/Mugs"})
    assert [r["sku"] for r in plan.rows] == ["G-Red", "G-Blue", "A", "G"]
    assert refused == {}
    assert plan.rows[2]["price"] == "9.5" and plan.rows[2]["categories"] == "Default Category/Mugs"
    assert plan.rows[2]["qty"] == "3" and plan.rows[2]["is_in_stock"] == "1"
    assert plan.rows[0]["additional_attributes"] == "color=Red"
    assert plan.rows[3]["configurable_variations"] == "sku=G-Red,color=Red|sku=G-Blue,color=Blue"
    assert {plan.owner[s] for s in ("g-red", "g-blue", "g")} == {"G"}


def test_given_child_skus_with_the_variation_separator_then_only_the_children_are_rows() -> None:
    plan, _ = build_rows([], [_grid("|")], {})
    assert [r["sku"] for r in plan.rows] == ["G|Red", "G|Blue"]
    assert plan.linked == set()


def test_given_an_unknown_tax_class_when_planned_then_the_record_goes_the_normal_way() -> None:
    plan, refused = build_rows([_simple("A", tax_class_id=7), _simple("B", tax_class_id=0)], [], {})
    assert [r["sku"] for r in plan.rows] == ["B"]
    assert plan.rows[0]["tax_class_name"] == "None"
    assert set(refused) == {"A"}


def test_given_rows_with_images_when_cut_into_files_then_each_file_keeps_both_limits() -> None:
    importer = ProductImporter(None, None, None, rows=3, images=4)  # type: ignore[arg-type]
    rows = [{"sku": str(i), "additional_images": "u1,u2"} for i in range(5)]
    rows += [{"sku": str(i)} for i in range(5, 12)]
    files = importer._files(rows)
    assert [(start, len(part)) for start, part in files] == [
        (0, 2),
        (2, 2),
        (4, 3),
        (7, 3),
        (10, 2),
    ]


def test_given_price_and_stock_records_when_planned_then_the_row_carries_them_as_a_create() -> None:
    # GIVEN a new item whose Price Changes record has a special price and whose Inventory
    # record has stock at the default source, and one with stock at another source too
    special = SpecialPrice(
        price=Decimal("7.00"), price_from="2026-12-01 00:00:00", price_to="2026-12-24 00:00:00"
    )
    price = PriceState(sku="A", price=Decimal("9.50"), special=special)
    stock = StockState(
        sku="A",
        sources=(SourceQuantity(source_code="default", quantity=Decimal(4), in_stock=True),),
    )
    shop = SourceQuantity(source_code="shop", quantity=Decimal(2), in_stock=True)
    elsewhere = StockState(sku="B", sources=(*stock.sources, shop))
    plan, _ = build_rows(
        [
            _simple("A", price_record=price, stock_record=stock, category_ids=("10",)),
            _simple("B", stock_record=elsewhere),
        ],
        [],
        {"A": "Default Category/Mugs"},
        category_ids={"A": [5]},
    )
    a, b = plan.rows
    # THEN the row sets the special price with its dates and the record's stock
    assert (a["special_price"], a["special_price_from_date"], a["special_price_to_date"]) == (
        "7.00",
        "2026-12-01 00:00:00",
        "2026-12-24 00:00:00",
    )
    assert (a["qty"], a["is_in_stock"]) == ("4", "1")
    # AND what it applies whole is named, as the create names it
    assert plan.carried["A"]["price"] == price.fingerprint()
    assert plan.carried["A"]["stock"] == stock.fingerprint()
    assert SPECIAL_HELD in plan.carried["A"] and "category_links" in plan.carried["A"]
    # AND stock at another source is left to the Inventory task (0 and out of stock meanwhile)
    assert (b["qty"], b["is_in_stock"]) == ("0", "0")
    assert "stock" not in plan.carried.get("B", {})


def test_given_a_special_price_ending_at_a_time_when_planned_then_the_price_writer_sends_it() -> (
    None
):
    """The import keeps special-price dates as days only: 23:59:59 would land as 00:00:00."""
    # GIVEN a special price to the second (CPSYNC_MAGENTO_SPECIAL_DATES=exact)
    special = SpecialPrice(
        price=Decimal("7.00"), price_from="2026-12-01 06:00:00", price_to="2026-12-24 23:59:59"
    )
    price = PriceState(sku="A", price=Decimal("9.50"), special=special)
    # WHEN
    plan, _ = build_rows([_simple("A", price_record=price)], [], {"A": ""})
    # THEN the row has the regular price but no special price, and the price record is not
    # carried: the Price Changes writer applies it, times included
    (a,) = plan.rows
    assert a["price"] == "9.5" and "special_price" not in a
    assert "price" not in plan.carried.get("A", {})
    assert SPECIAL_HELD not in plan.carried.get("A", {})
