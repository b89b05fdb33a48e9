"""Autosave over a slow or broken network: nothing typed is lost, and the page says so.

The autosave requests are held or refused with Playwright's request routing; every wait is on
what the page shows or on the request itself, never on a fixed delay.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    RESPONDENT,
    instrument,
    is_autosave,
    login,
    slug,
    start_round,
    status,
    unique,
)
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.e2e

AUTOSAVE = re.compile(r"/assessments/\d+/answers/[^/]+$")
FIRST = instrument().principles[0]
KEY, SECOND_KEY = FIRST.indicators[0].key, FIRST.indicators[1].key


def open_first_principle(page: Page) -> int:
    login(page, RESPONDENT)
    assessment_id = start_round(page, unique("Network"))
    page.goto(f"/assessments/{assessment_id}/principles/{FIRST.key}")
    return assessment_id


def wait_until(page: Page, condition, what: str, polls: int = 400) -> None:
    """Let the browser run until `condition()` holds (route handlers run meanwhile)."""
    for _ in range(polls):
        if condition():
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"never happened: {what}")


def draft(page: Page, assessment_id: int, key: str) -> str | None:
    """The unsaved copy of an answer kept in this browser, whoever typed it, or None."""
    return page.evaluate("""(part) => {
        for (let i = 0; i < localStorage.length; i++) {
            const name = localStorage.key(i);
            if (name.startsWith("cbassess:draft:") && name.includes(part)) {
                return localStorage.getItem(name);
            }
        }
        return null;
    }""", f":{assessment_id}:{key}:v")


def test_slow_save_shows_saving_then_saved(page: Page):
    assessment_id = open_first_principle(page)
    held: list[Route] = []
    slow = [True]

    def hold(route: Route) -> None:
        if route.request.method == "POST" and slow[0]:
            held.append(route)
        else:
            route.fallback()

    page.route(AUTOSAVE, hold)
    area = page.locator(f"#{slug(KEY)}-evidence")
    text = "Typed over a slow link: the reform board met twice."
    area.fill(text)
    wait_until(page, lambda: held, "the autosave request was sent")
    expect(status(page, KEY)).to_contain_text("Saving…")
    expect(area).to_have_value(text)
    assert text in draft(page, assessment_id, KEY)
    slow[0] = False
    with page.expect_response(is_autosave(KEY, evidence=text)) as saved:
        held[0].continue_()
    assert saved.value.status == 200
    expect(status(page, KEY)).to_contain_text("Saved at")
    expect(area).to_have_value(text)
    wait_until(page, lambda: draft(page, assessment_id, KEY) is None, "the draft was cleared")
    page.reload()
    expect(page.locator(f"#{slug(KEY)}-evidence")).to_have_value(text)


def test_failed_save_keeps_text_and_retries(page: Page):
    assessment_id = open_first_principle(page)

    offline = [False]

    def refuse(route: Route) -> None:
        if route.request.method == "POST" and offline[0]:
            route.abort("internetdisconnected")
        else:
            route.fallback()

    area = page.locator(f"#{slug(KEY)}-evidence")
    alert = status(page, KEY).get_by_role("alert")
    retry = status(page, KEY).get_by_role("button", name="Retry")

    # Blocked: "Not saved", a Retry button, the text still in the field and in the browser.
    page.route(AUTOSAVE, refuse)
    offline[0] = True
    first = "First paragraph, typed while the network is down."
    area.fill(first)
    expect(alert).to_contain_text("Not saved")
    expect(retry).to_be_visible()
    expect(area).to_have_value(first)
    assert first in draft(page, assessment_id, KEY)

    # Still blocked: Retry tries again and fails again, and still nothing is lost.
    with page.expect_event("requestfailed", lambda request: AUTOSAVE.search(request.url)):
        retry.click()
    expect(alert).to_contain_text("Not saved")
    expect(area).to_have_value(first)

    # Unblocked: Retry saves it.
    offline[0] = False
    with page.expect_response(is_autosave(KEY, evidence=first)) as saved:
        retry.click()
    assert saved.value.status == 200
    expect(status(page, KEY)).to_contain_text("Saved at")

    # Blocked again; after unblocking, the next change saves everything typed so far.
    offline[0] = True
    second = first + " Second sentence, also while offline."
    area.press("End")
    area.press_sequentially(" Second sentence, also while offline.")
    expect(alert).to_contain_text("Not saved")
    expect(area).to_have_value(second)
    offline[0] = False
    third = second + " Back online."
    with page.expect_response(is_autosave(KEY, evidence=third)) as saved:
        area.press_sequentially(" Back online.")
    assert saved.value.status == 200
    expect(status(page, KEY)).to_contain_text("Saved at")
    wait_until(page, lambda: draft(page, assessment_id, KEY) is None, "the draft was cleared")
    page.reload()
    expect(page.locator(f"#{slug(KEY)}-evidence")).to_have_value(third)


def test_an_overtaken_reply_does_not_roll_progress_back(page: Page):
    """Saves of two indicators answered out of order: the older progress is not shown."""
    open_first_principle(page)
    held: list = []

    def hold_first(route: Route) -> None:
        if route.request.method == "POST" and not held:
            held.append((route, route.fetch()))  # the server answers now; the page later
        else:
            route.fallback()

    page.route(re.compile(rf"/answers/{re.escape(KEY)}$"), hold_first)
    page.locator(f"label[for='{slug(KEY)}-level-2']").click()
    wait_until(page, lambda: held, "the first save reached the server")
    with page.expect_response(is_autosave(SECOND_KEY, level="3")):
        page.locator(f"label[for='{slug(SECOND_KEY)}-level-3']").click()
    progress = page.locator("#principle-progress-label")
    total = len(FIRST.indicators)
    expect(progress).to_contain_text(f"2 of {total} indicators answered")
    route, response = held[0]
    route.fulfill(response=response)
    expect(status(page, KEY)).to_contain_text("Saved at")
    expect(progress).to_contain_text(f"2 of {total} indicators answered")
    expect(page.locator("#stepper .stepper__total")).to_contain_text("2 of ")
