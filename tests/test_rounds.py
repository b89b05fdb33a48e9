"""Rounds over HTTP: the next round starts from the last submitted or validated assessment
with every answer carried over; a carried-over answer counts as unanswered until someone
confirms it (one request, or a principle at once) or changes it, through the answers'
versioned history; the comparison page and the PDF's comparison section; the previous
round's open actions carried into the plan; every refusal with its reason."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from cbassess import action_store, evidence, instrument_store, transitions
from cbassess.action_plan import ActionInput
from cbassess.answers import AnswerInput, confirm_answers, save_answers
from cbassess.extensions import db
from cbassess.models import (
    Action,
    ActionRevision,
    Answer,
    AnswerRevision,
    Assessment,
    AuditEntry,
    EvidenceFile,
    Instrument,
    Organisation,
    Role,
    RoundLink,
    Status,
    User,
)
from cbassess.permissions import instrument_of
from cbassess.workflow import Action as Step
from tests.conftest import DATA, SHIPPED_KEY, pdf_text
from tests.test_report import outline_titles


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def level_for(index: int) -> int:
    return (index % 4) + 1  # 1, 2, 3, 4, 1, … on the shipped 0–4 scale


def submit_everything(app, a_id: int, email: str = "resp-a@example.org",
                      with_file: bool = True) -> None:
    """Answer every indicator (PW.2 "not applicable", PW.3 with a note), attach a file to
    PW.1 and submit, through the app's own write paths."""
    with app.app_context():
        assessment = db.session.get(Assessment, a_id)
        instrument = instrument_of(assessment)
        user = _user(email)
        inputs = []
        for index, indicator in enumerate(instrument.indicators):
            if indicator.key == "PW.2":
                inputs.append(AnswerInput("PW.2", None, True, "No such body exists.", "", None))
            elif indicator.key == "PW.4":  # the instrument's optional answer fields
                inputs.append(AnswerInput("PW.4", level_for(index), False, "Evidence of PW.4",
                                          "", None, evidence_kind="records",
                                          confidence="medium"))
            else:
                inputs.append(AnswerInput(indicator.key, level_for(index), False,
                                          f"Evidence of {indicator.key}",
                                          "Ask the legal unit" if indicator.key == "PW.3"
                                          else "", None))
        save_answers(db.session, a_id, inputs, user.id)
        # A carried-over answer posted unchanged stays carried over: confirm them.
        confirm_answers(db.session, a_id, [i.key for i in instrument.indicators], user.id)
        if with_file:
            evidence.attach(db.session, evidence.store_for(app.config, app.instance_path),
                            a_id, "PW.1", [evidence.Upload("decree.txt",
                                                           io.BytesIO(b"The decree"))],
                            user.id, evidence.limits_for(app.config))
        transitions.perform(db.session, assessment, instrument, Step.SUBMIT,
                            transitions.Actor(user.id, Role.RESPONDENT))


def shipped_id(app) -> int:
    """The shipped instrument, as the seeded assessments use it."""
    with app.app_context():
        return db.session.scalar(select(Instrument.id).where(Instrument.key == SHIPPED_KEY))


def start(browser, a_id: int, app, name: str = "2028 round", instrument_id=None):
    return browser.post(f"/assessments/{a_id}/next-round", {
        "round_name": name, "instrument_id": instrument_id or shipped_id(app)})


def new_round_id(app, name: str = "2028 round") -> int:
    with app.app_context():
        return db.session.scalar(select(Assessment.id).where(Assessment.round_name == name))


@pytest.fixture
def next_round(app, a_id, respondent) -> int:
    """A's submitted round and the next one started from it by a respondent."""
    submit_everything(app, a_id)
    reply = start(respondent, a_id, app)
    assert reply.status_code == 303, reply.text
    return new_round_id(app)


def test_the_next_round_starts_with_every_answer_carried_over_and_none_counted(
        app, a_id, respondent, next_round):
    with app.app_context():
        before = {a.indicator_key: a for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == a_id))}
        after = {a.indicator_key: a for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == next_round))}
        assessment = db.session.get(Assessment, next_round)
        assert (assessment.status, assessment.answered_count) == (Status.DRAFT, 0)
        assert set(after) == set(before) and len(after) == 28
        for key, answer in after.items():
            old = before[key]
            assert (answer.level, answer.not_applicable, answer.evidence, answer.note,
                    answer.evidence_kind, answer.confidence) == (
                old.level, old.not_applicable, old.evidence, old.note, old.evidence_kind,
                old.confidence)
            assert answer.carried_over and not answer.answered and answer.version == 1
        assert after["PW.2"].not_applicable and after["PW.3"].note == "Ask the legal unit"
        assert (after["PW.4"].evidence_kind, after["PW.4"].confidence) == ("records", "medium")
        revisions = list(db.session.scalars(select(AnswerRevision).where(
            AnswerRevision.assessment_id == next_round)))
        assert {r.kind for r in revisions} == {"carried"} and len(revisions) == 28
        # The file's reference is carried (the content-addressed file is not copied).
        files = list(db.session.scalars(select(EvidenceFile).where(
            EvidenceFile.assessment_id == next_round)))
        original = db.session.scalar(select(EvidenceFile).where(
            EvidenceFile.assessment_id == a_id))
        assert [(f.indicator_key, f.sha256, f.filename) for f in files] == [
            ("PW.1", original.sha256, "decree.txt")]
        link = db.session.get(RoundLink, next_round)
        assert link.previous_id == a_id and link.started_by.email == "resp-a@example.org"
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "assessment.start_round"))
        assert (entry.actor_email, entry.target_id) == ("resp-a@example.org", next_round)
        assert entry.details["previous"] == "2026 round" and entry.details["carried"] == 28
    overview = respondent.get(f"/assessments/{next_round}").text
    assert "28 answers carried over to confirm or change" in overview
    assert "0/28" in overview
    page = respondent.get(f"/assessments/{next_round}/principles/PW").text
    assert page.count("Carried over — confirm or change") == 5
    assert "Confirm all unchanged in this principle" in page
    assert "0 of 5 indicators answered in this principle" in page
    # The old round links to the new one, and offers no second start.
    old = respondent.get(f"/assessments/{a_id}").text
    assert "The next round, “<a" in old and "Start the next round…" not in old


def test_confirming_one_answer_is_a_versioned_save_with_its_history(
        app, respondent, next_round):
    reply = respondent.post(f"/assessments/{next_round}/answers/PW.1/confirm", htmx=True)
    assert reply.status_code == 200, reply.text
    assert "Carried-over answer confirmed at" in reply.text and "Resp A" in reply.text
    assert 'id="carried-PW-1" class="carried" hx-swap-oob="true"' in reply.text
    assert "1 of 5 indicators answered in this principle" in reply.text
    with app.app_context():
        answer = db.session.scalar(select(Answer).where(Answer.assessment_id == next_round,
                                                        Answer.indicator_key == "PW.1"))
        assert (answer.carried_over, answer.version, answer.level) == (False, 2, 1)
        assert db.session.get(Assessment, next_round).answered_count == 1
    # A second click changes nothing (no new version).
    again = respondent.post(f"/assessments/{next_round}/answers/PW.1/confirm", htmx=True)
    assert again.status_code == 200 and "confirmed at" not in again.text
    history = respondent.get(f"/assessments/{next_round}/answers/PW.1/history").text
    assert "Version 1: carried over from “<bdi>2026 round</bdi>” by <bdi>Resp A</bdi>" in history
    assert "Version 2: confirmed by <bdi>Resp A</bdi>" in history
    with app.app_context():
        kinds = list(db.session.scalars(select(AnswerRevision.kind).where(
            AnswerRevision.assessment_id == next_round, AnswerRevision.indicator_key == "PW.1")
            .order_by(AnswerRevision.id)))
        assert kinds == ["carried", "confirm"]


def test_changing_a_carried_answer_counts_it_and_posting_it_unchanged_does_not(
        app, respondent, next_round):
    unchanged = respondent.autosave(next_round, "PW.3", level=3, evidence="Evidence of PW.3",
                                    note="Ask the legal unit", version=1)
    assert unchanged.status_code == 200 and "carried-PW-3" not in unchanged.text
    changed = respondent.autosave(next_round, "PW.4", level=1, evidence="Lower this year",
                                  version=1)
    assert changed.status_code == 200
    assert 'id="carried-PW-4" class="carried" hx-swap-oob="true"' in changed.text
    with app.app_context():
        rows = {a.indicator_key: a for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == next_round))}
        assert rows["PW.3"].carried_over and rows["PW.3"].version == 1
        assert not rows["PW.4"].carried_over and rows["PW.4"].level == 1
        assert db.session.get(Assessment, next_round).answered_count == 1


def principle_form(app, assessment_id: int, principle: str, **changes) -> dict:
    """What the principle page's form posts: every indicator's fields as stored."""
    with app.app_context():
        answers = {a.indicator_key: a for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == assessment_id))}
        spec = instrument_of(db.session.get(Assessment, assessment_id))
        form = {}
        for indicator in spec.principle(principle).indicators:
            a = answers[indicator.key]
            form.update({f"{a.indicator_key}-level": "na" if a.not_applicable else str(a.level),
                         f"{a.indicator_key}-evidence": a.evidence,
                         f"{a.indicator_key}-note": a.note,
                         f"{a.indicator_key}-version": str(a.version)})
    form.update(changes)
    return form


def test_confirm_all_unchanged_in_a_principle_without_javascript(app, respondent,
                                                                next_round):
    form = principle_form(app, next_round, "PW", **{"PW.5-level": "0"},
                          action="confirm_all")
    reply = respondent.post(f"/assessments/{next_round}/principles/PW", form)
    assert reply.status_code == 303
    assert respondent.get(reply.location).text.count("carried-over answers are confirmed") == 1
    with app.app_context():
        rows = {a.indicator_key: a for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == next_round))}
        pw = [k for k in rows if k.startswith("PW.")]
        assert all(not rows[k].carried_over for k in pw)
        assert rows["PW.5"].level == 0  # changed in the form, saved as changed
        kinds = dict(db.session.execute(select(AnswerRevision.indicator_key,
                                               AnswerRevision.kind)
                                        .where(AnswerRevision.assessment_id == next_round,
                                               AnswerRevision.version == 2)).all())
        assert kinds["PW.5"] == "edit" and kinds["PW.1"] == "confirm"
        assert all(rows[k].carried_over for k in rows if not k.startswith("PW."))
        assert db.session.get(Assessment, next_round).answered_count == len(pw)
    # One indicator's own button, without JavaScript: the same page post, that one only.
    form = principle_form(app, next_round, "OC", action="confirm:OC.2")
    assert respondent.post(f"/assessments/{next_round}/principles/OC", form).status_code == 303
    with app.app_context():
        carried = set(db.session.scalars(select(Answer.indicator_key).where(
            Answer.assessment_id == next_round, Answer.carried_over.is_(True),
            Answer.indicator_key.like("OC.%"))))
        assert "OC.2" not in carried and "OC.1" in carried


def test_carried_over_answers_block_the_submission_and_are_named(app, make_browser,
                                                                 next_round):
    respondent = make_browser("resp-a@example.org")
    reply = respondent.post(f"/assessments/{next_round}/submit", {"message": ""})
    assert reply.status_code == 422
    assert "28 indicators are unanswered" in reply.text
    page = respondent.get(f"/assessments/{next_round}/submit").text
    assert "PW.1</a>" in page and page.count("Carried over — confirm or change") == 28


def test_a_confirmation_in_a_submitted_assessment_is_refused(app, a_id, respondent,
                                                             next_round):
    # The old round is submitted: nothing in it can be confirmed.
    reply = respondent.post(f"/assessments/{a_id}/answers/PW.1/confirm", htmx=True)
    assert reply.status_code == 409
    assert "submitted for review and can no longer be changed" in reply.text


def test_refusals_say_why_and_create_nothing(app, a_id, b_id, respondent, make_browser):
    # A draft is not a starting point.
    reply = start(respondent, a_id, app)
    assert reply.status_code == 409 and "is not submitted yet" in reply.text
    assert respondent.get(f"/assessments/{a_id}/next-round").status_code == 409
    assert "/next-round" not in respondent.get("/assessments").text  # A is in progress
    submit_everything(app, a_id, with_file=False)
    # The list's "start a new assessment" points to the round to carry over from.
    assert f"/assessments/{a_id}/next-round" in respondent.get("/assessments").text
    # The name: blank, too long, or one the administration already has.
    for name, message in (("  ", "Give the round a name"),
                          ("x" * 101, "at most 100 characters"),
                          ("2026 round", "already has a round called")):
        reply = start(respondent, a_id, app, name=name)
        assert reply.status_code == 422 and message in reply.text, name
    # Another instrument is not a version of this one.
    with app.app_context():
        other, _ = instrument_store.import_path(db.session, DATA / "other-framework.yaml")
        other_id = other.id
    reply = start(respondent, a_id, app, instrument_id=other_id)
    assert reply.status_code == 422 and "Choose a version of the instrument" in reply.text
    # Facilitators do not start rounds; another administration does not see this one.
    assert start(make_browser("fac-a@example.org"), a_id, app).status_code == 403
    assert start(make_browser("resp-b@example.org"), a_id, app).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(RoundLink)) is None
        assert db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "assessment.start_round")) is None
    assert start(respondent, a_id, app).status_code == 303
    # One round at a time: the new one is a draft, so no second start.
    reply = start(respondent, a_id, app, name="2029 round")
    assert reply.status_code == 409 and "A round is already in progress: “2028 round”" \
        in reply.text
    assert new_round_id(app, "2029 round") is None
    assert "/next-round" not in respondent.get("/assessments").text


def test_only_the_last_submitted_round_starts_the_next_one(app, a_id, respondent):
    submit_everything(app, a_id, with_file=False)
    assert start(respondent, a_id, app).status_code == 303
    second = new_round_id(app)
    submit_everything(app, second, with_file=False)
    reply = start(respondent, a_id, app, name="2030 round")
    assert reply.status_code == 409
    assert "last submitted or validated assessment, which is “2028 round”" in reply.text


def test_with_a_coordinator_only_they_or_an_admin_start_a_round(app, a_id, make_browser):
    submit_everything(app, a_id, with_file=False)
    with app.app_context():
        _user("resp-a2@example.org").is_coordinator = True
        db.session.commit()
    assert start(make_browser("resp-a@example.org"), a_id, app).status_code == 403
    admin = make_browser("admin@example.org")
    with app.app_context():
        organisation_id = db.session.get(Assessment, a_id).organisation_id
    administration = admin.get(f"/admin/administrations/{organisation_id}").text
    assert f"/assessments/{a_id}/next-round" in administration
    page = admin.get(f"/assessments/{a_id}/next-round")
    assert page.status_code == 200 and "Start the round" in page.text
    assert start(admin, a_id, app).status_code == 303
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "assessment.start_round"))
        assert entry.actor_email == "admin@example.org"
    assert "Next round started" in admin.get("/admin/audit").text


TF_04 = (DATA / "other-framework.yaml").read_text(encoding="utf-8")


def newer_version(text: str) -> str:
    """Version 0.4 of the test framework: TF.1 removed, TF.3 new, the rest unchanged."""
    start = text.index("      - key: TF.1")
    end = text.index("      - key: TF.2")
    tf1 = text[start:end]
    text = text.replace(tf1, "").replace('version: "0.3"', 'version: "0.4"')
    return text.replace("      - key: TF.2", tf1.replace("TF.1", "TF.3") + "      - key: TF.2",
                        1)


def test_a_newer_version_carries_same_keys_lists_removed_and_starts_new_empty(
        app, make_browser, b_id):
    submit_everything(app, b_id, "resp-b@example.org", with_file=False)  # no round open
    with app.app_context():
        old, _ = instrument_store.import_path(db.session, DATA / "other-framework.yaml")
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Administration B"))
        assessment = Assessment(organisation=organisation, instrument_row=old,
                                round_name="Trade 2026")
        db.session.add(assessment)
        db.session.commit()
        first = assessment.id
        keys = [i.key for i in instrument_of(assessment).indicators]
    with app.app_context():
        user = _user("resp-b@example.org")
        save_answers(db.session, first, [AnswerInput(k, 2, False, f"Evidence {k}", "", None)
                                         for k in keys], user.id)
        assessment = db.session.get(Assessment, first)
        transitions.perform(db.session, assessment, instrument_of(assessment), Step.SUBMIT,
                            transitions.Actor(user.id, Role.RESPONDENT))
        new, _ = instrument_store.import_text(db.session, newer_version(TF_04), "0.4.yaml")
        new_id = new.id
    respondent = make_browser("resp-b@example.org")
    page = respondent.get(f"/assessments/{first}/next-round").text
    assert "version 0.4" in page and "1 new indicator, starts empty" in page
    assert "1 indicator removed" in page
    assert respondent.post(f"/assessments/{first}/next-round", {
        "round_name": "Trade 2028", "instrument_id": new_id}).status_code == 303
    second = new_round_id(app, "Trade 2028")
    with app.app_context():
        carried = set(db.session.scalars(select(Answer.indicator_key).where(
            Answer.assessment_id == second)))
        assert "TF.1" not in carried and "TF.3" not in carried and "TF.2" in carried
        assert db.session.get(Assessment, second).instrument_id == new_id
    overview = respondent.get(f"/assessments/{second}").text
    assert "Indicators removed in this version of the instrument" in overview
    assert "TF.1 — Are import, export and transit procedures" in overview
    respondent.post(f"/assessments/{second}/answers/TF.2/confirm", htmx=True)
    comparison = respondent.get(f"/assessments/{second}/comparison").text
    assert "cannot be compared: new in this version" in comparison  # TF.3
    assert "cannot be compared: removed in this version" in comparison  # TF.1
    assert re.search(r"TF\.2</span>.*?<td[^>]*>2 · Emerging</td>\s*<td[^>]*>2 · Emerging"
                     r"</td>\s*<td[^>]*>0</td>", comparison, re.S)


def test_the_comparison_page_and_the_pdf_section(app, a_id, respondent, next_round):
    # PW.1 1 → 3 (changed), PW.3 3 → 3 (confirmed), the rest still carried over.
    respondent.autosave(next_round, "PW.1", level=3, evidence="Better now", version=1)
    respondent.post(f"/assessments/{next_round}/answers/PW.3/confirm", htmx=True)
    page = respondent.get(f"/assessments/{next_round}/comparison")
    assert page.status_code == 200
    text = page.text
    assert "1 indicator up · 0 down · 1 unchanged · 26 that cannot be compared" in text
    assert re.search(r'class="change--up">\s*<th scope="row"><span class="key">PW\.1</span>',
                     text)
    assert "cannot be compared: no level yet in one round" in text
    # Political will: before PW.1 1, PW.3 3, PW.4 4, PW.5 1 (PW.2 N/A) → 9 / 4 = 2.25,
    # weakest 1 (with others higher: "1+"); now PW.1 3 and PW.3 3 → 3.00, weakest 3:
    # +0.75 and +2.
    row = re.search(r"Political will.*?</tr>", text, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["2.25", "3.00", "+0.75", "1+", "3", "+2"]
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="radar radar--full"' in text
    assert 'aria-labelledby="rounds-radar-title-full"' in text
    assert re.search(r"Political will 3\.00 \(previously 2\.25\)", text)
    results = respondent.get(f"/assessments/{next_round}/results").text
    assert f"/assessments/{next_round}/comparison" in results
    assert "nothing to compare" in respondent.get(f"/assessments/{a_id}/comparison").text
    assert "/comparison" not in respondent.get(f"/assessments/{a_id}/results").text

    data = respondent.get(f"/assessments/{next_round}/report.pdf").data
    reader = PdfReader(io.BytesIO(data))
    assert [t for d, t in outline_titles(reader) if d == 1] == [
        "Contents", "Executive summary", "Findings by principle", "Action plan",
        "Comparison with the previous round", "Annex: methodology"]
    contents = reader.pages[1].extract_text()
    page_number = int(re.search(r"Comparison with the previous round\s*\.*\s*(\d+)",
                                contents).group(1))
    section = reader.pages[page_number - 1].extract_text()
    assert "Comparison with the previous round" in section and "+0.75" in section
    flat = "".join(pdf_text(data).split())
    assert "PW.1" in flat and "1indicatorup·0down·1unchanged" in flat
    summary = respondent.get(f"/assessments/{next_round}/report.pdf",
                             query_string={"scope": "summary"}).data
    assert "Comparison with the previous round" not in pdf_text(summary)
    first = PdfReader(io.BytesIO(respondent.get(f"/assessments/{a_id}/report.pdf").data))
    assert "Comparison with the previous round" not in [t for _, t in outline_titles(first)]


def test_open_actions_of_the_previous_round_are_shown_and_carried_into_the_plan(
        app, a_id, respondent, make_browser):
    with app.app_context():
        user = _user("resp-a@example.org")
    submit_everything(app, a_id, with_file=False)
    with app.app_context():
        for key, status, owner in (("PW.1", "in_progress", "Strategy unit"),
                                   ("PW.5", "done", "Legal unit")):
            action_store.save_action(db.session, a_id, ActionInput(
                key, None, f"Do {key}", owner, date(2027, 6, 30), "high", status,
                f"Progress on {key}", None), user.id)
    assert start(respondent, a_id, app).status_code == 303
    second = new_round_id(app)
    page = respondent.get(f"/assessments/{second}/actions").text
    assert "Actions of the previous round, “<bdi>2026 round</bdi>”" in page
    assert "Closed: not carried" in page and "In progress" in page
    # PW.1's answer is carried over: confirm it so its action shows in the plan.
    respondent.post(f"/assessments/{second}/answers/PW.1/confirm", htmx=True)
    reply = respondent.post(f"/assessments/{second}/actions/PW.1/carry")
    assert reply.status_code == 303
    assert "1 action carried over from" in respondent.get(reply.location).text
    with app.app_context():
        action = db.session.scalar(select(Action).where(Action.assessment_id == second,
                                                        Action.indicator_key == "PW.1"))
        assert (action.description, action.owner, action.status, action.priority,
                action.progress_note, action.due_date) == (
            "Do PW.1", "Strategy unit", "in_progress", "high", "Progress on PW.1",
            date(2027, 6, 30))
        assert db.session.scalar(select(ActionRevision.kind).where(
            ActionRevision.action_id == action.id)) == "carried"
    again = respondent.post(f"/assessments/{second}/actions/PW.1/carry")
    assert again.status_code == 409 and "already has an action for PW.1" in again.text
    closed = respondent.post(f"/assessments/{second}/actions/PW.5/carry")
    assert closed.status_code == 409 and "done or dropped" in closed.text
    assert respondent.post(f"/assessments/{second}/actions/ZZ.9/carry").status_code == 404
    # Every other open action (the defaults of the unsaved ones too), at once.
    with app.app_context():
        open_before = len(list(db.session.scalars(select(Action).where(
            Action.assessment_id == second))))
    assert respondent.post(f"/assessments/{second}/actions/carry-open").status_code == 303
    with app.app_context():
        carried = {a.indicator_key: a for a in db.session.scalars(
            select(Action).where(Action.assessment_id == second))}
        assert "PW.5" not in carried and len(carried) > open_before
        assert carried["PW.3"].description and carried["PW.3"].status == "not_started"
    nothing = respondent.post(f"/assessments/{second}/actions/carry-open")
    assert nothing.status_code == 409 and "No open action" in nothing.text
    # A facilitator reads the list but carries nothing; the first round has no previous one.
    facilitator = make_browser("fac-a@example.org")
    listed = facilitator.get(f"/assessments/{second}/actions").text
    assert "Actions of the previous round" in listed and "Carry into this plan" not in listed
    assert facilitator.post(f"/assessments/{second}/actions/PW.3/carry").status_code == 403
    first = respondent.post(f"/assessments/{a_id}/actions/carry-open")
    assert first.status_code == 409 and "not started from a previous round" in first.text
    history = respondent.get(f"/assessments/{second}/actions/PW.1/history").text
    assert "carried over from the previous round by <bdi>Resp A</bdi>" in history


def test_the_upgraded_schema_counts_existing_answers_as_answered(app, a_id, respondent):
    """Answers saved before rounds existed are not carried over (the column's default)."""
    respondent.autosave(a_id, "PW.1", level=2, evidence="Saved before any round")
    with app.app_context():
        answer = db.session.scalar(select(Answer).where(Answer.assessment_id == a_id))
        assert answer.carried_over is False and answer.answered


def test_export_and_import_keep_which_answers_are_still_carried_over(
        app, runner, respondent, next_round, tmp_path):
    respondent.post(f"/assessments/{next_round}/answers/PW.1/confirm", htmx=True)
    body = respondent.get(f"/assessments/{next_round}/export.json").get_json()
    flags = {a["indicator_key"]: a["carried_over"] for a in body["answers"]}
    assert flags["PW.1"] is False and flags["PW.3"] is True and sum(flags.values()) == 27
    archive = respondent.get(f"/assessments/{next_round}/export.zip").data
    (tmp_path / "round.zip").write_bytes(archive)
    result = runner.invoke(args=["import-assessment", str(tmp_path / "round.zip"),
                                 "--administration", "Administration B",
                                 "--round", "Imported round"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        imported = db.session.scalar(select(Assessment).where(
            Assessment.round_name == "Imported round"))
        carried = set(db.session.scalars(select(Answer.indicator_key).where(
            Answer.assessment_id == imported.id, Answer.carried_over.is_(True))))
        assert len(carried) == 27 and "PW.1" not in carried
        assert imported.answered_count == 1


def test_round_names_are_escaped_on_every_rounds_page(app, a_id, respondent):
    hostile = '<script>alert("round")</script>'
    submit_everything(app, a_id, with_file=False)
    assert start(respondent, a_id, app, name=hostile).status_code == 303
    second = new_round_id(app, hostile)
    for path in (f"/assessments/{second}", f"/assessments/{second}/principles/PW",
                 f"/assessments/{second}/comparison", f"/assessments/{second}/actions",
                 f"/assessments/{a_id}", f"/assessments/{second}/answers/PW.1/history"):
        text = respondent.get(path).text
        assert "<script>alert" not in text, path
    assert "&lt;script&gt;alert" in respondent.get(f"/assessments/{second}/comparison").text


@pytest.mark.database_independent  # text through gettext
def test_the_rounds_pages_and_pdf_section_in_french(app, respondent, next_round):
    french = {"Accept-Language": "fr"}
    page = respondent.client.get(f"/assessments/{next_round}/principles/PW", headers=french)
    assert "Reprise — à confirmer ou modifier" in page.text
    assert "Confirmer toutes les réponses inchangées de ce principe" in page.text
    comparison = respondent.client.get(f"/assessments/{next_round}/comparison",
                                       headers=french).text
    assert "Comparaison avec le cycle précédent" in comparison
    assert "comparaison impossible\u00a0: pas encore de niveau dans l’un des cycles" \
        in comparison
    pdf = respondent.get(f"/assessments/{next_round}/report.pdf",
                         query_string={"language": "fr"}).data
    titles = [t for d, t in outline_titles(PdfReader(io.BytesIO(pdf))) if d == 1]
    assert "Comparaison avec le cycle précédent" in titles


def test_the_dashboards_average_leaves_out_answers_still_carried_over(
        app, respondent, next_round):
    """A carried-over answer counts as unanswered in the stored headline average too (the
    dashboard sorts on it); confirming one, or changing one, brings it in."""
    from cbassess.scoring import AnswerValue, score

    def stored_and_live() -> tuple:
        with app.app_context():
            assessment = db.session.get(Assessment, next_round)
            counted = {a.indicator_key: AnswerValue(a.level, a.not_applicable)
                       for a in db.session.scalars(select(Answer).where(
                           Answer.assessment_id == next_round, Answer.carried_over.is_(False)))}
            return (assessment.claimed_average,
                    score(instrument_of(assessment), counted).average)

    assert stored_and_live() == (None, None)
    respondent.post(f"/assessments/{next_round}/answers/PW.1/confirm", htmx=True)
    stored, live = stored_and_live()
    assert stored is not None and stored == pytest.approx(live)
    # Changing only the evidence of a carried answer brings its (unchanged) level in too.
    with app.app_context():
        level = db.session.scalar(select(Answer.level).where(
            Answer.assessment_id == next_round, Answer.indicator_key == "OC.1"))
    reply = respondent.autosave(next_round, "OC.1", level=level, evidence="New evidence",
                                version=1)
    assert reply.status_code == 200
    stored, live = stored_and_live()
    assert stored is not None and stored == pytest.approx(live)
