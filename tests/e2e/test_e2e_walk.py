"""A respondent completes the whole demo instrument three ways: by mouse, by keyboard only,
and with JavaScript off. Each time: every answer saved and shown again after a reload, the
assessment submitted, the results opened and the PDF holding a text typed in the test.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    RESPONDENT,
    assert_same_document,
    fetch_pdf,
    focused,
    instrument,
    is_autosave,
    login,
    mark_document,
    slug,
    start_round,
    status,
    tab_through,
    tab_to,
    unique,
)
from playwright.sync_api import Page, expect

from cbassess.cli import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

INSTRUMENT = instrument()
TOTAL = len(INSTRUMENT.indicators)
NA_KEY = INSTRUMENT.principles[-1].indicators[-1].key


def plan(token: str) -> list[tuple]:
    """For each principle, each indicator's level and (for some) the evidence to type.

    Levels cycle through the scale; the last indicator is "not applicable", which needs
    evidence; the first indicator of each principle gets a typed evidence text.
    """
    values = INSTRUMENT.scale.values
    steps, n = [], 0
    for principle in INSTRUMENT.principles:
        rows = []
        for i, indicator in enumerate(principle.indicators):
            level = "na" if indicator.key == NA_KEY else str(values[n % len(values)])
            evidence = None
            if i == 0 or indicator.key == NA_KEY:
                evidence = f"Evidence {indicator.key} {token}"
            rows.append((indicator, level, evidence))
            n += 1
        steps.append((principle, rows))
    return steps


def expect_progress(page: Page, principle_answered: int, principle_total: int,
                    answered: int) -> None:
    expect(page.locator("#principle-progress-label")).to_contain_text(
        f"{principle_answered} of {principle_total} indicators answered in this principle")
    expect(page.locator("#stepper .stepper__total")).to_have_text(
        f"{answered} of {TOTAL} answered")


def expect_answers_shown(page: Page, rows) -> None:
    """After a reload: each indicator shows its level checked and its evidence."""
    for indicator, level, evidence in rows:
        expect(page.locator(f"#{slug(indicator.key)}-level-{level}")).to_be_checked()
        if evidence:
            expect(page.locator(f"#{slug(indicator.key)}-evidence")).to_have_value(evidence)
        expect(status(page, indicator.key)).to_contain_text("Saved at")


def submit_and_check_results(page: Page, assessment_id: int, token: str) -> None:
    """From the overview: submit, open the results, fetch the PDF."""
    expect(page.locator("tfoot")).to_contain_text(f"{TOTAL}/{TOTAL}")
    page.get_by_role("link", name="Review and submit…").click()
    expect(page.locator("main")).to_contain_text("None: every indicator is answered.")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".flash--success")).to_contain_text("Submitted for review")
    expect(page.locator(".page-head .badge")).to_have_text("Submitted for review")
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results")
    expect(page.locator("figure.chart svg[role=img]:visible")).to_be_visible()
    expect(page.locator(".scores-table tfoot")).to_contain_text(f"{TOTAL}/{TOTAL} (100%)")
    text = fetch_pdf(page, assessment_id)
    first = INSTRUMENT.principles[0].indicators[0].key
    assert f"Evidence {first} {token}" in text


@pytest.mark.both_databases
def test_walk_by_mouse(page: Page):
    token = unique("mouse")
    login(page, RESPONDENT)
    assessment_id = start_round(page, unique("Mouse walk"))
    page.get_by_role("link", name="Continue the assessment").click()
    answered = 0
    for principle, rows in plan(token):
        expect(page.get_by_role("heading", level=1)).to_have_text(principle.title.get("en"))
        expect(page.locator(".stepper__item--current a")).to_have_attribute("aria-current",
                                                                            "page")
        mark_document(page)
        for done, (indicator, level, evidence) in enumerate(rows, start=1):
            key = indicator.key
            label = page.locator(f"label[for='{slug(key)}-level-{level}']")
            if level == "na":
                # "Not applicable" without a reason is refused, and the field is marked.
                with page.expect_response(is_autosave(key, level="na")) as refused:
                    label.click()
                assert refused.value.status == 422
                expect(status(page, key).get_by_role("alert")).to_contain_text("Not saved")
                expect(page.locator(f"#{slug(key)}-evidence")).to_have_attribute(
                    "aria-invalid", "true")
                expect_progress(page, done - 1, len(rows), answered)
            else:
                with page.expect_response(is_autosave(key, level=level)) as saved:
                    label.click()
                assert saved.value.status == 200
            if evidence:
                area = page.locator(f"#{slug(key)}-evidence")
                area.click()
                with page.expect_response(is_autosave(key, evidence=evidence)) as saved:
                    area.fill(evidence)
                assert saved.value.status == 200
                expect(area).not_to_have_attribute("aria-invalid", "true")
            answered += 1
            expect(status(page, key)).to_contain_text("Saved at")
            expect(status(page, key).locator(".status--saved")).to_contain_text("✔")
            expect_progress(page, done, len(rows), answered)
        assert_same_document(page)
        page.reload()
        expect_answers_shown(page, rows)
        expect_progress(page, len(rows), len(rows), answered)
        page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{assessment_id}$"))
    submit_and_check_results(page, assessment_id, token)


def test_walk_by_keyboard(page: Page):
    token = unique("keys")
    page.goto("/login")
    tab_through(page)
    tab_to(page, "#email")
    page.keyboard.type(RESPONDENT)
    tab_to(page, "#password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/assessments$"))
    tab_through(page)
    tab_to(page, "#round_name")
    page.keyboard.type(unique("Keyboard walk"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/assessments/\d+$"))
    assessment_id = int(page.url.rsplit("/", 1)[1])
    tab_through(page)
    tab_to(page, "a.button--primary")
    page.keyboard.press("Enter")
    answered = 0
    for principle, rows in plan(token):
        expect(page.get_by_role("heading", level=1)).to_have_text(principle.title.get("en"))
        tab_through(page)
        mark_document(page)
        for done, (indicator, level, evidence) in enumerate(rows, start=1):
            key, s = indicator.key, slug(indicator.key)
            tab_to(page, f"#{s}-level-{min(indicator.descriptors)}")
            values = [str(v) for v in indicator.descriptors] + ["na"]
            steps = values.index(level)
            if steps == 0:
                with page.expect_response(is_autosave(key, level=level)) as saved:
                    page.keyboard.press("Space")
            else:
                with page.expect_response(is_autosave(key, level=level)) as saved:
                    for _ in range(steps):
                        page.keyboard.press("ArrowDown")
            if level == "na":
                assert saved.value.status == 422
                expect(status(page, key).get_by_role("alert")).to_contain_text("Not saved")
            else:
                assert saved.value.status == 200
                expect(status(page, key)).to_contain_text("Saved at")
            # The swap replaced the status, the progress and the stepper, not the focus.
            assert focused(page) is not None
            assert page.evaluate("document.activeElement.id") == f"{s}-level-{level}"
            if evidence:
                tab_to(page, f"#{s}-evidence")
                with page.expect_response(is_autosave(key, evidence=evidence)) as saved:
                    page.keyboard.type(evidence)
                assert saved.value.status == 200
                expect(status(page, key)).to_contain_text("Saved at")
                assert page.evaluate("document.activeElement.id") == f"{s}-evidence"
            answered += 1
            expect_progress(page, done, len(rows), answered)
        assert_same_document(page)
        page.reload()
        expect_answers_shown(page, rows)
        tab_to(page, "button[value=next]")
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/assessments/{assessment_id}$"))
    expect(page.locator("tfoot")).to_contain_text(f"{TOTAL}/{TOTAL}")
    tab_to(page, "a[href$='/submit']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit for review")
    tab_to(page, "form[action$='/submit'] button")
    page.keyboard.press("Space")
    expect(page.locator(".flash--success")).to_contain_text("Submitted for review")
    tab_to(page, "a[href$='/results']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results")
    tab_through(page)
    tab_to(page, "details.method summary")
    page.keyboard.press("Enter")
    expect(page.locator("details.method")).to_have_attribute("open", "")
    text = fetch_pdf(page, assessment_id)
    assert f"Evidence {INSTRUMENT.principles[0].indicators[0].key} {token}" in text


def test_walk_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    token = unique("nojs")
    login(page, RESPONDENT)
    assessment_id = start_round(page, unique("No-script walk"))
    page.get_by_role("link", name="Continue the assessment").click()
    answered = 0
    for principle, rows in plan(token):
        expect(page.get_by_role("heading", level=1)).to_have_text(principle.title.get("en"))
        for indicator, level, evidence in rows:
            page.locator(f"label[for='{slug(indicator.key)}-level-{level}']").click()
            if evidence:
                page.locator(f"#{slug(indicator.key)}-evidence").fill(evidence)
        # Nothing is sent until the form is: the status still says "Not answered yet".
        expect(status(page, rows[0][0].key)).to_contain_text("Not answered yet")
        page.get_by_role("button", name="Save", exact=True).click()
        answered += len(rows)
        expect(page.locator(".flash--success")).to_contain_text("Your answers are saved")
        expect_progress(page, len(rows), len(rows), answered)
        expect_answers_shown(page, rows)
        page.reload()
        expect_answers_shown(page, rows)
        page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(rf"/assessments/{assessment_id}$"))
    submit_and_check_results(page, assessment_id, token)


def test_sign_in_survives_the_browsers_own_requests(page: Page):
    """A browser fetches /favicon.ico (a 404 page) between showing the sign-in form and
    sending it; that must not cost the visitor the form's CSRF token."""
    page.goto("/login")
    assert page.context.request.get("/favicon.ico").status == 404
    page.get_by_label("E-mail").fill(RESPONDENT)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/assessments$"))
