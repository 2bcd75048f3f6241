"""The sync interface in headless Chromium, as a merchant uses it."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, update

from cpsync.control import automatic_sync_enabled
from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change, ProductState, make_version
from tests.helpers import queue_settled, wait_until


def _sign_in(page: Page, url: str, password: str = "admin123") -> None:
    page.goto(url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _simple_with_images(info) -> tuple[str, tuple[str, ...]]:
    simple = set(info.ecommerce_item_nos) - set(info.grid_item_nos)
    item_no = info.special["slash_item"]  # MUG/12: files MUG_12.jpg, MUG_12^2.jpg, ...
    assert item_no in simple
    return item_no, info.image_files[item_no]


def test_sign_in_shows_the_dashboard_and_a_wrong_password_says_so(
    page: Page, served, shots: Path
) -> None:
    _sign_in(page, served.url, password="wrong")
    expect(page.get_by_role("status")).to_contain_text("user name or password is not right")
    served.runtime.task("items").run()
    wait_until(lambda: queue_settled(served.runtime.queue), "the updater to apply the items")
    _sign_in(page, served.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#task-table")).to_contain_text("Items")
    expect(page.locator("#cp-status")).to_contain_text("Connected")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)


def test_the_master_switch_turns_automatic_syncs_off_and_on(page: Page, served) -> None:
    _sign_in(page, served.url)
    switch = page.get_by_role("switch")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.get_by_role("status")).to_contain_text("Automatic syncs are off")
    expect(switch).not_to_be_checked()
    assert automatic_sync_enabled(served.runtime.state) is False
    page.reload()
    expect(page.get_by_role("switch")).not_to_be_checked()
    page.get_by_role("switch").press("Space")
    expect(page.get_by_role("status")).to_contain_text("Automatic syncs are on")
    assert automatic_sync_enabled(served.runtime.state) is True


def test_queue_changed_shows_the_number_of_changes(page: Page, served) -> None:
    _sign_in(page, served.url)
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name="Items", exact=True).click()
    expect(page.get_by_role("tab", name="Items", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    page.get_by_role("button", name="Queue Changed").click()
    count = page.locator("[data-count]")
    expect(count).to_have_text(re.compile(r"^\d+ queued$"))
    queued = served.runtime.state.last_run("items").counts["queued"]
    assert queued > 0
    expect(count).to_have_text(f"{queued} queued")
    expect(page.get_by_role("status")).to_contain_text(f"Items: {queued} changes queued")


def test_queue_all_result_stays_beside_the_buttons_and_a_disable_is_named(
    page: Page, served
) -> None:
    _sign_in(page, served.url)
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name="Items", exact=True).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Queue All").click()
    last = page.locator("[data-last-action]")
    expect(last).to_contain_text(re.compile(r"Last action: Queue All at .+: \d+ changes queued"))
    queued_all = last.inner_text()

    # The item leaves e-commerce in Counterpoint; queuing it says it is a disable.
    item = sorted(set(served.sample.ecommerce_item_nos) - set(served.sample.grid_item_nos))[0]
    engine = create_engine(served.runtime.settings.counterpoint_url)
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item).values(IS_ECOMM_ITEM="N"))
    engine.dispose()
    disabled = "1 change queued: 1 product disabled (no longer for e-commerce)"
    page.get_by_label("Item No").fill(item)
    page.get_by_role("button", name="Queue Item").click()
    expect(page.get_by_role("status")).to_contain_text(f"Items {item}: {disabled}")
    # The panel's line now holds this action (it replaced Queue All's, not the banner only).
    expect(last).to_contain_text(f"Last action: Queue Item {item} at")
    expect(last).to_contain_text(disabled)
    assert queued_all not in last.inner_text()


def _product_change(sku: str, url_key: str) -> Change:
    product = ProductState(
        sku=sku, enabled=True, name=f"Tee {sku}", url_key=url_key, price=Decimal("19.99")
    )
    now = datetime.now(UTC)
    return Change(
        kind="product",
        key=sku,
        version=make_version(None, now),
        fingerprint=product.fingerprint(),
        payload=product.payload(),
        task="items",
        run_id="browser-test",
        detected_at=now,
    )


def test_the_images_procedure_ends_with_the_image_in_magento(
    page: Page, served, shots: Path
) -> None:
    item_no, files = _simple_with_images(served.sample)
    _sign_in(page, served.url)
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name="Items", exact=True).click()
    # The item goes up with the images its files imply.
    page.get_by_label("Item No").fill(item_no)
    page.get_by_role("button", name="Sync Item").click()
    expect(page.get_by_role("status")).to_contain_text(f"Items {item_no}: sent to Magento")
    assert len(served.emulator.store.find_by_sku(item_no)["media_gallery_entries"]) == len(files)

    # The merchant adds a photo of the item, then checks the item for new images.
    added = "MUG_12^back.jpg"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(served.runtime.settings.images_dir / added)
    page.get_by_role("tab", name="Images", exact=True).click()
    page.get_by_label("Item No").fill(item_no)
    page.get_by_label("Item No").press("Enter")
    check = page.get_by_role("button", name=f"Check item {item_no} for new images")
    expect(check).to_be_visible()
    check.click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Item {item_no}: 1 new or changed image gallery queued"
    )

    # Files spell '/' in an item number as '_' (MUG/12 -> MUG_12.jpg).
    page.get_by_label("File Name").fill(item_no.replace("/", "_"))
    page.get_by_label("File Name").press("Enter")
    rows = page.locator("[data-image-files] tbody tr")
    expect(rows).to_have_count(len(files) + 1)
    expect(page.get_by_role("button", name=f"Queue {added}")).to_be_visible()
    page.get_by_role("button", name=f"Sync {added} now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Image {added}: sent to Magento")
    expect(page.locator("[data-image-files] tbody tr", has_text=added)).to_contain_text("pushed")
    gallery = served.emulator.store.find_by_sku(item_no)["media_gallery_entries"]
    assert len(gallery) == len(files) + 1
    page.screenshot(path=str(shots / "images-tab.png"), full_page=True)


def test_item_caret_value_lists_only_that_grid_values_images(page: Page, served) -> None:
    info = served.sample
    item_no, value = (
        info.special["grid_image"].rsplit(".", 1)[0].split("^", 1)
    )  # TSHIRT-GRID^YELLOW
    expected = [
        f for f in info.image_files[item_no] if f.upper().startswith(f"{item_no}^{value}".upper())
    ]
    assert expected
    _sign_in(page, served.url)
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name="Images", exact=True).click()
    page.get_by_label("File Name").fill(f"{item_no}^{value}")
    page.get_by_label("File Name").press("Enter")
    expect(page.locator("[data-image-files] tbody tr")).to_have_count(len(expected))
    page.get_by_label("File Name").fill("../secret")
    page.get_by_label("File Name").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("may not contain")


def test_the_dashboard_shows_when_the_store_agent_was_last_seen(page: Page, served) -> None:
    from datetime import timedelta

    _sign_in(page, served.url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#agent-card")).to_be_hidden()  # no agent on one machine
    # GIVEN the store agent beat 40 s ago
    now, begun = datetime.now(UTC), time.monotonic()
    seen = (now - timedelta(seconds=40)).isoformat()
    served.runtime.state.put_docs("agent", {"STORE-SRV": {"seen_at": seen, "tasks": {}}})
    page.get_by_role("button", name="Refresh").click()
    status = page.locator("#agent-status")
    expect(status).to_have_text(re.compile(r"^seen \d+ s ago on STORE-SRV$"))
    # 40 s, plus however long the refresh took on a loaded machine
    age = int(status.inner_text().split()[1])
    assert 40 <= age <= 40 + math.ceil(time.monotonic() - begun), status.inner_text()
    expect(status).to_have_class("ok")
    # WHEN it has not beaten for two hours THEN the card turns red and says what to check
    seen = (now - timedelta(hours=2)).isoformat()
    served.runtime.state.put_docs("agent", {"STORE-SRV": {"seen_at": seen, "tasks": {}}})
    page.get_by_role("button", name="Refresh").click()
    expect(status).to_contain_text("seen 2 h ago on STORE-SRV")
    expect(status).to_contain_text("is the agent running?")
    expect(status).to_have_class("bad")


def test_verify_shows_what_differs_and_queue_repairs_queues_it(page: Page, served) -> None:
    # Nothing synced yet: Magento lacks every product Counterpoint has.
    _sign_in(page, served.url)
    page.get_by_role("button", name="Verify", exact=True).click()
    status = page.locator("#verify-status")
    expect(status).to_contain_text(re.compile(r"product: \d+ of \d+ differ"))
    expect(status).to_have_class("bad")
    page.get_by_role("button", name="Queue repairs").click()
    expect(page.get_by_role("status")).to_contain_text("queued with their Counterpoint state")
    expect(page.get_by_role("button", name="Queue repairs")).to_be_hidden()


def test_an_item_with_many_image_files_lists_them_100_a_page(page: Page, served) -> None:
    item_no, files = _simple_with_images(served.sample)
    folder = served.runtime.settings.images_dir
    stem = item_no.replace("/", "_")
    Image.new("RGB", (8, 8), (30, 30, 200)).save(folder / f"{stem}^p000.jpg")
    photo = (folder / f"{stem}^p000.jpg").read_bytes()
    for i in range(1, 105 - len(files)):
        (folder / f"{stem}^p{i:03}.jpg").write_bytes(photo)
    _sign_in(page, served.url)
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name="Images", exact=True).click()
    page.get_by_label("File Name").fill(stem)
    page.get_by_label("File Name").press("Enter")
    pager = page.get_by_role("navigation", name="image file pages")
    expect(pager).to_contain_text("1\u2013100 of 105")
    rows = page.locator("[data-image-files] tbody tr")
    expect(rows).to_have_count(100)
    pager.get_by_role("button", name="Next image file page").click()
    expect(pager).to_contain_text("101\u2013105 of 105")
    expect(rows).to_have_count(5)
    expect(pager.get_by_role("button", name="Next image file page")).to_be_disabled()
    pager.get_by_role("button", name="Previous image file page").click()
    expect(pager).to_contain_text("1\u2013100 of 105")
