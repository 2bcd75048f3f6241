"""The sync interface as a store manager runs the store with it: store time, schedules a
person can set, health, feedback, a phone screen. A UTC browser and a New York store."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from cpsync.control import task_control


def _sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _open_task(page: Page, title: str) -> None:
    page.get_by_role("button", name="Products").click()
    page.get_by_role("tab", name=title, exact=True).click()


def test_a_schedule_set_with_the_picker_previews_three_runs_in_store_time_and_enter_saves(
    page: Page, served
) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Price Changes")
    # WHEN the manager picks "every day at 01:00"
    page.get_by_label("Runs").select_option("daily")
    page.get_by_label("at", exact=True).fill("01:00")
    # THEN the expression is shown beside the picker, and three runs at 1:00 AM New York time
    expect(page.locator("[data-expression]")).to_have_text("cron(0 1 * * ? *)")
    preview = page.locator("[data-preview]")
    expect(preview).to_contain_text("Next runs:")
    assert preview.inner_text().count("1:00 AM EST") == 3, preview.inner_text()
    # WHEN Enter is pressed in the form THEN it is saved, and the next run is said in store time
    page.get_by_label("at", exact=True).press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Price Changes now runs on cron\(0 1 \* \* \? \*\); next .*1:00 AM EST")
    )
    assert task_control(served.runtime.state, "prices").schedule == "cron(0 1 * * ? *)"
    # AND the dashboard shows the next run at 1:00 AM EST, not the UTC browser's 6:00 AM
    page.get_by_role("button", name="Dashboard").click()
    row = page.locator("#task-table tr", has_text="Price Changes")
    expect(row).to_contain_text("1:00 AM EST")


def test_the_advanced_field_takes_a_unix_cron_and_errors_name_the_task(page: Page, served) -> None:
    _sign_in(page, served.url)
    _open_task(page, "Price Changes")
    page.get_by_label("Runs").select_option("advanced")
    field = page.get_by_label("Expression")
    field.fill("30 2 * * 1-5")
    expect(page.locator("[data-expression]")).to_have_text(
        "cron(30 2 ? * 2-6 *) (from 30 2 * * 1-5)"
    )
    expect(page.locator("[data-preview]")).to_contain_text("2:30 AM EST")
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
