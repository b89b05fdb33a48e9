"""Claims and their evidence, the optional answer fields, the instrument's wording, the
default instrument and where "Continue the assessment" leads: over real HTTP.

The shipped instrument asks for evidence from level 2 and offers kind of evidence and
confidence.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from cbassess.claims import has_evidence, is_unsupported
from cbassess.cli import import_instrument
from cbassess.instrument import load_path, shipped_paths
from cbassess.scoring import AnswerValue, score
from tests.conftest import DATA, pdf_text

SHIPPED = load_path(shipped_paths()[0])


class Stored:
    """An answer as the rule reads it."""

    def __init__(self, level=None, evidence="", not_applicable=False):
        self.level, self.evidence, self.not_applicable = level, evidence, not_applicable


@pytest.mark.parametrize("level,evidence,unsupported", [
    (4, "", True), (2, "   \n", True), (2, "Plan 2026", False), (1, "", False),
    (0, "", False), (None, "", False)])
def test_a_claim_from_the_threshold_up_needs_evidence(level, evidence, unsupported):
    indicator = SHIPPED.indicator("PW.1")
    assert indicator.evidence_required_from == 2
    assert is_unsupported(indicator, Stored(level, evidence)) is unsupported


def test_not_applicable_and_missing_answers_are_never_unsupported():
    indicator = SHIPPED.indicator("PW.1")
    assert not is_unsupported(indicator, Stored(None, "Reason", not_applicable=True))
    assert not is_unsupported(indicator, None)
    assert not has_evidence(None) and has_evidence(Stored(2, "x"))


def test_an_attached_file_is_evidence():
    indicator = SHIPPED.indicator("PW.1")
    assert is_unsupported(indicator, Stored(3, ""), has_files=False)
    assert not is_unsupported(indicator, Stored(3, ""), has_files=True)
    assert has_evidence(None, has_files=True)


def test_an_unsupported_claim_is_never_a_strength_and_is_counted_per_principle():
    values = {i.key: AnswerValue(level=1) for i in SHIPPED.indicators}
    values["PW.1"] = AnswerValue(level=4, unsupported=True)
    values["PW.2"] = AnswerValue(level=4)
    scores = score(SHIPPED, values)
    assert [i.key for i in scores.unsupported] == ["PW.1"]
    assert scores.principle("PW").unsupported == 1
    assert scores.principle("OC").unsupported == 0
    assert "PW.1" not in [i.key for i in scores.strongest]
    assert [i.key for i in scores.strongest][0] == "PW.2"
    # It still counts, as claimed, in the scores.
    assert scores.principle("PW").average == pytest.approx((4 + 4 + 1 * 3) / 5)


def test_autosave_marks_a_claim_without_evidence_and_clears_the_mark_with_evidence(
        respondent, a_id):
    reply = respondent.autosave(a_id, "PW.1", level=3)
    assert reply.status_code == 200
    assert "Unsupported" in reply.text and "Level 3 is claimed with no evidence" in reply.text
    assert 'id="claim-PW-1" class="claim" hx-swap-oob="true"' in reply.text
    reply = respondent.autosave(a_id, "PW.1", level=3, evidence="Minutes of 3 May",
                                version=1)
    assert reply.status_code == 200
    assert "Unsupported" not in reply.text
    assert 'id="claim-PW-1" class="claim" hx-swap-oob="true"></p>' in reply.text


def test_a_file_supports_a_claim_on_the_page_the_submit_page_and_the_review(
        respondent, make_browser, a_id):
    """Attaching a file clears the mark in place (out of band), the page, the overview and
    the submit confirmation stop listing it; removing the file brings the mark back; the
    facilitator's review page shows the mark beside the claim."""
    respondent.autosave(a_id, "PW.1", level=3)
    respondent.autosave(a_id, "PW.2", level=4)
    confirm = respondent.get(f"/assessments/{a_id}/submit").text
    listed = confirm.split('id="unsupported-claims"')[1].split("</section>")[0]
    assert re.findall(r">(\w+\.\d)</a>", listed) == ["PW.1", "PW.2"]
    assert "2 levels need evidence and have none (no text, no file)." in listed
    reply = respondent.post(f"/assessments/{a_id}/answers/PW.1/files",
                            {"files": [(io.BytesIO(b"Minutes, 3 May\n"), "minutes.txt")]},
                            htmx=True, content_type="multipart/form-data")
    assert reply.status_code == 200, reply.text
    assert 'id="claim-PW-1" class="claim" hx-swap-oob="true"></p>' in reply.text
    page = respondent.get(f"/assessments/{a_id}/principles/PW").text
    assert '<p id="claim-PW-1" class="claim"></p>' in page
    assert 'id="claim-PW-2" class="claim"><span class="flag flag--unsupported">' in page
    confirm = respondent.get(f"/assessments/{a_id}/submit").text
    listed = confirm.split('id="unsupported-claims"')[1].split("</section>")[0]
    assert re.findall(r">(\w+\.\d)</a>", listed) == ["PW.2"]
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json").text)
    assert body["scores"]["unsupported_claims"] == ["PW.2"]
    file_id = int(re.search(r"/files/(\d+)/remove", page).group(1))
    reply = respondent.post(f"/assessments/{a_id}/files/{file_id}/remove", htmx=True)
    assert reply.status_code == 200
    assert ('id="claim-PW-1" class="claim" hx-swap-oob="true"><span class="flag '
            'flag--unsupported">') in reply.text
    respondent.autosave(a_id, "PW.1", level=3, evidence="Minutes", version=1)
    for indicator in SHIPPED.indicators:
        if indicator.key not in ("PW.1", "PW.2"):
            respondent.autosave(a_id, indicator.key, level=0)
    assert respondent.post(f"/assessments/{a_id}/submit").status_code == 303
    facilitator = make_browser("fac-a@example.org")
    review = facilitator.get(f"/assessments/{a_id}/review/PW").text
    claimed = {key: review.split(f'id="claimed-{key}"')[1].split("</section>")[0]
               for key in ("PW-1", "PW-2")}
    assert "flag--unsupported" in claimed["PW-2"] and "flag--unsupported" not in claimed["PW-1"]


def test_the_overview_counts_and_lists_unsupported_claims(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=4)
    respondent.autosave(a_id, "OC.2", level=2)
    respondent.autosave(a_id, "OC.3", level=1)
    page = respondent.get(f"/assessments/{a_id}").text
    listed = page.split('id="unsupported-claims"')[1].split("</section>")[0]
    assert "2 levels need evidence and have none (no text, no file)." in page
    assert re.findall(r">(\w+\.\d)</a>", listed) == ["PW.1", "OC.2"]
    assert page.split("<tfoot>")[1].split('data-label="Unsupported claims">')[1].startswith(
        "2<")


def test_results_pdf_and_exports_flag_unsupported_claims(respondent, a_id):
    for key, level in [("PW.1", 4), ("PW.2", 4), ("PW.3", 1), ("OC.1", 1), ("OC.2", 0),
                       ("OC.3", 0)]:
        respondent.autosave(a_id, key, level=level, evidence="" if key == "PW.1" else "e")
    page = respondent.get(f"/assessments/{a_id}/results").text
    strongest = page.split("Strongest indicators")[1].split("Weakest indicators")[0]
    assert "PW.1" not in strongest and "PW.2" in strongest
    unsupported = page.split('id="unsupported"')[1].split("</section>")[0]
    assert "PW.1" in unsupported and "PW.2" not in unsupported
    text = pdf_text(respondent.get(f"/assessments/{a_id}/report.pdf").data)
    assert text.count("This level needs evidence and none was given (no text, no file).") == 1
    assert "1 Unsupported claims" in text or "Unsupported claims" in text
    rows = {r["Indicator"]: r for r in csv.DictReader(io.StringIO(
        respondent.get(f"/assessments/{a_id}/export.csv").text.lstrip("\ufeff")))}
    assert rows["PW.1"]["Unsupported claim"] == "yes"
    assert rows["PW.2"]["Unsupported claim"] == ""
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json").text)
    assert body["scores"]["unsupported_claims"] == ["PW.1"]


def test_kind_of_evidence_and_confidence_are_stored_shown_and_exported(respondent, a_id):
    reply = respondent.post(f"/assessments/{a_id}/answers/PW.1", {
        "PW.1-level": "3", "PW.1-evidence": "Decree 12/2025",
        "PW.1-evidence_kind": "documentary", "PW.1-confidence": "medium"}, htmx=True)
    assert reply.status_code == 200
    page = respondent.get(f"/assessments/{a_id}/principles/PW").text
    assert '<option value="documentary" selected>' in page
    assert '<option value="medium" selected>' in page
    results = respondent.get(f"/assessments/{a_id}/results").text
    assert "Medium 1" in results  # confidence summarised per principle
    text = pdf_text(respondent.get(f"/assessments/{a_id}/report.pdf").data)
    assert "Kind of evidence: Documentary · Confidence: Medium" in text
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json").text)
    answer = next(a for a in body["answers"] if a["indicator_key"] == "PW.1")
    assert (answer["evidence_kind"], answer["confidence"]) == ("documentary", "medium")
    assert body["scores"]["principles"][0]["confidence"] == {"medium": 1}
    history = body["revisions"][-1]["after"]
    assert (history["evidence_kind"], history["confidence"]) == ("documentary", "medium")


@pytest.mark.parametrize("field,value", [("confidence", "certain"),
                                         ("evidence_kind", "rumour")])
def test_an_unknown_optional_value_is_refused_and_nothing_is_saved(respondent, a_id, field,
                                                                   value):
    reply = respondent.post(f"/assessments/{a_id}/answers/PW.1", {
        "PW.1-level": "1", f"PW.1-{field}": value}, htmx=True)
    assert reply.status_code == 422
    assert reply.headers["X-Field-Error"] == field
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json").text)
    assert body["revisions"] == []


def test_an_instrument_that_does_not_ask_for_confidence_refuses_it(respondent,
                                                                   other_instrument):
    created = respondent.post("/assessments", {"round_name": "TF round",
                                               "instrument_id": other_instrument})
    assessment = int(created.headers["Location"].rsplit("/", 1)[1])
    reply = respondent.post(f"/assessments/{assessment}/answers/TF.1", {
        "TF.1-level": "2", "TF.1-confidence": "high"}, htmx=True)
    assert reply.status_code == 422
    assert "This instrument does not ask for this field." in reply.text
    page = respondent.get(f"/assessments/{assessment}/principles/TF").text
    assert "TF.1-confidence" not in page


def test_guidance_lists_are_rendered_as_lists_and_escaped(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}/principles/PW").text
    guidance = page.split('class="guidance"')[1].split("</div>")[0]
    assert "<p>" in guidance
    assert "From level 2 (Developing) up, a level needs evidence" in page


def test_the_default_instrument_is_a_setting_not_the_first_alphabetically(
        respondent, other_instrument, app):
    page = respondent.get("/assessments").text
    options = re.findall(r'<option value="(\d*)"( selected)?', page)
    selected = [value for value, chosen in options if chosen]
    assert len(selected) == 1 and int(selected[0]) != other_instrument
    app.config["DEFAULT_INSTRUMENT"] = "trade-facilitation-mini"
    page = respondent.get("/assessments").text
    options = re.findall(r'<option value="(\d*)"( selected)?', page)
    assert [int(v) for v, chosen in options if chosen] == [other_instrument]
    app.config["DEFAULT_INSTRUMENT"] = "no-such-instrument"
    page = respondent.get("/assessments").text
    assert '<option value="" selected disabled>Choose an instrument</option>' in page


def test_wording_comes_from_the_installation_and_the_instrument(client, app, respondent,
                                                                 a_id):
    login = client.get("/login").text
    assert "against the five WCO core principles" in login
    app.config["WORDING"] = {"sign_in_lead": {"en": "Review the agency's maturity."},
                             "footer": "Maturity reviews for border agencies."}
    login = client.get("/login").text
    assert "Review the agency&#39;s maturity." in login
    assert "WCO" not in login.split("<main")[1]
    assert "Maturity reviews for border agencies." in login


def test_an_instruments_wording_is_shown_in_french_where_it_offers_french(app, respondent):
    """The fifteen-principle fixture words its tagline and report kicker in English and
    French, its footer in English only: a French reader gets the French, else the English."""
    with app.app_context():
        row, _ = import_instrument(DATA / "maturity-framework.yaml")
        instrument_id = row.id
    created = respondent.post("/assessments", {"round_name": "Maturity round",
                                               "instrument_id": instrument_id})
    overview = f"/assessments/{created.headers['Location'].rsplit('/', 1)[1]}"
    french = respondent.client.get(overview, headers={"Accept-Language": "fr"}).text
    assert '<span class="brand__tagline">Revue de maturité des agences frontalières</span>' \
        in french
    assert "<p>Built on the border agency maturity framework.</p>" in french
    english = respondent.client.get(overview, headers={"Accept-Language": "en"}).text
    assert '<span class="brand__tagline">Border agency maturity review</span>' in english
    report = pdf_text(respondent.get(f"{overview}/report.pdf?lang=fr").data)
    assert "REVUE DE MATURITÉ" in report.upper() and "WCO" not in report


def test_continue_leads_to_the_first_unanswered_indicator(respondent, a_id):
    for indicator in SHIPPED.principles[0].indicators:
        respondent.autosave(a_id, indicator.key, level=0)
    respondent.autosave(a_id, "OC.1", level=0)
    page = respondent.get(f"/assessments/{a_id}").text
    link = re.search(r'href="([^"]+)">Continue the assessment', page).group(1)
    assert link.endswith("/principles/OC#ind-OC-2")


def test_the_workbook_and_the_action_plan_carry_the_claims_and_answer_fields(respondent,
                                                                              a_id):
    from openpyxl import load_workbook
    respondent.post(f"/assessments/{a_id}/answers/PW.1", {
        "PW.1-level": "3", "PW.1-evidence": "", "PW.1-evidence_kind": "interview",
        "PW.1-confidence": "low"}, htmx=True)
    respondent.autosave(a_id, "PW.2", level=1, evidence="Minutes")
    workbook = load_workbook(io.BytesIO(respondent.get(f"/assessments/{a_id}/export.xlsx").data))
    sheet = workbook["Answers"]
    header = [c.value for c in sheet[1]]
    for heading in ("Score", "Unsupported claim", "Kind of evidence", "Confidence"):
        assert heading in header
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1] == "PW.1")
    cell = dict(zip(header, row, strict=True))
    assert (cell["Level"], cell["Score"], cell["Unsupported claim"]) == (3, 3, "yes")
    assert (cell["Kind of evidence"], cell["Confidence"]) == ("Interview", "Low")
    summary = dict(workbook["Summary"].iter_rows(values_only=True))
    assert summary["Unsupported claims"] == 1
    plan = respondent.get(f"/assessments/{a_id}/actions").text
    card = plan.split('id="action-PW.1"')[1].split("</article>")[0]
    assert "flag--unsupported" in card
    assert "flag--unsupported" not in plan.split('id="action-PW.2"')[1].split("</article>")[0]
