"""Every payload cpsync writes passes Magento's web API input processor and its saves.

The emulator follows ``ServiceInputProcessor`` (``dev/cpsync_emulator/schema.py``): a member the data
interface has no setter for, a value of the wrong type, an attribute code, website or category
the store lacks is refused. Here it answers with the 400 of Magento 2.4.7 (the message names the
member), and every task runs over the whole sample, through single saves and through async bulk:
not one write may be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from cpsync.counterpoint.schema import EC_CATEG, EC_CATEG_ITEM, IM_ITEM
from cpsync.magento.categories import create_in_categories
from cpsync.magento.client import MagentoClient
from cpsync.magento.errors import MagentoRecordError
from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo

#: Answers that would mean a payload the input processor or a save refuses.
REFUSED = {"400", "404", "500"}
#: Endpoints whose refusals are part of the protocol, not a payload bug (a product not there yet).
LOOKUPS = {"products.get", "categories.get", "media.list", "attributes.get"}


@pytest.mark.parametrize("bulk", [False, True], ids=["single saves", "async bulk"])
def test_every_task_writes_only_what_magento_accepts(
    sample: tuple[Path, SampleInfo], tmp_path: Path, make_runtime: Any, bulk: bool
) -> None:
    with running_emulator(EmulatorConfig(unsupported_field_status=400)) as emulator:
        runtime: Runtime = make_runtime(
            sample[0],
            tmp_path,
            emulator,
            magento_bulk_products=bulk,
            magento_bulk_min_batch=5,
        )
        _run_every_task(runtime)  # creates
        created = emulator.stats()
        # Every item changed in Counterpoint: the next runs send updates.
        now = datetime.now(UTC).replace(tzinfo=None)
        with runtime.counterpoint.begin() as conn:
            conn.execute(update(IM_ITEM).values(DESCR=IM_ITEM.c.DESCR + " v2", RS_UTC_DT=now))
        _run_every_task(runtime)
        updated = emulator.stats()
    for stats in (created, updated):
        refused = {
            endpoint: {status: n for status, n in answers.items() if status in REFUSED}
            for endpoint, answers in stats["responses"].items()
            if endpoint not in LOOKUPS
        }
        assert {e: r for e, r in refused.items() if r} == {}
    assert runtime.queue.dead_letters() == []
    assert created["writes"].get("products.created", 0) > 0
    assert updated["writes"].get("products.updated", 0) > 0


def _run_every_task(runtime: Runtime) -> None:
    for name in TASKS:
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)


def test_a_new_item_in_a_category_deleted_in_magento_is_created_in_its_other_categories(
    runtime: Runtime, emulator: EmulatorHandle, sample: tuple[Path, SampleInfo]
) -> None:
    """Magento refuses a whole product save whose category_links name a category that is gone.

    cpsync still holds the Magento id of a category deleted by hand, so without care every new
    product in it would be parked; instead it is created in the categories Magento still has.
    """
    _, info = sample
    for name in ("categories", "items", "category_items"):
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=10)
    with runtime.counterpoint.connect() as conn:
        categ_ids = sorted(conn.execute(select(EC_CATEG.c.CATEG_ID)).scalars())
    known = runtime.state.get_magento_ids("category", categ_ids)
    leaves = [c for c, i in sorted(known.items()) if not emulator.store.categories.children(i)]
    gone, kept = leaves[:2]
    # GIVEN a category deleted in Magento by hand
    headers = {"Authorization": f"Bearer {emulator.token}"}
    deleted = httpx.delete(f"{emulator.url}/rest/all/V1/categories/{known[gone]}", headers=headers)
    assert deleted.status_code == 200
    # WHEN an item joins e-commerce in that category and another one
    sku = next(
        s
        for s in info.non_ecommerce_item_nos
        if s not in info.grid_item_nos and s not in info.inactive_item_nos
    )
    now = datetime.now(UTC)
    local = now.astimezone(runtime.settings.zone).replace(tzinfo=None)
    with runtime.counterpoint.begin() as conn:
        conn.execute(
            update(IM_ITEM)
            .where(IM_ITEM.c.ITEM_NO == sku)
            .values(IS_ECOMM_ITEM="Y", RS_UTC_DT=now.replace(tzinfo=None))
        )
        conn.execute(
            insert(EC_CATEG_ITEM),
            [
                {"ITEM_NO": sku, "CATEG_ID": c, "ENTRY_SEQ_NO": 1, "LST_MAINT_DT": local}
                for c in (gone, kept)
            ],
        )
    runtime.task("items").run()
    runtime.updater.drain(max_wait_seconds=10)
    # THEN the product is created, complete, in the category Magento still has
    product = emulator.store.products_by_sku()[sku]
    assert product["price"] is not None
    links = product["extension_attributes"]["category_links"]
    assert [link["category_id"] for link in links] == [str(known[kept])]
    assert runtime.queue.dead_letters() == []


def test_a_refused_create_whose_categories_all_exist_keeps_its_own_error(
    emulator: EmulatorHandle,
) -> None:
    """Only a category that is gone makes cpsync save again; any other refusal stands."""
    body = {"sku": "A", "name": "Mug", "price": 5, "type_id": "simple"}
    with MagentoClient(emulator.url, emulator.token) as client:
        client.save_product(body)
        taken = {
            **body,
            "sku": "B",
            "extension_attributes": {"category_links": [{"category_id": "2"}]},
        }
        taken["custom_attributes"] = [{"attribute_code": "url_key", "value": "mug"}]
        with pytest.raises(MagentoRecordError) as refused:
            create_in_categories(client, taken, [2])
    assert refused.value.status == 400
    assert "URL key" in refused.value.magento_message
    assert emulator.stats()["responses"]["categories.get"] == {"200": 1}
    assert emulator.stats()["responses"]["products.save"] == {"200": 1, "400": 1}
