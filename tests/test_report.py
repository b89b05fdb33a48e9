"""The PDF report read back: contents and bookmarks, every indicator, the action plan, the
tag tree (PDF/UA), the scripts it must render, the options, the cache, the preview and the
layout rules measured page by page on a realistic assessment. Pictures of pages go to
test-artifacts/report/ to be looked at."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint.formatting_structure import boxes

from cbassess import report
from cbassess.extensions import db
from cbassess.models import Assessment
from cbassess.permissions import instrument_of
from cbassess.report import ReportOptions, render_document
from tests.conftest import pdf_text
from tests.report_data import SCRIPTS, fill

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "report"


@pytest.fixture
def filled(app, a_id):
    fill(app, a_id)
    return a_id


def get_pdf(browser, a_id, **options) -> bytes:
    reply = browser.get(f"/assessments/{a_id}/report.pdf", query_string=options)
    assert reply.status_code == 200 and reply.mimetype == "application/pdf", reply.text[:500]
    return reply.data


def outline_titles(reader: PdfReader) -> list[tuple[int, str]]:
    """(depth, title) of every bookmark, in order."""
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title))
    walk(reader.outline, 1)
    return found


def structure(reader: PdfReader) -> tuple[Counter, list[str]]:
    """The structure tree's roles counted, and the text alternatives of its figures."""
    roles: Counter = Counter()
    alternatives: list[str] = []

    def walk(node):
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif hasattr(node, "keys"):
            if "/S" in node:
                roles[str(node["/S"])] += 1
                if node["/S"] == "/Figure":
                    alternatives.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])
    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return roles, alternatives


def test_the_full_report_holds_contents_bookmarks_every_indicator_and_the_plan(
        app, respondent, filled):
    data = get_pdf(respondent, filled)
    reader = PdfReader(io.BytesIO(data))
    text = pdf_text(data)
    with app.app_context():
        instrument = instrument_of(db.session.get(Assessment, filled))
        indicators = instrument.indicators
        principles = [p.title.get("en") for p in instrument.principles]
    contents = reader.pages[1].extract_text()
    for entry in ("Contents", "Executive summary", "Findings by principle", "Action plan",
                  "Annex: methodology", *principles):
        assert entry in contents
    # Each contents line ends with its page number, the page where the chapter starts.
    numbers = dict(re.findall(r"(Action plan|Annex: methodology)\s*\.*\s*(\d+)", contents))
    for title, page in numbers.items():
        assert title in reader.pages[int(page) - 1].extract_text()
    bookmarks = outline_titles(reader)
    assert [t for d, t in bookmarks if d == 1] == [
        "Contents", "Executive summary", "Findings by principle", "Action plan",
        "Annex: methodology"]
    assert [t for d, t in bookmarks if d == 2] == [f"{n}. {t}" for n, t in
                                                   enumerate(principles, start=1)]
    assert [t.split()[0] for d, t in bookmarks if d == 3] == [i.key for i in indicators]
    flat = "".join(text.split())  # lines may break anywhere, at a hyphen too
    for indicator in indicators:
        assert "".join(indicator.question.get("en").split()) in flat, indicator.key
    assert "Strategyunit" in flat and "Directiondelastratégie" in flat  # the plan's owners
    assert "OVERDUE" in text  # the overdue action, marked
    assert "Level1·Initial" in flat
    assert "Internalnote" not in flat  # respondents' notes only on request
    assert re.search(r"Page 3 of \d+", text) and "Administration A" in reader.pages[4]\
        .extract_text()


@pytest.mark.database_independent
def test_the_pdf_is_tagged_with_title_language_and_chart_alternatives(respondent, filled):
    reader = PdfReader(io.BytesIO(get_pdf(respondent, filled)))
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert catalog["/MarkInfo"]["/Marked"] == True  # noqa: E712  (a PDF boolean object)
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    assert reader.metadata.title == ("Capacity-building readiness report: Administration A — "
                                     "2026 round")
    assert b"pdfuaid:part" in catalog["/Metadata"].get_object().get_data()
    roles, alternatives = structure(reader)
    for role in ("/Document", "/H1", "/H2", "/H3", "/P", "/Table", "/TH", "/TD", "/Caption",
                 "/Figure", "/L", "/LI", "/Art", "/Sect"):
        assert roles[role] > 0, role
    assert len(alternatives) == 2
    assert alternatives[0].startswith("Radar chart of the average score per principle")
    assert alternatives[1].startswith("Bar chart of the average score per principle")
    assert "Political will 1.60" in alternatives[0]  # the figures, not just a title


@pytest.mark.database_independent
def test_every_script_is_rendered_and_read_back(respondent, filled):
    data = get_pdf(respondent, filled)
    text = pdf_text(data)
    squashed = "".join(text.split())
    for key, sample in SCRIPTS.items():
        if key == "PW.2":  # Arabic: shaped (joined) glyphs read back as presentation forms
            continue
        assert "".join(sample.split()) in squashed, key
    import unicodedata
    arabic = unicodedata.normalize("NFKC", text)
    for word in ("المصادقة", "الجمركي", "الوزراء"):
        assert word in arabic, word
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    assert any("Arabic" in f for f in fonts) and any("CJK" in f for f in fonts), fonts


@pytest.mark.database_independent
def test_options_choose_the_contents(respondent, filled):
    summary = pdf_text(get_pdf(respondent, filled, scope="summary"))
    assert "Executive summary" in summary and "Action plan" in summary
    assert "Findings by principle" not in summary and "Annex: methodology" not in summary
    with_notes = pdf_text(get_pdf(respondent, filled, notes="1"))
    assert "InternalnotePW.1:checkwiththelegalunit." in "".join(with_notes.split())
    without_evidence = pdf_text(get_pdf(respondent, filled, evidence="0"))
    assert "EVIDENCE" not in without_evidence and "steering committee minutes" not in \
        without_evidence
    assert "HYPERLINK" not in without_evidence
    assert "HYPERLINK" in pdf_text(get_pdf(respondent, filled))
    french = PdfReader(io.BytesIO(get_pdf(respondent, filled, language="fr")))
    assert french.trailer["/Root"]["/Lang"] == "fr"
    assert "Volonté politique" in french.pages[1].extract_text()


def test_an_unchanged_report_comes_from_the_cache_and_any_change_renders_anew(
        respondent, filled):
    report.clear_cache()
    before = report.cache_counts()
    first = get_pdf(respondent, filled)
    second = get_pdf(respondent, filled)
    after = report.cache_counts()
    assert first == second
    assert after["renders"] - before["renders"] == 1 and after["hits"] - before["hits"] == 1
    get_pdf(respondent, filled, notes="1")  # another option: another report
    respondent.post(f"/assessments/{filled}/actions/PW.1", {
        "description": "A changed action", "status": "done", "version": "1"}, htmx=True)
    changed = get_pdf(respondent, filled)
    assert report.cache_counts()["renders"] - before["renders"] == 3
    assert "Achangedaction" in "".join(pdf_text(changed).split())


def test_the_download_button_prepares_the_pdf_and_a_failure_reads_as_a_sentence(
        respondent, filled, monkeypatch):
    page = respondent.get(f"/assessments/{filled}/report")
    assert page.status_code == 200 and 'hx-indicator="#report-making"' in page.text
    ready = respondent.get(f"/assessments/{filled}/report/prepare?scope=full&evidence=1"
                           "&notes=0&language=en", htmx=True)
    assert ready.status_code == 200 and "The PDF is ready" in ready.text
    assert f"/assessments/{filled}/report.pdf?scope=full" in ready.text

    def broken(*args, **kwargs):
        raise RuntimeError("layout failed")
    monkeypatch.setattr("cbassess.results.render_pdf", broken)
    failed = respondent.get(f"/assessments/{filled}/report/prepare", htmx=True)
    assert failed.status_code == 500 and "The PDF could not be made" in failed.text
    plain = respondent.get(f"/assessments/{filled}/report.pdf")
    assert plain.status_code == 500 and plain.mimetype == "text/html"
    assert "The PDF report could not be made" in plain.text


def test_the_preview_is_the_same_report_in_the_browser(respondent, filled):
    preview = respondent.get(f"/assessments/{filled}/report/preview?notes=1")
    assert preview.status_code == 200
    # The print stylesheet under its content-hashed name, served like every static file.
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/report\.[0-9a-f]{12}\.css)">',
                           preview.text)
    assert stylesheet
    served = respondent.get(stylesheet.group(1))
    assert served.status_code == 200 and b"@page" in served.data
    for part in ('id="summary"', 'id="principle-PW"', 'id="action_plan"', 'id="methodology"',
                 "Internal note PW.1", "Direction de la stratégie"):
        assert part in preview.text


# ---------------------------------------------------------------------------- the layout


def _lines(box, ancestors=()):
    """Every line and replaced box laid out on a page, with the elements it sits in."""
    if isinstance(box, boxes.MarginBox):
        return
    element = getattr(box, "element", None)
    tags = ancestors
    if element is not None and (not ancestors or ancestors[-1][0] is not element):
        tags = (*ancestors, (element, element.tag, element.get("class") or ""))
    if isinstance(box, boxes.LineBox | boxes.ReplacedBox):
        yield box, tags
        return
    for child in getattr(box, "children", ()):
        yield from _lines(child, tags)


def _opens_chapter(tags) -> bool:
    """A line of a chapter's own title: an h2 right inside the cover, the contents or a
    chapter (a principle's title is not one: principles follow one another)."""
    names = [(tag, cls.split()) for _, tag, cls in tags]
    return any(tag == "h2" and index and ({"chapter", "contents", "principles"}
                                          & set(names[index - 1][1]))
               for index, (tag, _) in enumerate(names))


def measure_pages(html: str, static_folder: str) -> list[dict]:
    """For each page: how full it is (0–1 of the content height), whether a chapter (which
    starts on a new page) opens on it, and what the last line on it belongs to."""
    pages = []
    for page in render_document(html, static_folder).pages:
        root = page._page_box
        top, height = root.content_box_y(), root.height
        lines = list(_lines(root))
        bottom = max(box.position_y + box.margin_height() for box, _ in lines)
        last_box, last_tags = max(lines, key=lambda pair: pair[0].position_y)
        pages.append({
            "fill": (bottom - top) / height,
            "chapter_title": any(_opens_chapter(tags) for _, tags in lines),
            "last": [(tag, cls) for _, tag, cls in last_tags],
        })
    return pages


def _report_html(app, a_id, **options) -> str:
    from cbassess.results import _report_html
    with app.test_request_context():
        assessment = db.session.get(Assessment, a_id)
        return _report_html(assessment, ReportOptions(**options))


@pytest.mark.database_independent
def test_no_page_is_left_mostly_blank_and_no_heading_or_caption_ends_a_page(app, filled):
    pages = measure_pages(_report_html(app, filled), app.static_folder)
    assert len(pages) > 12
    problems = []
    for number, page in enumerate(pages, start=1):
        last_tags = [tag for tag, _ in page["last"]]
        last_classes = " ".join(cls for _, cls in page["last"])
        if any(tag in ("h1", "h2", "h3", "h4", "caption") for tag in last_tags) \
                or "answer__head" in last_classes:
            problems.append(f"page {number} ends with {page['last'][-1]}")
        # A page that a chapter continues from must not be mostly blank (under half full):
        # only a chapter's end (the next page opens a chapter) may be short.
        follows = pages[number] if number < len(pages) else None
        if follows is not None and not follows["chapter_title"] and page["fill"] < 0.5:
            problems.append(f"page {number} is {page['fill']:.0%} full")
    assert problems == []


@pytest.mark.database_independent
def test_pictures_of_report_pages_for_reading(respondent, filled):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "full-report.pdf"
    pdf.write_bytes(get_pdf(respondent, filled))
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / "page")],
                   check=True)
    pictures = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pictures) == len(PdfReader(str(pdf)).pages)
    assert all(p.stat().st_size > 5_000 for p in pictures)


@pytest.mark.database_independent
def test_a_very_long_action_breaks_across_pages_losing_nothing(app, respondent, filled):
    note = " ".join(f"word{i:04d}" for i in range(440))  # the 4,000-character limit
    description = " ".join(f"step{i:04d}" for i in range(220))
    assert respondent.post(f"/assessments/{filled}/actions/PW.2", {
        "description": description, "progress_note": note, "status": "in_progress",
        "version": "1"}, htmx=True).status_code == 200
    text = "".join(pdf_text(get_pdf(respondent, filled)).split())
    assert [i for i in range(440) if f"word{i:04d}" not in text] == []
    assert [i for i in range(220) if f"step{i:04d}" not in text] == []
    pages = measure_pages(_report_html(app, filled), app.static_folder)
    short = [n for n, page in enumerate(pages[:-1], start=1)
             if not pages[n]["chapter_title"] and page["fill"] < 0.5]
    assert short == []
