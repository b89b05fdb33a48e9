"""Accessibility: axe-core on every page and state, and the semantics a screen reader relies on.

axe-core (vendored in tests/e2e/vendor, see its README) runs the WCAG 2.0/2.1 A and AA rules;
any violation of serious or critical impact fails. Every run's full result is written to
test-artifacts/axe/ for reading.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    DEMO_ROUND,
    FACILITATOR,
    RESPONDENT,
    format_violations,
    instrument,
    is_autosave,
    login,
    run_axe,
    slug,
    start_round,
    status,
    unique,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

INSTRUMENT = instrument()
FIRST = INSTRUMENT.principles[0]
KEY = FIRST.indicators[0].key


class Audit:
    """Collects axe results page after page, so one run reports every failing page."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.pages: list[str] = []

    def check(self, page: Page, label: str) -> None:
        violations = run_axe(page, label)
        self.pages.append(label)
        if violations:
            self.failures.append(f"== {label} ({page.url})\n{format_violations(violations)}")

    def assert_clean(self) -> None:
        assert not self.failures, "axe found serious or critical violations:\n" + "\n".join(
            self.failures)


@pytest.fixture
def axe_page(new_context) -> Page:
    # The app's CSP refuses scripts it did not serve, axe included: bypass it for these runs.
    page = new_context(bypass_csp=True).new_page()
    # Leaving a page with an unsaved answer asks first (beforeunload): leave.
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_axe_respondent_pages_and_states(axe_page: Page, new_context):
    page, audit = axe_page, Audit()

    page.goto("/login")
    audit.check(page, "login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field__error").first).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    audit.check(page, "login, fields missing (400)")
    page.get_by_label("E-mail").fill(RESPONDENT)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    audit.check(page, "login, wrong password (401)")

    login(page, RESPONDENT)
    audit.check(page, "assessments list")
    page.get_by_label("Round name").fill(DEMO_ROUND)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_contain_text("already has a round")
    audit.check(page, "assessments list, round name taken")

    assessment_id = start_round(page, unique("Accessibility"))
    audit.check(page, "overview")
    page.get_by_role("link", name="Review and submit…").click()
    expect(page.locator(".panel--error")).to_contain_text("Unanswered indicators")
    expect(page.get_by_role("button", name="Submit for review")).to_be_disabled()
    audit.check(page, "submit confirmation, unanswered indicators")

    principle_url = f"/assessments/{assessment_id}/principles/{FIRST.key}"
    page.goto(principle_url)
    audit.check(page, "principle")

    # Saved, with progress swapped in.
    with page.expect_response(is_autosave(KEY, level="2")):
        page.locator(f"label[for='{slug(KEY)}-level-2']").click()
    expect(status(page, KEY)).to_contain_text("Saved at")
    audit.check(page, "principle, answer saved")

    # Refused by the server over htmx: announced, and the field marked invalid.
    second = FIRST.indicators[1].key
    with page.expect_response(is_autosave(second, level="na")):
        page.locator(f"label[for='{slug(second)}-level-na']").click()
    expect(status(page, second).get_by_role("alert")).to_contain_text("Not saved")
    expect(page.locator(f"#{slug(second)}-evidence")).to_have_attribute("aria-invalid", "true")
    audit.check(page, "principle, autosave refused (422)")

    # The same refusal as a plain form post: the page comes back with the error in place.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash--error")).to_contain_text("Nothing was saved")
    expect(page.locator(f"#{slug(second)}-evidence")).to_have_attribute("aria-invalid", "true")
    audit.check(page, "principle, form post refused (422)")

    # The network fails: "Not saved" with a Retry button; then it comes back.
    page.goto(principle_url)
    offline = [True]
    page.route(re.compile(r"/answers/[^/]+$"),
               lambda route: route.abort() if offline[0] else route.fallback())
    page.locator(f"#{slug(KEY)}-note").fill("Typed while offline.")
    retry = status(page, KEY).get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    audit.check(page, "principle, network failure")
    offline[0] = False
    retry.click()
    expect(status(page, KEY)).to_contain_text("Saved at")

    # Two tabs: the older one is told about the newer answer and offered a choice.
    page.goto(principle_url)
    other = page.context.new_page()
    other.goto(principle_url)
    with other.expect_response(is_autosave(KEY, evidence="From the other tab.")):
        other.locator(f"#{slug(KEY)}-evidence").fill("From the other tab.")
    other.close()
    with page.expect_response(is_autosave(KEY, evidence="From this tab.")) as refused:
        page.locator(f"#{slug(KEY)}-evidence").fill("From this tab.")
    assert refused.value.status == 409
    expect(status(page, KEY)).to_contain_text("Their version")
    audit.check(page, "principle, edit conflict (409)")

    # The session ends while typing: told to sign in again, in place. (The refused text of
    # the conflict is kept in the browser; forget it, so that no save is in flight.)
    page.evaluate("localStorage.clear()")
    page.goto(principle_url)
    expect(status(page, KEY)).to_contain_text("Saved at")
    page.context.clear_cookies()
    with page.expect_response(is_autosave(KEY, note="After the session ended.")) as expired:
        page.locator(f"#{slug(KEY)}-note").fill("After the session ended.")
    assert expired.value.status == 401
    expect(status(page, KEY).get_by_role("alert")).to_contain_text("session has expired")
    audit.check(page, "principle, session expired (401)")

    login(page, RESPONDENT)
    page.goto(f"/assessments/{assessment_id}/answers/{KEY}/history")
    expect(page.get_by_role("heading", level=1)).to_contain_text("History")
    audit.check(page, "history")
    page.goto(f"/assessments/{assessment_id}/results")
    audit.check(page, "results, partly answered")
    page.goto("/assessments")
    page.get_by_role("link", name=DEMO_ROUND).click()
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.locator("figure.chart svg:visible")).to_be_visible()
    audit.check(page, "results, demo assessment")

    page.goto("/assessments/999999")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    audit.check(page, "error 404")
    page.goto(f"/assessments/{assessment_id}/principles/NOPE")
    audit.check(page, "error 404, unknown principle")
    response = page.goto(f"/assessments/{assessment_id}/withdraw")
    assert response.status == 405
    audit.check(page, "error 405")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    audit.check(page, "signed out")
    audit.assert_clean()


def test_axe_facilitator_pages(axe_page: Page):
    page, audit = axe_page, Audit()
    login(page, FACILITATOR)
    audit.check(page, "facilitator: assessments list")
    page.get_by_role("link", name=DEMO_ROUND).click()
    audit.check(page, "facilitator: overview")
    page.get_by_role("link", name="Read the answers").click()
    expect(page.locator(".notice")).to_contain_text("read-only")
    audit.check(page, "facilitator: principle, read-only")
    page.get_by_role("link", name="History of PW.1").click()
    audit.check(page, "facilitator: history")
    page.go_back()
    page.get_by_role("link", name="Assessments").first.click()
    page.get_by_role("link", name=DEMO_ROUND).click()
    page.get_by_role("link", name="Results", exact=True).click()
    audit.check(page, "facilitator: results")
    audit.assert_clean()


def test_semantics_a_screen_reader_relies_on(page: Page):
    login(page, RESPONDENT)
    assessment_id = start_round(page, unique("Semantics"))
    assert page.evaluate("document.documentElement.lang") == "en"
    page.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    assert page.evaluate("document.documentElement.lang") == "en"

    for indicator in FIRST.indicators:
        s = slug(indicator.key)
        # A real radio group: a fieldset whose legend is the question ...
        group = page.get_by_role("group", name=indicator.question.get("en"))
        expect(group).to_have_count(1)
        expect(group.locator("legend")).to_contain_text(indicator.question.get("en"))
        radios = group.get_by_role("radio")
        expect(radios).to_have_count(len(indicator.descriptors) + 1)  # + "not applicable"
        # ... and each level's descriptor is its radio's label.
        for value, descriptor in indicator.descriptors.items():
            radio = group.get_by_role("radio", name=descriptor.get("en"))
            expect(radio).to_have_count(1)
            expect(radio).to_have_attribute("value", str(value))
            expect(radio).to_have_attribute("type", "radio")
        # The status is a polite live region, and every field points at it.
        region = status(page, indicator.key)
        expect(region).to_have_attribute("role", "status")
        expect(region).to_have_attribute("aria-live", "polite")
        for field in (f"#{s}-evidence", f"#{s}-note", f"#{s}-level-0"):
            expect(page.locator(field)).to_have_attribute("aria-describedby", f"status-{s}")
        expect(page.get_by_role("textbox", name=re.compile("^Evidence"))
               .and_(page.locator(f"#{s}-evidence"))).to_have_count(1)

    # Saved: announced politely, in words and an icon, not by colour alone.
    with page.expect_response(is_autosave(KEY, level="1")):
        page.get_by_role("radio", name=FIRST.indicators[0].descriptors[1].get("en")).check()
    saved = status(page, KEY).locator(".status--saved")
    expect(saved).to_contain_text("Saved at")
    expect(saved.locator("[aria-hidden=true]")).to_have_text("✔ ")
    expect(status(page, KEY).get_by_role("alert")).to_have_count(0)

    # Refused: an alert in words and an icon, the field marked invalid and described by it.
    with page.expect_response(is_autosave(KEY, level="na")):
        page.locator(f"label[for='{slug(KEY)}-level-na']").click()
    alert = status(page, KEY).get_by_role("alert")
    expect(alert).to_contain_text("Not saved")
    expect(alert.locator("[aria-hidden=true]")).to_have_text("✖ ")
    evidence = page.locator(f"#{slug(KEY)}-evidence")
    expect(evidence).to_have_attribute("aria-invalid", "true")
    expect(evidence).to_have_accessible_description(re.compile("Not saved"))
    with page.expect_response(is_autosave(KEY, evidence="Reason: no such service here.")):
        evidence.fill("Reason: no such service here.")
    expect(evidence).not_to_have_attribute("aria-invalid", "true")

    # The stepper marks the current principle for assistive technology too.
    expect(page.locator("#stepper [aria-current=page]")).to_contain_text(FIRST.title.get("en"))

    # The radar chart is an image with a name, and its figures are in a table beside it.
    page.goto(f"/assessments/{assessment_id}/results")
    chart = page.locator("figure.chart svg:visible")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_accessible_name(re.compile(r"\S"))
    table = page.get_by_role("table", name=re.compile("Scores by principle"))
    expect(table).to_have_count(1)
    for principle in INSTRUMENT.principles:
        expect(table.get_by_role("rowheader", name=principle.title.get("en"))).to_have_count(1)


def test_axe_admin_and_account_pages(axe_page: Page, new_context, tmp_path):
    page, audit = axe_page, Audit()
    page.goto("/password/forgot")
    audit.check(page, "forgot password")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".field__error")).to_be_visible()
    audit.check(page, "forgot password, no address (422)")
    page.get_by_label("E-mail").fill(RESPONDENT)
    page.get_by_role("button", name="Send me a link").click()
    audit.check(page, "forgot password, asked")
    page.goto("/password/set/not-a-live-token")
    audit.check(page, "password link expired (410)")

    login(page, "admin@demo.example")
    page.get_by_role("link", name="Administration", exact=True).click()
    audit.check(page, "admin: overview")
    page.get_by_role("link", name="Administrations", exact=True).click()
    audit.check(page, "admin: administrations")
    page.get_by_role("link", name="Add an administration").click()
    audit.check(page, "admin: new administration")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    audit.check(page, "admin: new administration refused (422)")
    page.goto("/admin/administrations")
    page.get_by_role("link", name="Demo Customs Administration").click()
    audit.check(page, "admin: administration")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was started")
    audit.check(page, "admin: start assessment refused (422)")
    page.get_by_role("link", name=DEMO_ROUND).click()
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    audit.check(page, "admin: overview with the team's assignments")
    page.goto("/admin/administrations")
    page.get_by_role("link", name="Demo Customs Administration").click()
    page.get_by_role("link", name="Edit").click()
    audit.check(page, "admin: edit administration")

    page.get_by_role("link", name="Users", exact=True).click()
    audit.check(page, "admin: users")
    page.get_by_role("link", name="Invite a user").click()
    audit.check(page, "admin: new user")
    page.get_by_label("E-mail").fill(unique("axe").replace(" ", "-") + "@example.org")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Create and invite").click()
    expect(page.get_by_label("One-time link")).to_have_value(re.compile("/password/set/"))
    audit.check(page, "admin: invitation link shown")
    link = page.get_by_label("One-time link").input_value()
    page.get_by_role("link", name=re.compile("^Go to ")).click()
    audit.check(page, "admin: user")
    page.goto("/admin/users?role=facilitator")
    page.get_by_role("link", name=FACILITATOR).click()
    audit.check(page, "admin: facilitator with assignments")

    page.get_by_role("link", name="Instruments", exact=True).click()
    audit.check(page, "admin: instruments")
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: [\n", encoding="utf-8")
    page.get_by_label("Instrument file").set_input_files(broken)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("was not imported")
    audit.check(page, "admin: instrument refused (422)")
    page.get_by_role("link", name=INSTRUMENT.title.get("en")).click()
    audit.check(page, "admin: instrument preview")
    page.get_by_role("link", name="Audit log").click()
    audit.check(page, "admin: audit log")

    page.get_by_role("link", name="Your account").click()
    audit.check(page, "account")
    page.get_by_label("Display name").fill("Platform Administrator")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Your details are saved")
    audit.check(page, "account, saved")
    page.get_by_role("link", name="Change your password").click()
    audit.check(page, "change password")
    page.get_by_label("Current password").fill("not the current one")
    page.get_by_label("New password", exact=True).fill("aaaaaaaaaaaa")
    page.get_by_label("New password again").fill("aaaaaaaaaaaa")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("repeats a character")).to_be_visible()
    audit.check(page, "change password refused (422)")

    newcomer = new_context(bypass_csp=True).new_page()
    newcomer.goto(link)
    audit.check(newcomer, "set password")
    newcomer.get_by_role("button", name="Set password").click()
    expect(newcomer.get_by_role("alert")).to_contain_text("not set")
    audit.check(newcomer, "set password refused (422)")
    audit.assert_clean()
