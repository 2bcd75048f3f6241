"""The stock and price writers against the emulator over HTTP, faults and refusals included."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.magento.client import MagentoClient, RetryPolicy
from cpsync.magento.errors import MagentoRecordError
from cpsync.magento.inventory import SOURCES_WRITTEN, SourceItem, StockWriter
from cpsync.magento.prices import PriceApi, PriceFailure, PriceWriter
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, SourceQuantity, SpecialPrice, StockState
from cpsync_emulator import EmulatorConfig, running_emulator
from cpsync_emulator.inventory import inventory_of
from cpsync_emulator.prices import prices_of
from cpsync_emulator.server import EmulatorHandle
from tests.helpers import change, price, stock


@pytest.fixture
def magento() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig(timeout_seconds=1.0)) as handle:
        yield handle


@pytest.fixture
def client(magento: EmulatorHandle) -> Iterator[MagentoClient]:
    retry = RetryPolicy(
        max_attempts=3, budget_seconds=5, base_seconds=0.01, max_backoff_seconds=0.05
    )
    with MagentoClient(
        magento.url,
        magento.token,
        timeout=httpx.Timeout(0.5, connect=2.0),
        retry=retry,
        sleep=lambda s: time.sleep(min(s, 0.05)),
    ) as c:
        yield c


def write_until_settled(
    writer: Writer, changes: list[Change], rounds: int = 20
) -> dict[str, Outcome]:
    """What the updater does: retry what failed transiently, keep what is final."""
    final: dict[str, Outcome] = {}
    pending = changes
    for _ in range(rounds):
        outcomes = writer.write(pending)
        final.update(outcomes)
        pending = [c for c in pending if outcomes[c.key].retryable]
        if not pending:
            break
    return final


def add_products(magento: EmulatorHandle, *skus: str) -> None:
    with httpx.Client(
        base_url=magento.rest_url, headers={"Authorization": f"Bearer {magento.token}"}
    ) as h:
        for sku in skus:
            h.post("/all/V1/products", json={"product": {"sku": sku, "name": sku, "price": 1}})


# --- stock --------------------------------------------------------------------------------


def test_given_faults_when_1000_stock_rows_are_written_then_each_is_applied_once_or_reported(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    magento.set_faults(
        "inventory.source_items.save:503:0.2",
        "inventory.source_items.save:429:0.1",
        "inventory.source_items.save:timeout:0.05",
        seed=11,
    )
    changes = [stock(f"SKU-{n:04d}", n % 17) for n in range(1000)]
    writer = StockWriter(client, chunk_size=100, concurrency=4)
    # WHEN
    outcomes = write_until_settled(writer, changes)
    # THEN every record has a final outcome; applied ones are in Magento exactly as sent
    assert set(outcomes) == {c.key for c in changes}
    assert not [o for o in outcomes.values() if o.retryable]
    applied = {k for k, o in outcomes.items() if o.applied}
    reported = {k: o.error for k, o in outcomes.items() if not o.applied}
    assert all(reported.values())
    stored = inventory_of(magento.store).source_items()
    assert len(stored) == len({(i["sku"], i["source_code"]) for i in stored})  # nothing doubled
    by_sku = {i["sku"]: i["quantity"] for i in stored}
    assert applied <= set(by_sku)
    assert all(by_sku[f"SKU-{n:04d}"] == n % 17 for n in range(1000) if f"SKU-{n:04d}" in applied)
    assert len(applied) == 1000  # the faults are transient: all of them get through
    assert magento.stats()["faults"]  # and faults did happen


def test_given_input_limits_when_stock_is_written_in_chunks_of_20_then_no_call_is_refused(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    magento.configure(input_limit_enabled=True)
    writer = StockWriter(client, chunk_size=20)
    outcomes = writer.write([stock(f"S{n}", 1) for n in range(45)])
    assert all(o.applied for o in outcomes.values())
    responses = magento.stats()["responses"]["inventory.source_items.save"]
    assert responses == {"200": 3}  # 20 + 20 + 5: none over the limit


def test_given_a_source_magento_lacks_then_that_record_is_reported_and_others_apply(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    writer = StockWriter(client)
    outcomes = writer.write([stock("A", 1), stock("B", 2, "WEB")])
    assert outcomes["A"].applied
    assert not outcomes["B"].applied and not outcomes["B"].retryable
    assert "no source WEB" in (outcomes["B"].error or "")


def test_given_magento_refuses_a_chunk_then_it_is_split_to_find_the_record_at_fault(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    with magento.store.lock:
        inventory_of(magento.store).sources["WEB"] = {"source_code": "WEB", "name": "Web"}
    writer = StockWriter(client)
    writer.write([stock("WARM", 1, "WEB")])  # the writer now knows WEB
    with magento.store.lock:
        del inventory_of(magento.store).sources["WEB"]  # removed in Magento meanwhile
    # WHEN
    outcomes = writer.write([stock("A", 1), stock("B", 2, "WEB"), stock("C", 3), stock("D", 4)])
    # THEN Magento's whole-call refusal is pinned on B; the others are saved
    assert {k for k, o in outcomes.items() if o.applied} == {"A", "C", "D"}
    assert "Could not save Source Item" in (outcomes["B"].error or "")


def test_given_sources_switched_from_per_location_to_one_then_the_old_rows_go(
    magento: EmulatorHandle, client: MagentoClient, tmp_path: Path
) -> None:
    # GIVEN quantities written per location, and a source item the merchant made by hand
    with magento.store.lock:
        for code in ("MAIN", "WEB", "DROP"):
            inventory_of(magento.store).sources[code] = {"source_code": code, "name": code}
    add_products(magento, "A", "B")
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    writer = StockWriter(client, state=state)

    def per_location(sku: str) -> Change:
        sources = tuple(
            SourceQuantity(source_code=code, quantity=Decimal(2), in_stock=True)
            for code in ("MAIN", "WEB")
        )
        return change(StockState(sku=sku, sources=sources))

    assert all(o.applied for o in writer.write([per_location("A"), per_location("B")]).values())
    StockWriter(client).api.save_source_items(
        [SourceItem(sku="A", source_code="DROP", quantity=9, status=1)]
    )
    # WHEN CPSYNC_STOCK_SOURCES becomes single: the quantities go to 'default'
    assert all(o.applied for o in writer.write([stock("A", 4), stock("B", 5)]).values())
    # THEN MAIN and WEB no longer hold (or sell) A and B; the hand-made row stays
    rows = sorted((i["sku"], i["source_code"]) for i in inventory_of(magento.store).source_items())
    assert rows == [("A", "DROP"), ("A", "default"), ("B", "default")]
    # ... and once nothing is left under MAIN and WEB, writes stop looking for them
    assert state.get_option(SOURCES_WRITTEN) == ["default"]
    searches = magento.stats()["requests"].get("inventory.source_items.search", 0)
    writer.write([stock("A", 3)])
    assert magento.stats()["requests"].get("inventory.source_items.search", 0) == searches


def test_given_a_store_without_msi_then_legacy_stock_items_are_written(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    add_products(magento, "MUG")
    two = StockState(
        sku="MUG",
        sources=(
            SourceQuantity(source_code="MAIN", quantity=Decimal(3), in_stock=True),
            SourceQuantity(source_code="WEB", quantity=Decimal(4), in_stock=True),
        ),
    )
    outcomes = StockWriter(client, mode="legacy").write([change(two), stock("NOPE", 1)])
    assert outcomes["MUG"].applied
    stock_item = magento.store.products_by_sku()["MUG"]["extension_attributes"]["stock_item"]
    assert (stock_item["qty"], stock_item["is_in_stock"]) == (7, True)
    assert 'Product with SKU "NOPE" does not exist' in (outcomes["NOPE"].error or "")
    assert outcomes["NOPE"].retryable  # it may still be created by the Items task


# --- prices -------------------------------------------------------------------------------


def test_given_prices_with_an_unknown_sku_then_only_that_record_waits_named(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    add_products(magento, "A", "B")
    sale = SpecialPrice(price=Decimal("8"), price_from="2026-12-01 06:00:00", price_to=None)
    writer = PriceWriter(client)
    # WHEN
    outcomes = writer.write([price("A", "12.50", sale), price("B", "9"), price("GHOST", "5", sale)])
    # THEN
    assert outcomes["A"].applied and outcomes["B"].applied
    assert not outcomes["GHOST"].applied
    assert outcomes["GHOST"].retryable  # Items may create it later: retried, then parked
    assert "Invalid attribute SKU = GHOST." in (outcomes["GHOST"].error or "")
    products = magento.store.products_by_sku()
    assert (products["A"]["price"], products["B"]["price"]) == (12.5, 9)
    assert prices_of(magento.store).special_prices() == [
        {
            "price": 8.0,
            "store_id": 0,
            "sku": "A",
            "price_from": "2026-12-01 06:00:00",
            "price_to": None,
        }
    ]


def test_given_a_promotion_that_ended_or_changed_then_magento_ends_with_the_desired_row(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    add_products(magento, "A", "B")
    writer = PriceWriter(client)
    old = SpecialPrice(price=Decimal("8"))
    writer.write([price("A", "10", old), price("B", "10", old)])
    saves = magento.stats()["requests"]["prices.special.save"]
    new = SpecialPrice(price=Decimal("7"), price_from="2026-12-01 00:00:00")
    # WHEN A's promotion changes, B's ends, and then the same is written again
    writer.write([price("A", "10", new), price("B", "10")])
    writer.write([price("A", "10", new), price("B", "10")])
    # THEN one row for A as desired, none for B, and the repeat sent no special price
    rows = prices_of(magento.store).special_prices()
    assert [(r["sku"], r["price"], r["price_from"]) for r in rows] == [
        ("A", 7.0, "2026-12-01 00:00:00")
    ]
    assert magento.stats()["requests"]["prices.special.save"] == saves + 1


def test_given_a_promotion_whose_dates_change_then_the_store_shows_exactly_the_new_dates(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    """Magento keeps a stored date that a special-price save is not sent
    (docs/reference/magento.md#special-prices): an open end must not inherit the old end."""
    add_products(magento, "A", "B")
    dec1, dec24, jan6 = "2026-12-01 00:00:00", "2026-12-24 23:59:59", "2027-01-06 23:59:59"
    sale = SpecialPrice(price=Decimal("8"), price_from=dec1, price_to=dec24)
    PriceWriter(client).write([price("A", "10", sale), price("B", "10", sale)])
    # WHEN A's promotion loses its end date and B's runs longer (a writer that knows nothing,
    # so it reads what Magento holds first)
    open_ended = SpecialPrice(price=Decimal("8"), price_from=dec1, price_to=None)
    longer = SpecialPrice(price=Decimal("8"), price_from=dec1, price_to=jan6)
    outcomes = PriceWriter(client).write([price("A", "10", open_ended), price("B", "10", longer)])
    # THEN the store shows A on sale with no end, B until January 6th
    assert all(o.applied for o in outcomes.values())
    rows = {
        r.sku: (r.price, r.price_from, r.price_to)
        for r in PriceApi(client).special_prices(["A", "B"])
    }
    assert rows == {"A": (8.0, dec1, None), "B": (8.0, dec1, jan6)}


def test_given_dates_left_from_an_admin_promotion_then_a_new_promotion_does_not_inherit_them(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    """A product save that clears ``special_price`` keeps its dates, which the special-price
    read cannot show (docs/reference/magento.md#special-prices) and a save would bring back."""
    add_products(magento, "A", "B")
    # GIVEN the merchant ran promotions by hand and then cleared only their price: A kept a
    # start in March, B an end in January
    march, jan6 = "2027-03-01 00:00:00", "2027-01-06 23:59:59"
    with httpx.Client(
        base_url=magento.rest_url, headers={"Authorization": f"Bearer {magento.token}"}
    ) as h:
        for sku, code, date in (("A", "special_from_date", march), ("B", "special_to_date", jan6)):
            custom = [
                {"attribute_code": "special_price", "value": 5},
                {"attribute_code": code, "value": date},
            ]
            h.put(f"/all/V1/products/{sku}", json={"product": {"custom_attributes": custom}})
            custom[0]["value"] = None
            h.put(f"/all/V1/products/{sku}", json={"product": {"custom_attributes": custom[:1]}})
    # WHEN cpsync (knowing nothing of them) sends A a promotion without dates, B one without end
    dec1 = "2026-12-01 00:00:00"
    outcomes = PriceWriter(client).write(
        [
            price("A", "10", SpecialPrice(price=Decimal("8"))),
            price("B", "10", SpecialPrice(price=Decimal("7"), price_from=dec1)),
        ]
    )
    # THEN the store shows A on sale now with no start in March, B from December with no end
    assert all(o.applied for o in outcomes.values())
    rows = {
        r.sku: (r.price, r.price_from, r.price_to)
        for r in PriceApi(client).special_prices(["A", "B"])
    }
    assert rows == {"A": (8.0, None, None), "B": (7.0, dec1, None)}


def test_given_two_store_views_with_the_same_promotion_then_rewriting_it_sends_nothing() -> None:
    """Website price scope: Magento's read repeats store 1's row once per date row of every
    store (docs/reference/magento.md#special-prices); alike rows are one row."""
    config = EmulatorConfig(store_codes=["default", "fr"], price_scope="website")
    with running_emulator(config) as magento, MagentoClient(magento.url, magento.token) as client:
        add_products(magento, "A")
        sale = SpecialPrice(price=Decimal("8"), price_from="2026-12-01 00:00:00", price_to=None)
        PriceWriter(client, store_id=2).write([price("A", "10", sale)])  # the French view
        writer = PriceWriter(client, store_id=1)  # no state: it reads what Magento holds
        writer.write([price("A", "10", sale)])
        before = magento.stats()["requests"]
        # WHEN the same promotion is written again to store 1
        outcome = writer.write([price("A", "10", sale)])["A"]
        # THEN Magento is read, and no special price is deleted or saved again
        after = magento.stats()["requests"]
        assert outcome.applied
        sent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        assert sent == {"prices.base.save": 1, "prices.special.get": 1}


@pytest.mark.parametrize("copied", [True, False], ids=["copied to the website", "one view"])
def test_given_website_price_scope_when_a_promotion_ends_then_no_store_view_keeps_it(
    copied: bool, tmp_path: Path
) -> None:
    """Magento copies a store view's special price to its website's views (issue 39521's fix)
    but deletes one store's (docs/reference/magento.md#special-prices)."""
    config = EmulatorConfig(
        store_codes=["default", "fr"], price_scope="website", special_price_website_copy=copied
    )
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    with running_emulator(config) as magento, MagentoClient(magento.url, magento.token) as client:
        add_products(magento, "A")
        writer = PriceWriter(client, store_id=1, state=state)
        sale = SpecialPrice(price=Decimal("8"), price_from="2026-12-01 00:00:00")
        assert writer.write([price("A", "10", sale)])["A"].applied
        views = sorted(r["store_id"] for r in prices_of(magento.store).special_prices())
        assert views == ([1, 2] if copied else [1])
        # WHEN the promotion ends
        assert writer.write([price("A", "10")])["A"].applied
        # THEN neither store view shows it, and the store views were asked for once
        assert prices_of(magento.store).special_prices() == []
        assert magento.stats()["requests"]["store.views"] == 1


def test_given_store_views_cannot_be_read_then_the_promotion_still_ends_in_its_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An integration without Magento_Backend::store (the emulator grants every resource, so
    the refusal is faked): the delete goes to the writer's store view alone."""
    config = EmulatorConfig(store_codes=["default", "fr"], price_scope="website")
    with running_emulator(config) as magento, MagentoClient(magento.url, magento.token) as client:
        add_products(magento, "A")
        writer = PriceWriter(client, store_id=1)

        def refused(store_id: int) -> list[int]:
            raise MagentoRecordError(401, "The consumer isn't authorized", "GET", "store")

        monkeypatch.setattr(writer.api, "sibling_views", refused)
        writer.write([price("A", "10", SpecialPrice(price=Decimal("8")))])
        outcome = writer.write([price("A", "10")])["A"]
        assert outcome.applied
        assert prices_of(magento.store).special_prices() == []


def test_given_input_limits_then_price_rows_go_at_most_20_per_request(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    skus = [f"P{n}" for n in range(30)]
    add_products(magento, *skus)
    magento.configure(input_limit_enabled=True)
    outcomes = PriceWriter(client, chunk_size=20).write([price(s, "3") for s in skus])
    assert all(o.applied for o in outcomes.values())
    assert set(magento.stats()["responses"]["prices.base.save"]) == {"200"}
    assert PriceWriter(client, chunk_size=20, concurrency=1).write([price("P0", "4")])["P0"].applied


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (
            {"message": "Invalid attribute %fieldName = %fieldValue.", "parameters": ["SKU", "X"]},
            "Invalid attribute SKU = X.",
        ),
        ({"message": "Requested store is not found. Row ID: SKU = X, Store ID: 9."}, None),
        ({"message": "Odd %one", "parameters": ["a", "b"]}, "Odd %one (a, b)"),
    ],
)
def test_given_a_price_failure_then_its_text_is_filled_from_positional_parameters(
    failure: dict[str, Any], text: str | None
) -> None:
    parsed = PriceFailure.model_validate(failure)
    assert parsed.text() == (text or failure["message"])
    assert parsed.sku_in({"x": "X"}) == ("X" if parsed.parameters[1:2] == ["X"] else None)


def test_given_a_rendered_special_failure_then_its_text_is_kept_and_names_the_record() -> None:
    """Magento renders the row into a special-price failure; a date left out is a null."""
    parsed = PriceFailure.model_validate(
        {
            "message": "Requested store is not found. Row ID: SKU = None, Store ID: 9, "
            "Price From: , Price To: .",
            "parameters": ["None", "9", None, None],
        }
    )
    assert parsed.text() == parsed.message
    assert parsed.sku_in({"none": "NONE", "x": "X"}) == "NONE"
    nulls = PriceFailure.model_validate({"message": "Odd.", "parameters": ["X", None]})
    assert (nulls.text(), nulls.sku_in({"none": "NONE"})) == ("Odd. (X)", None)


def test_given_a_price_for_a_product_not_created_yet_when_it_appears_then_the_retry_applies(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    writer = PriceWriter(client)
    first = writer.write([price("LATE", "5")])["LATE"]
    add_products(magento, "LATE")
    second = writer.write([price("LATE", "5")])["LATE"]
    assert (first.retryable, second.applied) == (True, True)
    assert magento.store.products_by_sku()["LATE"]["price"] == 5


def test_given_a_price_magento_refuses_for_another_reason_then_it_is_parked_at_once(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    add_products(magento, "A")
    outcome = PriceWriter(client, store_id=99).write([price("A", "5")])["A"]
    assert not outcome.applied and not outcome.retryable
    assert "Requested store is not found" in (outcome.error or "")


def test_given_a_german_store_then_a_missing_product_is_still_told_from_a_refused_price(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    """Price failures come back in the store's language: cpsync asks Magento, not the text."""
    magento.configure(locale="de_DE")
    add_products(magento, "A")
    sale = SpecialPrice(price=Decimal("4"))
    outcomes = PriceWriter(client).write([price("A", "5", sale), price("LATE", "5", sale)])
    assert outcomes["A"].applied
    assert not outcomes["LATE"].applied and outcomes["LATE"].retryable
    assert "Ungültiges Attribut SKU = LATE." in (outcomes["LATE"].error or "")
    refused = PriceWriter(client, store_id=99).write([price("A", "5")])["A"]
    assert not refused.retryable and "nicht gefunden" in (refused.error or "")


def test_given_a_store_with_input_limits_nobody_told_us_about_then_writers_learn_them(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    skus = [f"L{n}" for n in range(45)]
    add_products(magento, *skus)
    magento.configure(input_limit_enabled=True)
    stock_writer, price_writer = (
        StockWriter(client, concurrency=1),
        PriceWriter(client, concurrency=1),
    )
    # WHEN 45 rows go out with the default of 500 per request
    stock_outcomes = stock_writer.write([stock(s, 2) for s in skus])
    price_outcomes = price_writer.write([price(s, "3") for s in skus])
    # THEN one refusal each, then 20 per request, and every record applied
    assert all(o.applied for o in (*stock_outcomes.values(), *price_outcomes.values()))
    assert (stock_writer.chunk_size, price_writer.chunk_size) == (20, 20)
    responses = magento.stats()["responses"]
    assert responses["inventory.source_items.save"] == {"400": 1, "200": 3}
    assert responses["prices.base.save"] == {"400": 1, "200": 3}


def test_given_the_typed_inventory_api_then_items_are_read_and_deleted_by_sku(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    from cpsync.magento.inventory import InventoryApi, SourceItem

    api = InventoryApi(client)
    api.save_source_items([SourceItem(sku="A", source_code="default", quantity=2, status=1)])
    assert api.source_items(["A", "B"]) == [
        SourceItem(sku="A", source_code="default", quantity=2.0, status=1)
    ]
    assert api.source_codes() == {"default"}
    api.delete_source_items([("A", "default")])
    assert api.source_items(["A"]) == []


def test_given_the_typed_price_api_then_base_prices_are_read_back(
    magento: EmulatorHandle, client: MagentoClient
) -> None:
    from cpsync.magento.prices import BasePriceRow, PriceApi

    add_products(magento, "A")
    api = PriceApi(client)
    assert api.save_base([BasePriceRow(price=4.5, sku="A")]) == []
    assert api.base_prices(["A", "NOPE"]) == [BasePriceRow(price=4.5, store_id=0, sku="A")]


# --- special prices from what state knows Magento holds -----------------------------------


def _price_calls(magento: EmulatorHandle) -> dict[str, int]:
    requests = magento.stats()["requests"]
    return {k: v for k, v in requests.items() if k.startswith("prices.")}


def _calls_since(magento: EmulatorHandle, before: dict[str, int]) -> dict[str, int]:
    after = _price_calls(magento)
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


@pytest.fixture
def state(tmp_path: Path) -> SqliteState:
    return SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))


def test_given_an_unchanged_special_when_only_price_1_changes_then_one_base_call_is_made(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    # GIVEN A and B on sale, written once (the first write reads what Magento holds)
    add_products(magento, "A", "B")
    sale = SpecialPrice(price=Decimal("8"), price_from="2026-12-01 06:00:00")
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10", sale), price("B", "10", sale)])
    before = _price_calls(magento)
    # WHEN their regular price changes and the promotion does not
    outcomes = writer.write([price("A", "11", sale), price("B", "12", sale)])
    # THEN one base-price call, and nothing about special prices
    assert all(o.applied for o in outcomes.values())
    assert _calls_since(magento, before) == {"prices.base.save": 1}
    products = magento.store.products_by_sku()
    assert (products["A"]["price"], products["B"]["price"]) == (11, 12)
    assert [r["price"] for r in prices_of(magento.store).special_prices()] == [8.0, 8.0]


def test_given_a_special_whose_price_moves_and_dates_stay_then_it_is_saved_in_place(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    add_products(magento, "A")
    dates = {"price_from": "2026-12-01 06:00:00", "price_to": "2026-12-24 23:59:59"}
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10", SpecialPrice(price=Decimal("8"), **dates))])
    before = _price_calls(magento)
    # WHEN the promotion's price changes but not its window
    outcome = writer.write([price("A", "10", SpecialPrice(price=Decimal("7"), **dates))])["A"]
    # THEN one special save, no read and no delete
    assert outcome.applied
    assert _calls_since(magento, before) == {"prices.base.save": 1, "prices.special.save": 1}
    rows = prices_of(magento.store).special_prices()
    assert [(r["price"], r["price_from"], r["price_to"]) for r in rows] == [
        (7.0, dates["price_from"], dates["price_to"])
    ]


def test_given_a_special_that_ended_or_moved_its_dates_then_it_is_deleted_without_a_read(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    add_products(magento, "A", "B")
    sale = SpecialPrice(price=Decimal("8"), price_to="2026-12-24 23:59:59")
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10", sale), price("B", "10", sale)])
    before = _price_calls(magento)
    # WHEN A's promotion ends and B's is extended (a save would keep the old end date)
    later = SpecialPrice(price=Decimal("8"), price_to="2026-12-31 23:59:59")
    outcomes = writer.write([price("A", "10"), price("B", "10", later)])
    # THEN one delete for both, one save for B, no read
    assert all(o.applied for o in outcomes.values())
    assert _calls_since(magento, before) == {
        "prices.base.save": 1,
        "prices.special.delete": 1,
        "prices.special.save": 1,
    }
    rows = prices_of(magento.store).special_prices()
    assert [(r["sku"], r["price_to"]) for r in rows] == [("B", "2026-12-31 23:59:59")]


def test_given_a_special_cpsync_did_not_write_when_a_change_is_forced_then_it_is_read_and_removed(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    # GIVEN cpsync knows A has no special price, and someone adds one in Magento's admin
    add_products(magento, "A")
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10")])
    PriceWriter(client).write([price("A", "10", SpecialPrice(price=Decimal("1")))])
    # WHEN a normal change trusts state, then a forced one ("queue all") reads Magento
    writer.write([price("A", "11")])
    assert len(prices_of(magento.store).special_prices()) == 1
    before = _price_calls(magento)
    forced = price("A", "11").model_copy(update={"force": True})
    outcome = writer.write([forced])["A"]
    # THEN the forced write read what Magento holds and removed the stray special price
    assert outcome.applied
    assert _calls_since(magento, before) == {
        "prices.base.save": 1,
        "prices.special.get": 1,
        "prices.special.delete": 1,
    }
    assert prices_of(magento.store).special_prices() == []


def test_given_a_store_that_refuses_an_in_place_save_then_the_row_is_deleted_and_saved_again(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    """Adobe Commerce keeps special prices as scheduled updates and may refuse a save whose
    range overlaps one it holds; the emulator follows Open Source, so that answer is faked."""
    add_products(magento, "A")
    dates = {"price_from": "2026-12-01 06:00:00"}
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10", SpecialPrice(price=Decimal("8"), **dates))])
    real_save = writer.api.save_special
    refused: list[int] = []

    def overlapping(rows: Any) -> list[PriceFailure]:
        if not refused:
            refused.append(len(rows))
            message = "Future Update already exists in this time range. Set a different range."
            return [PriceFailure(message=message, parameters=["A", "0", dates["price_from"]])]
        return real_save(rows)

    writer.api.save_special = overlapping  # type: ignore[method-assign]
    # WHEN the promotion's price changes in place
    outcome = writer.write([price("A", "10", SpecialPrice(price=Decimal("6"), **dates))])["A"]
    # THEN the refused save fell back to delete and save, and Magento holds the new row
    assert outcome.applied, outcome.error
    assert refused == [1]
    assert [r["price"] for r in prices_of(magento.store).special_prices()] == [6.0]


def test_given_dates_left_from_an_admin_promotion_when_a_promotion_comes_later_then_none_is_kept(
    magento: EmulatorHandle, client: MagentoClient, state: SqliteState
) -> None:
    """The first write of a SKU without promotion reads no row; state remembers that the store
    may still keep dates without a price, so a later promotion clears them first."""
    add_products(magento, "A")
    # GIVEN the merchant ran a promotion by hand ending in January and then cleared its price
    jan6 = "2027-01-06 23:59:59"
    with httpx.Client(
        base_url=magento.rest_url, headers={"Authorization": f"Bearer {magento.token}"}
    ) as h:
        custom = [
            {"attribute_code": "special_price", "value": 5},
            {"attribute_code": "special_to_date", "value": jan6},
        ]
        h.put("/all/V1/products/A", json={"product": {"custom_attributes": custom}})
        custom[0]["value"] = None
        h.put("/all/V1/products/A", json={"product": {"custom_attributes": custom[:1]}})
    # AND cpsync first wrote A without a promotion (and later its base price alone)
    writer = PriceWriter(client, state=state)
    writer.write([price("A", "10")])
    before = _price_calls(magento)
    writer.write([price("A", "11")])
    assert _calls_since(magento, before) == {"prices.base.save": 1}
    # WHEN A goes on sale from December with no end
    dec1 = "2026-12-01 00:00:00"
    outcome = writer.write([price("A", "10", SpecialPrice(price=Decimal("7"), price_from=dec1))])
    # THEN the store shows the sale with no end, not January's leftover end
    assert outcome["A"].applied
    rows = [(r.price, r.price_from, r.price_to) for r in PriceApi(client).special_prices(["A"])]
    assert rows == [(7.0, dec1, None)]
    # AND the next change of the sale's price saves in place, with no delete
    before = _price_calls(magento)
    writer.write([price("A", "10", SpecialPrice(price=Decimal("6"), price_from=dec1))])
    assert _calls_since(magento, before) == {"prices.base.save": 1, "prices.special.save": 1}
