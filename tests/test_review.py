"""The review loop over real HTTP: submit (with its confirmation page), withdraw, review with
autosave, versions and conflicts, query threads, return, resubmit, validate, reopen; each
transition in both directions, each refusal a 409 (422 for bad input) with its reason, and
every step on record."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from cbassess.extensions import db
from cbassess.models import (
    Answer,
    Assessment,
    AssessmentEvent,
    AuditEntry,
    Organisation,
    QueryMessage,
    QueryThread,
    Review,
    ReviewRevision,
    SignOffSnapshot,
    User,
)
from cbassess.permissions import instrument_of


def keys_of(app, a_id: int) -> list[str]:
    with app.app_context():
        return [i.key for i in instrument_of(db.session.get(Assessment, a_id)).indicators]


def complete(respondent, app, a_id: int) -> None:
    for n, key in enumerate(keys_of(app, a_id)):
        assert respondent.autosave(a_id, key, level=n % 5, evidence=f"ev {key}").status_code == 200


def round_of(app, a_id: int) -> str:
    with app.app_context():
        return db.session.get(Assessment, a_id).round_name


def status_of(app, a_id: int) -> str:
    with app.app_context():
        return db.session.get(Assessment, a_id).status


def events_of(app, a_id: int) -> list[tuple]:
    with app.app_context():
        return [(e.action, e.from_status, e.to_status, e.actor.email if e.actor else None,
                 e.message) for e in db.session.scalars(
            select(AssessmentEvent).where(AssessmentEvent.assessment_id == a_id)
            .order_by(AssessmentEvent.id))]


def review_form(key: str, level="2", state="accepted", finding="", version=None) -> dict:
    data = {f"{key}-review-level": str(level), f"{key}-state": state, f"{key}-finding": finding}
    if version is not None:
        data[f"{key}-review-version"] = str(version)
    return data


def save_review(browser, a_id, key, htmx=True, **values):
    return browser.post(f"/assessments/{a_id}/reviews/{key}", review_form(key, **values),
                        htmx=htmx)


def open_query(browser, a_id, key, message, htmx=True):
    return browser.post(f"/assessments/{a_id}/queries",
                        {"indicator_key": key, "message": message}, htmx=htmx)


def thread_ids(app, a_id) -> dict[str, int]:
    with app.app_context():
        return {t.indicator_key: t.id for t in db.session.scalars(
            select(QueryThread).where(QueryThread.assessment_id == a_id))}


@pytest.fixture
def facilitator(make_browser):
    return make_browser("fac-a@example.org")


@pytest.fixture
def admin(make_browser):
    return make_browser("admin@example.org")


@pytest.fixture
def second_facilitator(app, make_browser):
    """Another facilitator assigned to Administration A."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "fac-none@example.org"))
        user.assigned_organisations.append(db.session.scalar(
            select(Organisation).where(Organisation.name == "Administration A")))
        db.session.commit()
    return make_browser("fac-none@example.org")


@pytest.fixture
def submitted(respondent, app, a_id):
    complete(respondent, app, a_id)
    assert respondent.post(f"/assessments/{a_id}/submit",
                           {"message": "Ready for review"}).status_code == 303
    return a_id


def accept_all(facilitator, app, a_id) -> None:
    for key in keys_of(app, a_id):
        assert save_review(facilitator, a_id, key, level="1").status_code == 200


# Submitting ---------------------------------------------------------------------------------

def test_the_confirmation_page_names_the_unanswered_the_unevidenced_and_the_reviewer(
        respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=3, evidence="")
    respondent.autosave(a_id, "PW.2", level=2, evidence="Decree 12/2025")
    page = respondent.get(f"/assessments/{a_id}/submit")
    assert page.status_code == 200
    assert "Fac A" in page.text  # who will review it
    unanswered = page.text.split('id="missing-heading"')[1].split("</section>")[0]
    assert "PW.3" in unanswered and "PW.1" not in unanswered
    unevidenced = page.text.split('id="evidence-heading"')[1].split("</section>")[0]
    assert "PW.1" in unevidenced and "PW.2" not in unevidenced
    assert "disabled" in page.text.split('action="/assessments/')[-1]  # cannot submit yet


def test_submitting_records_who_when_and_the_message(submitted, app):
    assert status_of(app, submitted) == "submitted"
    assert events_of(app, submitted) == [
        ("submit", "draft", "submitted", "resp-a@example.org", "Ready for review")]


def test_submitting_twice_is_refused_with_the_reason(respondent, submitted):
    again = respondent.post(f"/assessments/{submitted}/submit")
    assert again.status_code == 409
    assert "Only a draft or a returned assessment can be submitted" in again.text


def test_a_facilitator_cannot_submit_and_another_administration_sees_nothing(
        facilitator, make_browser, app, a_id):
    complete(make_browser("resp-a@example.org"), app, a_id)
    assert facilitator.post(f"/assessments/{a_id}/submit").status_code == 403
    assert make_browser("resp-b@example.org").post(f"/assessments/{a_id}/submit") \
        .status_code == 404
    assert status_of(app, a_id) == "draft"


def test_withdrawing_before_the_review_starts_goes_back_to_draft_on_record(
        respondent, submitted, app):
    response = respondent.post(f"/assessments/{submitted}/withdraw", {"message": "One more"})
    assert response.status_code == 303
    assert status_of(app, submitted) == "draft"
    assert events_of(app, submitted)[-1] == (
        "withdraw", "submitted", "draft", "resp-a@example.org", "One more")
    assert respondent.autosave(submitted, "PW.1", level=4, evidence="edited").status_code == 200


def test_withdrawing_after_the_review_started_is_refused(respondent, facilitator, submitted,
                                                         app):
    assert save_review(facilitator, submitted, "PW.1").status_code == 200
    refused = respondent.post(f"/assessments/{submitted}/withdraw")
    assert refused.status_code == 409
    assert "has started the review" in refused.text
    assert status_of(app, submitted) == "submitted"


def test_withdrawing_a_draft_is_refused(respondent, a_id):
    refused = respondent.post(f"/assessments/{a_id}/withdraw")
    assert refused.status_code == 409 and "Only a submitted assessment" in refused.text


# Reviewing ----------------------------------------------------------------------------------

def test_the_review_page_shows_the_claim_beside_a_validated_level_that_starts_as_it(
        facilitator, submitted):
    page = facilitator.get(f"/assessments/{submitted}/review/PW")
    assert page.status_code == 200
    assert "ev PW.1" in page.text  # the evidence
    # PW.1 was claimed at level 0: the validated level starts there.
    assert 'id="PW-1-rlevel-0" name="PW.1-review-level" value="0" checked' in page.text


def test_a_review_save_keeps_versions_and_revisions(facilitator, submitted, app):
    assert save_review(facilitator, submitted, "PW.1", level="1", state="queried",
                       version=0).status_code == 200
    saved = save_review(facilitator, submitted, "PW.1", level="1", state="accepted",
                        finding="Seen the decree", version=1)
    assert saved.status_code == 200 and "Saved at" in saved.text
    with app.app_context():
        review = db.session.scalar(select(Review).where(Review.assessment_id == submitted,
                                                        Review.indicator_key == "PW.1"))
        assert (review.level, review.state, review.finding, review.version) == (
            1, "accepted", "Seen the decree", 2)
        kinds = db.session.scalars(select(ReviewRevision.kind).order_by(ReviewRevision.id))
        assert list(kinds) == ["edit", "edit"]
    history = facilitator.get(f"/assessments/{submitted}/reviews/PW.1/history")
    assert "Seen the decree" in history.text and "Version 2 by <bdi>Fac A</bdi>" in history.text


def test_two_facilitators_on_one_review_conflict_instead_of_overwriting(
        facilitator, second_facilitator, submitted, app):
    assert save_review(facilitator, submitted, "PW.2", level="3", finding="theirs",
                       version=0).status_code == 200
    refused = save_review(second_facilitator, submitted, "PW.2", level="0", finding="mine",
                          version=0)
    assert refused.status_code == 409
    assert "Fac A changed this review" in refused.text and "theirs" in refused.text
    assert 'data-version="1"' in refused.text  # "keep mine" saves over version 1
    with app.app_context():
        review = db.session.scalar(select(Review).where(Review.indicator_key == "PW.2"))
        assert review.finding == "theirs"
        conflict = db.session.scalar(select(ReviewRevision).where(
            ReviewRevision.kind == "conflict"))
        assert conflict.after["finding"] == "mine"  # the refused value is kept
    kept = save_review(second_facilitator, submitted, "PW.2", level="0", finding="mine",
                       version=1)
    assert kept.status_code == 200
    with app.app_context():
        review = db.session.scalar(select(Review).where(Review.indicator_key == "PW.2"))
        assert (review.finding, review.version) == ("mine", 2)
        assert [r.kind for r in db.session.scalars(
            select(ReviewRevision).where(ReviewRevision.indicator_key == "PW.2")
            .order_by(ReviewRevision.id))] == ["edit", "conflict", "edit"]


def test_without_javascript_a_review_conflict_shows_both_and_keeps_mine_on_request(
        facilitator, admin, submitted, app):
    save_review(facilitator, submitted, "PW.2", level="3", finding="theirs", version=0)
    refused = save_review(admin, submitted, "PW.2", htmx=False, level="0", finding="mine",
                          version=0)
    assert refused.status_code == 409
    assert "theirs" in refused.text and "mine" in refused.text
    assert 'name="PW.2-review-version" value="1"' in refused.text
    kept = save_review(admin, submitted, "PW.2", htmx=False, level="0", finding="mine",
                       version=1)
    assert kept.status_code == 303


def test_bad_review_input_is_422_and_names_the_field(facilitator, submitted):
    bad = save_review(facilitator, submitted, "PW.1", level="9")
    assert bad.status_code == 422 and "outside the scale" in bad.text
    assert bad.headers["X-Field-Error"] == "review-level"
    odd = save_review(facilitator, submitted, "PW.1", state="approved")
    assert odd.status_code == 422


def test_reviews_are_refused_unless_submitted(facilitator, a_id):
    refused = save_review(facilitator, a_id, "PW.1")
    assert refused.status_code == 409 and "only while the assessment is submitted" in refused.text


def test_only_reviewers_of_the_administration_review(respondent, make_browser, submitted):
    assert save_review(respondent, submitted, "PW.1").status_code == 403
    assert save_review(make_browser("fac-none@example.org"), submitted, "PW.1") \
        .status_code == 404
    assert respondent.get(f"/assessments/{submitted}/review").status_code == 403


# Queries, return, resubmit ------------------------------------------------------------------

def test_a_query_thread_from_question_to_close(facilitator, respondent, submitted, app):
    asked = open_query(facilitator, submitted, "PW.1", "Which decree?")
    assert asked.status_code == 200 and "Which decree?" in asked.text
    with app.app_context():
        assert db.session.scalar(select(Review.state).where(
            Review.indicator_key == "PW.1")) == "queried"
    overview = respondent.get(f"/assessments/{submitted}")
    assert "1 open query" in overview.text
    assert "1 open query" in respondent.get("/assessments").text
    page = respondent.get(f"/assessments/{submitted}/principles/PW")
    assert "Which decree?" in page.text  # beside the answer
    thread = thread_ids(app, submitted)["PW.1"]
    replied = respondent.post(f"/assessments/{submitted}/queries/{thread}/replies",
                              {"message": "Decree 12/2025"}, htmx=True)
    assert replied.status_code == 200 and "Decree 12/2025" in replied.text
    closed = facilitator.post(f"/assessments/{submitted}/queries/{thread}/close", htmx=True)
    assert closed.status_code == 200 and "Closed" in closed.text
    again = respondent.post(f"/assessments/{submitted}/queries/{thread}/replies",
                            {"message": "Also this"}, htmx=True)
    assert again.status_code == 409 and "Also this" in again.text  # kept, not lost
    assert respondent.post(f"/assessments/{submitted}/queries/{thread}/close",
                           htmx=True).status_code == 403
    with app.app_context():
        assert [m.body for m in db.session.scalars(select(QueryMessage)
                                                   .order_by(QueryMessage.id))] == [
            "Which decree?", "Decree 12/2025"]


def test_an_empty_query_is_refused_and_nothing_is_written(facilitator, submitted, app):
    refused = open_query(facilitator, submitted, "PW.1", "   ")
    assert refused.status_code == 422
    assert thread_ids(app, submitted) == {}


def test_query_without_javascript_redirects_back_and_a_refusal_shows_the_text(
        facilitator, submitted, app):
    sent = open_query(facilitator, submitted, "PW.3", "Dates?", htmx=False)
    assert sent.status_code == 303 and "/review/PW#ind-PW-3" in sent.headers["Location"]
    reply_to = thread_ids(app, submitted)["PW.3"]
    facilitator.post(f"/assessments/{submitted}/queries/{reply_to}/close", htmx=False)
    refused = facilitator.post(f"/assessments/{submitted}/queries/{reply_to}/replies",
                               {"message": "Late text"})
    assert refused.status_code == 409 and "Late text" in refused.text


def test_returning_needs_an_open_query_or_a_message(facilitator, submitted, app):
    refused = facilitator.post(f"/assessments/{submitted}/return", {"message": " "})
    assert refused.status_code == 409
    assert "Open a query on an indicator or write a message" in refused.text
    assert status_of(app, submitted) == "submitted"
    returned = facilitator.post(f"/assessments/{submitted}/return",
                                {"message": "Please add the budget figures"})
    assert returned.status_code == 303
    assert status_of(app, submitted) == "returned"
    assert events_of(app, submitted)[-1] == (
        "return", "submitted", "returned", "fac-a@example.org", "Please add the budget figures")


def test_the_returned_loop_reply_change_resubmit(facilitator, respondent, submitted, app):
    open_query(facilitator, submitted, "PW.1", "Which decree?")
    assert facilitator.post(f"/assessments/{submitted}/return").status_code == 303
    assert respondent.autosave(submitted, "PW.1", level=2, evidence="Decree 12/2025",
                               version=1).status_code == 200
    thread = thread_ids(app, submitted)["PW.1"]
    assert respondent.post(f"/assessments/{submitted}/queries/{thread}/replies",
                           {"message": "Added"}, htmx=True).status_code == 200
    assert respondent.post(f"/assessments/{submitted}/submit").status_code == 303
    assert [e[:3] for e in events_of(app, submitted)] == [
        ("submit", "draft", "submitted"), ("return", "submitted", "returned"),
        ("submit", "returned", "submitted")]
    # A resubmission can be withdrawn again until the review restarts, back to "returned".
    assert respondent.post(f"/assessments/{submitted}/withdraw").status_code == 303
    assert status_of(app, submitted) == "returned"


def test_respondents_cannot_edit_a_submitted_assessment(respondent, submitted):
    assert respondent.autosave(submitted, "PW.1", level=4, evidence="x").status_code == 409


# Validating and reopening -------------------------------------------------------------------

def test_validating_needs_every_indicator_accepted_and_no_open_query(
        facilitator, submitted, app):
    refused = facilitator.post(f"/assessments/{submitted}/validate")
    assert refused.status_code == 409 and "28 indicators are not accepted yet" in refused.text
    accept_all(facilitator, app, submitted)
    open_query(facilitator, submitted, "PW.1", "One more thing")
    save_review(facilitator, submitted, "PW.1", level="1", state="accepted")
    refused = facilitator.post(f"/assessments/{submitted}/validate")
    assert refused.status_code == 409 and "1 queries are still open" in refused.text
    thread = thread_ids(app, submitted)["PW.1"]
    facilitator.post(f"/assessments/{submitted}/queries/{thread}/close", htmx=True)
    assert facilitator.post(f"/assessments/{submitted}/validate").status_code == 303
    assert status_of(app, submitted) == "validated"


def test_validating_a_draft_is_refused(facilitator, a_id):
    refused = facilitator.post(f"/assessments/{a_id}/validate")
    assert refused.status_code == 409
    assert "Only a submitted assessment can be validated; this one is draft" in refused.text


def test_a_validated_assessment_is_locked_for_everyone_and_its_snapshot_verifies(
        facilitator, respondent, admin, submitted, app, client):
    accept_all(facilitator, app, submitted)
    facilitator.post(f"/assessments/{submitted}/validate")
    assert respondent.autosave(submitted, "PW.1", level=4, evidence="x").status_code == 409
    assert save_review(facilitator, submitted, "PW.1", level="2").status_code == 409
    assert open_query(admin, submitted, "PW.1", "Late?").status_code == 409
    with app.app_context():
        snapshot = db.session.scalar(select(SignOffSnapshot))
        payload = json.loads(snapshot.payload)
        assert hashlib.sha256(snapshot.payload.encode()).hexdigest() == snapshot.digest
        assert payload["validated_by"]["name"] == "Fac A"
        assert payload["indicators"]["PW.2"]["validated"]["level"] == 1
        assert payload["indicators"]["PW.2"]["claimed"]["evidence"] == "ev PW.2"
        assert len(payload["instrument"]["content_hash"]) == 64
    overview = respondent.get(f"/assessments/{submitted}")
    assert snapshot.digest in overview.text
    verified = client.get(f"/verify?digest={snapshot.digest}")
    assert "matches a sign-off snapshot" in verified.text and "Administration A" in verified.text
    unknown = client.get("/verify?digest=" + "0" * 64)
    assert "No sign-off snapshot held here" in unknown.text


def test_reopening_needs_an_admin_and_a_reason_and_validating_again_keeps_both_snapshots(
        facilitator, admin, submitted, app):
    accept_all(facilitator, app, submitted)
    facilitator.post(f"/assessments/{submitted}/validate")
    assert facilitator.post(f"/assessments/{submitted}/reopen",
                            {"message": "x"}).status_code == 403
    refused = admin.post(f"/assessments/{submitted}/reopen", {"message": ""})
    assert refused.status_code == 409 and "Write the reason" in refused.text
    assert admin.post(f"/assessments/{submitted}/reopen",
                      {"message": "PW.2 figures were wrong"}).status_code == 303
    assert events_of(app, submitted)[-1] == (
        "reopen", "validated", "submitted", "admin@example.org", "PW.2 figures were wrong")
    save_review(facilitator, submitted, "PW.2", level="2")
    assert facilitator.post(f"/assessments/{submitted}/validate").status_code == 303
    with app.app_context():
        assert db.session.query(SignOffSnapshot).count() == 2


def audit_entries(app, a_id: int) -> list[tuple]:
    with app.app_context():
        return [(e.action, e.actor_email, e.target_label, e.details) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_type == "assessment",
                                     AuditEntry.target_id == a_id).order_by(AuditEntry.id))]


def test_an_admins_status_changes_are_in_the_audit_log_and_a_facilitators_are_not(
        facilitator, admin, submitted, app):
    """A reopening, and a return or a validation made by an admin, go into the admin audit
    log with the assessment's events; a facilitator's steps and a refusal do not."""
    accept_all(facilitator, app, submitted)
    facilitator.post(f"/assessments/{submitted}/validate")
    admin.post(f"/assessments/{submitted}/reopen", {"message": ""})  # refused: no reason
    assert audit_entries(app, submitted) == []
    admin.post(f"/assessments/{submitted}/reopen", {"message": "PW.2 figures were wrong"})
    assert admin.post(f"/assessments/{submitted}/return",
                      {"message": "Check PW.2 again"}).status_code == 303
    label = "Administration A · " + round_of(app, submitted)
    assert audit_entries(app, submitted) == [
        ("assessment.reopen", "admin@example.org", label,
         {"status_before": "validated", "status_after": "submitted",
          "message": "PW.2 figures were wrong"}),
        ("assessment.return", "admin@example.org", label,
         {"status_before": "submitted", "status_after": "returned",
          "message": "Check PW.2 again"}),
    ]
    with app.app_context():
        assert [e.action for e in db.session.scalars(
            select(AssessmentEvent).where(AssessmentEvent.assessment_id == submitted)
            .order_by(AssessmentEvent.id))][-2:] == ["reopen", "return"]

    page = admin.get("/admin/audit?action=assessment.reopen").text
    entries = page.split("<tbody>")[1]
    assert "Validated assessment reopened" in entries and "PW.2 figures were wrong" in entries
    assert "Check PW.2 again" not in entries  # the filter keeps only reopenings
    assert "Status before:</span> Validated" in entries
    kinds = admin.get("/admin/audit?target_type=assessment").text.split("<tbody>")[1]
    assert "Assessment returned to the administration" in kinds
    french = admin.client.get("/admin/audit?action=assessment.return",
                              headers={"Accept-Language": "fr"}).text.split("<tbody>")[1]
    assert "Évaluation renvoyée à l’administration" in french


def headline_figures(app, a_id: int) -> tuple:
    """(stored claimed, live claimed, stored validated, live validated): what the assessment
    keeps for the dashboard's sort, and what scoring makes of its rows now."""
    from cbassess.scoring import AnswerValue, score

    with app.app_context():
        assessment = db.session.get(Assessment, a_id)
        instrument = instrument_of(assessment)

        def levels(table) -> dict:
            return {r.indicator_key: AnswerValue(r.level, r.not_applicable)
                    for r in db.session.scalars(select(table).where(
                        table.assessment_id == a_id))}

        claimed, reviewed = levels(Answer), levels(Review)
        return (assessment.claimed_average, score(instrument, claimed).average,
                assessment.validated_average,
                score(instrument, claimed | reviewed).average if reviewed else None)


def test_the_dashboards_averages_follow_every_save_of_a_level(
        respondent, facilitator, submitted, app):
    """Kept by the write paths themselves: an answer's level, a first review, a reviewed
    level, and, once returned, a claim on an indicator nobody reviewed (which moves the
    validated average too); typing evidence moves nothing."""
    def check(validated_expected: bool) -> tuple:
        stored, live, stored_validated, live_validated = headline_figures(app, submitted)
        assert stored == pytest.approx(live)
        assert (stored_validated is not None) is validated_expected
        if validated_expected:
            assert stored_validated == pytest.approx(live_validated)
        return stored, stored_validated

    claimed, _ = check(validated_expected=False)
    save_review(facilitator, submitted, "PW.1", level="4", state="queried")  # claim: 0
    _, validated = check(validated_expected=True)
    assert validated > claimed
    open_query(facilitator, submitted, "PW.1", "Which decree?")
    assert facilitator.post(f"/assessments/{submitted}/return",
                            {"message": "See PW.1"}).status_code == 303
    assert respondent.autosave(submitted, "PW.2", level=4, evidence="ev PW.2").status_code == 200
    moved = check(validated_expected=True)
    assert moved[0] > claimed and moved[1] > validated  # PW.2 was claimed at 1, not reviewed
    respondent.autosave(submitted, "PW.2", level=4, evidence="ev PW.2, with the decree")
    assert check(validated_expected=True) == moved
    page = facilitator.get("/dashboard?sort=validated").text
    assert f'<td data-label="Validated average">{moved[1]:.2f}</td>' in page


def test_results_pdf_and_exports_show_claimed_and_validated_and_the_digest(
        facilitator, respondent, submitted, app, runner, tmp_path):
    from tests.conftest import pdf_text

    accept_all(facilitator, app, submitted)  # every validated level 1; claims were 0..4
    open_query(facilitator, submitted, "PW.1", "Which decree?")
    thread = thread_ids(app, submitted)["PW.1"]
    respondent.post(f"/assessments/{submitted}/queries/{thread}/replies",
                    {"message": "Decree 12/2025"}, htmx=True)
    facilitator.post(f"/assessments/{submitted}/queries/{thread}/close", htmx=True)
    save_review(facilitator, submitted, "PW.1", level="1", state="accepted")
    before = respondent.get(f"/assessments/{submitted}/results").text
    assert "Self-assessed — not validated" in before and "Claimed and validated" in before
    assert facilitator.post(f"/assessments/{submitted}/validate").status_code == 303
    with app.app_context():
        digest = db.session.scalar(select(SignOffSnapshot.digest))
    page = respondent.get(f"/assessments/{submitted}/results").text
    assert "Self-assessed — not validated" not in page
    assert "Validated by Fac A on" in page and digest in page
    assert "Levels changed" in page
    pdf = respondent.get(f"/assessments/{submitted}/report.pdf")
    text = pdf_text(pdf.data)
    assert digest in text.replace("\n", "") and "Validated by Fac A" in text
    assert "Claimed and validated, by principle" in text
    exported = respondent.get(f"/assessments/{submitted}/export.json").get_json()
    assert exported["signoff"]["digest"] == digest
    assert exported["scores"]["average"] == 1.0  # validated levels count once validated
    assert [m["body"] for m in exported["queries"][0]["messages"]] == [
        "Which decree?", "Decree 12/2025"]
    assert [e["action"] for e in exported["events"]] == ["submit", "validate"]
    csv_text = respondent.get(f"/assessments/{submitted}/export.csv").text
    assert "Validated level" in csv_text.splitlines()[0]
    report = tmp_path / "report.pdf"
    report.write_bytes(pdf.data)
    result = runner.invoke(args=["verify", str(report)])
    assert result.exit_code == 0 and "Matches: Administration A — 2026 round" in result.output
    assert runner.invoke(args=["verify", "f" * 64]).exit_code != 0


def test_a_message_breaking_the_text_policy_is_422_and_changes_nothing(facilitator, submitted,
                                                                       app):
    refused = facilitator.post(f"/assessments/{submitted}/return",
                               {"message": "Look \u202e here"})
    assert refused.status_code == 422 and "cannot be stored" in refused.text
    assert "Look" in refused.text  # the text comes back in its field
    assert status_of(app, submitted) == "submitted"
    too_long = facilitator.post(f"/assessments/{submitted}/return", {"message": "x" * 4001})
    assert too_long.status_code == 422 and "the limit is 4,000" in too_long.text


def test_a_finding_and_a_query_at_their_limits_in_four_byte_characters_are_accepted(
        facilitator, submitted, app):
    finding = "\U0001d11e" * 4000  # 4,000 characters, 16,000 bytes, 48,000 percent-encoded
    assert save_review(facilitator, submitted, "PW.1", finding=finding).status_code == 200
    assert open_query(facilitator, submitted, "PW.2", finding).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Review.finding).where(
            Review.indicator_key == "PW.1")) == finding
