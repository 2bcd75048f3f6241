"""The dashboard's setup check card: one button, the findings in words."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


def test_check_the_setup_lists_what_to_fix_and_folds_what_passed(
    page: Page, served, shots: Path
) -> None:
    # GIVEN a signed-in user on the dashboard, no check run yet
    page.goto(served.url)
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill("admin123")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#check-summary")).to_have_text("Not checked yet.")
    # WHEN they press "Check the setup"
    page.get_by_role("button", name="Check the setup").click()
    # THEN the card says nothing blocks, lists the warnings with their fixes, folds the rest
    expect(page.locator("#check-summary")).to_contain_text("Nothing blocks a sync")
    findings = page.locator("#check-findings")
    expect(findings).to_contain_text("Warning (images)")
    expect(findings).to_contain_text("RETIRED-999.jpg")
    expect(findings).to_contain_text("Fix: ")
    expect(page.locator("#check-passed summary")).to_contain_text("checks passed")
    expect(page.get_by_role("status")).to_contain_text("nothing blocks a sync")
    page.locator("#check-card").screenshot(path=str(shots / "setup-check.png"))
    # AND the report is still there after a reload
    page.reload()
    expect(page.locator("#check-summary")).to_contain_text("Nothing blocks a sync")
