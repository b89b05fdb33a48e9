"""Another framework, end to end: fifteen practices, ninety indicators with keys such as
G-SM.1 and G-SM.5.a, levels scored 0 / 0.25 / 0.5 / 1, evidence required from level 2.

The respondent walks every principle in a real browser, then the results page, the PDF and
the exports are checked against figures worked out by hand below. Screenshots of the results
page and of the PDF's pages go to test-artifacts/other-framework/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from e2e_support import ARTIFACTS, DEMO_ROUND, RESPONDENT, login, pdf_text, slug, unique
from playwright.sync_api import Page, expect

from cbassess.charts import RadarAxis, radar_svg
from cbassess.instrument import load_path

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "maturity-framework.yaml"
FRAMEWORK = load_path(FIXTURE)
SHOTS = ARTIFACTS / "other-framework"
NA = "na"

# The level chosen for each indicator, in the instrument's order, per principle.
PLAN: dict[str, list[int | str]] = {
    "G-SM": [3, 3, 3, 3, 3, 3],
    "G-PP": [0, 1, 2, 3, 3, 1],
    "O-HR": [2, 2, 2, 2, 2, 2],
    "O-IN": [1, 1, 1, 1, 1, NA],
    "O-FI": [0, 0, 0, 0, 0, 0],
}
REST = [1, 2, 3, 1, 2, 3]
# Claims made with no evidence. G-SM.1 needs it from level 1 and G-PP.4, O-HR.2 from
# level 2 (the scale's threshold): unsupported. G-PP.5 never needs it, G-PP.2 is below 2.
NO_EVIDENCE = {"G-SM.1", "G-PP.4", "O-HR.2", "G-PP.5", "G-PP.2"}
UNSUPPORTED = ["G-SM.1", "G-PP.4", "O-HR.2"]

# Worked by hand on the scores 0 / 0.25 / 0.5 / 1 of levels 0 / 1 / 2 / 3:
#   G-SM  1 1 1 1 1 1                 → 6 / 6          = 1.00, weakest 1
#   G-PP  0 .25 .5 1 1 .25            → 3 / 6          = 0.50, weakest 0+
#   O-HR  .5 × 6                      → 3 / 6          = 0.50, weakest 0.5
#   O-IN  .25 × 5 (one not applicable)→ 1.25 / 5       = 0.25, weakest 0.25
#   O-FI  0 × 6                       → 0              = 0.00, weakest 0
#   the other ten: .25 .5 1 .25 .5 1  → 3.5 / 6        = 0.58333…, weakest 0.25+
#   overall: (1 + .5 + .5 + .25 + 0 + 10 × 3.5/6) / 15 = 0.53888…  → "0.54", weakest 0
# (on the positions 0–3 instead, G-SM alone would average 3 and the overall 1.61.)
HAND_AVERAGES = {"G-SM": "1.00", "G-PP": "0.50", "O-HR": "0.50", "O-IN": "0.25",
                 "O-FI": "0.00"}
HAND_WEAKEST = {"G-SM": "1", "G-PP": "0+", "O-HR": "0.5", "O-IN": "0.25", "O-FI": "0"}
REST_AVERAGE, REST_WEAKEST = "0.58", "0.25+"
OVERALL = 0.538888888


def plan(principle_key: str) -> list[int | str]:
    return PLAN.get(principle_key, REST)


@pytest.fixture(scope="module")
def imported(live_server):
    """The fixture instrument imported with the app's own command, as an administrator would."""
    result = live_server.app.test_cli_runner().invoke(
        args=["instrument", "import", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    return FRAMEWORK


def start_maturity_round(page: Page) -> int:
    page.goto("/assessments")
    select = page.get_by_label("Instrument")
    # The installation's default stays preselected, whatever was imported since.
    assert "Customs capacity-building" in select.locator("option:checked").inner_text()
    page.get_by_label("Round name").fill(unique("Maturity"))
    select.select_option(label=f"{FRAMEWORK.title} (version {FRAMEWORK.version})")
    page.get_by_role("button", name="Start").click()
    match = re.search(r"/assessments/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def test_the_walk_results_pdf_and_exports_of_a_fifteen_principle_framework(
        imported, new_context):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The walk with JavaScript off: each principle is one form, saved with "Save and continue".
    page = new_context(java_script_enabled=False).new_page()
    login(page, RESPONDENT)
    assessment_id = start_maturity_round(page)
    expect(page.locator(".site-footer")).to_contain_text(
        "Built on the border agency maturity framework.")
    expect(page.locator(".brand__tagline")).to_have_text("Border agency maturity review")
    page.get_by_role("link", name="Continue the assessment").click()
    for number, principle in enumerate(FRAMEWORK.principles):
        expect(page.get_by_role("heading", level=1)).to_have_text(principle.title.get())
        for indicator, level in zip(principle.indicators, plan(principle.key), strict=True):
            s = slug(indicator.key)
            page.locator(f"label[for='{s}-level-{level}']").click()
            if level == NA:
                page.locator(f"#{s}-evidence").fill("No such function in this agency.")
            elif indicator.key not in NO_EVIDENCE:
                page.locator(f"#{s}-evidence").fill(f"Register entry for {indicator.key}")
            if principle.key == "G-SM":
                n = int(indicator.key.split(".")[1])
                page.locator(f"#{s}-confidence").select_option("high" if n % 2 else "low")
                page.locator(f"#{s}-evidence_kind").select_option("documentary")
        if number == 0:
            # The guidance is paragraphs and lists, in several scripts.
            guidance = page.locator(f"#ind-{slug(principle.indicators[0].key)} .guidance")
            expect(guidance.locator("ul li")).to_have_count(6)
            expect(guidance.locator("ol li")).to_have_count(3)
            expect(guidance).to_contain_text("Стратегическое управление")
        page.get_by_role("button", name="Save and continue").click()
        expect(page.locator(".flash, .flashes").first).to_contain_text("saved")

    # The overview: everything answered, three unsupported claims listed before submitting.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maturity")
    expect(page.locator("tfoot")).to_contain_text("90/90")
    claims = page.locator("#unsupported-claims li")
    expect(claims).to_have_count(3)
    for key in UNSUPPORTED:
        expect(page.locator("#unsupported-claims")).to_contain_text(key)
    expect(page.get_by_role("link", name="Review the answers")).to_be_visible()

    # The results page, on the scores, against the hand figures.
    page.goto(f"/assessments/{assessment_id}/results")
    rows = page.locator("#scores-table tbody tr")
    expect(rows).to_have_count(15)
    for index, principle in enumerate(FRAMEWORK.principles):
        cells = rows.nth(index).locator("td")
        expect(cells.nth(0)).to_have_text(HAND_AVERAGES.get(principle.key, REST_AVERAGE))
        expect(cells.nth(1)).to_have_text(HAND_WEAKEST.get(principle.key, REST_WEAKEST))
    expect(page.locator(".summary-figures .figure__value").first).to_have_text("0.54")
    expect(page.locator("#scores-table caption")).to_contain_text("scale 0–1")
    strongest = page.locator(".highlights section").first
    expect(strongest).to_contain_text("G-SM.2")
    expect(strongest).not_to_contain_text("G-SM.1 ")  # an unsupported claim is no strength
    expect(page.locator("#unsupported li")).to_have_count(3)
    confidence = rows.nth(0).locator("td").last
    expect(confidence).to_have_text("High 4 · Low 2")  # G-SM.1, .3, .5, .5.a high
    expect(page.locator("svg.radar--short .radar-label")).to_have_count(15)
    expect(page.locator(".radar-key dt")).to_have_count(15)
    page.screenshot(path=str(SHOTS / "results-desktop.png"), full_page=True)
    phone = new_context(viewport={"width": 320, "height": 640}, is_mobile=True,
                        has_touch=True).new_page()
    login(phone, RESPONDENT)
    phone.goto(f"/assessments/{assessment_id}/results")
    phone.screenshot(path=str(SHOTS / "results-320.png"), full_page=True)

    # The PDF: cover wording of the framework, scores, the flag, guidance lists.
    # Ninety indicators with their guidance make a long report: give it time to render.
    response = page.context.request.get(f"/assessments/{assessment_id}/report.pdf",
                                        timeout=180_000)
    assert response.status == 200
    pdf_path = SHOTS / "report.pdf"
    pdf_path.write_bytes(response.body())
    text = pdf_text(response.body())
    assert "Border agency maturity review" in text
    assert "Capacity-building readiness" not in text
    assert "Level 3 · Optimised (score 1)" in text
    assert "Level 1 · Ad hoc (score 0.25)" in text
    assert text.count("This level needs evidence and none was given (no text, no file).") == 3
    assert "Average 0.58 · weakest link 0.25+" in text
    assert "Confidence: High" in text and "Kind of evidence: Documentary" in text
    assert "Стратегическое управление" in text
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "4", str(pdf_path),
                    str(SHOTS / "report-page")], check=True)
    assert len(list(SHOTS.glob("report-page-*.png"))) == 4

    # The exports carry the scores, the flags and the optional fields.
    csv_text = page.context.request.get(f"/assessments/{assessment_id}/export.csv").text()
    records = {row["Indicator"]: row
               for row in csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))}
    assert len(records) == 90
    assert records["G-SM.1"]["Score"] == "1" and records["G-SM.1"]["Unsupported claim"] == "yes"
    assert records["G-PP.2"]["Score"] == "0.25" and records["G-PP.2"]["Unsupported claim"] == ""
    assert records["G-PP.5"]["Unsupported claim"] == ""
    assert records["G-SM.5.a"]["Confidence"] == "High"
    assert records["G-SM.5.a"]["Kind of evidence"] == "Documentary"
    body = json.loads(page.context.request.get(
        f"/assessments/{assessment_id}/export.json").text())
    assert body["scores"]["average"] == pytest.approx(OVERALL)
    assert body["scores"]["unsupported_claims"] == UNSUPPORTED
    by_key = {p["key"]: p for p in body["scores"]["principles"]}
    assert by_key["G-SM"]["confidence"] == {"high": 4, "low": 2}
    assert by_key["O-IN"]["average"] == pytest.approx(0.25)
    assert [level["score"] for level in body["scale"]] == [0, 0.25, 0.5, 1]


def test_a_claim_without_evidence_is_marked_as_it_is_saved(imported, page):
    """The mark comes and goes as the answer is saved, and as a file is attached or
    removed (a file is evidence too), without reloading the page."""
    login(page, RESPONDENT)
    assessment_id = start_maturity_round(page)
    page.goto(f"/assessments/{assessment_id}/principles/O-HR")
    key = "O-HR.1"
    status = page.locator(f"#status-{slug(key)}")
    claim = page.locator(f"#claim-{slug(key)}")
    page.locator(f"label[for='{slug(key)}-level-2']").click()
    expect(claim).to_contain_text("Unsupported")
    page.locator(f"#{slug(key)}-evidence").fill("Staff plan 2026, approved 3 March.")
    expect(status).to_contain_text("Saved at")
    expect(claim).not_to_contain_text("Unsupported")
    page.locator(f"#{slug(key)}-evidence").fill("")
    expect(claim).to_contain_text("Unsupported")
    page.locator(f"#evidence-{slug(key)}").get_by_label("Attach files").set_input_files(
        {"name": "staff-plan.txt", "mimeType": "text/plain", "buffer": b"Staff plan 2026"})
    expect(page.locator(f"#files-{slug(key)}")).to_contain_text("staff-plan.txt")
    expect(claim).not_to_contain_text("Unsupported")
    page.locator(f"#files-{slug(key)}").get_by_role("button", name=re.compile("Remove")).click()
    expect(claim).to_contain_text("Unsupported")
    page.locator(f"label[for='{slug(key)}-level-1']").click()
    expect(status).to_contain_text("Saved at")
    expect(claim).not_to_contain_text("Unsupported")  # level 1 needs no evidence


def test_continue_leads_to_the_first_unanswered_indicator(imported, page):
    login(page, RESPONDENT)
    assessment_id = start_maturity_round(page)
    page.goto(f"/assessments/{assessment_id}/principles/G-SM")
    for indicator in FRAMEWORK.principles[0].indicators:
        page.locator(f"label[for='{slug(indicator.key)}-level-0']").click()
        expect(page.locator(f"#status-{slug(indicator.key)}")).to_contain_text("Saved at")
    page.goto(f"/assessments/{assessment_id}")
    page.get_by_role("link", name="Continue the assessment").click()
    expect(page).to_have_url(re.compile(r"/principles/G-PP#ind-G-PP-1$"))


def test_the_stepper_keeps_the_current_principle_in_view(imported, new_context):
    desktop = new_context(viewport={"width": 1280, "height": 800}).new_page()
    login(desktop, RESPONDENT)
    assessment_id = start_maturity_round(desktop)
    last = FRAMEWORK.principles[-1]
    desktop.goto(f"/assessments/{assessment_id}/principles/{last.key}")
    current = desktop.locator(".stepper__item--current")
    expect(current).to_be_in_viewport()
    assert desktop.evaluate("window.scrollY") == 0  # the page itself did not move
    expect(current).to_contain_text(last.title.get())
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop.screenshot(path=str(SHOTS / "principle-15-desktop.png"))

    phone = new_context(viewport={"width": 320, "height": 640}, is_mobile=True,
                        has_touch=True).new_page()
    login(phone, RESPONDENT)
    phone.goto(f"/assessments/{assessment_id}/principles/{last.key}")
    summary = phone.locator(".stepper__summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Principle 15 of 15")
    expect(phone.locator(".stepper__list")).to_be_hidden()
    heading = phone.get_by_role("heading", level=1)
    assert heading.bounding_box()["y"] + heading.bounding_box()["height"] < 640
    phone.screenshot(path=str(SHOTS / "principle-15-320.png"))
    summary.click()
    expect(phone.locator(".stepper__item--current")).to_be_visible()
    expect(phone.locator(".stepper__list a")).to_have_count(15)


LABEL_BOXES_JS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.radar')) {
    if (!svg.getClientRects().length) continue;  // the variant this width does not show
    const frame = svg.getBoundingClientRect();
    const labels = [...svg.querySelectorAll('.radar-label')].map(t => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, left: r.left, top: r.top, right: r.right,
              bottom: r.bottom, size: parseFloat(getComputedStyle(t).fontSize) *
              frame.width / svg.viewBox.baseVal.width};
    });
    out.push({frame: {left: frame.left, top: frame.top, right: frame.right,
                      bottom: frame.bottom}, labels});
  }
  return out;
}"""

TITLES = [p.title.get() for p in FRAMEWORK.principles]
TITLES[8] = "Информационные технологии и данные"
TITLES[12] = "التعاون الدولي والمساعدة المتبادلة"


def check_label_boxes(charts: list[dict], minimum_size: float) -> None:
    assert len(charts) == 1, charts  # exactly one variant shows at any width
    frame, labels = charts[0]["frame"], charts[0]["labels"]
    for label in labels:
        assert frame["left"] <= label["left"] and label["right"] <= frame["right"], label
        assert frame["top"] <= label["top"] and label["bottom"] <= frame["bottom"], label
        assert label["size"] >= minimum_size, label
    for n, first in enumerate(labels):
        for second in labels[n + 1:]:
            apart = (first["right"] <= second["left"] or second["right"] <= first["left"]
                     or first["bottom"] <= second["top"] or second["bottom"] <= first["top"])
            assert apart, (first, second)


@pytest.mark.parametrize("width", [1280, 320])
def test_radar_labels_as_drawn_by_the_browser_fit_and_never_overlap(page, width):
    """For every number of axes from 3 to 15, as the results page shows the chart."""
    page.set_viewport_size({"width": width, "height": 900})
    for count in range(3, 16):
        axes = [RadarAxis(TITLES[n], (n % 5) / 4, FRAMEWORK.principles[n].key)
                for n in range(count)]
        full = radar_svg(axes, [0, 0.25, 0.5, 1], "Scores")
        compact = radar_svg(axes, [0, 0.25, 0.5, 1], "Scores", abbreviate=True)
        two = "radar--full" in full
        page.goto("/static/app.css")  # same origin, so the page's stylesheet applies
        page.set_content(
            '<!doctype html><html><head><meta name="viewport" content="width=device-width">'
            '<link rel="stylesheet" href="/static/app.css"></head><body><main class="page">'
            f'<figure class="chart{" chart--two" if two else ""}">{full}'
            f'{compact if two else ""}</figure></main></body></html>')
        page.wait_for_load_state("load")
        # 10 CSS px at least on a phone; the desktop chart is larger.
        check_label_boxes(page.evaluate(LABEL_BOXES_JS), 10 if width == 320 else 11)
        if count in (5, 15):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("figure").screenshot(path=str(SHOTS / f"radar-{count}-{width}.png"))


@pytest.mark.parametrize("width,key_shown", [(1280, False), (320, True)])
def test_the_key_to_short_labels_shows_exactly_when_they_do(new_context, width, key_shown):
    """The shipped instrument's five titles fit on a wide screen; a phone gets the keys."""
    page = new_context(viewport={"width": width, "height": 800}).new_page()
    login(page, RESPONDENT)
    page.get_by_role("link", name=DEMO_ROUND).click()
    page.get_by_role("link", name="Results").click()
    chart = page.locator("figure.chart svg:visible")
    expect(chart).to_have_count(1)
    expect(chart).to_have_class(re.compile("radar--short" if key_shown else "radar--full"))
    key = page.locator(".radar-key")
    if key_shown:
        expect(key).to_be_visible()
    else:
        expect(key).to_be_hidden()
