"""Items from the sample Counterpoint database end up as the right products in Magento."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from cpsync.check import run_check
from cpsync.counterpoint.schema import EC_ITEM_DESCR, IM_ITEM, IM_PRC
from cpsync.magento.bulk import BULK_CONSUMER
from cpsync.model import Change
from cpsync.runtime import Runtime
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo


def _custom(product: dict, code: str) -> object:
    for attr in product.get("custom_attributes", []):
        if attr["attribute_code"] == code:
            return attr["value"]
    return None


def _sync(runtime: Runtime, full: bool = False) -> tuple[int, int]:
    result = runtime.task("items").run(full=full)
    drained = runtime.updater.drain(max_wait_seconds=10)
    return result.queued, drained.applied


def _touch(runtime: Runtime, item_no: str, **values: object) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item_no).values(RS_UTC_DT=now, **values)
        )


def _simple_ecommerce(info: SampleInfo) -> set[str]:
    return set(info.ecommerce_item_nos) - set(info.grid_item_nos)


def test_first_sync_creates_every_ecommerce_item_complete(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    queued, applied = _sync(runtime)
    catalog = emulator.store.products_by_sku()
    expected = _simple_ecommerce(info)
    assert expected <= set(catalog)
    assert not set(catalog) & set(info.non_ecommerce_item_nos)
    assert applied == queued >= len(expected)
    for sku in expected:
        product = catalog[sku]
        assert product["status"] == 1
        assert product["name"]
        assert product["price"] is not None
        assert "stock_item" in product["extension_attributes"]
    url_keys = [_custom(p, "url_key") for p in catalog.values()]
    assert len(url_keys) == len(set(url_keys))
    assert runtime.queue.dead_letters() == []


def test_awkward_item_numbers_and_names_arrive_intact(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    catalog = emulator.store.products_by_sku()
    for case in ("slash_item", "space_item", "twenty_char_item", "unicode_item"):
        sku = info.special[case]
        assert sku in catalog, case
    unicode_product = catalog[info.special["unicode_item"]]
    assert not unicode_product["name"].isascii()


def test_a_second_run_queues_nothing_and_writes_nothing(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    _sync(runtime)
    saves_before = runtime.magento.stats()["requests"].get("products.save", 0)
    assert runtime.task("items").run().queued == 0
    assert runtime.task("items").run(full=True).queued == 0
    runtime.updater.drain(max_wait_seconds=1)
    assert runtime.magento.stats()["requests"].get("products.save", 0) == saves_before


def test_a_renamed_item_is_updated_without_touching_price_or_stock(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    sku = sorted(_simple_ecommerce(info))[0]
    product = emulator.store.products_by_sku()[sku]
    price, stock = product["price"], product["extension_attributes"]["stock_item"]["qty"]
    with runtime.counterpoint.begin() as conn:
        conn.execute(update(IM_PRC).where(IM_PRC.c.ITEM_NO == sku).values(PRC_1=999))
    _touch(runtime, sku, DESCR="Renamed in Counterpoint")
    queued, applied = _sync(runtime)
    assert (queued, applied) == (1, 1)
    product = emulator.store.products_by_sku()[sku]
    assert product["name"] == "Renamed in Counterpoint"
    assert product["price"] == price
    assert product["extension_attributes"]["stock_item"]["qty"] == stock


def test_a_description_change_alone_is_found(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    sku = sorted(_simple_ecommerce(info))[1]
    now_local = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=3)
    with runtime.counterpoint.begin() as conn:
        conn.execute(delete(EC_ITEM_DESCR).where(EC_ITEM_DESCR.c.ITEM_NO == sku))
        conn.execute(
            insert(EC_ITEM_DESCR).values(
                ITEM_NO=sku, HTML_DESCR="<p>New words</p>", LST_MAINT_DT=now_local
            )
        )
    assert _sync(runtime) == (1, 1)
    assert _custom(emulator.store.products_by_sku()[sku], "description") == "<p>New words</p>"


def test_an_item_leaving_ecommerce_or_deleted_is_disabled_never_deleted(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    leaving, deleted = sorted(_simple_ecommerce(info))[2:4]
    _touch(runtime, leaving, IS_ECOMM_ITEM="N")
    with runtime.counterpoint.begin() as conn:
        conn.execute(delete(IM_ITEM).where(IM_ITEM.c.ITEM_NO == deleted))
    _sync(runtime)
    runtime.task("items").run(full=True)
    runtime.updater.drain(max_wait_seconds=5)
    catalog = emulator.store.products_by_sku()
    assert catalog[leaving]["status"] == 2
    assert catalog[deleted]["status"] == 2
    assert catalog[leaving]["name"]  # the rest of the product is left as it was


def test_bad_rows_are_reported_by_name_and_the_rest_still_sync(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    good, no_name, negative, no_price = sorted(_simple_ecommerce(info))[4:8]
    with runtime.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == no_name).values(DESCR=None))
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == negative).values(WEIGHT=-2))
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == no_price).values(PRC_1=None))
        conn.execute(update(IM_PRC).where(IM_PRC.c.ITEM_NO == no_price).values(PRC_1=None))
    result = runtime.task("items").run()
    runtime.updater.drain(max_wait_seconds=5)
    errors = {e.key: e.message for e in runtime.state.errors(task="items")}
    assert set(errors) == {no_name, negative, no_price}
    assert "DESCR" in errors[no_name] and no_name in errors[no_name]
    assert "WEIGHT" in errors[negative]
    assert "Price-1" in errors[no_price]
    assert len(result.errors) == 3
    catalog = emulator.store.products_by_sku()
    assert good in catalog
    assert not {no_name, negative, no_price} & set(catalog)


def test_magento_refusing_a_record_parks_it_with_magentos_message(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    sku = sorted(_simple_ecommerce(info))[0]
    _touch(runtime, sku, URL="taken-url")
    emulator_client = runtime.magento
    emulator_client.save_product(
        {
            "sku": "SOMEONE-ELSE",
            "name": "x",
            "price": 1,
            "attribute_set_id": 4,
            "custom_attributes": [{"attribute_code": "url_key", "value": "taken-url"}],
        }
    )
    _sync(runtime)
    (dead,) = runtime.queue.dead_letters()
    assert "URL key for specified store already exists." in dead.reason
    assert dead.reason.startswith(f"product {sku}: ")  # names the record
    assert sku in dead.body
    assert len(emulator.store.products_by_sku()) > 2  # the others went through


def test_a_bad_row_in_a_full_run_is_reported_not_mistaken_for_a_deleted_item(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    sku = sorted(_simple_ecommerce(info))[8]
    with runtime.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == sku).values(DESCR=None))
    result = runtime.task("items").run(full=True)
    runtime.updater.drain(max_wait_seconds=5)
    assert [e.key for e in result.errors] == [sku]
    assert result.removed == 0
    assert emulator.store.products_by_sku()[sku]["status"] == 1


def test_a_change_is_versioned_by_the_rows_change_time_not_the_run_clock(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    sku = sorted(_simple_ecommerce(info))[9]
    changed = info.now_utc + timedelta(minutes=3)  # later than every stamp in the sample
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            update(IM_ITEM)
            .where(IM_ITEM.c.ITEM_NO == sku)
            .values(RS_UTC_DT=changed, DESCR="Renamed")
        )
    assert runtime.task("items").run().queued == 1
    (message,) = runtime.queue.receive(10)
    change = Change.from_json(message.body)
    assert change.version.startswith(f"{changed:%Y-%m-%dT%H:%M:%S}")


def test_a_change_no_stamp_reveals_is_found_by_a_full_run_and_applied(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    _, info = sample
    _sync(runtime)
    with runtime.counterpoint.connect() as conn:
        html = {
            r[0]
            for r in conn.execute(
                select(EC_ITEM_DESCR.c.ITEM_NO).where(EC_ITEM_DESCR.c.HTML_DESCR.like("<%"))
            )
        }
    sku = sorted(_simple_ecommerce(info) & html)[0]
    with runtime.counterpoint.begin() as conn:  # deleting a row moves no stamp
        conn.execute(delete(EC_ITEM_DESCR).where(EC_ITEM_DESCR.c.ITEM_NO == sku))
    assert runtime.task("items").run().queued == 0  # the watermark cannot see it
    assert _sync(runtime, full=True) == (1, 1)  # a reconciliation does, and it is not stale
    description = _custom(emulator.store.products_by_sku()[sku], "description")
    assert "<" not in str(description)


def _requests(emulator: EmulatorHandle) -> Counter[str]:
    return Counter(emulator.stats()["requests"])


def test_a_new_product_goes_up_complete_in_one_request_and_its_price_and_stock_are_not_sent_again(
    runtime: Runtime, emulator: EmulatorHandle
) -> None:
    # GIVEN the categories are in Magento
    runtime.task("categories").run()
    runtime.updater.drain(max_wait_seconds=10)
    before = _requests(emulator)
    # WHEN Items, Category Items, Inventory and Price Changes all run before the queue drains
    # (their Changes land in one batch) and the batch is applied
    changes: list[Change] = []
    for task in ("items", "category_items", "inventory", "prices"):
        runtime.task(task).run(emit=changes.extend)
    results = runtime.apply(changes)
    assert all(r.done for r in results), [r.reason for r in results if not r.done]
    spent = _requests(emulator) - before
    # THEN each product took one save, and nothing followed it: no image upload, no gallery
    # read, no price call, no product search beyond one look at whether the store is empty
    products = emulator.store.products_by_sku()
    assert spent["products.save"] == len(products)
    assert not [e for e in spent if e.startswith(("media.", "prices.", "stock_items."))], spent
    assert spent["products.search"] <= 1
    assert spent["categories.products.save"] == 0
    # AND a product with two images, a category, a special price and stock holds all of it
    special = {row["sku"]: row for row in prices_of(emulator.store).special.values()}
    sources = inventory_of(emulator.store).items
    full = [
        sku
        for sku, p in products.items()
        if p["type_id"] == "simple"
        and len(p["media_gallery_entries"]) >= 2
        and p["extension_attributes"].get("category_links")
        and sku in special
        and (sku.lower(), "default") in sources
        and sources[(sku.lower(), "default")]["quantity"] > 0
    ]
    assert full, "the sample has a product with images, a category, a special price and stock"
    sku = full[0]
    wanted: list[Change] = []
    for task in ("prices", "inventory"):
        runtime.task(task).run(keys=[sku], force=True, emit=wanted.extend)
    price, stock = (next(c.payload for c in wanted if c.kind == k) for k in ("price", "stock"))
    assert products[sku]["price"] == float(price["price"])
    assert special[sku]["price"] == float(price["special"]["price"])
    assert special[sku]["price_from"] == price["special"]["price_from"]
    assert sources[(sku.lower(), "default")]["quantity"] == float(stock["sources"][0]["quantity"])
    assert products[sku]["media_gallery_entries"][0]["types"]
    # AND the next Inventory and Price Changes runs find nothing to send for the new products
    again: list[Change] = []
    for task in ("inventory", "prices"):
        runtime.task(task).run(emit=again.extend)
    assert not {c.key for c in again} & set(products)


def test_once_check_saw_the_bulk_consumer_run_a_first_load_goes_up_in_bulks_of_100(
    make_runtime: Callable[..., Runtime],
    emulator: EmulatorHandle,
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
) -> None:
    # GIVEN `cpsync check` saw the store's async bulk consumer work (bulk saves are off; the
    # sample is small, so a "large" first load is 5 products here)
    runtime = make_runtime(sample[0], tmp_path, emulator, magento_bulk_min_batch=5)
    assert runtime.settings.magento_bulk_products is False
    run_check(runtime)
    assert runtime.state.get_option(BULK_CONSUMER)["runs"] is True
    # WHEN the first Items run is drained in one batch
    before = _requests(emulator)
    changes: list[Change] = []
    runtime.task("items").run(emit=changes.extend)
    results = runtime.apply(changes)
    spent = _requests(emulator) - before
    # THEN the simple products went up in bulks of at most 100, complete with their images
    assert all(r.done for r in results), [r.reason for r in results if not r.done]
    simple = [c for c in changes if c.payload.get("type") != "configurable"]
    assert spent["bulk.submit"] == -(-len(simple) // 100)
    assert not [e for e in spent if e.startswith("media.")], spent
    catalog = emulator.store.products_by_sku()
    assert _simple_ecommerce(sample[1]) <= set(catalog)
    assert sum(len(p["media_gallery_entries"]) for p in catalog.values()) > 30
    # AND a rerun finds nothing to send
    assert runtime.task("items").run().queued == 0
