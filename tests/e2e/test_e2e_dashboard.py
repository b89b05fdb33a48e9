"""The facilitator's dashboard in the browser: the filters and the sort update the table in
place and put the view in the URL (a bookmark); without JavaScript the same form and links
are plain GETs. axe checks the dashboard and the regional picture."""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    DEMO_ADMINISTRATION,
    FACILITATOR,
    assert_same_document,
    format_violations,
    login,
    mark_document,
    run_axe,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_filters_and_sort_update_the_table_in_place_and_the_url(new_context):
    page = new_context(bypass_csp=True).new_page()
    login(page, FACILITATOR)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#dashboard tbody")).to_contain_text(DEMO_ADMINISTRATION)
    violations = run_axe(page, "dashboard")
    assert not violations, format_violations(violations)
    mark_document(page)
    page.get_by_label("Administration").fill("no such administration")
    expect(page.locator("#dashboard")).to_contain_text("No assessment matches these filters.")
    expect(page).to_have_url(re.compile(r"/dashboard\?q=no(\+|%20)such(\+|%20)administration"))
    page.get_by_label("Administration").fill("demo")
    expect(page).to_have_url(re.compile(r"q=demo"))
    expect(page.locator("#dashboard tbody")).to_contain_text(DEMO_ADMINISTRATION)
    page.get_by_role("link", name="Round").click()
    expect(page.locator("th[aria-sort]")).to_contain_text("Round")
    expect(page).to_have_url(re.compile(r"sort=round"))
    page.get_by_label("Status").select_option("draft")  # a filter keeps the sort
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(page.locator("th[aria-sort]")).to_contain_text("Round")
    assert_same_document(page)
    bookmarked = page.url
    page.goto(bookmarked)  # the bookmark shows the same view
    expect(page.get_by_label("Administration")).to_have_value("demo")
    expect(page.locator("th[aria-sort]")).to_contain_text("Round")
    # By keyboard: Enter on a heading sorts on it (highest average first), the focus stays
    # on the heading through the swap, and Enter again turns the order round.
    mark_document(page)
    page.locator("#sort-validated").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=validated&dir=desc"))
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Validated average")
    expect(page.locator("#sort-validated")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=validated&dir=asc"))
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Validated average")
    assert_same_document(page)
    page.get_by_role("link", name="Regional picture", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The regional picture")
    violations = run_axe(page, "regional picture")
    assert not violations, format_violations(violations)


def test_the_dashboard_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    login(page, FACILITATOR)
    page.goto("/dashboard")
    page.get_by_label("Status").select_option("draft")
    page.get_by_label("Administration").fill("no such administration")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(page.locator("#dashboard")).to_contain_text("No assessment matches these filters.")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Administration").fill("")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Last activity").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Last activity")
    expect(page.locator("#dashboard tbody")).to_contain_text(DEMO_ADMINISTRATION)
    page.get_by_role("link", name="Claimed average").click()
    expect(page).to_have_url(re.compile(r"sort=claimed&dir=desc"))
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Claimed average")
