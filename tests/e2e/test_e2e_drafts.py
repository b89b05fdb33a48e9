"""Unsaved text kept in the browser belongs to its author and to the answer it was typed
over: the next person at a shared computer never gets it, signing out removes it (by
script and by Clear-Site-Data), and a conflict resolved with "take theirs" stays resolved.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import RESPONDENT, instrument, is_autosave, login, slug, start_round, status
from playwright.sync_api import Page, Route, expect

from cbassess.cli import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

AUTOSAVE = re.compile(r"/assessments/\d+/answers/[^/]+$")
FIRST = instrument().principles[0]
KEY = FIRST.indicators[0].key
COLLEAGUE = "colleague@demo.example"


@pytest.fixture(scope="module")
def colleague(live_server):
    """A second respondent of the demo administration, as the same office would have."""
    result = live_server.app.test_cli_runner().invoke(args=[
        "create-user", "--email", COLLEAGUE, "--name", "Kofi Mensah", "--role", "respondent",
        "--organisation", "Demo Customs Administration", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    return COLLEAGUE


def drafts(page: Page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries(Object.keys(localStorage)
        .filter(k => k.startsWith("cbassess:draft:")).map(k => [k, localStorage.getItem(k)]))""")


def type_offline(page: Page, assessment_id: int, text: str) -> None:
    """Type into the first indicator while its saves cannot reach the server."""
    def refuse(route: Route) -> None:
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.fallback()

    page.route(AUTOSAVE, refuse)
    page.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    page.locator(f"#{slug(KEY)}-evidence").fill(text)
    expect(status(page, KEY).get_by_role("alert")).to_contain_text("Not saved")
    assert any(text in value for value in drafts(page).values())
    page.unroute(AUTOSAVE, refuse)


def test_the_next_person_at_the_computer_never_gets_the_previous_persons_text(
        new_context, colleague):
    context = new_context()
    page = context.new_page()
    login(page, RESPONDENT)
    assessment_id = start_round(page, "Shared computer " + page.url[-4:])
    secret = "Amina's unsaved draft: budget figures not yet public."
    type_offline(page, assessment_id, secret)
    page.goto("about:blank")  # the tab is closed without signing out; the session ends
    context.clear_cookies()

    other = context.new_page()
    login(other, colleague)
    saves = []
    other.on("request", lambda r: saves.append(r) if AUTOSAVE.search(r.url)
             and r.method == "POST" else None)
    other.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    expect(other.locator(f"#{slug(KEY)}-evidence")).to_have_value("")
    expect(status(other, KEY)).to_contain_text("Not answered yet")
    other.wait_for_load_state("networkidle")
    assert saves == []  # nothing was saved under the colleague's name
    assert any(secret in value for value in drafts(other).values())  # still Amina's

    # Amina comes back: her text is restored for her, and saved under her name.
    other.context.clear_cookies()
    mine = context.new_page()
    login(mine, RESPONDENT)
    with mine.expect_response(is_autosave(KEY, evidence=secret)) as saved:
        mine.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    assert saved.value.status == 200
    expect(status(mine, KEY)).to_contain_text("Amina Diallo")
    expect(mine.locator(f"#{slug(KEY)}-evidence")).to_have_value(secret)


def test_signing_out_removes_every_draft(new_context):
    page = new_context().new_page()
    login(page, RESPONDENT)
    assessment_id = start_round(page, "Sign out " + page.url[-4:])
    type_offline(page, assessment_id, "Typed, then the person signs out.")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert drafts(page) == {}


def test_the_sign_out_reply_alone_clears_the_browsers_storage(new_context):
    """With app.js's own clean-up taken away, Clear-Site-Data still removes the drafts."""
    context = new_context()
    page = context.new_page()
    login(page, RESPONDENT)
    assessment_id = start_round(page, "Header only " + page.url[-4:])
    type_offline(page, assessment_id, "Only the header can remove this.")
    page.route(re.compile(r"/static/app(\.[0-9a-f]{12})?\.js$"), lambda route: route.fulfill(
        status=200, content_type="text/javascript", body="/* no script */"))
    page.reload()
    assert drafts(page) != {}
    with page.expect_response(re.compile(r"/logout$")) as signed_out:
        page.get_by_role("button", name="Sign out").click()
    assert signed_out.value.all_headers()["clear-site-data"] == '"storage"'
    expect(page).to_have_url(re.compile(r"/login$"))
    assert drafts(page) == {}


def test_take_theirs_leaves_nothing_behind(new_context):
    context = new_context()
    page = context.new_page()
    login(page, RESPONDENT)
    assessment_id = start_round(page, "Take theirs " + page.url[-4:])
    url = f"/assessments/{assessment_id}/principles/{FIRST.key}"
    page.goto(url)
    other = context.new_page()
    other.goto(url)
    theirs, mine = "Their version, saved first.", "My version, typed over an older page."
    with other.expect_response(is_autosave(KEY, evidence=theirs)):
        other.locator(f"#{slug(KEY)}-evidence").fill(theirs)
    other.close()
    with page.expect_response(is_autosave(KEY, evidence=mine)) as refused:
        page.locator(f"#{slug(KEY)}-evidence").fill(mine)
    assert refused.value.status == 409
    assert any(mine in value for value in drafts(page).values())
    status(page, KEY).get_by_role("link", name="Take theirs").click()
    expect(page.locator(f"#{slug(KEY)}-evidence")).to_have_value(theirs)
    assert drafts(page) == {}

    page.reload()  # the refused text does not come back, nor does the conflict
    expect(page.locator(f"#{slug(KEY)}-evidence")).to_have_value(theirs)
    expect(status(page, KEY)).to_contain_text("Saved at")
    expect(status(page, KEY)).not_to_contain_text("Their version")
    assert drafts(page) == {}


def test_a_draft_typed_over_an_older_version_comes_back_as_a_conflict_not_an_overwrite(
        new_context):
    context = new_context()
    page = context.new_page()
    login(page, RESPONDENT)
    assessment_id = start_round(page, "Older draft " + page.url[-4:])
    url = f"/assessments/{assessment_id}/principles/{FIRST.key}"
    page.goto(url)  # version 0 of the answer
    other = context.new_page()
    other.goto(url)
    theirs, mine = "Saved meanwhile from another tab.", "Typed offline over version 0."
    with other.expect_response(is_autosave(KEY, evidence=theirs)):
        other.locator(f"#{slug(KEY)}-evidence").fill(theirs)
    other.close()

    page.route(AUTOSAVE, lambda route: route.abort("internetdisconnected")
               if route.request.method == "POST" else route.fallback())
    page.locator(f"#{slug(KEY)}-evidence").fill(mine)
    expect(status(page, KEY).get_by_role("alert")).to_contain_text("Not saved")
    assert [k for k in drafts(page) if k.endswith(f":{KEY}:v0")]
    page.unroute(AUTOSAVE)
    with page.expect_response(is_autosave(KEY, evidence=mine)) as restored:
        page.reload()  # the page now holds version 1; the draft was typed over version 0
    assert restored.value.status == 409  # kept for a decision, never saved over theirs
    expect(status(page, KEY)).to_contain_text("Their version")
    expect(page.locator(f"#{slug(KEY)}-evidence")).to_have_value(mine)
