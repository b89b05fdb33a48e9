"""Each page runs a fixed number of SQL statements, however many rows the database holds.

Statements are counted on the engine (`before_cursor_execute`) while one request is served,
once with the seeded data (an assessment per administration, one answer) and once after
adding many rows: rounds, administrations assigned to the facilitator, every answer with
several revisions. The two counts must be equal, so an N+1 query (one per row shown)
fails here. Each count is taken on the second request for the page, so a once-per-process
cost (the first parse of an instrument) is not counted.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, select

from cbassess.extensions import db
from cbassess.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Instrument,
    Organisation,
    User,
    facilitator_assignments,
)
from cbassess.permissions import parse_instrument_row
from tests.conftest import SHIPPED_KEY
from tests.databases import BACKEND

EXTRA_ROUNDS = 40  # more than a page (PAGE_SIZE 25), so the lists paginate
EXTRA_ORGANISATIONS = 30
REVISIONS_PER_ANSWER = 4
# A ceiling per page, so a new query on a page is a decision, not an accident.
# 7: the overview also reads the review loop's steps and its open queries; 8: and the
# rounds around it (the one it was started from, the one started from it).
MOST_STATEMENTS = 8


@contextmanager
def counting(app):
    """Collect the SQL statements the app's engine executes inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, browser, path: str) -> int:
    """Statements run by the second GET of `path` (which must answer 200)."""
    assert browser.get(path).status_code == 200
    with counting(app) as statements:
        response = browser.get(path)
    assert response.status_code == 200, path
    return len(statements)


def _answer_rows(assessment_id: int, keys: list[str], user_id: int, when: datetime) -> list:
    return [{"assessment_id": assessment_id, "indicator_key": key, "level": position % 5,
             "not_applicable": False, "evidence": f"Evidence for {key}", "note": "",
             "version": REVISIONS_PER_ANSWER, "updated_at": when, "updated_by_id": user_id}
            for position, key in enumerate(keys)]


def grow(app, a_id: int) -> None:
    """Add rounds to Administration A, assign more administrations (with rounds) to its
    facilitator, and answer every indicator of `a_id` with a history."""
    with app.app_context():
        row = db.session.scalar(select(Instrument).where(Instrument.key == SHIPPED_KEY))
        keys = [i.key for i in parse_instrument_row(row).indicators]
        respondent = db.session.scalar(select(User).where(User.email == "resp-a@example.org"))
        other = db.session.scalar(select(User).where(User.email == "resp-a2@example.org"))
        facilitator = db.session.scalar(select(User).where(User.email == "fac-a@example.org"))
        start = datetime(2020, 1, 1, tzinfo=UTC)
        organisations = [Organisation(name=f"Grown administration {n}", country_code="GR")
                         for n in range(EXTRA_ORGANISATIONS)]
        db.session.add_all(organisations)
        db.session.flush()
        db.session.execute(insert(facilitator_assignments), [
            {"user_id": facilitator.id, "organisation_id": o.id} for o in organisations])
        rounds = [Assessment(organisation_id=respondent.organisation_id, instrument_id=row.id,
                             round_name=f"Round {n}", created_at=start + timedelta(days=n))
                  for n in range(EXTRA_ROUNDS)]
        rounds += [Assessment(organisation_id=o.id, instrument_id=row.id, round_name="2026",
                              created_at=start + timedelta(days=n, hours=1))
                   for n, o in enumerate(organisations)]
        db.session.add_all(rounds)
        db.session.flush()
        for assessment in rounds[::5]:
            db.session.execute(insert(Answer), _answer_rows(assessment.id, keys, other.id,
                                                            start))
        db.session.execute(Answer.__table__.delete().where(Answer.assessment_id == a_id))
        # Answers saved by two different people, so a per-row user lookup would show.
        rows = _answer_rows(a_id, keys, respondent.id, start)
        for position, answer in enumerate(rows):
            answer["updated_by_id"] = other.id if position % 2 else respondent.id
        db.session.execute(insert(Answer), rows)
        answers = db.session.execute(select(Answer.id, Answer.indicator_key).where(
            Answer.assessment_id == a_id)).all()
        db.session.execute(insert(AnswerRevision), [
            {"answer_id": answer_id, "assessment_id": a_id, "indicator_key": key,
             "version": version, "changed_by_id": respondent.id, "changed_at": start,
             "kind": "edit", "before": {}, "after": {"level": version % 5}}
            for answer_id, key in answers for version in range(1, REVISIONS_PER_ANSWER + 1)])
        db.session.execute(Assessment.__table__.update().where(Assessment.id == a_id)
                           .values(answered_count=len(keys)))
        db.session.commit()


PAGES = {
    "respondent's list": ("resp-a@example.org", "/assessments"),
    "respondent's list, page 2": ("resp-a@example.org", "/assessments?page=2"),
    "facilitator's list": ("fac-a@example.org", "/assessments"),
    "facilitator's list, page 2": ("fac-a@example.org", "/assessments?page=2"),
    "overview": ("resp-a@example.org", "/assessments/{a_id}"),
    "principle page": ("resp-a@example.org", "/assessments/{a_id}/principles/PW"),
    "results (respondent)": ("resp-a@example.org", "/assessments/{a_id}/results"),
    "results (facilitator)": ("fac-a@example.org", "/assessments/{a_id}/results"),
    "overview (facilitator)": ("fac-a@example.org", "/assessments/{a_id}"),
    "principle page (facilitator)": ("fac-a@example.org",
                                     "/assessments/{a_id}/principles/HD"),
}


def test_statements_per_page_do_not_grow_with_the_data(app, make_browser, a_id):
    respondent = make_browser("resp-a@example.org")
    assert respondent.autosave(a_id, "PW.1", level=2, evidence="One answer").status_code == 200
    # A second round and one round a page, so that page 2 exists before the data grows too
    # (past the last page is 404).
    assert respondent.post("/assessments", {"round_name": "Second round",
                                            "instrument_id": "1"}).status_code == 303
    app.config["PAGE_SIZE"] = 1
    browsers = {"resp-a@example.org": respondent,
                "fac-a@example.org": make_browser("fac-a@example.org")}

    def measure() -> dict[str, int]:
        return {name: statements_for(app, browsers[email], path.format(a_id=a_id))
                for name, (email, path) in PAGES.items()}

    small = measure()
    grow(app, a_id)
    large = measure()
    grew = {page: (small[page], large[page]) for page in PAGES if small[page] != large[page]}
    assert not grew, f"statements (one answer, many rows) that grew with the data: {grew}"
    too_many = {page: n for page, n in large.items() if n > MOST_STATEMENTS}
    assert not too_many, f"pages over {MOST_STATEMENTS} statements: {too_many}"


def test_the_grown_data_is_really_shown(app, make_browser, a_id):
    """The large case is large: the lists paginate and every answer is on the pages."""
    grow(app, a_id)
    facilitator = make_browser("fac-a@example.org")
    listing = facilitator.get("/assessments").text
    assert "Next page" in listing and "Grown administration" in listing
    assert "28/28" in facilitator.get(f"/assessments/{a_id}").text
    assert "Evidence for PW.5" in facilitator.get(f"/assessments/{a_id}/principles/PW").text


def test_an_autosave_runs_the_same_statements_whatever_the_data(app, make_browser, a_id):
    """Saving new text into an existing answer, with one answer stored and with many."""
    respondent = make_browser("resp-a@example.org")

    def save_statements(evidence: str) -> int:
        respondent.autosave(a_id, "PW.1", level=2, evidence=evidence + " (first)")
        with counting(app) as statements:
            response = respondent.autosave(a_id, "PW.1", level=2, evidence=evidence)
        assert response.status_code == 200 and "Saved at" in response.text
        return len(statements)

    small = save_statements("Before growing")
    grow(app, a_id)
    large = save_statements("After growing")
    assert large == small
    # The user, the assessment, the answers read under the lock, the update, the revision;
    # on PostgreSQL the assessment's row lock too.
    assert large <= (6 if BACKEND == "postgresql" else 5)
