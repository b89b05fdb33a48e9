"""Two sessions editing one answer: the second save never silently overwrites the first.

tests/test_walk.py covers the conflict reply, "keep mine", "take theirs" and the plain-form
conflict; this file adds the version read from the page itself, two tabs of one person, the
history page after a conflict, and the version an accepted save hands back.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from cbassess import answers as answer_store
from cbassess.extensions import db
from cbassess.models import Answer, AnswerRevision, Assessment
from cbassess.permissions import instrument_of

_PAGE_VERSION = re.compile(r'name="PW\.1-version" value="(\d+)"')


def _page_version(browser, a_id: int) -> int:
    return int(_PAGE_VERSION.search(browser.get(f"/assessments/{a_id}/principles/PW").text)[1])


def _kinds(app, a_id: int) -> list[str]:
    with app.app_context():
        return [r.kind for r in db.session.query(AnswerRevision).filter_by(
            assessment_id=a_id, indicator_key="PW.1").order_by(AnswerRevision.id)]


def _stored(app, a_id: int) -> Answer:
    with app.app_context():
        return db.session.query(Answer).filter_by(assessment_id=a_id, indicator_key="PW.1").one()


def test_second_save_from_a_page_loaded_before_the_first_is_a_conflict(make_browser, app, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    seen_by_first, seen_by_second = _page_version(first, a_id), _page_version(second, a_id)
    assert first.autosave(a_id, "PW.1", level=3, evidence="first",
                          version=seen_by_first).status_code == 200
    response = second.autosave(a_id, "PW.1", level=1, evidence="second", version=seen_by_second)
    assert response.status_code == 409
    assert _stored(app, a_id).evidence == "first"


def test_two_tabs_of_one_person_conflict_like_two_people(make_browser, app, a_id):
    tab_one, tab_two = make_browser("resp-a@example.org"), make_browser("resp-a@example.org")
    version = _page_version(tab_one, a_id)
    tab_one.autosave(a_id, "PW.1", level=2, evidence="typed in tab one", version=version)
    response = tab_two.autosave(a_id, "PW.1", level=2, evidence="typed in tab two",
                                version=version)
    assert response.status_code == 409
    assert "typed in tab one" in response.text
    assert _stored(app, a_id).evidence == "typed in tab one"


def test_history_page_shows_both_values_after_a_conflict(make_browser, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="the first person's text", version=0)
    second.autosave(a_id, "PW.1", level=1, evidence="the second person's text", version=0)
    page = second.get(f"/assessments/{a_id}/answers/PW.1/history")
    assert page.status_code == 200
    assert "the first person&#39;s text" in page.text
    assert "the second person&#39;s text" in page.text
    assert "Edit refused (conflict) by <bdi>Resp A Two</bdi>" in page.text


def test_keeping_mine_after_a_conflict_leaves_both_edits_and_the_conflict_in_the_history(
        make_browser, app, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="theirs", version=0)
    refused = second.autosave(a_id, "PW.1", level=1, evidence="mine", version=0)
    offered = int(re.search(r'data-version="(\d+)"', refused.text)[1])
    assert second.autosave(a_id, "PW.1", level=1, evidence="mine",
                           version=offered).status_code == 200
    assert _kinds(app, a_id) == ["edit", "conflict", "edit"]
    assert (_stored(app, a_id).evidence, _stored(app, a_id).version) == ("mine", 2)


def test_a_save_reports_the_version_it_wrote_even_when_a_newer_save_follows(app, a_id):
    """The reply's version must be this save's, or the page's next save would overwrite the
    newer change without a conflict (the row is re-read after commit otherwise)."""
    with app.app_context():
        instrument = instrument_of(db.session.get(Assessment, a_id))
        mine = answer_store.parse_answer(instrument, "PW.1", {
            "PW.1-level": "1", "PW.1-evidence": "mine", "PW.1-version": "0"})
        theirs = answer_store.parse_answer(instrument, "PW.1", {
            "PW.1-level": "2", "PW.1-evidence": "theirs", "PW.1-version": "1"})
        [saved] = answer_store.save_answers(db.session, a_id, [mine], user_id=1).answers
        with Session(db.engine) as other:
            answer_store.save_answers(other, a_id, [theirs], user_id=2)
        assert (saved.version, saved.evidence, saved.updated_by_id) == (1, "mine", 1)
