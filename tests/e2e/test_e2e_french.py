"""In French, in a real browser: a francophone official switches the language on the sign-in
page, walks the whole instrument, submits, reads the results and the PDF; axe checks the
French pages (the lang attributes included); layouts hold with French's longer strings at
320 px and 200 % zoom; and pages laid out right to left neither overflow nor overlap, with
the radio buttons on the starting side.

These tests use accounts of their own (created through the CLI on the live server), so the
language preference they save never reaches the English tests' demo accounts.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    ARTIFACTS,
    DEMO_ROUND,
    format_violations,
    instrument,
    is_autosave,
    overflow,
    pdf_text,
    run_axe,
    slug,
    status,
    unique,
)
from playwright.sync_api import Page, expect
from test_e2e_layout import WIDTHS, small_targets

from cbassess.cli import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

INSTRUMENT = instrument()
TOTAL = len(INSTRUMENT.indicators)
NA_KEY = INSTRUMENT.principles[-1].indicators[-1].key
RESPONDENT_FR = "repondante@demo.example"
FACILITATOR_FR = "facilitateur@demo.example"
ADMIN_FR = "administratrice@demo.example"
SHOTS = ARTIFACTS / "screenshots"


def fr(text) -> str:
    return text.get("fr")


@pytest.fixture(scope="module")
def french_accounts(live_server):
    """A respondent of the demo administration, its facilitator and an administrator, for
    these tests only."""
    runner = live_server.app.test_cli_runner()
    for email, role, extra in (
            (RESPONDENT_FR, "respondent", ["--organisation", "Demo Customs Administration"]),
            (FACILITATOR_FR, "facilitator", ["--assign", "Demo Customs Administration"]),
            (ADMIN_FR, "admin", [])):
        result = runner.invoke(args=["create-user", "--email", email, "--name", "Awa Traoré",
                                     "--role", role, "--password", DEMO_PASSWORD, *extra])
        assert result.exit_code == 0 or "already exists" in result.output, result.output


def login_in_french(page: Page, email: str = RESPONDENT_FR) -> None:
    """Choose French with the header's switcher on the sign-in page, then sign in."""
    page.goto("/login")
    switch = page.get_by_role("button", name="Français")
    if switch.count():  # not yet chosen in this browser
        expect(switch).to_have_attribute("lang", "fr")
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/assessments$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Évaluations")


def start_round_in_french(page: Page, name: str) -> int:
    page.goto("/assessments")
    page.get_by_label("Nom du cycle").fill(name)
    page.get_by_role("button", name="Lancer").click()
    expect(page.locator(".flash--success")).to_contain_text(
        re.compile(rf"L’évaluation «\s{re.escape(name)}\s» est lancée"))
    return int(re.search(r"/assessments/(\d+)$", page.url).group(1))


def test_walk_the_whole_instrument_results_and_pdf_in_french(new_context, french_accounts):
    page = new_context().new_page()
    token = unique("fr")
    login_in_french(page)
    assessment_id = start_round_in_french(page, unique("Auto-évaluation"))
    page.get_by_role("link", name="Poursuivre l’évaluation").click()
    answered, values = 0, INSTRUMENT.scale.values
    for principle in INSTRUMENT.principles:
        expect(page.get_by_role("heading", level=1)).to_have_text(fr(principle.title))
        expect(page.locator(".lead")).to_have_text(fr(principle.summary))
        for done, indicator in enumerate(principle.indicators, start=1):
            key, s = indicator.key, slug(indicator.key)
            group = page.get_by_role("group", name=fr(indicator.question))
            guidance = group.locator(".guidance p:not([class])")  # the guidance's own text
            expect(guidance).to_contain_text(fr(indicator.guidance))
            if indicator.key == NA_KEY:
                # "Sans objet" without a reason: refused, in French.
                with page.expect_response(is_autosave(key, level="na")) as refused:
                    page.locator(f"label[for='{s}-level-na']").click()
                assert refused.value.status == 422
                expect(status(page, key).get_by_role("alert")).to_contain_text(re.compile(
                    r"Non enregistré\s: La réponse «\ssans objet\s» doit être justifiée"))
                evidence = f"Sans objet : pas de frontière terrestre ({token})"
                with page.expect_response(is_autosave(key, evidence=evidence)) as saved:
                    page.locator(f"#{s}-evidence").fill(evidence)
            else:
                level = values[answered % len(values)]
                radio = group.get_by_role("radio", name=fr(indicator.descriptors[level]))
                with page.expect_response(is_autosave(key, level=str(level))) as saved:
                    radio.check()
                if done == 1:
                    evidence = f"Décret n° 2025-114 « {key} » — {token}"
                    with page.expect_response(is_autosave(key, evidence=evidence)) as saved:
                        page.locator(f"#{s}-evidence").fill(evidence)
            assert saved.value.status == 200
            answered += 1
            expect(status(page, key)).to_contain_text("Enregistré à")
            expect(page.locator("#principle-progress-label")).to_contain_text(
                f"{done} indicateur{'s' if done > 1 else ''} "
                f"renseigné{'s' if done > 1 else ''} sur {len(principle.indicators)}")
            expect(page.locator("#stepper .stepper__total")).to_have_text(
                f"{answered} renseigné{'s' if answered > 1 else ''} sur {TOTAL}")
        page.get_by_role("button", name="Enregistrer et continuer").click()

    expect(page).to_have_url(re.compile(rf"/assessments/{assessment_id}$"))
    expect(page.locator("tfoot")).to_contain_text(f"{TOTAL}/{TOTAL}")
    page.get_by_role("link", name="Vérifier et soumettre…").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Aucun : tous les indicateurs sont renseignés.")
    page.get_by_role("button", name="Soumettre pour examen").click()
    expect(page.locator(".flash--success")).to_contain_text("Évaluation soumise pour examen")
    expect(page.locator(".page-head .badge")).to_have_text("Soumise pour examen")

    page.get_by_role("link", name="Résultats", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Résultats\s:"))
    expect(page.locator(".figure__value").first).to_have_text(re.compile(r"^\d,\d\d$"))
    expect(page.locator(".scores-table tfoot")).to_contain_text(
        re.compile(rf"{TOTAL}/{TOTAL} \(100\s%\)"))
    expect(page.get_by_role("table", name=re.compile("Notes par principe"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(
        "Graphique en radar de la note moyenne par principe"))).to_be_visible()

    # The report in the reader's language: its options (French chosen), the preview, the PDF.
    english = page.get_by_role("link", name="Rapport PDF en anglais")
    assert english.get_attribute("hreflang") == "en"
    english_report = english.get_attribute("href")
    page.get_by_role("link", name=re.compile(r"Rapport\s: options, aperçu et PDF")).click()
    language = page.get_by_label("Langue", exact=True)
    expect(language.locator("option:checked")).to_have_text("Français")
    expect(language.locator("option[value=en]")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Aperçu dans le navigateur").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#summary h2")).to_have_text("Résumé analytique")
    page.go_back()
    with page.expect_response(re.compile(r"/report/prepare")) as prepared:
        page.get_by_role("button", name="Télécharger le PDF").click()
    assert prepared.value.status == 200
    expect(page.locator("#report-ready")).to_contain_text("Le PDF est prêt")
    text = pdf_text(page.context.request.get(f"/assessments/{assessment_id}/report.pdf")
                    .body())
    for words in ("Résumé analytique", "Volonté politique", "Axé sur la demande et réactif",
                  "Soumise pour examen", "méthodologie", f"Décret n° 2025-114 « PW.1 » — {token}",
                  "28 indicateurs renseignés sur 28"):
        assert words in text, words
    # …and in English, from the same French page.
    text = pdf_text(page.context.request.get(english_report).body())
    assert "Executive summary" in text and "Political will" in text
    assert "Résumé analytique" not in text
    assert f"Décret n° 2025-114 « PW.1 » — {token}" in text  # answers as written


class Audit:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, page: Page, label: str) -> None:
        assert page.evaluate("document.documentElement.lang") == "fr", label
        violations = run_axe(page, f"fr {label}")
        if violations:
            self.failures.append(f"== {label} ({page.url})\n{format_violations(violations)}")


def test_axe_on_french_pages(new_context, french_accounts):
    page = new_context(bypass_csp=True).new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    audit = Audit()
    page.goto("/login")
    page.get_by_role("button", name="Français").click()
    audit.check(page, "sign-in")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".field__error").first).to_have_text(
        re.compile("Saisissez votre adresse électronique"))
    audit.check(page, "sign-in, fields missing")
    login_in_french(page)
    # The switcher offers English, marked as English for screen readers.
    expect(page.get_by_role("button", name="English")).to_have_attribute("lang", "en")
    audit.check(page, "assessments")
    assessment_id = start_round_in_french(page, unique("Accessibilité"))
    audit.check(page, "overview")
    first = INSTRUMENT.principles[0]
    page.goto(f"/assessments/{assessment_id}/principles/{first.key}")
    audit.check(page, "principle")
    key = first.indicators[0].key
    with page.expect_response(is_autosave(key, level="3")):
        page.locator(f"label[for='{slug(key)}-level-3']").click()
    expect(status(page, key)).to_contain_text("Enregistré à")
    second = first.indicators[1].key
    with page.expect_response(is_autosave(second, level="na")):
        page.locator(f"label[for='{slug(second)}-level-na']").click()
    expect(status(page, second).get_by_role("alert")).to_contain_text("Non enregistré")
    audit.check(page, "principle, saved and refused")
    page.goto(f"/assessments/{assessment_id}/answers/{key}/history")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Historique de {key}")
    audit.check(page, "history")
    page.goto(f"/assessments/{assessment_id}/results")
    audit.check(page, "results")
    page.goto(f"/assessments/{assessment_id}/actions")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Plan d’action")
    audit.check(page, "action plan")
    page.goto(f"/assessments/{assessment_id}/report")
    audit.check(page, "report options")
    page.goto(f"/assessments/{assessment_id}/report/preview?language=fr")
    expect(page.locator("#summary h2")).to_have_text("Résumé analytique")
    audit.check(page, "report preview")
    page.goto(f"/assessments/{assessment_id}/submit")
    expect(page.get_by_role("button", name="Soumettre pour examen")).to_be_disabled()
    audit.check(page, "submit confirmation, unanswered indicators")
    page.goto("/account/password")
    audit.check(page, "password")
    page.get_by_role("link", name="Votre compte").click()
    expect(page.get_by_label("Langue des pages")).to_be_visible()
    audit.check(page, "account")
    page.goto("/regional")
    audit.check(page, "regional picture")
    page.goto("/assessments/999999")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    audit.check(page, "error 404")

    facilitator = new_context(bypass_csp=True).new_page()
    login_in_french(facilitator, FACILITATOR_FR)
    facilitator.get_by_role("link", name=DEMO_ROUND).click()
    facilitator.get_by_role("link", name="Consulter les réponses").click()
    expect(facilitator.locator(".notice")).to_contain_text("lecture seule")
    audit.check(facilitator, "facilitator, principle read-only")
    facilitator.get_by_role("link", name="Tableau de bord").click()
    expect(facilitator.get_by_role("heading", level=1)).to_be_visible()
    audit.check(facilitator, "facilitator, dashboard")
    facilitator.get_by_role("link", name="Panorama régional", exact=True).click()
    audit.check(facilitator, "facilitator, regional picture")
    facilitator.goto(f"/assessments/{assessment_id}/review")
    audit.check(facilitator, "facilitator, review summary")
    facilitator.goto(f"/assessments/{assessment_id}/review/{first.key}")
    audit.check(facilitator, "facilitator, review of a principle")
    facilitator.goto("/verify")
    audit.check(facilitator, "verify a report")

    admin = new_context(bypass_csp=True).new_page()
    login_in_french(admin, ADMIN_FR)
    admin.get_by_role("link", name="Administration", exact=True).click()
    audit.check(admin, "admin: overview")
    admin.get_by_role("link", name="Administrations", exact=True).click()
    audit.check(admin, "admin: administrations")
    admin.get_by_role("link", name="Demo Customs Administration").click()
    audit.check(admin, "admin: administration")
    admin.get_by_role("button", name="Lancer").click()
    expect(admin.get_by_role("alert")).to_be_visible()
    audit.check(admin, "admin: start an assessment refused (422)")
    admin.goto("/admin/users")
    audit.check(admin, "admin: users")
    admin.goto("/admin/users/new")
    admin.get_by_role("button", name="Créer et inviter").click()
    audit.check(admin, "admin: new user refused (422)")
    admin.goto("/admin/instruments")
    audit.check(admin, "admin: instruments")
    admin.goto("/admin/audit")
    audit.check(admin, "admin: audit log")
    assert not audit.failures, "\n".join(audit.failures)


def french_pages(page: Page):
    """Each main page in French, signing in on the way, yielding its name."""
    page.goto("/login")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.wait_for_load_state("load")  # the new page's stylesheet too, before measuring
    yield "login"
    page.get_by_label("Adresse électronique").fill(RESPONDENT_FR)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/assessments$"))
    page.wait_for_load_state("load")
    yield "list"
    page.get_by_role("link", name=DEMO_ROUND).click()
    expect(page).to_have_url(re.compile(r"/assessments/\d+$"))
    page.wait_for_load_state("load")
    overview = page.url
    yield "overview"
    for principle in INSTRUMENT.principles:
        page.goto(f"{overview}/principles/{principle.key}")
        yield f"principle {principle.key}"
    page.goto(f"{overview}/results")
    expect(page.locator("figure.chart svg:visible")).to_be_visible()
    yield "results"
    page.goto(f"{overview}/actions")
    yield "action plan"
    page.goto(f"{overview}/report")
    yield "report options"
    page.goto(f"{overview}/answers/{INSTRUMENT.indicators[0].key}/history")
    yield "history"
    page.goto(f"{overview}/submit")
    yield "submit confirmation"
    page.goto("/account/password")
    yield "password"
    page.goto("/account")
    yield "account"
    page.goto("/assessments/999999")
    yield "error 404"


def french_reviewer_pages(page: Page):
    """The facilitator's pages in French: the dashboard, the regional picture, the review."""
    login_in_french(page, FACILITATOR_FR)
    page.wait_for_load_state("load")
    page.get_by_role("link", name=DEMO_ROUND).click()
    expect(page).to_have_url(re.compile(r"/assessments/\d+$"))
    overview = page.url
    page.goto("/dashboard")
    yield "dashboard"
    page.goto("/regional")
    yield "regional picture"
    page.goto(f"{overview}/review")
    yield "review summary"
    page.goto(f"{overview}/review/{INSTRUMENT.principles[0].key}")
    yield "review of a principle"


def every_french_page(new_context, **options):
    """The respondent's pages, then the facilitator's, each signed in in a context of its
    own, yielding (page, name)."""
    for pages in (french_pages, french_reviewer_pages):
        page = new_context(**options).new_page()
        for name in pages(page):
            yield page, name


@pytest.mark.parametrize("width", ["reflow-320", "zoom-200", "phone", "desktop"])
def test_french_pages_fit_at_320_px_and_200_percent_zoom(new_context, french_accounts, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for page, name in every_french_page(new_context, **WIDTHS[width]):
        if width in ("desktop", "phone"):
            page.screenshot(path=str(SHOTS / f"fr-{name.replace(' ', '-')}-{width}.png"),
                            full_page=True)
        found = overflow(page)
        if found["scrollWidth"] > found["width"] or found["offenders"]:
            problems.append(f"{name}: {found}")
        small = small_targets(page)
        if small:
            problems.append(f"{name}: targets under 44 px: {small}")
    assert not problems, "\n".join(problems)


LAYOUT_JS = """() => {
  // Boxes that stick out of the viewport on either side, unless a scrolling or clipping
  // ancestor holds them; pieces of text (and form controls) that overlap one another; and
  // radio buttons on the wrong side of their label for the page's direction.
  const width = document.documentElement.clientWidth;
  const clipped = el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox !== 'visible') return true;
    }
    return false;
  };
  // Not seen: visually hidden (a 1 px clipped box, like a card table's header), inside a
  // closed <details>, or invisible.
  const hidden = el => {
    if (el.closest('.skip-link') || !el.checkVisibility({contentVisibilityAuto: true,
        opacityProperty: true, visibilityProperty: true})) return true;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const r = a.getBoundingClientRect();
      if ((r.width <= 1 || r.height <= 1) && getComputedStyle(a).overflow !== 'visible')
        return true;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
  const outside = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || hidden(el)) continue;
    if ((r.left < -1 || r.right > width + 1) && !clipped(el)) outside.push(name(el));
  }
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim() || hidden(node.parentElement)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 1 && r.height > 1) boxes.push({r, what: node.data.trim().slice(0, 30)});
    }
  }
  for (const el of document.querySelectorAll('input[type=radio], input[type=checkbox]')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height) boxes.push({r, what: 'control ' + el.id});
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length && overlaps.length < 10; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      // Lines set close together (the chart's labels) touch; text over text overlaps more.
      if (x > 2 && y > 0.4 * Math.min(a.height, b.height)) {
        overlaps.push(boxes[i].what + ' / ' + boxes[j].what);
        break;
      }
    }
  }
  const rtl = getComputedStyle(document.documentElement).direction === 'rtl';
  const misplaced = [];
  for (const input of document.querySelectorAll('.level input')) {
    const i = input.getBoundingClientRect();
    const l = document.querySelector(`label[for="${input.id}"]`).getBoundingClientRect();
    const atStart = rtl ? i.left > l.left + l.width / 2 : i.right < l.left + l.width / 2;
    if (!atStart) misplaced.push(input.id);
  }
  return {outside: outside.slice(0, 10), overlaps, misplaced: misplaced.slice(0, 10),
          scrollWidth: document.scrollingElement.scrollWidth, width};
}"""


def layout_problems(page: Page) -> list[str]:
    found = page.evaluate(LAYOUT_JS)
    problems = [f"outside the viewport: {found['outside']}"] if found["outside"] else []
    if found["scrollWidth"] > found["width"]:
        problems.append(f"scrolls sideways: {found['scrollWidth']} > {found['width']}")
    if found["overlaps"]:
        problems.append(f"overlapping: {found['overlaps']}")
    if found["misplaced"]:
        problems.append(f"radio buttons not at the start of their label: {found['misplaced']}")
    return problems


@pytest.mark.parametrize("width", ["desktop", "reflow-320"])
def test_pages_laid_out_right_to_left_neither_overflow_nor_overlap(new_context, french_accounts,
                                                                    width):
    """The French pages, turned right to left as an Arabic page would be (dir="rtl"), with
    the same checks left to right first: what passes one way must pass the other."""
    problems = []
    for page, name in every_french_page(new_context, **WIDTHS[width]):
        for direction in ("ltr", "rtl"):
            page.evaluate(f"document.documentElement.dir = '{direction}'")
            assert page.evaluate("getComputedStyle(document.body).direction") == direction
            if width == "desktop" and direction == "rtl":
                page.screenshot(path=str(SHOTS / f"rtl-{name.replace(' ', '-')}.png"),
                                full_page=True)
            problems += [f"{name} ({direction}): {p}" for p in layout_problems(page)]
    assert not problems, "\n".join(problems)


def test_the_layout_check_finds_what_it_looks_for(new_context, french_accounts):
    """Physical CSS, as the stylesheets had before: the radios stay on the left in a
    right-to-left page, and a label pushed onto its neighbour overlaps it."""
    page = new_context(bypass_csp=True, **WIDTHS["desktop"]).new_page()  # to add styles
    pages = french_pages(page)
    while next(pages) != f"principle {INSTRUMENT.principles[0].key}":
        pass
    page.evaluate("document.documentElement.dir = 'rtl'")
    assert layout_problems(page) == []
    page.add_style_tag(content=".level input { inset-inline-start: auto; left: .9rem; }"
                               ".level label { padding-inline: .8rem 2.9rem; }")
    assert any("not at the start" in p for p in layout_problems(page))
    page.add_style_tag(content=".level__descriptor { margin-block-start: -1.6em; }")
    assert any("overlapping" in p for p in layout_problems(page))
    page.add_style_tag(content=".walk__main { margin-inline-end: -400px; }")
    assert any("outside the viewport" in p for p in layout_problems(page))
