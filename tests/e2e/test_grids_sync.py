"""Grid items become configurable products: parent, options and one child per cell.

What Magento should hold is computed here with plain SQL over the sample database (not with
cpsync's queries), then compared with the emulator's catalog after a full run and drain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text, update

from cpsync.counterpoint.schema import IM_GRID_DIM_2, IM_INV_CELL, IM_ITEM, IM_PRC
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo

DIM_TABLES = ("IM_GRID_DIM_1", "IM_GRID_DIM_2", "IM_GRID_DIM_3")


def _custom(product: dict[str, Any], code: str) -> Any:
    for attribute in product.get("custom_attributes", []):
        if attribute["attribute_code"] == code:
            return attribute["value"]
    return None


def _sync(runtime: Runtime, full: bool = False) -> tuple[int, int]:
    result = runtime.task("items").run(full=full)
    drained = runtime.updater.drain(max_wait_seconds=10)
    return result.queued, drained.applied


def _expected(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per e-commerce grid item: its tags, display values and cells, from plain SQL."""
    families: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        items = conn.execute(
            text(
                "SELECT ITEM_NO, GRID_DIM_1_TAG, GRID_DIM_2_TAG, GRID_DIM_3_TAG FROM IM_ITEM"
                " WHERE TRK_METH = 'G' AND IS_ECOMM_ITEM = 'Y' AND STAT = 'A'"
            )
        ).all()
        for item_no, *tags in items:
            price = conn.execute(
                text("SELECT PRC_1 FROM IM_PRC WHERE ITEM_NO = :i AND LOC_ID = '*'"), {"i": item_no}
            ).scalar_one()
            display: dict[int, dict[str, str]] = {}
            for n, table in enumerate(DIM_TABLES, start=1):
                rows = conn.execute(
                    text(f"SELECT DIM_{n}_UPR, DIM_{n} FROM {table} WHERE ITEM_NO = :i"),
                    {"i": item_no},
                ).all()
                display[n] = {upper: shown for upper, shown in rows}
            cells: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
            for *dims, on_hand, committed in conn.execute(
                text(
                    "SELECT DIM_1_UPR, DIM_2_UPR, DIM_3_UPR, QTY_ON_HND, QTY_COMMIT"
                    " FROM IM_INV_CELL WHERE ITEM_NO = :i"
                ),
                {"i": item_no},
            ):
                cells[tuple(dims)] += Decimal(str(on_hand)) - Decimal(str(committed))
            used = [n for n in (1, 2, 3) if any(c[n - 1] != "*" for c in cells)]
            families[item_no] = {
                "price": float(price),
                "options": {
                    tags[n - 1].lower(): {display[n][c[n - 1]] for c in cells} for n in used
                },
                "children": {
                    "|".join([item_no, *(d for d in cell if d != "*")]): {
                        "qty": max(qty, Decimal(0)),
                        "values": {tags[n - 1].lower(): display[n][cell[n - 1]] for n in used},
                    }
                    for cell, qty in cells.items()
                },
            }
    return families


def _option_labels(emulator: EmulatorHandle) -> dict[str, dict[int, str]]:
    """Attribute code -> option id -> label, as the emulated store knows them."""
    return {
        code: {int(o["value"]): o["label"] for o in attribute["options"] if o["value"]}
        for code, attribute in emulator.emulator.attributes.attributes.items()
    }


def _codes_by_id(emulator: EmulatorHandle) -> dict[str, str]:
    return {
        str(a["attribute_id"]): code for code, a in emulator.emulator.attributes.attributes.items()
    }


def _assert_catalog_matches(emulator: EmulatorHandle, expected: dict[str, dict[str, Any]]) -> None:
    """Exactly the expected configurables, each with its options, links and children."""
    catalog = emulator.store.products_by_sku()
    by_id = {p["id"]: p for p in catalog.values()}
    labels, codes = _option_labels(emulator), _codes_by_id(emulator)
    configurables = {s for s, p in catalog.items() if p["type_id"] == "configurable"}
    assert configurables == set(expected)
    for sku, family in expected.items():
        parent = catalog[sku]
        assert (parent["status"], parent["visibility"]) == (1, 4)
        extension = parent["extension_attributes"]
        options = {
            codes[o["attribute_id"]]: {
                labels[codes[o["attribute_id"]]][v["value_index"]] for v in o["values"]
            }
            for o in extension["configurable_product_options"]
        }
        assert options == family["options"], sku
        linked = {by_id[i]["sku"] for i in extension["configurable_product_links"]}
        assert linked == set(family["children"]), sku
        for child_sku, cell in family["children"].items():
            child = catalog[child_sku]
            assert (child["type_id"], child["status"], child["visibility"]) == ("simple", 1, 1)
            assert child["price"] == family["price"]
            assert child["extension_attributes"]["stock_item"]["qty"] == float(cell["qty"])
            shown = {code: labels[code][int(_custom(child, code))] for code in cell["values"]}
            assert shown == cell["values"], child_sku
    assert len(catalog) == len({s.lower() for s in catalog})  # nothing doubled


def test_a_full_sync_creates_exactly_the_configurables_the_grid_tables_imply(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    expected = _expected(runtime.counterpoint)
    assert len(expected) >= 3  # the sample has 2-D and 3-D grids
    _sync(runtime)
    assert runtime.queue.dead_letters() == []
    _assert_catalog_matches(emulator, expected)


def test_a_store_answering_new_option_ids_as_id_n_gets_the_same_catalog(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    emulator.emulator.attributes.option_id_prefix = "id_"  # as some 2.3 releases answer
    _sync(runtime)
    assert runtime.queue.dead_letters() == []
    _assert_catalog_matches(emulator, _expected(runtime.counterpoint))


def test_given_failing_and_lost_answers_then_every_family_still_arrives_complete_once(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # 503s before Magento saves, and 502s after it saved (the answer is lost).
    emulator.set_faults(
        "products.save:503:0.15",
        "products.save:502:0.1:applied",
        "attributes.options.add:503:0.2",
        seed=11,
    )
    result = runtime.task("items").run()
    drained = runtime.updater.drain(max_wait_seconds=20)
    assert drained.applied == result.queued
    assert runtime.queue.dead_letters() == []
    assert emulator.stats()["faults"]  # the faults did happen
    _assert_catalog_matches(emulator, _expected(runtime.counterpoint))


def test_the_same_sync_twice_writes_nothing_the_second_time(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    _sync(runtime)
    before = emulator.stats()["writes"]
    assert runtime.task("items").run().queued == 0
    assert runtime.task("items").run(full=True).queued == 0
    runtime.updater.drain(max_wait_seconds=1)
    assert emulator.stats()["writes"] == before


def test_a_grid_cell_added_creates_exactly_that_child_and_links_it(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    item = info.special["grid_2d_item"]
    _sync(runtime)
    now = datetime.now(UTC).replace(tzinfo=None)
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            insert(IM_GRID_DIM_2).values(ITEM_NO=item, DIM_2="3XL", DIM_2_UPR="3XL", DIM_2_SEQ_NO=9)
        )
        color = conn.execute(
            select(IM_INV_CELL.c.DIM_1_UPR).where(IM_INV_CELL.c.ITEM_NO == item).limit(1)
        ).scalar_one()
        for loc, on_hand in (("MAIN", 4), ("WEB", 3)):
            conn.execute(
                insert(IM_INV_CELL).values(
                    ITEM_NO=item,
                    LOC_ID=loc,
                    DIM_1_UPR=color,
                    DIM_2_UPR="3XL",
                    DIM_3_UPR="*",
                    QTY_ON_HND=on_hand,
                    QTY_COMMIT=1,
                    RS_UTC_DT=now,
                )
            )
        price = conn.execute(
            select(IM_PRC.c.PRC_1).where(IM_PRC.c.ITEM_NO == item, IM_PRC.c.LOC_ID == "*")
        ).scalar_one()
    emulator.emulator.stats.reset()
    assert _sync(runtime) == (1, 1)
    new_sku = f"{item}|{color}|3XL"
    writes = emulator.stats()["writes"]
    assert writes == {
        "attribute_options.created": 1,  # the new size value
        "products.created": 1,
        "configurable_links.created": 1,
    }
    catalog = emulator.store.products_by_sku()
    child = catalog[new_sku]
    assert (child["visibility"], child["status"], child["price"]) == (1, 1, float(price))
    assert child["extension_attributes"]["stock_item"]["qty"] == 5.0  # (4-1) + (3-1)
    assert child["id"] in catalog[item]["extension_attributes"]["configurable_product_links"]


def test_a_link_whose_answer_was_lost_is_not_retried_into_a_dead_letter(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    item = info.special["grid_2d_item"]
    _sync(runtime)
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            insert(IM_INV_CELL).values(
                ITEM_NO=item,
                LOC_ID="MAIN",
                DIM_1_UPR="RED",
                DIM_2_UPR="XS",
                DIM_3_UPR="*",
                QTY_ON_HND=2,
                QTY_COMMIT=0,
                RS_UTC_DT=datetime.now(UTC).replace(tzinfo=None),
            )
        )
    # Seed 1: the first link attempt is applied but answered 502; the retry then hears
    # "The product is already attached.", which means the link is there.
    emulator.set_faults("configurable.child.add:502:0.5:applied", seed=1)
    assert _sync(runtime) == (1, 1)
    assert emulator.stats()["faults"] == {"configurable.child.add:502": 1}
    assert runtime.queue.dead_letters() == []
    catalog = emulator.store.products_by_sku()
    links = catalog[item]["extension_attributes"]["configurable_product_links"]
    assert links.count(catalog[f"{item}|RED|XS"]["id"]) == 1


def test_an_item_taken_off_ecommerce_disables_parent_and_children(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    item = info.special["grid_3d_item"]
    _sync(runtime)
    family = set(_expected(runtime.counterpoint)[item]["children"]) | {item}
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            update(IM_ITEM)
            .where(IM_ITEM.c.ITEM_NO == item)
            .values(IS_ECOMM_ITEM="N", RS_UTC_DT=datetime.now(UTC).replace(tzinfo=None))
        )
    emulator.emulator.stats.reset()
    assert _sync(runtime) == (1, 1)
    catalog = emulator.store.products_by_sku()
    assert {sku: catalog[sku]["status"] for sku in family} == dict.fromkeys(family, 2)
    assert emulator.stats()["writes"] == {"products.updated": len(family)}
    assert catalog[item]["name"]  # nothing else touched, nothing deleted


def test_a_deleted_grid_item_disables_its_family_in_a_full_run(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    item = info.special["grid_2d_item"]
    _sync(runtime)
    family = set(_expected(runtime.counterpoint)[item]["children"]) | {item}
    with runtime.counterpoint.begin() as conn:
        conn.execute(text("DELETE FROM IM_ITEM WHERE ITEM_NO = :i"), {"i": item})
    _sync(runtime, full=True)
    catalog = emulator.store.products_by_sku()
    assert {catalog[sku]["status"] for sku in family} == {2}


def test_an_over_long_child_sku_is_reported_by_name_while_the_others_sync(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    long_item = "LONG-GRID-ITEM-00001"  # 20 characters, Counterpoint's maximum
    others = set(_expected(runtime.counterpoint))
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            insert(IM_ITEM).values(
                ITEM_NO=long_item,
                DESCR="Long Grid",
                STAT="A",
                TRK_METH="G",
                IS_ECOMM_ITEM="Y",
                PRC_1=10,
                GRID_DIM_1_TAG="Color",
                GRID_DIM_2_TAG="Size",
                GRID_DIM_3_TAG="Width",
            )
        )
        conn.execute(
            insert(IM_INV_CELL).values(
                ITEM_NO=long_item,
                LOC_ID="MAIN",
                DIM_1_UPR="A" * 15,
                DIM_2_UPR="B" * 15,
                DIM_3_UPR="C" * 15,
                QTY_ON_HND=1,
                QTY_COMMIT=0,
            )
        )
    result = runtime.task("items").run()
    runtime.updater.drain(max_wait_seconds=10)
    (error,) = result.errors
    assert error.key == long_item
    assert long_item in error.message and "64" in error.message
    assert f"{long_item}|{'A' * 15}" in error.message
    catalog = emulator.store.products_by_sku()
    assert long_item not in catalog
    assert others <= set(catalog)
    assert runtime.queue.dead_letters() == []


def test_a_dimension_without_a_magento_attribute_is_parked_with_what_to_do(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    emulator.emulator.attributes.attributes.pop("width")
    _sync(runtime)
    dead = {d.reason.split(":")[0]: d.reason for d in runtime.queue.dead_letters()}
    boot = info.special["grid_3d_item"]
    assert f"product {boot}" in dead
    assert (
        "'width'" in dead[f"product {boot}"] and "CPSYNC_GRID_ATTRIBUTES" in dead[f"product {boot}"]
    )
    catalog = emulator.store.products_by_sku()
    assert boot not in catalog  # no half product: neither parent nor children
    assert not [s for s in catalog if s.startswith(f"{boot}|")]
    assert info.special["grid_2d_item"] in catalog


def test_with_a_stocking_location_only_cells_stocked_there_become_children(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    folder, info = sample
    item = info.special["grid_2d_item"]
    runtime = make_runtime(folder, tmp_path, emulator, grid_cells_location="WEB")
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM IM_INV_CELL WHERE ITEM_NO = :i AND LOC_ID = 'WEB' AND DIM_2_UPR = 'XL'"
            ),
            {"i": item},
        )
    _sync(runtime)
    children = [s for s in emulator.store.products_by_sku() if s.startswith(f"{item}|")]
    assert children and not [s for s in children if s.endswith("|XL")]


def test_a_family_under_a_flaky_store_keeps_its_progress_between_attempts(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    emulator: EmulatorHandle,
    make_runtime: Callable[..., Runtime],
) -> None:
    # One attempt per request: a family of 13 saves would almost never succeed whole in one
    # go (0.75 ** 13 = 2%), so it finishes only if each receive continues where the last
    # one stopped.
    emulator.set_faults("products.save:503:0.25", seed=5)
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_max_attempts=1)
    _sync(runtime)
    assert runtime.queue.dead_letters() == []
    _assert_catalog_matches(emulator, _expected(runtime.counterpoint))
    assert emulator.stats()["faults"]
