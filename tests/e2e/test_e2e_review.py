"""The review loop in the browser, two people in two browser contexts, with JavaScript on and
off: the respondent submits through the confirmation page; the facilitator queries two
indicators and changes one level, returns the assessment; the respondent replies, changes
an answer and resubmits; the facilitator accepts everything, closes the queries and
validates; the PDF shows the digest and the claimed/validated table. axe checks every new
page on the way."""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    ARTIFACTS,
    DEMO_ADMINISTRATION,
    FACILITATOR,
    RESPONDENT,
    fetch_pdf,
    format_violations,
    instrument,
    login,
    run_axe,
    slug,
    start_round,
    unique,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

INSTRUMENT = instrument()
FIRST = INSTRUMENT.principles[0]
QUERIED = [FIRST.indicators[0].key, FIRST.indicators[1].key]
CHANGED = FIRST.indicators[2].key


class Audit:
    """axe on each new page; it runs as a script, so only in the run with JavaScript on."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.failures: list[str] = []

    def check(self, page: Page, label: str) -> None:
        if not self.enabled:
            return
        violations = run_axe(page, label)
        if violations:
            self.failures.append(f"== {label} ({page.url})\n{format_violations(violations)}")


def answer_everything(page: Page, assessment_id: int, javascript: bool) -> None:
    """Every indicator at level 2 with evidence, through the principle pages' own forms."""
    for principle in INSTRUMENT.principles:
        page.goto(f"/assessments/{assessment_id}/principles/{principle.key}")
        for indicator in principle.indicators:
            s = slug(indicator.key)
            page.locator(f"label[for='{s}-level-2']").click()
            page.locator(f"#{s}-evidence").fill(f"Evidence for {indicator.key}")
        page.get_by_role("button", name="Save and continue").click()
        expect(page.locator(".flash, [role=status], .notice").first).to_be_visible()


def review_item(page: Page, key: str):
    return page.locator(f"#ind-{slug(key)}")


def save_review(page: Page, key: str, javascript: bool) -> None:
    """With JavaScript a choice saves itself; without, the indicator's Save button posts."""
    item = review_item(page, key)
    if javascript:
        expect(item.locator(f"#rstatus-{slug(key)}")).to_contain_text("Saved at")
    else:
        item.get_by_role("button", name=re.compile(f"^Save.*{re.escape(key)}")).click()
        expect(page.locator(f"#rstatus-{slug(key)}")).to_contain_text("Saved at")


def choose(page: Page, key: str, what: str, javascript: bool) -> None:
    page.locator(f"label[for='{slug(key)}-{what}']").click()
    save_review(page, key, javascript)


@pytest.mark.both_databases
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_whole_review_loop(new_context, javascript):
    audit = Audit(enabled=javascript)
    respondent = new_context(java_script_enabled=javascript, bypass_csp=True).new_page()
    facilitator = new_context(java_script_enabled=javascript, bypass_csp=True).new_page()
    for page in (respondent, facilitator):
        page.on("dialog", lambda dialog: dialog.accept())
    login(respondent, RESPONDENT)
    round_name = unique("Review loop")
    assessment_id = start_round(respondent, round_name)
    answer_everything(respondent, assessment_id, javascript)

    # Submit through the confirmation page.
    respondent.goto(f"/assessments/{assessment_id}")
    respondent.get_by_role("link", name="Review and submit…").click()
    expect(respondent.get_by_role("heading", name="Who will review it")).to_be_visible()
    expect(respondent.locator("main")).to_contain_text("Jean-Pierre Lefèvre")
    expect(respondent.locator("main")).to_contain_text("None: every indicator is answered.")
    audit.check(respondent, "submit confirmation")
    respondent.get_by_label("Message to the facilitator").fill("Ready for your review")
    respondent.get_by_role("button", name="Submit for review").click()
    expect(respondent.locator(".badge--submitted").first).to_have_text("Submitted for review")
    expect(respondent.locator(".events")).to_contain_text("Ready for your review")
    audit.check(respondent, "overview submitted")

    # The facilitator queries two indicators and changes one level, then returns.
    login(facilitator, FACILITATOR)
    facilitator.get_by_role("link", name=round_name).click()
    facilitator.get_by_role("link", name="Open the review").click()
    audit.check(facilitator, "review summary")
    facilitator.get_by_role("link", name="Review the answers").click()
    expect(facilitator.get_by_role("heading", level=1)).to_contain_text(FIRST.title.get("en"))
    for key in QUERIED:
        item = review_item(facilitator, key)
        item.get_by_label(f"Ask the administration about {key}").fill(f"Which document for {key}?")
        item.get_by_role("button", name="Send the query").click()
        expect(review_item(facilitator, key).locator(".thread__messages")).to_contain_text(
            f"Which document for {key}?")
    choose(facilitator, CHANGED, "rlevel-1", javascript)
    facilitator.reload()
    expect(facilitator.locator(f"#{slug(CHANGED)}-rlevel-1")).to_be_checked()
    expect(facilitator.locator(f"#{slug(QUERIED[0])}-state-queried")).to_be_checked()
    audit.check(facilitator, "review principle with queries")
    facilitator.get_by_role("link", name="Review summary").first.click()
    facilitator.get_by_label(re.compile("Message to the administration")).fill(
        "Two questions for you")
    facilitator.get_by_role("button", name="Return to the administration").click()
    expect(facilitator.locator(".badge--returned").first).to_be_visible()

    # The respondent sees the queries, replies, changes an answer and resubmits.
    respondent.goto("/assessments")
    expect(respondent.locator("tbody tr", has_text=round_name)).to_contain_text("2 open queries")
    respondent.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    threads = respondent.locator(f"#threads-{slug(QUERIED[0])}")
    expect(threads).to_contain_text(f"Which document for {QUERIED[0]}?")
    audit.check(respondent, "answers with queries")
    threads.get_by_label("Your reply").fill("The decree of 12 March")
    threads.get_by_role("button", name="Send the reply").click()
    expect(respondent.locator(f"#threads-{slug(QUERIED[0])}")).to_contain_text(
        "The decree of 12 March")
    respondent.locator(f"#{slug(QUERIED[0])}-evidence").fill("Decree 2026-12 of 12 March")
    respondent.get_by_role("button", name="Save", exact=True).click()
    expect(respondent.locator(f"#{slug(QUERIED[0])}-evidence")).to_have_value(
        "Decree 2026-12 of 12 March")
    respondent.goto(f"/assessments/{assessment_id}/submit")
    respondent.get_by_role("button", name="Submit for review").click()
    expect(respondent.locator(".badge--submitted").first).to_be_visible()

    # The facilitator accepts everything, closes the queries and validates.
    for principle in INSTRUMENT.principles:
        facilitator.goto(f"/assessments/{assessment_id}/review/{principle.key}")
        for indicator in principle.indicators:
            choose(facilitator, indicator.key, "state-accepted", javascript)
    facilitator.goto(f"/assessments/{assessment_id}/review/{FIRST.key}")
    expect(review_item(facilitator, QUERIED[0])).to_contain_text("The decree of 12 March")
    for key in QUERIED:
        review_item(facilitator, key).get_by_role("button", name="Close the query").click()
        expect(review_item(facilitator, key).locator(".thread--closed")).to_be_visible()
    facilitator.goto(f"/assessments/{assessment_id}/review")
    facilitator.get_by_role("button", name="Validate the assessment").click()
    expect(facilitator.locator(".badge--validated").first).to_be_visible()
    digest = facilitator.locator(".digest").first.inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)

    respondent.goto(f"/assessments/{assessment_id}/results")
    expect(respondent.locator(".signoff")).to_contain_text("Validated by Jean-Pierre Lefèvre")
    expect(respondent.locator("#compare-table")).to_contain_text("Levels changed")
    audit.check(respondent, "results validated")
    text = fetch_pdf(respondent, assessment_id)
    assert digest in text.replace(" ", "")
    assert "Claimed and validated, by principle" in text
    assert DEMO_ADMINISTRATION in text
    respondent.goto(f"/verify?digest={digest}")
    expect(respondent.locator("main")).to_contain_text("matches a sign-off snapshot")
    audit.check(respondent, "verify")
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    facilitator.goto(f"/assessments/{assessment_id}/review/{FIRST.key}")
    facilitator.screenshot(path=str(ARTIFACTS / "screens" / f"review-{javascript}.png"),
                           full_page=True)
    assert not audit.failures, "axe found serious or critical violations:\n" + "\n".join(
        audit.failures)
