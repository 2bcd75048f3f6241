"""The sync interface as a store manager runs the store with it: store time, schedules a
person can set, health, feedback, a phone screen. A UTC browser and a New York store."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from cpsync.control import task_control
from tests.browser.conftest import API_KEY, LOCAL_ADMIN, LOCAL_PASSWORD
from tests.helpers import clash_url_key, queue_settled, wait_until


def _sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _wait_for_route(page: Page, held: list, seconds: float = 15) -> None:
    """Wait for `page.route` to catch a request into `held` (routes run while Playwright waits)."""
    for _ in range(int(seconds / 0.05)):
        if held:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the page sent no request to hold in {seconds:.0f} s")


def _open_task(page: Page, title: str) -> None:
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name=title, exact=True).click()
    # The panel is drawn again when its data arrives: act on it only after that.
    expect(page.get_by_role("tabpanel", name=title)).to_contain_text("Runs on")


def test_a_schedule_set_with_the_picker_previews_three_runs_in_store_time_and_enter_saves(
    page: Page, served
) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Price Changes")
    # WHEN the manager picks "every day at 01:00"
    page.get_by_label("Runs").select_option("daily")
    page.get_by_label("at", exact=True).fill("01:00")
    # THEN the expression is shown beside the picker, and three runs at 1:00 AM New York time
    # (EST or EDT: the preview counts from today)
    expect(page.locator("[data-expression]")).to_have_text("cron(0 1 * * ? *)")
    run = r"[^;]+ 1:00 AM E[SD]T"
    expect(page.locator("[data-preview]")).to_have_text(
        re.compile(rf"^Next runs: {run}; {run}; {run}\.$")
    )
    # WHEN Enter is pressed in the form THEN it is saved, and the next run is said in store time
    page.get_by_label("at", exact=True).press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Price Changes now runs on cron\(0 1 \* \* \? \*\); next .*1:00 AM E[SD]T")
    )
    assert task_control(served.runtime.state, "prices").schedule == "cron(0 1 * * ? *)"
    # AND the dashboard shows the next run at 1:00 AM EST, not the UTC browser's 6:00 AM
    page.get_by_role("button", name="Dashboard").click()
    row = page.locator("#task-table tr", has_text="Price Changes")
    expect(row).to_contain_text("1:00 AM EST")


def test_the_weekday_picker_writes_the_days_and_previews_only_those_days(
    page: Page, served
) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Inventory")
    page.get_by_label("Runs").select_option("weekly")
    page.get_by_label("at", exact=True).fill("06:30")
    page.get_by_label("Mon", exact=True).check()
    page.get_by_label("Fri", exact=True).check()
    expect(page.locator("[data-expression]")).to_have_text("cron(30 6 ? * MON,FRI *)")
    # The preview is fetched after each change: wait for the one of both days (three runs, on
    # Mondays and Fridays only, both present), not an earlier one of Mondays only.
    run = r"(?:Mon|Fri), [^;]+ 6:30 AM E[SD]T"
    expect(page.locator("[data-preview]")).to_have_text(
        re.compile(rf"^(?=.*Mon, )(?=.*Fri, )Next runs: {run}; {run}; {run}\.$")
    )
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Inventory now runs on cron(30 6 ? * MON,FRI *)"
    )
    # Back on the tab, the picker shows the saved choice, not the advanced field.
    expect(page.get_by_label("Runs")).to_have_value("weekly")
    expect(page.get_by_label("Fri", exact=True)).to_be_checked()


def test_the_advanced_field_takes_a_unix_cron_and_errors_name_the_task(page: Page, served) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Price Changes")
    page.get_by_label("Runs").select_option("advanced")
    field = page.get_by_label("Expression")
    field.fill("30 2 * * 1-5")
    expect(page.locator("[data-expression]")).to_have_text(
        "cron(30 2 ? * 2-6 *) (from 30 2 * * 1-5)"
    )
    expect(page.locator("[data-preview]")).to_contain_text(re.compile(r"2:30 AM E[SD]T"))
    field.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("now runs on cron(30 2 ? * 2-6 *)")
    assert task_control(served.runtime.state, "prices").schedule == "cron(30 2 ? * 2-6 *)"
    # A schedule that cannot run: the preview says so, and saving names the task, not its id
    page.get_by_label("Runs").select_option("advanced")
    page.get_by_label("Expression").fill("every night")
    expect(page.locator("[data-preview]")).to_contain_text("expected rate(...)")
    page.get_by_label("Expression").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Price Changes: schedule 'every night'")
    expect(page.get_by_role("status")).not_to_contain_text("prices")


def test_with_magento_stopped_the_card_is_red_and_key_and_local_admin_sign_in_work(
    page: Page, served_without_magento
) -> None:
    served = served_without_magento
    page.goto(served.url)
    # The Magento admin cannot sign in: Magento is asked, and it does not answer.
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("did not answer")
    # The API key field on the sign-in page gets in.
    page.get_by_text("Sign in with an API key instead").click()
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_role("button", name="Sign in with key").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(
        timeout=20_000
    )  # the Magento card waits up to 5 s on a stopped store
    card = page.locator("#magento-card")
    expect(page.locator("#magento-status")).to_have_class("bad")
    expect(card).to_contain_text("Magento does not answer")
    expect(card).to_contain_text("Reachable: no")
    expect(card).not_to_contain_text("Errno")
    # The local admin gets in too, without Magento.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").fill(LOCAL_ADMIN)
    page.get_by_label("Password", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=20_000)
    expect(page.locator("#who")).to_have_text(f"Signed in: {LOCAL_ADMIN}")
    expect(page.locator("#magento-status")).to_have_class("bad")


def test_refused_records_show_on_the_task_not_ok_and_the_log_says_how_the_run_started(
    page: Page, served, shots: Path
) -> None:
    item_no = served.sample.special["slash_item"]
    clash_url_key(served.runtime, served.emulator, item_no)
    served.runtime.task("items").run()  # a first run: Queue All then knows the record count
    _sign_in(page, served.url)
    expect(page.locator("#magento-status")).to_have_class("ok")
    _open_task(page, "Items")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    # The request is held until the spinner has been seen: a quick job could end before a
    # loaded test process looks.
    held: list = []
    page.route("**/api/tasks/items/queue-all", lambda route: held.append(route))
    queue_all = page.get_by_role("button", name="Queue All")
    queue_all.click()
    # The running job shows a spinner on its button (aria-busy), and focus comes back to it.
    expect(queue_all).to_have_attribute("aria-busy", "true")
    _wait_for_route(page, held)
    held[0].continue_()
    expect(page.locator("[data-count]")).to_have_text(re.compile(r"^\d+ queued$"))
    expect(queue_all).not_to_have_attribute("aria-busy", "true")
    expect(queue_all).to_be_focused()
    assert asked and re.search(r"Queue all \d+ records of Items\?", asked[0]), asked
    queue = served.runtime.queue
    wait_until(lambda: queue.depth().dead >= 1, f"product {item_no} parked")
    wait_until(lambda: queue_settled(queue), "the queue to settle")
    page.get_by_role("button", name="Dashboard").click()
    row = page.locator("#task-table tr[data-task=items]")
    expect(row).to_contain_text("refused")
    expect(row).not_to_contain_text("Errors: none")
    expect(row.locator("td").nth(5)).not_to_have_text("none")
    expect(row).to_contain_text("Queue All:")
    expect(row).to_contain_text(re.compile(r"\d+ applied"))
    expect(page.locator("#magento-facts")).to_contain_text("Last successful write:")
    expect(page.locator("#magento-facts")).not_to_contain_text("none yet")
    expect(page.locator("#cp-status")).to_have_class("ok")
    page.screenshot(path=str(shots / "dashboard-refused.png"), full_page=True)
    # The task's Log names how each run started, in words and in store time.
    _open_task(page, "Items")
    page.get_by_role("button", name="Log").click()
    log = page.locator("[data-pane=log]")
    expect(log).to_contain_text("Queue All: read")
    expect(log).to_contain_text(re.compile(r"(EST|EDT)"))
    expect(log).not_to_contain_text("ok_with_errors")
    page.screenshot(path=str(shots / "task-log.png"), full_page=True)


def test_an_unknown_item_says_no_such_item_and_focus_returns_to_the_button(
    page: Page, served
) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Items")
    page.get_by_label("Item No").fill("nope-123")
    button = page.get_by_role("button", name="Sync Item")
    button.click()
    expect(page.get_by_role("status")).to_contain_text("No such item")
    expect(page.get_by_role("status")).not_to_contain_text("sent to Magento")
    expect(button).to_be_focused()
    # A lower-case item number is found (Counterpoint's are upper case).
    page.get_by_label("Item No").fill(served.sample.special["slash_item"].lower())
    page.get_by_role("button", name="Queue Item").click()
    expect(page.get_by_role("status")).to_contain_text("1 change queued")
    # The banner belongs to the page it was said on.
    page.get_by_role("button", name="Dashboard").click()
    expect(page.get_by_role("status")).to_be_hidden()


def _fits(page: Page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{where}: the page is {width} px wide at 375 px"


def test_at_375_px_nothing_overflows_and_sign_out_is_reachable(
    phone: Page, served, shots: Path
) -> None:
    served.runtime.task("items").run()
    _sign_in(phone, served.url)
    expect(phone.locator("#task-table")).to_contain_text("Items")
    expect(phone.locator("#magento-status")).to_have_class("ok")
    expect(phone.locator("#cp-status")).to_have_class("ok")
    _fits(phone, "dashboard")
    sign_out = phone.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_in_viewport()
    phone.screenshot(path=str(shots / "dashboard-375.png"), full_page=True)
    phone.get_by_role("button", name="Products").click()
    expect(phone.get_by_role("tab", name="Items", exact=True)).to_be_hidden()
    menu = phone.get_by_role("combobox", name="Task", exact=True)
    menu.select_option(label="Inventory")
    expect(phone.locator("#task-panel")).to_have_attribute("aria-labelledby", "tab-inventory")
    menu.select_option(label="Items")
    expect(phone.locator("#task-panel")).to_have_attribute("aria-labelledby", "tab-items")
    _fits(phone, "products")
    for name in ("Queue Changed", "Queue All", "Sync Item", "Save schedule"):
        box = phone.get_by_role("button", name=name).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, name
    phone.get_by_role("button", name="Log").click()
    expect(phone.locator("[data-pane=log]")).to_contain_text("Runs")
    _fits(phone, "log")
    phone.screenshot(path=str(shots / "task-log-375.png"), full_page=True)
    menu.focus()
    phone.keyboard.press("End")  # the keyboard picks a task too: Images is the last one
    expect(menu).to_have_value("images")
    expect(phone.locator("#task-panel")).to_have_attribute("aria-labelledby", "tab-images")
    with_images = next(i for i in sorted(served.sample.image_files) if "/" not in i)
    phone.locator("#image-file-name").fill(with_images)
    phone.get_by_role("button", name="Find images").click()
    expect(phone.locator("[data-image-files] tbody tr").first).to_be_visible()
    _fits(phone, "images")
    phone.screenshot(path=str(shots / "images-375.png"), full_page=True)


def test_a_401_to_a_request_sent_before_sign_out_does_not_sign_out_who_signed_in_since(
    page: Page, served
) -> None:
    # GIVEN a signed-in page with a request still on its way (held here)
    _sign_in(page, served.url)
    held: list = []
    page.route("**/api/tasks", lambda route: route.continue_() if held else held.append(route))
    page.evaluate(
        "() => { window.heldCall = api('GET', '/api/tasks').then(() => 'ok', (e) => e.message); }"
    )
    _wait_for_route(page, held)
    # WHEN the user signs out and in again, and only then that old request answers 401
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out.")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    held[0].fulfill(
        status=401,
        content_type="application/json",
        body='{"detail": "Please sign in (your session may have expired)."}',
    )
    # (the old call has ended: its 401 went through the page's handling)
    assert page.evaluate("() => window.heldCall") == (
        "Please sign in (your session may have expired)."
    )
    # THEN the new session stays on its dashboard
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()
