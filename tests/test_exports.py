"""The export files opened as their readers open them: CSV (with its byte order mark),
XLSX through openpyxl, JSON; formula-looking text neutralised; the portfolio export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from cbassess.exports import spreadsheet_cell
from tests.report_data import FORMULA, fill


@pytest.fixture
def filled(app, a_id):
    fill(app, a_id)
    return a_id


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+33 1 40", "'+33 1 40"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (3, 3),
    (None, ""), (True, "True"),
])
def test_spreadsheet_cells_that_would_run_as_formulas_are_neutralised(value, expected):
    assert spreadsheet_cell(value) == expected


def test_csv_has_a_bom_one_row_per_indicator_and_neutral_cells(respondent, filled):
    reply = respondent.get(f"/assessments/{filled}/export.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    assert reply.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert len(rows) == 28
    assert list(rows[0]) == ["Principle", "Indicator", "Question", "Level", "Level name",
                             "Score", "Not applicable", "Unsupported claim", "Evidence",
                             "Kind of evidence", "Confidence", "Note", "Saved by",
                             "Saved at (UTC)", "Validated level", "Validated as not applicable",
                             "Review", "Finding"]
    pw2 = next(r for r in rows if r["Indicator"] == "PW.2")
    assert pw2["Evidence"].startswith("'" + FORMULA)
    assert "Stratégie approuvée" in next(r for r in rows if r["Indicator"] == "PW.1")[
        "Evidence"]


def test_xlsx_has_summary_answers_and_plan_sheets_with_frozen_wrapped_headers(respondent,
                                                                           filled):
    reply = respondent.get(f"/assessments/{filled}/export.xlsx")
    assert reply.status_code == 200
    assert reply.mimetype == ("application/vnd.openxmlformats-officedocument"
                              ".spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(reply.data))
    assert workbook.sheetnames == ["Summary", "Answers", "Action plan"]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert summary["Administration"] == "Administration A"
    assert summary["Overall average"] == pytest.approx(2.07, abs=0.01)
    answers = workbook["Answers"]
    assert answers.freeze_panes == "A2"
    header = [c.value for c in answers[1]]
    assert header[:4] == ["Principle", "Indicator", "Question", "Level"]
    assert answers.max_row == 29
    evidence_column = header.index("Evidence") + 1
    pw2 = next(r for r in answers.iter_rows(min_row=2) if r[1].value == "PW.2")
    assert pw2[evidence_column - 1].value.startswith("'=HYPERLINK")
    assert pw2[evidence_column - 1].data_type == "s"  # text, never a formula
    assert pw2[evidence_column - 1].alignment.wrap_text
    plan = workbook["Action plan"]
    assert plan.freeze_panes == "A2"
    plan_header = [c.value for c in plan[1]]
    assert {"Action", "Owner", "Due date", "Priority", "Status", "Overdue"} <= set(plan_header)
    owners = {r[plan_header.index("Owner")] for r in plan.iter_rows(min_row=2,
                                                                     values_only=True)}
    assert {"Strategy unit", "Direction de la stratégie"} <= owners


def test_json_holds_answers_scores_actions_and_histories(respondent, filled):
    body = json.loads(respondent.get(f"/assessments/{filled}/export.json").data)
    assert body["instrument"]["content_hash"]
    assert len(body["answers"]) == 28
    actions = body["actions"]
    assert len(actions) == 25 and sum(a["saved"] for a in actions) == 12
    first = actions[0]
    assert first["indicator_key"] == "PW.1" and first["due_date"] == "2026-01-31"
    assert first["overdue"] is True and first["owner"] == "Strategy unit"
    assert len(body["action_revisions"]) == 12
    assert body["revisions"]


def test_the_portfolio_has_a_row_per_visible_assessment_and_principle_columns(
        app, filled, make_browser):
    admin = make_browser("admin@example.org")
    workbook = load_workbook(io.BytesIO(admin.get("/portfolio/export.xlsx").data))
    sheet = workbook["Portfolio"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "Administration"
    assert "PW Political will" in header and "PA Partnerships" in header
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(r[0] for r in rows) == ["Administration A", "Administration B"]
    a_row = next(r for r in rows if r[0] == "Administration A")
    assert a_row[header.index("PW Political will")] == pytest.approx(1.6)
    facilitator = make_browser("fac-a@example.org")
    reply = facilitator.get("/portfolio/export.csv")
    rows = list(csv.DictReader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert [r["Administration"] for r in rows] == ["Administration A"]
    assert rows[0]["PW Political will"] == "1.6" and rows[0]["Completeness (%)"] == "100.0"
    assert make_browser("resp-a@example.org").get("/portfolio/export.csv").status_code == 403
