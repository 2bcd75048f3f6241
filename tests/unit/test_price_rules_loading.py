"""Which price rules Price Changes can use, read from the rule tables (an in-memory SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, insert

from cpsync.counterpoint.columns import Catalog
from cpsync.counterpoint.price_filter import MAYBE
from cpsync.counterpoint.pricing import PriceMethods
from cpsync.counterpoint.schema import IM_PRC_GRP, IM_PRC_RUL, IM_PRC_RUL_BRK, metadata
from cpsync.tasks.prices import load_groups

WEB = {"STR_ID": "WEB", "LOC_ID": "WEB", "PRC_LOC_ID": "WEB", "STK_LOC_ID": "WEB"}


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(IM_PRC_GRP).values(
                GRP_TYP="P", GRP_COD="G1        ", GRP_SEQ_NO=1, ENABLED="Y",
                BEG_DAT=datetime(2026, 1, 1), END_DAT=datetime(2026, 12, 31),
            )
        )  # fmt: skip
        yield connection
    engine.dispose()


def _rule(conn: Connection, seq: int, method: str = "D", **values: Any) -> None:
    key = {"GRP_TYP": "P", "GRP_COD": "G1        ", "RUL_SEQ_NO": seq}
    conn.execute(insert(IM_PRC_RUL).values(**key, **values))
    conn.execute(
        insert(IM_PRC_RUL_BRK).values(
            **key, MIN_QTY=Decimal(0), PRC_METH=method, PRC_BASIS="1", AMT_OR_PCT=Decimal(10)
        )
    )


def test_given_rules_then_only_the_columns_their_filters_name_are_read(conn: Connection) -> None:
    _rule(conn, 1, ITEM_FILT="IM_ITEM.CATEG_COD = 'MUGS'")
    _rule(conn, 2, ITEM_FILT="(PROF_COD_1 LIKE 'A%') OR IM_ITEM.ITEM_NO = 'X'")
    loaded = load_groups(conn, Catalog.declared(), PriceMethods(), WEB)
    assert loaded.item_columns == ("CATEG_COD", "ITEM_NO", "PROF_COD_1")
    assert loaded.problems == []
    # padded group codes are trimmed where they are read
    assert [g.code for g in loaded.groups] == ["G1"]


def test_given_rules_cpsync_cannot_decide_then_each_is_reported_and_stops_the_search(
    conn: Connection,
) -> None:
    _rule(conn, 1, ITEM_FILT="IM_ITEM.USR_GONE = 'A'")
    _rule(conn, 2, ITEM_FILT="IM_ITEM.ITEM_NO = ", method="D")
    _rule(conn, 3, ITEM_FILT="", method="Z")
    _rule(conn, 4, ITEM_FILT="", CUST_FILT="(AR_CUST.CATEG_COD = 'VIP')")
    loaded = load_groups(conn, Catalog.declared(), PriceMethods(), WEB)
    by_rule = {key: message for key, message in loaded.problems}
    assert "IM_ITEM.USR_GONE" in by_rule["rule G1/1"]
    assert "cannot be read" in by_rule["rule G1/2"]
    assert "'Z'" in by_rule["rule G1/3"]
    assert "customer filter" in by_rule["rule G1/4"]
    rules = loaded.groups[0].rules
    assert rules[0].matches({}) is MAYBE and rules[1].matches({}) is MAYBE
    assert rules[2].problem is not None and rules[3].customer_filter


@pytest.mark.parametrize(
    ("sal_filt", "web", "online", "warned"),
    [
        ("(PS_DOC_HDR.STR_ID = 'WEB')", WEB, True, False),
        ("(PS_DOC_HDR.STR_ID = 'MAIN')", WEB, False, False),
        ("(PS_DOC_HDR.STR_ID = 'WEB')", None, False, True),  # the web store is unknown
        ("(PS_DOC_HDR.DOC_TYP = 'T')", WEB, False, True),  # not known for a web sale
        (None, None, True, False),
    ],
)
def test_given_a_store_filter_then_it_is_evaluated_for_the_web_store_or_skipped_with_a_warning(
    conn: Connection, sal_filt: str | None, web: Any, online: bool, warned: bool
) -> None:
    _rule(conn, 1, ITEM_FILT="", SAL_FILT=sal_filt)
    loaded = load_groups(conn, Catalog.declared(), PriceMethods(), web)
    assert loaded.groups[0].rules[0].online is online
    assert any("SAL_FILT" in m for _, m in loaded.problems) is warned
