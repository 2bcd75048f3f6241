"""Which Counterpoint columns exist, and what each task does when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cpsync.counterpoint.columns import (
    Catalog,
    fallbacks_in_use,
    missing_required,
    read_catalog,
)
from cpsync.counterpoint.schema import metadata
from cpsync.tasks import TASKS


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/cp.db"
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_IM_INV_CELL_RS_UTC_DT"))
        conn.execute(text("ALTER TABLE IM_INV_CELL DROP COLUMN RS_UTC_DT"))
        conn.execute(text("DROP TABLE IM_PRC_GRP"))
    engine.dispose()
    return url


def test_given_a_database_then_its_catalog_lists_what_it_has_not_what_cpsync_declares(
    database: str,
) -> None:
    engine = create_engine(database)
    with engine.connect() as conn:
        catalog = read_catalog(conn)
    assert catalog.has("IM_INV_CELL", "QTY_ON_HND") and catalog.has("im_inv_cell", "qty_on_hnd")
    assert not catalog.has("IM_INV_CELL", "RS_UTC_DT")
    assert not catalog.has_table("IM_PRC_GRP")
    engine.dispose()


def test_given_missing_columns_then_required_ones_are_named_and_optional_ones_fall_back(
    database: str,
) -> None:
    engine = create_engine(database)
    with engine.connect() as conn:
        catalog = read_catalog(conn)
    # Inventory only lacks an optional column: it runs on the fallback
    assert missing_required(catalog, TASKS["inventory"].needs) == []
    fallbacks = fallbacks_in_use(catalog, TASKS["inventory"].needs)
    assert [str(n) for n in fallbacks] == ["IM_INV_CELL.RS_UTC_DT"]
    # Price Changes lacks a table it needs: named once, as a table
    assert missing_required(catalog, TASKS["prices"].needs) == ["no table IM_PRC_GRP"]
    # a required column
    bare = catalog.without("IM_ITEM", "DESCR")
    assert missing_required(bare, TASKS["items"].needs) == ["no column IM_ITEM.DESCR"]
    engine.dispose()


def test_every_task_declares_what_it_reads_and_the_sample_has_all_of_it() -> None:
    declared = Catalog.declared()
    for name, task in TASKS.items():
        if name != "images":  # reads only cpsync's own state and blobs
            assert task.needs, name
        assert missing_required(declared, task.needs) == [], name
        assert fallbacks_in_use(declared, task.needs) == [], name
