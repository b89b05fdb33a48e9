"""The action plan edited in a real browser (in place, without a page load), the report
prepared and downloaded with its options, the preview, and every export downloaded.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from e2e_support import (
    ARTIFACTS,
    DEMO_ROUND,
    RESPONDENT,
    assert_same_document,
    format_violations,
    login,
    mark_document,
    pdf_text,
    run_axe,
    unique,
)
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "screenshots"


def open_demo_plan(page: Page) -> int:
    login(page, RESPONDENT)
    # By name: other browser tests add rounds of their own to the same list.
    page.locator("tbody tr a", has_text=DEMO_ROUND).first.click()
    assessment_id = int(re.search(r"/assessments/(\d+)$", page.url).group(1))
    page.get_by_role("link", name="Action plan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Action plan")
    return assessment_id


def test_the_action_plan_is_edited_in_place_and_sorted(page: Page):
    open_demo_plan(page)
    card = page.locator("article.action-card").first
    key = card.get_attribute("id").removeprefix("action-")
    expect(card).to_contain_text("Not saved yet")
    mark_document(page)
    owner = unique("Reform unit")
    card.get_by_label("Owner").fill(owner)
    card.get_by_label("Due date").fill("2020-02-28")
    card.get_by_label("Status").select_option("in_progress")
    card.get_by_label("What will be done").fill("Publish the endorsed strategy — été 2027")
    with page.expect_response(re.compile(rf"/actions/{re.escape(key)}$")) as saved:
        card.get_by_role("button", name=re.compile("Save the action")).click()
    assert saved.value.status == 200
    card = page.locator(f"article[id='action-{key}']")
    expect(card.locator(".status--saved")).to_contain_text("Saved")
    expect(card).to_contain_text("Overdue")
    assert_same_document(page)  # swapped in place, no page load
    expect(card.get_by_label("Owner")).to_have_value(owner)

    # A bad date is refused in place, with the field marked and the typed text kept.
    card.get_by_label("Due date").evaluate("e => { e.type = 'text'; e.value = '31/12/2027'; }")
    with page.expect_response(re.compile(rf"/actions/{re.escape(key)}$")) as refused:
        card.get_by_role("button", name=re.compile("Save the action")).click()
    assert refused.value.status == 422
    expect(card).to_contain_text("Give the due date as a date")
    expect(card.get_by_label("Owner")).to_have_value(owner)

    page.get_by_role("link", name="Due date").click()
    expect(page).to_have_url(re.compile(r"sort=due"))
    expect(page.get_by_role("link", name="Due date")).to_have_attribute("aria-current", "true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "action-plan.png"), full_page=True)


def test_the_report_and_every_export_download(page: Page):
    assessment_id = open_demo_plan(page)
    page.goto(f"/assessments/{assessment_id}/report")
    page.get_by_label("Include").check()  # respondents' notes
    page.get_by_label("Summary only", exact=False).check()
    with page.expect_response(re.compile(r"/report/prepare\?")) as prepared:
        page.get_by_role("button", name="Download the PDF").click()
    assert prepared.value.status == 200
    ready = page.locator("#report-ready")
    expect(ready).to_contain_text("The PDF is ready")
    with page.expect_download() as download:
        ready.get_by_role("link", name="Download the PDF").click()
    body = Path(download.value.path()).read_bytes()
    text = pdf_text(body)
    assert "Executive summary" in text and "Findings by principle" not in text

    page.get_by_label("Full report", exact=False).check()
    page.get_by_role("button", name="Preview in the browser").click()
    expect(page).to_have_url(re.compile(r"/report/preview\?scope=full"))
    expect(page.locator("#principle-PW h2")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "report-preview.png"))

    page.goto(f"/assessments/{assessment_id}/results")
    for name, check in (("Export XLSX", _xlsx), ("Export CSV", _csv), ("Export JSON", _json)):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        check(Path(download.value.path()).read_bytes())


def _xlsx(body: bytes) -> None:
    workbook = load_workbook(io.BytesIO(body))
    assert workbook.sheetnames == ["Summary", "Answers", "Action plan"]


def _csv(body: bytes) -> None:
    assert body.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))) == 28


def _json(body: bytes) -> None:
    assert "actions" in json.loads(body)


def test_the_plan_report_and_preview_pages_pass_axe(new_context):
    page = new_context(bypass_csp=True).new_page()
    assessment_id = open_demo_plan(page)
    problems = {}
    for label, path in (("action plan", f"/assessments/{assessment_id}/actions"),
                        ("report options", f"/assessments/{assessment_id}/report"),
                        ("report preview", f"/assessments/{assessment_id}/report/preview")):
        page.goto(path)
        violations = run_axe(page, label)
        if violations:
            problems[label] = format_violations(violations)
    assert problems == {}
