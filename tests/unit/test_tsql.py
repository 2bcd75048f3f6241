"""Every Counterpoint query compiles for SQL Server and parses as T-SQL.

No SQL Server runs here, so this is how a query that only SQLite accepts is caught.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlglot
from sqlalchemy.dialects import mssql
from sqlalchemy.sql import CompoundSelect, Select

from cpsync.counterpoint import categories, image_queries, queries, stock_queries

WHEN = datetime(2026, 11, 27, 8, 0)

CASES: dict[str, Select[tuple[object, ...]] | CompoundSelect[tuple[object, ...]]] = {
    "items, snapshot": queries.item_rows(),
    "items, changed": queries.item_rows(since_utc=WHEN, since_local=WHEN),
    "items, by key": queries.item_rows(keys=["MUG/12", "TEE 100"]),
    "items changed (union of index-friendly selects)": queries.item_rows(
        since_utc=WHEN, since_local=WHEN, grid=True
    ),
    "grid dimension values": queries.grid_values(["A", "B"]),
    "grid cells, all locations": queries.grid_cells(["A"], [], "available"),
    "grid cells, some locations": queries.grid_cells(["A"], ["MAIN", "WEB"], "on_hand"),
    "grid cells stocked at one location": queries.grid_cells(["A"], [], "available", "WEB"),
    "price-1 at '*'": queries.price_1(["A", "B"], None),
    "price-1 at a location": queries.price_1(["A"], "WEB"),
    "quantity available, all locations": queries.quantities(["A"], [], "available"),
    "quantity on hand, some locations": queries.quantities(["A"], ["MAIN", "WEB"], "on_hand"),
    "every e-commerce item and grid cell (SKU collisions)": queries.sku_owners(),
    "categories, all": categories.category_rows(),
    "categories, by key": categories.category_rows(["2002092510211378"]),
    "category items, snapshot": categories.category_item_rows(),
    "category items, changed": categories.category_item_rows(since_local=WHEN),
    "category items, changed with items": categories.category_item_rows(
        since_local=WHEN, since_utc=WHEN
    ),
    "category items, by key": categories.category_item_rows(keys=["MUG/12"]),
    "categories of items": categories.item_categories(["A", "B"]),
    # Inventory and Price Changes (stock_queries.py)
    "stock, every location": stock_queries.location_ids(),
    "stock, changed items": stock_queries.changed_stock_items(WHEN, WHEN),
    "stock, all rows": stock_queries.quantity_rows(None, []),
    "stock, some items and locations": stock_queries.quantity_rows(["A"], ["MAIN"]),
    "stock, grid cells": stock_queries.cell_quantity_rows(["G"], ["WEB"]),
    "stock, all grid cells": stock_queries.cell_quantity_rows(None, []),
    "stock, grid cells stocked at WEB": stock_queries.cell_quantity_rows(["G"], [], "WEB"),
    "prices, grid cells stocked at WEB": stock_queries.grid_cells(["G"], "WEB"),
    "prices, items at '*'": stock_queries.price_item_rows(None),
    "prices, items at a location": stock_queries.price_item_rows("WEB", ["A", "B"]),
    "prices, promotional groups": stock_queries.price_groups(),
    "prices, rules": stock_queries.price_rules(),
    "prices, breaks": stock_queries.price_rule_breaks(),
    "prices, grid cells of an item": stock_queries.grid_cells(["G", "H"]),
    # images
    "image items, all": image_queries.image_items(),
    "image items, by key": image_queries.image_items(["MUG/12"]),
    "grid cells of items": image_queries.grid_cells(["TSHIRT-GRID", "BOOT-GRID"]),
}


def _tsql(stmt: Select[tuple[object, ...]] | CompoundSelect[tuple[object, ...]]) -> str:
    compiled = stmt.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


@pytest.mark.parametrize("name", sorted(CASES))
def test_query_is_valid_tsql(name: str) -> None:
    sql = _tsql(CASES[name])
    parsed = sqlglot.parse_one(sql, read="tsql")
    assert parsed is not None
    assert "LIMIT" not in sql.upper()


def test_the_changed_items_filter_is_a_union_not_an_or() -> None:
    sql = _tsql(queries.item_rows(since_utc=WHEN, since_local=WHEN))
    where = sql.upper().split("WHERE", 1)[1]
    assert where.count("UNION") == 3
    assert " OR " not in where


def test_the_parser_does_reject_what_sql_server_would() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("SELECT FROM WHERE", read="tsql")
