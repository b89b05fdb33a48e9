"""Downloads: no cell a spreadsheet could run, one charset, names in any script, and HEAD
that builds nothing.

The cell rule is tested on its own (exports.spreadsheet_cell, with Hypothesis: whatever the
text, no cell read with any common separator starts with a formula character) and through
the real export.csv.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from werkzeug.http import parse_options_header

from cbassess import report
from cbassess.exports import csv_text, spreadsheet_cell
from cbassess.extensions import db
from cbassess.models import Assessment

FORMULA = tuple("=+-@\uff1d\uff0b\uff0d\uff20")
SEPARATORS = [",", ";", "\t", "|"]
ATTACKS = ["=1+1", "ok;@SUM(1)", "ok,=HYPERLINK(\"http://evil.example\")", "a\t+cmd|' /C calc'!A0",
           "x|=2", "line\n=3", "line\r\n-4+5", "\"quoted\";=6", "'=7", "  =8", "; \u00a0@9",
           "\uff1d10", "\tlead", "\rlead", "plain text, nothing to run"]


def _cells(text: str, separator: str) -> list[str]:
    """How a spreadsheet that ignores quotes would cut the text into cells."""
    return re.split("[" + re.escape(separator) + "\r\n\"]", text)


def _runnable(cell: str) -> bool:
    """A cell a spreadsheet runs, once it has trimmed the blanks some programs trim."""
    return cell.lstrip(" \u00a0\t\r\n").startswith(FORMULA)


@settings(max_examples=300, derandomize=True, database=None)
@given(text=st.one_of(st.text(max_size=40), st.sampled_from(ATTACKS),
                      st.lists(st.sampled_from(["ok", ";", ",", "\t", "|", "\n", " ", "=",
                                                "@", "+", "-", "\"", "'", "\uff20"]),
                               max_size=12).map("".join)))
def test_no_cell_of_a_sanitised_text_can_start_a_formula_whatever_the_separator(text):
    safe = spreadsheet_cell(text)
    assert safe.replace("'", "") == text.replace("'", "")  # only apostrophes are added
    assert not safe.startswith(("\t", "\r", "\n"))
    for separator in SEPARATORS:
        runnable = [c for c in _cells(safe, separator) if _runnable(c)]
        assert runnable == [], (text, separator)


def test_numbers_stay_numbers_and_text_keeps_its_paragraphs():
    assert spreadsheet_cell(3) == 3 and spreadsheet_cell(-1) == -1
    assert spreadsheet_cell(None) == ""
    assert spreadsheet_cell("Para one.\n\nPara two.") == "Para one.\n\nPara two."


def test_csv_text_quotes_every_cell_and_starts_with_a_bom():
    text = csv_text(["a", "b"], [{"a": "x", "b": 2}, {"a": None, "b": "ok;@SUM(1)"}])
    assert text.startswith("\ufeff")
    assert text[1:].split("\r\n")[:3] == ['"a","b"', '"x","2"', '"","ok;\'@SUM(1)"']


@pytest.fixture
def attacked(respondent, a_id):
    for n, attack in enumerate(ATTACKS[:5], start=1):
        response = respondent.autosave(a_id, f"PW.{n}", level=2, evidence=attack,
                                       note=f"note;{attack}")
        assert response.status_code == 200
    return respondent


@pytest.mark.parametrize("separator", SEPARATORS)
def test_the_csv_export_has_no_runnable_cell_however_it_is_opened(attacked, a_id, separator):
    response = attacked.get(f"/assessments/{a_id}/export.csv")
    assert response.status_code == 200
    text = response.data.decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
        assert [c for c in row if _runnable(c)] == []
    for line in text.split("\r\n"):
        assert [c for c in _cells(line, separator) if _runnable(c)] == []


def test_every_csv_cell_is_quoted_and_reads_back(attacked, a_id):
    text = attacked.get(f"/assessments/{a_id}/export.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    records = re.findall(r'(?:^|,)("(?:[^"]|"")*"|[^,\r\n]*)', text.split("\r\n")[0])
    assert all(r.startswith('"') for r in records)
    evidence = rows[0].index("Evidence")
    by_key = {row[1]: row for row in rows[1:]}
    assert by_key["PW.2"][evidence] == "ok;'@SUM(1)"
    assert by_key["PW.1"][evidence] == "'=1+1"


def test_the_csv_content_type_names_its_charset_once(respondent, a_id):
    response = respondent.get(f"/assessments/{a_id}/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_every_response_names_at_most_one_charset(respondent, a_id):
    for path in ("/assessments", f"/assessments/{a_id}/export.csv",
                 f"/assessments/{a_id}/export.json", f"/assessments/{a_id}/report.pdf",
                 "/healthz", "/static/app.css"):
        content_type = respondent.get(path).headers["Content-Type"]
        assert content_type.lower().count("charset") <= 1, (path, content_type)


def _download_name(header: str) -> tuple[str, str]:
    """(the name a client that reads filename* sees, the plain filename)."""
    plain = re.search(r'(?:^|;)\s*filename="([^"]*)"', header).group(1)
    return parse_options_header(header)[1]["filename"], plain


@pytest.mark.parametrize("suffix", ["report.pdf", "export.csv", "export.json"])
def test_download_names_keep_a_round_name_in_any_script(app, respondent, a_id, suffix):
    with app.app_context():
        db.session.get(Assessment, a_id).round_name = "Évaluation 2026 — 海关 \u202e"
        db.session.commit()
    header = respondent.get(f"/assessments/{a_id}/{suffix}").headers["Content-Disposition"]
    extension = suffix.rsplit(".", 1)[1]
    utf8_name, ascii_name = _download_name(header)
    assert utf8_name == f"cbassess-AA-Évaluation 2026 — 海关.{extension}"
    assert ascii_name == f"cbassess-AA-Evaluation-2026.{extension}"
    assert header.isascii() and "\u202e" not in utf8_name


def test_head_on_the_report_renders_no_pdf(respondent, a_id):
    report.clear_cache()
    response = respondent.client.head(f"/assessments/{a_id}/report.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "filename*=" in response.headers["Content-Disposition"]
    assert len(report._cache) == 0  # a render always fills the cache
    assert respondent.get(f"/assessments/{a_id}/report.pdf").data.startswith(b"%PDF-")
    assert len(report._cache) == 1


@pytest.mark.parametrize("suffix", ["export.csv", "export.json", "report.pdf"])
def test_head_on_a_download_reads_nothing_but_the_assessment(app, respondent, a_id, suffix):
    respondent.autosave(a_id, "PW.1", level=2, evidence="history to export")
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        head = respondent.client.head(f"/assessments/{a_id}/{suffix}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert head.status_code == 200
    assert not [s for s in statements if re.search(r"\b(answers|answer_revisions)\b", s)]
    assert len(statements) <= 2  # the signed-in user and the assessment
