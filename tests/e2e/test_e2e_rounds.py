"""The next round in a browser: a coordinator starts it from the submitted one, confirms
carried-over answers from the keyboard (Enter on the focused button, the focus then on the
next one) and a whole principle at once, changes one, and reads the comparison; axe on the
new pages. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import uuid

import pytest
from e2e_support import ARTIFACTS, format_violations, login, run_axe, slug, status
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cbassess import transitions
from cbassess.answers import AnswerInput, save_answers
from cbassess.cli import DEMO_PASSWORD
from cbassess.extensions import db
from cbassess.models import Assessment, Instrument, Organisation, Role, User
from cbassess.passwords import hash_password
from cbassess.permissions import instrument_of
from cbassess.workflow import Action as Step

pytestmark = pytest.mark.e2e
SHOTS = ARTIFACTS / "screenshots"


def submitted_round(app) -> tuple[str, int]:
    """An administration of its own (the demo one has rounds in progress), its coordinator,
    and a submitted round: every indicator at level 2 but PW.3 at 1. Returns the
    coordinator's e-mail and the round's id."""
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        organisation = Organisation(name=f"Rounds Customs {tag}", country_code="RD")
        coordinator = User(email=f"coordinator-{tag}@rounds.example", name="Nadia Rounds",
                           role=Role.RESPONDENT, organisation=organisation,
                           password_hash=hash_password(DEMO_PASSWORD), is_coordinator=True)
        row = db.session.scalar(  # the newest shipped version
            select(Instrument).where(Instrument.key == "wco-cb-core-principles")
            .order_by(Instrument.imported_at.desc(), Instrument.id.desc()).limit(1))
        assessment = Assessment(organisation=organisation, instrument_row=row,
                                round_name="2026 round")
        db.session.add_all([organisation, coordinator, assessment])
        db.session.commit()
        spec = instrument_of(assessment)
        save_answers(db.session, assessment.id, [
            AnswerInput(i.key, 1 if i.key == "PW.3" else 2, False, f"Evidence of {i.key}", "",
                        None) for i in spec.indicators], coordinator.id)
        transitions.perform(db.session, assessment, spec, Step.SUBMIT,
                            transitions.Actor(coordinator.id, Role.RESPONDENT))
        return coordinator.email, assessment.id


def is_confirmation(key: str):
    return lambda response: (response.request.method == "POST"
                             and response.url.endswith(f"/answers/{key}/confirm"))


def active_id(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.closest('section')"
                         " ? document.activeElement.closest('section').id : ''")


def test_a_new_round_is_confirmed_changed_and_compared(new_context, live_server):
    email, first_id = submitted_round(live_server.app)
    page = new_context(bypass_csp=True).new_page()  # axe is injected: the CSP must let it
    failures: list[str] = []

    def axe(label: str) -> None:
        violations = run_axe(page, f"rounds {label}")
        if violations:
            failures.append(f"== {label}\n{format_violations(violations)}")

    def shot(name: str, full_page: bool = True) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"rounds-{name}.png"), full_page=full_page)

    login(page, email)
    page.goto(f"/assessments/{first_id}")
    page.get_by_role("link", name="Start the next round…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start the next round")
    axe("start the next round")
    shot("start")
    page.get_by_label("Round name").fill("2028 round")
    page.get_by_role("button", name="Start the round").click()
    expect(page.locator(".flash--success")).to_contain_text("28 answers are carried over")
    new_id = int(re.search(r"/assessments/(\d+)$", page.url).group(1))
    expect(page.locator("#rounds-heading")).to_have_text("Previous round")
    axe("overview of a carried-over round")
    shot("overview")

    # Political will: confirm PW.1 by a keystroke; the focus moves on to PW.2's button.
    page.goto(f"/assessments/{new_id}/principles/PW")
    expect(page.locator(".js-confirm")).to_have_count(5)
    axe("principle with carried-over answers")
    shot("principle", full_page=False)
    page.locator("#carried-PW-1 .js-confirm").focus()
    with page.expect_response(is_confirmation("PW.1")):
        page.keyboard.press("Enter")
    expect(status(page, "PW.1")).to_contain_text("Carried-over answer confirmed")
    expect(page.locator("#carried-PW-1 .js-confirm")).to_have_count(0)
    expect(page.locator("#principle-progress")).to_contain_text("1 of 5 indicators answered")
    page.wait_for_function("document.activeElement && document.activeElement.matches("
                           "'#carried-PW-2 .js-confirm')")
    shot("principle-after-enter", full_page=False)
    with page.expect_response(is_confirmation("PW.2")):
        page.keyboard.press("Enter")  # one keystroke, the next answer
    expect(status(page, "PW.2")).to_contain_text("Carried-over answer confirmed")
    page.wait_for_function("document.activeElement && document.activeElement.matches("
                           "'#carried-PW-3 .js-confirm')")
    # PW.3 is changed rather than confirmed: from 1 to 3; its notice goes.
    with page.expect_response(lambda r: r.url.endswith("/answers/PW.3")
                              and r.request.method == "POST"):
        page.locator(f"label[for='{slug('PW.3')}-level-3']").click()
    expect(status(page, "PW.3")).to_contain_text("Saved at")
    expect(page.locator("#carried-PW-3 .js-confirm")).to_have_count(0)
    expect(page.locator("#principle-progress")).to_contain_text("3 of 5 indicators answered")
    axe("principle after confirmations")

    # Ownership and commitment: every unchanged answer at once.
    page.goto(f"/assessments/{new_id}/principles/OC")
    page.get_by_role("button", name="Confirm all unchanged in this principle").click()
    expect(page.locator(".flash--success")).to_contain_text("5 carried-over answers are "
                                                            "confirmed")
    expect(page.locator(".js-confirm")).to_have_count(0)
    expect(page.locator("#principle-progress")).to_contain_text("5 of 5 indicators answered")

    # The comparison, from the results page.
    page.goto(f"/assessments/{new_id}/results")
    page.get_by_role("link", name="Compare with the previous round").click()
    expect(page.locator(".comparison__counts")).to_have_text(
        "1 indicator up · 0 down · 7 unchanged · 20 that cannot be compared")
    # Political will: before (2 + 2 + 1 + 2 + 2) / 5 = 1.80, weakest 1; now PW.1, PW.2 at 2
    # and PW.3 at 3: 7 / 3 = 2.33, weakest 2.
    row = page.locator("#comparison-principles tbody tr").first
    expect(row.locator("td")).to_have_text(["1.80", "2.33", "+0.53", "1+", "2+", "+1"])
    pw3 = page.locator("tr.change--up")
    expect(pw3).to_have_count(1)
    expect(pw3.locator("th")).to_contain_text("PW.3")
    expect(pw3.locator("td.change")).to_contain_text("+2")
    expect(page.locator("svg.radar title")).to_contain_text("(previously 1.80)")
    axe("comparison")
    shot("comparison")

    # The previous round's actions, on the new plan: the open ones carried at once.
    page.goto(f"/assessments/{new_id}/actions")
    expect(page.locator("#previous-actions-title")).to_contain_text("2026 round")
    axe("action plan with the previous round's actions")
    page.get_by_role("button", name=re.compile(r"Carry all \d+ open actions into this plan"))\
        .click()
    expect(page.locator(".flash--success")).to_contain_text("actions carried over from")
    expect(page.locator("#previous-actions").get_by_role("button")).to_have_count(0)
    shot("plan", full_page=False)
    assert not failures, "axe found serious or critical violations:\n" + "\n".join(failures)
