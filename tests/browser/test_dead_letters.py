"""Dead letters in headless Chromium: fixed in Counterpoint and retried, paged, retried by group."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from cpsync.model import Change, ProductState, make_version
from tests.helpers import queue_settled, wait_until


def _sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()


def _product_change(sku: str, url_key: str) -> Change:
    """A Change as a task made it (its version starts with Counterpoint's change time)."""
    product = ProductState(
        sku=sku, enabled=True, name=f"Tee {sku}", url_key=url_key, price=Decimal("19.99")
    )
    now = datetime.now(UTC)
    return Change(
        kind="product",
        key=sku,
        version=make_version(datetime(2020, 1, 1)),
        fingerprint=product.fingerprint(),
        payload=product.payload(),
        task="items",
        run_id="browser-test",
        detected_at=now,
    )


def _set_url(served, item_no: str, url: str | None) -> None:
    """What the merchant does in Counterpoint: the item's URL field (IM_ITEM.URL)."""
    engine = create_engine(served.runtime.settings.counterpoint_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE IM_ITEM SET URL = :url WHERE ITEM_NO = :item"),
            {
                "url": url,
                "item": item_no,
            },
        )
    engine.dispose()


def _buildable(served, count: int) -> list[str]:
    """Simple e-commerce items of the sample that become products as they are."""
    info = served.sample
    simple = sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))
    found: list[Change] = []
    served.runtime.task("items").run(keys=simple, force=True, emit=found.extend)
    return [c.key for c in found if c.payload.get("enabled")][:count]


def test_a_url_key_dead_letter_fixed_in_counterpoint_and_retried_is_applied(
    page: Page, served, shots: Path
) -> None:
    store, queue = served.emulator.store, served.runtime.queue
    (item,) = _buildable(served, 1)
    # Another Magento product holds "shared-tee"; the item's URL field in Counterpoint says
    # the same, so Magento refuses it for good.
    queue.send([_product_change("OTHER-1", "shared-tee")])
    wait_until(lambda: store.find_by_sku("OTHER-1") is not None, "OTHER-1 in Magento")
    _set_url(served, item, "shared-tee")
    items = served.runtime.task("items")
    items.run(keys=[item], force=True)
    wait_until(lambda: queue.depth().dead == 1, f"product {item} parked")
    items.run(keys=[item], force=True)  # Queue All again: the same refusal, parked again
    wait_until(lambda: queue_settled(queue), "the queue to settle")
    assert queue.depth().dead == 1  # the newest replaced the older one

    _sign_in(page, served.url)
    rows = page.locator("#dead-table tbody tr")
    expect(rows).to_have_count(1)  # one dead letter per record
    row = rows.first
    expect(row).to_contain_text(f"product {item}")
    expect(row).to_contain_text("URL key already used")
    expect(row).to_contain_text("OTHER-1")  # the product holding the key, by name
    expect(row).to_contain_text("IM_ITEM.URL")
    raw = row.locator("details code")
    expect(raw).to_be_hidden()
    row.get_by_text("Magento's message").click()
    expect(raw).to_contain_text("URL key for specified store already exists")
    expect(page.locator("#dead-pager")).to_contain_text("1\u20131 of 1")
    page.screenshot(path=str(shots / "dead-letters.png"), full_page=True)

    # The merchant clears the URL field in Counterpoint, then presses Retry.
    _set_url(served, item, None)
    page.get_by_role("button", name=f"Retry product {item}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"1 record (product {item}) read again from Counterpoint and queued"
    )
    wait_until(lambda: store.find_by_sku(item) is not None, f"product {item} in Magento")
    wait_until(lambda: queue_settled(queue), "the queue to settle")
    # The replaced letter is settled where letters are listed (the page's refresh): then none
    # is left, old or new.
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#dead-table")).to_contain_text("No dead letters.")
    assert queue.depth().dead == 0  # applied: no new dead letter


def test_2500_dead_letters_are_paged_and_retried_by_group(page: Page, served, shots: Path) -> None:
    queue = served.runtime.queue
    real = _buildable(served, 20)
    fake = [f"GONE-{i:04}" for i in range(2500 - len(real))]
    # Park them through the queue port, with the updater held for the moment so it does not
    # take any of them first.
    with served.updater_held():
        queue.send([_product_change(k, k.lower()) for k in fake + real])
        for message in queue.receive(2500):
            key = Change.from_json(message.body).key
            reason = (
                "Magento POST /rest/all/V1/products answered 400: URL key for specified store "
                "already exists."
                if key.startswith("GONE-")
                else "Magento POST /rest/all/V1/products answered 400: The product was unable "
                "to be saved. Please try again."
            )
            queue.dead_letter(message, f"product {key}: {reason}")
    assert queue.depth().dead == 2500

    _sign_in(page, served.url)
    pager = page.locator("#dead-pager")
    expect(pager).to_contain_text("1\u2013100 of 2,500")
    expect(page.locator("#dead-table tbody tr")).to_have_count(100)
    page.get_by_role("button", name="Next dead letter page").click()
    expect(pager).to_contain_text("101\u2013200 of 2,500")
    page.get_by_role("button", name="Previous dead letter page").click()
    expect(pager).to_contain_text("1\u2013100 of 2,500")

    groups = page.locator("#dead-groups")
    expect(groups).to_contain_text("URL key already used (2,480)")
    page.locator("#dead-title").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "dead-letters-paged.png"))
    groups.get_by_role("button", name=re.compile(r"^Magento refused a value \(20\)")).click()
    expect(pager).to_contain_text("1\u201320 of 20")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retry these 20").click()
    expect(page.get_by_role("status")).to_contain_text(
        "20 records read again from Counterpoint and queued"
    )
    expect(pager).to_contain_text("1\u2013100 of 2,480")
    store = served.emulator.store
    wait_until(lambda: all(store.find_by_sku(k) is not None for k in real), "the 20 in Magento")

    # A selection: two records gone from Counterpoint are discarded, and the page says so.
    rows = page.locator("#dead-table tbody tr")
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    page.get_by_role("button", name="Retry 2 selected").click()
    expect(page.get_by_role("status")).to_contain_text(
        "2 no longer in Counterpoint for e-commerce, discarded (product GONE-0000, "
        "product GONE-0001)"
    )
    expect(pager).to_contain_text("1\u2013100 of 2,478")
    assert queue.depth().dead == 2478

    # The whole URL-key group at once: none of these records is in Counterpoint.
    groups.get_by_role("button", name=re.compile(r"^URL key already used")).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retry these 2,478").click()
    expect(page.get_by_role("status")).to_contain_text(
        "2,478 no longer in Counterpoint for e-commerce, discarded"
    )
    expect(page.locator("#dead-table")).to_contain_text("No dead letters.")
    assert queue.depth().dead == 0


def test_at_375_px_the_dead_letters_fit_and_their_buttons_are_on_screen(
    phone: Page, served, shots: Path
) -> None:
    queue = served.runtime.queue
    keys = ["GONE-0001", "GONE-0002", "A-LONG-ITEM-NUMBER-WITH-A-GRID^YELLOW-XL"]
    with served.updater_held():
        queue.send([_product_change(k, k.lower()) for k in keys])
        for message in queue.receive(10):
            key = Change.from_json(message.body).key
            queue.dead_letter(
                message,
                f"product {key}: Magento POST /rest/all/V1/products answered 400: URL key for "
                "specified store already exists.",
            )
    assert queue.depth().dead == 3

    _sign_in(phone, served.url)
    expect(phone.locator("#dead-table tbody tr")).to_have_count(3)
    expect(phone.locator("#dead-pager")).to_contain_text("1\u20133 of 3")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the dead letters make the page {width} px wide at 375 px"
    outside_the_table = (
        "#dead-groups button, #dead-filter button, #dead-bulk button, #dead-pager button"
    )
    for button in phone.locator(outside_the_table).all():
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, button.inner_text()
    phone.locator("#dead-title").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "dead-letters-375.png"))
