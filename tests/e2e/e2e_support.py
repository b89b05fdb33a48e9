"""Helpers shared by the browser tests: signing in, starting a round, waiting for saves.

Every wait is on something the page or the network shows (a response, a text, an attribute),
never on a fixed delay.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs

from playwright.sync_api import Locator, Page, Response, expect
from pypdf import PdfReader

from cbassess.cli import DEMO_PASSWORD
from cbassess.instrument import Instrument, load_path, shipped_paths

RESPONDENT = "respondent@demo.example"
FACILITATOR = "facilitator@demo.example"
DEMO_ADMINISTRATION = "Demo Customs Administration"
DEMO_ROUND = "2026 self-assessment"

E2E_DIR = Path(__file__).resolve().parent
AXE_JS = E2E_DIR / "vendor" / "axe.min.js"
ARTIFACTS = E2E_DIR.parent.parent / "test-artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def instrument() -> Instrument:
    """The shipped demo instrument, read from the same file the app imports."""
    return next(load_path(p) for p in shipped_paths() if "wco-cb-core-principles" in p.name)


def slug(key: str) -> str:
    """The id fragment the templates derive from an indicator key ("PW.1" -> "PW-1")."""
    return key.replace(".", "-")


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def login(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, by mouse."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/assessments$"))


def start_round(page: Page, name: str) -> int:
    """Start a fresh assessment through the "Start a new assessment" form; return its id."""
    page.goto("/assessments")
    page.get_by_label("Round name").fill(name)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    match = re.search(r"/assessments/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def section(page: Page, key: str) -> Locator:
    return page.locator(f"#ind-{slug(key)}")


def status(page: Page, key: str) -> Locator:
    return page.locator(f"#status-{slug(key)}")


def is_autosave(key: str, **fields: str):
    """A predicate matching the autosave POST of one indicator, optionally carrying `fields`.

    `fields` are the answer's parts ("level", "evidence", "note") and the values the request
    must have sent, so an earlier save of the same indicator is not mistaken for this one.
    """
    def matches(response: Response) -> bool:
        request = response.request
        if request.method != "POST" or not request.url.endswith(f"/answers/{key}"):
            return False
        sent = parse_qs(request.post_data or "", keep_blank_values=True)
        return all(sent.get(f"{key}-{part}") == [value] for part, value in fields.items())
    return matches


def mark_document(page: Page) -> None:
    """Tag the current document, so a later check can tell that no page load happened."""
    page.evaluate("window.__e2eSameDocument = true")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__e2eSameDocument === true"), "the page was reloaded"


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-"), body[:20]
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return " ".join(text.split())


def fetch_pdf(page: Page, assessment_id: int) -> str:
    """Fetch the report with the page's own cookies; return its text."""
    response = page.context.request.get(f"/assessments/{assessment_id}/report.pdf")
    assert response.status == 200, response.status
    assert response.headers["content-type"] == "application/pdf"
    return pdf_text(response.body())


def run_axe(page: Page, label: str) -> list[dict]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the page; return serious/critical violations.

    The context must be opened with bypass_csp=True: the app's policy rightly refuses a
    script it did not serve.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                        summary: n.failureSummary}))}));
        }""",
        WCAG_TAGS,
    )
    report = ARTIFACTS / "axe" / f"{re.sub(r'[^a-z0-9]+', '-', label.lower())}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node['target']}: {node['summary']}" for node in violation["nodes"][:5])
    return "\n".join(lines)


OVERFLOW_JS = """() => {
  // Elements whose box sticks out past the right edge of the viewport, unless an ancestor
  // clips or scrolls them on purpose (a wide table in its own scroll box is fine).
  const width = document.documentElement.clientWidth;
  const offenders = [];
  for (const el of document.body.querySelectorAll('*')) {
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0 || rect.right <= width + 1) continue;
    if (el.closest('.visually-hidden, .skip-link')) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') {
        clipped = true; break;
      }
    }
    if (clipped) continue;
    const classes = typeof el.className === 'string' && el.className
      ? '.' + el.className.split(' ').join('.') : '';
    offenders.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes +
                   ' right=' + Math.round(rect.right));
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, width,
          offenders: offenders.slice(0, 10)};
}"""


def overflow(page: Page) -> dict:
    """The page's scroll width, the viewport width and any element overflowing it."""
    return page.evaluate(OVERFLOW_JS)


FOCUS_JS = """(css) => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const label = el.labels && el.labels[0];
  const labelStyle = label ? getComputedStyle(label) : null;
  const ring = s => s && ((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                          || s.boxShadow !== 'none');
  return {
    id: el.getAttribute('data-e2e-focus'),
    tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
    text: (el.innerText || el.value || el.id || '').trim().slice(0, 40),
    focusVisible: el.matches(':focus-visible'),
    ring: ring(style) || ring(labelStyle),
    matches: css ? el.matches(css) : false,
  };
}"""

FOCUSABLE_JS = """() => {
  // Number every control a keyboard user should reach; radios count once per group.
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),' +
                   ' textarea:not([disabled]), select:not([disabled]), summary, [tabindex="0"]';
  const seen = new Set(), wanted = [];
  let n = 0;
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('fieldset[disabled]') && el.tagName !== 'SUMMARY') continue;
    const hidden = !el.getClientRects().length || getComputedStyle(el).visibility === 'hidden';
    if (hidden && !el.classList.contains('skip-link')) continue;
    el.setAttribute('data-e2e-focus', String(n));
    if (el.type === 'radio') {
      const group = el.name;
      if (seen.has(group)) { n++; continue; }
      seen.add(group);
      wanted.push('radio:' + group);
    } else {
      wanted.push(String(n));
    }
    n++;
  }
  return wanted;
}"""


def focused(page: Page, css: str | None = None) -> dict | None:
    """What has the keyboard focus, whether a focus ring is drawn, whether it matches `css`."""
    return page.evaluate(FOCUS_JS, css)


def tab_to(page: Page, css: str, limit: int = 80) -> dict:
    """Press Tab until the focused element matches `css`; every stop must show focus.

    After a navigation, the page's stylesheets are waited for first: a focus ring measured
    before they apply would be missing for the wrong reason."""
    page.wait_for_load_state("load")
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page, css)
        if info is None:
            continue
        assert info["focusVisible"] and info["ring"], f"focus not visible on {info}"
        if info["matches"]:
            return info
    raise AssertionError(f"{css} not reached with {limit} presses of Tab")


def tab_through(page: Page) -> None:
    """Tab through the whole page: every control is reached, each with a visible focus ring.

    Call it on a freshly loaded page, before anything has the focus.
    """
    page.wait_for_load_state("load")
    wanted = page.evaluate(FOCUSABLE_JS)
    reached: list[str] = []
    for _ in range(len(wanted) + 5):
        page.keyboard.press("Tab")
        info = focused(page)
        if info is None:
            continue
        assert info["focusVisible"] and info["ring"], f"focus not visible on {info}"
        key = f"radio:{info['name']}" if info["type"] == "radio" else info["id"]
        if reached and key == reached[0]:
            break
        reached.append(key)
    missing = [w for w in wanted if w not in reached]
    assert not missing, f"not reachable by Tab: {missing} (reached {reached})"
