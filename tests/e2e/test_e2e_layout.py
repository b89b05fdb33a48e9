"""Layout: screenshots of each main page at desktop and phone widths, and no overflow.

Screenshots go to test-artifacts/screenshots/ (not committed) to be looked at. The checks:
nothing wider than the viewport at 320 px (WCAG 1.4.10 reflow) and at 200 % zoom (a
1280 px window zoomed to 200 % lays out as 640 CSS px, drawn at two device pixels per px);
at every width the targets stay at least 44 px high, and the principle stepper stays in view
on desktop while the page scrolls.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    ARTIFACTS,
    DEMO_ROUND,
    RESPONDENT,
    instrument,
    login,
    overflow,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "screenshots"
FIRST = instrument().principles[0]

WIDTHS = {
    "desktop": dict(viewport={"width": 1280, "height": 900}),
    "phone": dict(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True),
    "reflow-320": dict(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True),
    "zoom-200": dict(viewport={"width": 640, "height": 450}, device_scale_factor=2),
}


def main_pages(page: Page):
    """Visit each main page in turn (signing in on the way), yielding its name."""
    page.goto("/login")
    yield "login"
    login(page, RESPONDENT)
    page.wait_for_load_state("load")
    yield "list"
    page.get_by_role("link", name=DEMO_ROUND).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DEMO_ROUND)
    page.wait_for_load_state("load")  # the heading can be there before the stylesheet is
    overview = page.url
    yield "overview"
    page.goto(f"{overview}/principles/{FIRST.key}")
    yield "principle"
    page.goto(f"{overview}/results")
    expect(page.locator("figure.chart svg:visible")).to_be_visible()
    yield "results"
    page.goto(f"{overview}/answers/{FIRST.indicators[0].key}/history")
    yield "history"
    page.goto("/assessments/999999")
    yield "error-404"


def small_targets(page: Page) -> list[str]:
    """Buttons, links styled as buttons, stepper links and level choices under 44 px high."""
    return page.evaluate("""() => {
      const out = [];
      const sel = '.button, .stepper__item a, .level label, summary, input[type=email],' +
                  ' input[type=password], input:not([type]), select, .skip-link:focus';
      for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        if (r.width && r.height && r.height < 44) out.push(
          (el.className || el.tagName) + ' "' + (el.innerText || '').trim().slice(0, 30) +
          '" ' + Math.round(r.height) + 'px');
      }
      return out;
    }""")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_pages_fit_and_are_photographed(new_context, width):
    page = new_context(**WIDTHS[width]).new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name in main_pages(page):
        if width in ("desktop", "phone"):
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        found = overflow(page)
        if found["scrollWidth"] > found["width"] or found["offenders"]:
            problems.append(f"{name}: {found}")
        small = small_targets(page)
        if small:
            problems.append(f"{name}: targets under 44 px: {small}")
    assert not problems, "\n".join(problems)


def test_stepper_stays_in_view_on_desktop_and_is_reachable_on_phones(new_context):
    desktop = new_context(**WIDTHS["desktop"]).new_page()
    login(desktop, RESPONDENT)
    desktop.get_by_role("link", name=DEMO_ROUND).click()
    desktop.get_by_role("link", name="Continue the assessment").click()
    stepper = desktop.locator("#stepper")
    desktop.locator(".walk__nav").scroll_into_view_if_needed()
    assert desktop.evaluate("window.scrollY") > 1000
    expect(stepper).to_be_in_viewport()

    phone = new_context(**WIDTHS["phone"]).new_page()
    login(phone, RESPONDENT)
    phone.get_by_role("link", name=DEMO_ROUND).click()
    phone.get_by_role("link", name="Continue the assessment").click()
    phone.locator(".walk__nav").scroll_into_view_if_needed()
    # On a phone the stepper sits above the questions, and the page links back to it.
    links = phone.locator("#stepper a")
    expect(links).to_have_count(len(instrument().principles))
    expect(phone.locator(".walk__nav")).to_be_visible()
    assert re.search(r"/principles/", phone.url)
