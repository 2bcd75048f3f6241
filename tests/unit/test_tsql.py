"""Every Counterpoint query compiles for SQL Server and parses as T-SQL.

No SQL Server runs here, so this is how a query that only SQLite accepts is caught.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlglot
from sqlalchemy.dialects import mssql
from sqlalchemy.sql import CompoundSelect, Select

from cpsync.check import counterpoint as check
from cpsync.counterpoint import categories, columns, image_queries, queries, stock_queries

WHEN = datetime(2026, 11, 27, 8, 0)
# A database without the optional columns: every query must still be valid T-SQL without them.
BARE = (
    columns.Catalog.declared()
    .without("IM_INV_CELL", "RS_UTC_DT", "LST_MAINT_DT")
    .without("IM_ITEM", "RS_UTC_DT", "ECOMM_IMG_FILE", "WEIGHT", "URL")
    .without("EC_ITEM_DESCR", "LST_MAINT_DT")
    .without("EC_CATEG", "PARENT_ID", "HTML_DESCR", "DISP_SEQ_NO")
    .without("EC_CATEG_ITEM", "LST_MAINT_DT")
    .without("IM_PRC", "PRC_4", "PRC_5", "PRC_6")
    .without("IM_PRC_GRP", "BEG_DT", "END_DT", "NO_BEG_DAT", "NO_END_DAT", "CUST_FILT")
    .without("IM_PRC_RUL", "SAL_FILT", "CUST_FILT", "MIN_QTY")
    .without("IM_PRC_RUL_BRK", "PRC_BASIS")
)


def _known(stmt: Select[tuple[object, ...]] | None) -> Select[tuple[object, ...]]:
    assert stmt is not None
    return stmt


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
    "the SKU claims of some folded item numbers": queries.sku_owners(["case1", "tee|red"]),
    "item numbers holding the grid separator": queries.separated_items("_"),
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
    "prices, changed items": _known(stock_queries.changed_price_items(WHEN, WHEN)),
    "prices, changed items at a location": _known(
        stock_queries.changed_price_items(WHEN, WHEN, "WEB")
    ),
    "prices, filter columns of every web item": stock_queries.filter_item_rows(
        ["CATEG_COD", "USR_BRAND"]
    ),
    # images
    "image items, all": image_queries.image_items(),
    "image items, by key": image_queries.image_items(["MUG/12"]),
    "grid cells of items": image_queries.grid_cells(["TSHIRT-GRID", "BOOT-GRID"]),
    # the database's own catalog, and every query on a database without optional columns
    "columns of the tables (INFORMATION_SCHEMA)": columns.catalog_query(["IM_ITEM", "IM_INV"]),
    "bare: items, changed": queries.item_rows(since_utc=WHEN, since_local=WHEN, catalog=BARE),
    "bare: grid cells": queries.grid_cells(["A"], [], "available", catalog=BARE),
    "bare: stock, changed items": stock_queries.changed_stock_items(WHEN, WHEN, BARE),
    "bare: categories": categories.category_rows(catalog=BARE),
    "bare: category items, changed": categories.category_item_rows(
        since_local=WHEN, since_utc=WHEN, catalog=BARE
    ),
    "bare: image items": image_queries.image_items(["A"], BARE),
    "bare: prices, items and filter columns": stock_queries.price_item_rows(
        "WEB", ["A"], ["CATEG_COD", "PROF_COD_1", "USR_BRAND"], BARE
    ),
    "bare: prices, groups": stock_queries.price_groups(BARE),
    "bare: prices, changed items": _known(
        stock_queries.changed_price_items(WHEN, WHEN, "WEB", BARE)
    ),
    "bare: prices, rules": stock_queries.price_rules(BARE),
    "bare: prices, breaks": stock_queries.price_rule_breaks(BARE),
    "prices, the web store and its locations": stock_queries.web_store(),
    "prices, the web store alone": stock_queries.web_store(False),
    # cpsync check (check/counterpoint.py)
    "check: read rights (TOP 0)": check.probe_query("IM_ITEM"),
    "check: the server's clock and offset": check.clock_query(),
    "check: leading index columns": check.index_query(["IM_ITEM", "IM_INV"]),
    "check: grid tags": check.grid_tags_query(),
    "check: image names": check.image_names_query(True),
    "check: image names without ECOMM_IMG_FILE": check.image_names_query(False),
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


def test_a_query_on_a_database_without_a_column_never_names_it() -> None:
    # GIVEN a database without the optional columns; WHEN the queries are compiled
    sql = {name: _tsql(stmt) for name, stmt in CASES.items() if name.startswith("bare:")}
    # THEN none of the missing columns appears (a NULL stands in where a value is read)
    assert "[IM_INV_CELL].[RS_UTC_DT]" not in sql["bare: items, changed"]
    assert "[IM_INV].[RS_UTC_DT]" in sql["bare: items, changed"]  # the location's stamps
    assert "[IM_ITEM].[RS_UTC_DT]" not in sql["bare: items, changed"]
    assert "[IM_INV_CELL].[RS_UTC_DT]" not in sql["bare: stock, changed items"]
    assert "PARENT_ID" not in sql["bare: categories"].replace("NULL AS [PARENT_ID]", "")
    assert "[EC_CATEG_ITEM].[LST_MAINT_DT]" not in sql["bare: category items, changed"]
    assert "RECENT" not in sql["bare: category items, changed"]
    prices = sql["bare: prices, items and filter columns"]
    assert "PRC_4]" not in prices.replace("AS [ALL_PRC_4]", "").replace("AS [LOC_PRC_4]", "")
    assert "[IM_ITEM].[DESCR]" not in prices  # only the columns the filters name
    assert "[IM_ITEM].[PROF_COD_1]" in prices
    assert "IM_ITEM.USR_BRAND AS [USR_BRAND]" in prices  # a merchant's own column
    assert "SAL_FILT]" not in sql["bare: prices, rules"].replace("AS [SAL_FILT]", "")


def test_the_checks_read_rights_without_reading_a_row_and_sql_servers_own_catalogs() -> None:
    assert _tsql(check.probe_query("IM_ITEM")) == "SELECT TOP 0 1 \nFROM [IM_ITEM]"
    clock = _tsql(check.clock_query())
    assert "sysutcdatetime()" in clock and "datepart(TZOFFSET, sysdatetimeoffset())" in clock
    indexes = _tsql(check.index_query(["IM_ITEM"]))
    assert "JOIN sys.index_columns AS k" in indexes and "k.key_ordinal = 1" in indexes
    assert "schema_name(t.schema_id) = schema_name()" in indexes


def test_the_parser_does_reject_what_sql_server_would() -> None:
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one("SELECT FROM WHERE", read="tsql")


def test_given_im_prc_without_any_stamp_then_price_changes_cannot_be_told_by_query() -> None:
    """Price Changes then reads every item on every run (its fallback)."""
    unstamped = BARE.without("IM_PRC", "RS_UTC_DT", "LST_MAINT_DT")
    assert stock_queries.changed_price_items(WHEN, WHEN, None, unstamped) is None
    sql = _tsql(_known(stock_queries.changed_price_items(WHEN, WHEN, "WEB")))
    assert "UNION" in sql.upper() and "'WEB'" in sql
