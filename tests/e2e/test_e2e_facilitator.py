"""A facilitator opens the results and the report of an administration assigned to them."""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    DEMO_ADMINISTRATION,
    DEMO_ROUND,
    FACILITATOR,
    fetch_pdf,
    instrument,
    login,
    section,
    slug,
)
from playwright.sync_api import Page, expect

from cbassess.cli import DEMO_EVIDENCE

pytestmark = pytest.mark.e2e


def test_facilitator_reads_results_and_report(page: Page):
    login(page, FACILITATOR)
    rows = page.locator("tbody tr")
    expect(rows.filter(has_text=DEMO_ROUND)).to_contain_text(DEMO_ADMINISTRATION)
    expect(page.get_by_text("Customs Administration of Exempla")).to_have_count(0)
    expect(page.get_by_role("heading", name="Start a new assessment")).to_have_count(0)

    page.get_by_role("link", name=DEMO_ROUND).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{DEMO_ADMINISTRATION} — {DEMO_ROUND}")
    assessment_id = int(re.search(r"/assessments/(\d+)$", page.url).group(1))
    expect(page.get_by_role("button", name="Submit for review")).to_have_count(0)

    # The answers are shown read-only, and nothing on the page saves itself.
    page.get_by_role("link", name="Read the answers").click()
    expect(page.locator(".notice")).to_contain_text("read-only")
    expect(page.locator("[data-autosave]")).to_have_count(0)
    first = instrument().principles[0].indicators[0].key
    for radio in section(page, first).locator("input[type=radio]").all():
        expect(radio).to_be_disabled()
    evidence = page.locator(f"#{slug(first)}-evidence")
    expect(evidence).to_have_value(DEMO_EVIDENCE[first])
    expect(evidence).not_to_be_editable()

    page.goto(f"/assessments/{assessment_id}")
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Results: {DEMO_ADMINISTRATION}")
    expect(page.locator(".meta")).to_contain_text("Self-assessed — not validated")
    expect(page.locator("figure.chart svg[role=img]:visible")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Scores by principle"))).to_be_visible()

    # The report page prepares the PDF (htmx) and offers it; it holds the answers.
    page.get_by_role("link", name="Report: options, preview and PDF").click()
    with page.expect_response(re.compile(r"/report/prepare\?")) as prepared:
        page.get_by_role("button", name="Download the PDF").click()
    assert prepared.value.status == 200
    expect(page.locator("#report-ready")).to_contain_text("The PDF is ready")
    text = fetch_pdf(page, assessment_id)
    assert DEMO_ADMINISTRATION in text
    assert " ".join(DEMO_EVIDENCE["PW.3"].split()[:6]) in text
