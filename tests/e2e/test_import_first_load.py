"""The first load through Magento's import equals the one through product saves, record by record.

Two emulators get the same sample: one through one save per product (import off), one through
POST /V1/import/json (import on, no minimum). What each store holds afterwards is compared
with the ids (which depend on the order of creation) replaced by SKUs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpsync.runtime import Runtime
from cpsync.tasks import TASKS
from cpsync_emulator import EmulatorConfig, running_emulator
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo


def _first_load(runtime: Runtime) -> None:
    for name in TASKS:
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)


def _catalog(handle: EmulatorHandle) -> dict[str, Any]:
    """Products by SKU with ids replaced by SKUs, special prices, categories by name."""
    store = handle.store
    sku_of = {p["id"]: p["sku"] for p in store.products.values()}
    tree = store.categories.categories
    category = {
        str(i): "/".join(tree[int(p)]["name"] for p in c["path"].split("/"))
        for i, c in tree.items()
    }
    labels = {
        code: {o["value"]: o["label"] for o in a["options"]}
        for code, a in handle.emulator.attributes.attributes.items()
    }
    every_label = {v: f"{code}:{lb}" for code, m in labels.items() for v, lb in m.items() if v}

    def plain(attribute: dict[str, Any]) -> Any:
        code, value = attribute["attribute_code"], attribute["value"]
        if code == "category_ids":
            return (code, sorted(category[str(v)] for v in value))
        return (code, labels.get(code, {}).get(value, value) if isinstance(value, str) else value)

    products: dict[str, Any] = {}
    for product in store.products.values():
        item = {k: v for k, v in product.items() if k not in ("id", "created_at", "updated_at")}
        extension = dict(item.get("extension_attributes") or {})
        stock = dict(extension.get("stock_item") or {})
        for key in ("item_id", "product_id"):
            stock.pop(key, None)
        extension["stock_item"] = stock
        # Magento's EAV inserts no row for an empty value, so "" and absent are the same.
        present = [a for a in item.get("custom_attributes", []) if a["value"] != ""]
        item["custom_attributes"] = sorted(map(plain, present), key=str)
        if "category_links" in extension:
            extension["category_links"] = sorted(
                category[str(link["category_id"])] for link in extension["category_links"]
            )
        if "configurable_product_links" in extension:
            extension["configurable_product_links"] = sorted(
                sku_of[i] for i in extension["configurable_product_links"]
            )
        if "configurable_product_options" in extension:
            extension["configurable_product_options"] = [
                {k: v for k, v in o.items() if k not in ("id", "product_id", "values")}
                # Magento keeps no order of an option's values (they follow the attribute's
                # option order), so they compare as a set.
                | {"values": sorted(every_label[str(v["value_index"])] for v in o["values"])}
                for o in extension["configurable_product_options"]
            ]
        item["extension_attributes"] = extension
        # An entry's label is null or "" alike (no label); a file name's "_1" suffix depends on
        # which product saved the same picture first, not on the record.
        item["media_gallery_entries"] = [
            {k: v for k, v in e.items() if k not in ("id", "label", "file")}
            | {"label": e.get("label") or None, "file": re.sub(r"_\d+(\.\w+)$", r"\1", e["file"])}
            for e in item.get("media_gallery_entries", [])
        ]
        products[product["sku"]] = item
    categories = sorted(c["name"] for c in store.categories.categories.values())
    specials = sorted(
        (r["sku"], r["price"], r["price_from"], r["price_to"])
        for r in prices_of(store).special_prices()
    )
    return {"products": products, "categories": categories, "specials": specials}


@pytest.mark.parametrize(("separator", "dates"), [("|", "day"), ("-", "day"), ("|", "exact")])
def test_given_the_sample_when_loaded_through_the_import_then_magento_holds_the_same_catalog(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    make_runtime: Callable[..., Runtime],
    separator: str,
    dates: str,
) -> None:
    """With '|' in child SKUs a grid parent cannot be named in configurable_variations and is
    saved after its imported children; with '-' the whole family is imported. The import keeps
    special-price dates as days only, so exact times go through the special-price API."""
    with running_emulator(EmulatorConfig()) as saves, running_emulator(EmulatorConfig()) as imports:
        # GIVEN one store loaded with a save per product
        careful = make_runtime(
            sample[0],
            tmp_path / "a",
            saves,
            magento_import="off",
            grid_sku_separator=separator,
            magento_special_dates=dates,
        )
        _first_load(careful)
        # WHEN the same sample goes to another store through Magento's import
        fast = make_runtime(
            sample[0],
            tmp_path / "b",
            imports,
            magento_import="on",
            grid_sku_separator=separator,
            magento_special_dates=dates,
        )
        _first_load(fast)
        # THEN both stores hold the same records, and the import did the creating
        have, want = _catalog(imports), _catalog(saves)
        if dates == "exact":
            # The import store got these specials through the special-price API, which the
            # emulator keeps apart from the product's attributes (Magento's are the same
            # rows): compared as the special-price read shows them.
            for catalog in (have, want):
                for product in catalog["products"].values():
                    product["custom_attributes"] = [
                        a for a in product["custom_attributes"] if not a[0].startswith("special_")
                    ]
            assert any(to.endswith("23:59:59") for *_, to in have["specials"] if to)
        assert _diff(have, want) == []
        assert have == want
        assert imports.stats()["requests"].get("import.json", 0) > 0
        # AND the rows carried prices, specials and stock as a create does: the Price Changes
        # and Inventory tasks wrote the same rows afterwards to both stores (none of the new)
        rows = ("source_items.updated", "base_prices.updated", "special_prices.updated")
        written = imports.stats()["writes"], saves.stats()["writes"]
        if dates == "day":
            assert [written[0].get(k) for k in rows] == [written[1].get(k) for k in rows]
        else:  # the specials with times were left out of the rows, for the price writer
            assert written[0].get(rows[2], 0) > written[1].get(rows[2], 0)
        assert saves.stats()["requests"].get("import.json", 0) == 0
        assert fast.queue.dead_letters() == careful.queue.dead_letters() == []
        # AND the import spared most product saves
        assert imports.stats()["requests"].get("products.save", 0) < (
            saves.stats()["requests"]["products.save"] / 3
        )


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs, product by product and field by field (a readable failure)."""
    out = []
    for sku in sorted(set(a["products"]) | set(b["products"])):
        x, y = a["products"].get(sku), b["products"].get(sku)
        if x != y:
            if x is None or y is None:
                out.append(f"{sku}: only in {'b' if x is None else 'a'}")
                continue
            for k in sorted(set(x) | set(y)):
                if x.get(k) != y.get(k):
                    out.append(f"{sku}.{k}: {x.get(k)!r} != {y.get(k)!r}")
    return out


def _items(runtime: Runtime) -> None:
    for name in ("categories", "items"):
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)


def test_given_a_row_magento_refuses_when_imported_then_that_record_is_parked_and_the_rest_applied(
    sample: tuple[Path, SampleInfo], tmp_path: Path, make_runtime: Callable[..., Runtime]
) -> None:
    with running_emulator(EmulatorConfig()) as probe, running_emulator(EmulatorConfig()) as store:
        # GIVEN a store where a hand-made product already uses one new item's URL key
        _items(make_runtime(sample[0], tmp_path / "a", probe, magento_import="off"))
        victim = next(p for p in probe.store.products.values() if p["type_id"] == "simple")
        url_key = next(
            a["value"] for a in victim["custom_attributes"] if a["attribute_code"] == "url_key"
        )
        headers = {"Authorization": f"Bearer {store.token}"}
        body = {"product": {"sku": "HAND-MADE", "name": "By hand", "price": 1}}
        body["product"]["custom_attributes"] = [{"attribute_code": "url_key", "value": url_key}]
        assert httpx.post(
            f"{store.rest_url}/all/V1/products", json=body, headers=headers
        ).is_success
        # WHEN the first load goes through the import
        runtime = make_runtime(sample[0], tmp_path / "b", store, magento_import="on")
        _items(runtime)
        # THEN only that item is parked, with its own key and Magento's reason
        letters = runtime.queue.dead_letters()
        assert [letter.reason.split(":")[0] for letter in letters] == [f"product {victim['sku']}"]
        assert "URL key" in letters[0].reason
        # AND every other product of the probe store is in this one
        assert set(probe.store.products_by_sku()) - set(store.store.products_by_sku()) == {
            victim["sku"]
        }
        assert store.stats()["requests"]["import.json"] >= 2


@pytest.mark.parametrize(("routes", "mode"), [(False, "on"), (True, "off")])
def test_given_no_import_route_or_import_off_when_loading_then_products_are_saved_one_by_one(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    make_runtime: Callable[..., Runtime],
    routes: bool,
    mode: str,
) -> None:
    with running_emulator(EmulatorConfig(import_api=routes)) as store:
        runtime = make_runtime(sample[0], tmp_path, store, magento_import=mode)
        _items(runtime)
        assert runtime.queue.dead_letters() == []
        assert store.stats()["writes"]["products.created"] > 50
        # one probe answered 404 when the store lacks the route; never a call when off
        sent = runtime.magento.stats()["requests"].get("import.json", 0)
        assert sent == (0 if mode == "off" else 1)


@pytest.mark.parametrize(("minimum", "imports"), [(30, True), (1000, False)])
def test_given_auto_when_the_run_is_large_then_the_import_is_used_even_in_small_batches(
    sample: tuple[Path, SampleInfo],
    tmp_path: Path,
    make_runtime: Callable[..., Runtime],
    minimum: int,
    imports: bool,
) -> None:
    with running_emulator(EmulatorConfig()) as store:
        # GIVEN auto, and updater batches of 10 messages (each far below the minimum)
        runtime = make_runtime(
            sample[0], tmp_path, store, magento_import_min=minimum, updater_batch_size=10
        )
        # WHEN the Items run queues more (or fewer) new products than the minimum
        runtime.task("categories").run()
        runtime.updater.drain(batch_size=10, max_wait_seconds=30)
        queued = runtime.task("items").run().queued
        runtime.updater.drain(batch_size=10, max_wait_seconds=30)
        # THEN the import is used only for the large run, and everything lands either way
        assert (queued > minimum) is imports
        assert (store.stats()["requests"].get("import.json", 0) > 1) is imports
        assert runtime.queue.dead_letters() == []
        assert len(store.store.products) > 50
