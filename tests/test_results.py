"""Results page, PDF report and exports."""

from __future__ import annotations

import csv
import io
import json

from pypdf import PdfReader

from cbassess.report import clear_cache
from tests.conftest import pdf_text


def test_results_page_shows_both_scores_chart_and_table(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=4, evidence="a")
    respondent.autosave(a_id, "PW.2", level=1, evidence="b")
    page = respondent.get(f"/assessments/{a_id}/results")
    assert page.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="radar radar--full"' in page.text
    assert 'role="img"' in page.text
    assert "<caption>Scores by principle (scale 0–4)</caption>" in page.text
    assert "2.50" in page.text      # PW average of 4 and 1
    assert "1+" in page.text        # PW weakest link, others higher
    assert "Self-assessed — not validated" in page.text


def test_results_page_of_an_empty_assessment_has_no_scores(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}/results")
    assert page.status_code == 200
    assert "Not enough rated indicators yet." in page.text


def test_results_list_strongest_and_weakest_indicators(respondent, a_id):
    for key, level in [("PW.1", 4), ("PW.2", 3), ("PW.3", 3), ("OC.1", 0), ("OC.2", 1),
                       ("OC.3", 1)]:
        respondent.autosave(a_id, key, level=level, evidence="e")
    page = respondent.get(f"/assessments/{a_id}/results").text
    strongest = page.split("Strongest indicators")[1].split("Weakest indicators")[0]
    weakest = page.split("Weakest indicators")[1]
    assert all(key in strongest for key in ("PW.1", "PW.2", "PW.3"))
    assert all(key in weakest.split("</ol>")[0] for key in ("OC.1", "OC.2", "OC.3"))


def test_pdf_report_contains_administration_principles_and_evidence(respondent, a_id):
    clear_cache()
    respondent.autosave(a_id, "PW.1", level=3, evidence="Décret n° 2025-114 — ministère")
    respondent.autosave(a_id, "HD.2", level=2, evidence="Таможенный кодекс; دليل الإجراءات")
    response = respondent.get(f"/assessments/{a_id}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    assert "Administration A" in text
    for title in ("Political will", "Ownership and commitment", "Holistic development",
                  "Demand driven and responsive", "Partnerships"):
        assert title in text
    assert "Décret n° 2025-114 — ministère" in text
    assert "Таможенный кодекс" in text
    assert "not validated" in text
    assert "Annex: methodology" in text


def test_pdf_report_is_a4_with_page_numbers(respondent, a_id):
    reader = PdfReader(io.BytesIO(respondent.get(f"/assessments/{a_id}/report.pdf").data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert f"Page 2 of {len(reader.pages)}" in reader.pages[1].extract_text()


def test_pdf_report_escapes_user_text(respondent, a_id):
    clear_cache()
    respondent.autosave(a_id, "PW.1", level=1, evidence="<b>not bold</b> <script>x</script>")
    text = pdf_text(respondent.get(f"/assessments/{a_id}/report.pdf").data)
    assert "<b>not bold</b> <script>x</script>" in text


def test_json_export_holds_answers_and_revisions(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="first", version=0)
    respondent.autosave(a_id, "PW.1", level=2, evidence="second", version=1)
    response = respondent.get(f"/assessments/{a_id}/export.json")
    assert response.status_code == 200
    body = json.loads(response.data)
    assert body["instrument"]["key"] == "wco-cb-core-principles"
    assert len(body["instrument"]["content_hash"]) == 64
    answer = next(a for a in body["answers"] if a["indicator_key"] == "PW.1")
    assert answer["level"] == 2 and answer["evidence"] == "second"
    assert answer["saved_by"] == "resp-a@example.org" and answer["saved_at"]
    assert [r["after"]["evidence"] for r in body["revisions"]] == ["first", "second"]
    assert len(body["answers"]) == 28


def test_csv_export_has_one_row_per_indicator(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=3, evidence="Budget, 74 %\nsecond line",
                        note="=cmd()")
    response = respondent.get(f"/assessments/{a_id}/export.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 28
    row = rows[0]
    assert list(row) == ["Principle", "Indicator", "Question", "Level", "Level name", "Score",
                         "Not applicable", "Unsupported claim", "Evidence", "Kind of evidence",
                         "Confidence", "Note", "Saved by", "Saved at (UTC)", "Validated level",
                         "Validated as not applicable", "Review", "Finding"]
    assert row["Principle"] == "PW"
    assert row["Indicator"] == "PW.1" and row["Level"] == "3" and row["Level name"] == "Established"
    assert row["Evidence"] == "Budget, 74 %\nsecond line"
    assert row["Note"] == "'=cmd()"
    assert row["Saved by"] == "resp-a@example.org"
    assert row["Not applicable"] == "" and rows[1]["Level"] == ""


def test_other_framework_runs_end_to_end_without_code_change(respondent, app, other_instrument):
    created = respondent.post("/assessments", {"round_name": "TF pilot",
                                               "instrument_id": other_instrument})
    new_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = respondent.get(f"/assessments/{new_id}/principles/TF")
    assert page.status_code == 200 and "Basic" in page.text
    assert 'value="na"' not in page.text
    assert respondent.autosave(new_id, "TF.1", level=0, evidence="x").status_code == 422
    assert respondent.autosave(new_id, "TF.1", level="na", evidence="x").status_code == 422
    for key, level in [("TF.1", 4), ("TF.2", 2), ("RM.1", 1), ("BA.1", 3)]:
        assert respondent.autosave(new_id, key, level=level, evidence=f"ev {key}").status_code \
            == 200
    # principle averages 3 (TF), 1 (RM), 3 (BA): overall 7/3
    assert "2.33" in respondent.get(f"/assessments/{new_id}/results").text
    assert respondent.post(f"/assessments/{new_id}/submit").status_code == 303
    text = pdf_text(respondent.get(f"/assessments/{new_id}/report.pdf").data)
    assert "Trade facilitation mini-check" in text and "ev BA.1" in text
