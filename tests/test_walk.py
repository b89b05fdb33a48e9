"""The respondent's walk: pages, autosave (htmx and plain form post), validation, submit."""

from __future__ import annotations

import threading

from cbassess.extensions import db
from cbassess.models import Answer, AnswerRevision, Assessment


def answers_of(app, assessment_id):
    with app.app_context():
        return {a.indicator_key: a for a in db.session.query(Answer).filter_by(
            assessment_id=assessment_id)}


def revisions_of(app, assessment_id, key):
    with app.app_context():
        return db.session.query(AnswerRevision).filter_by(
            assessment_id=assessment_id, indicator_key=key).order_by(AnswerRevision.id).all()


def test_respondent_lands_on_their_administrations_assessments(respondent):
    page = respondent.get("/assessments")
    assert page.status_code == 200
    assert "2026 round" in page.text
    assert "Start a new assessment" in page.text


def test_respondent_starts_a_new_round(respondent):
    response = respondent.post("/assessments", {"round_name": "2027 round", "instrument_id": 1})
    assert response.status_code == 303
    assert "/assessments/" in response.headers["Location"]
    assert "2027 round" in respondent.get(response.headers["Location"]).text


def test_new_round_with_a_name_already_used_is_refused(respondent):
    response = respondent.post("/assessments", {"round_name": "2026 round", "instrument_id": 1},
                               follow_redirects=True)
    assert "already has a round called" in response.text


def test_new_round_without_a_name_is_refused(respondent):
    response = respondent.post("/assessments", {"round_name": "  ", "instrument_id": 1},
                               follow_redirects=True)
    assert "Give the round a name" in response.text


def test_overview_lists_every_principle_with_progress(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}")
    assert page.status_code == 200
    for title in ("Political will", "Ownership and commitment", "Holistic development",
                  "Demand driven and responsive", "Partnerships"):
        assert title in page.text
    assert "0/5" in page.text


def test_principle_page_shows_descriptors_as_labelled_radio_buttons(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}/principles/PW")
    assert page.status_code == 200
    assert 'type="radio" id="PW-1-level-0" name="PW.1-level" value="0"' in page.text
    assert '<label for="PW-1-level-0">' in page.text
    assert "<legend" in page.text
    assert f'hx-post="/assessments/{a_id}/answers/PW.1"' in page.text


def test_autosave_reply_names_who_saved_it(respondent, a_id):
    response = respondent.autosave(a_id, "PW.1", level=3, evidence="Decree 2025-114")
    assert "by <bdi>Resp A</bdi>" in response.text


def test_autosave_reply_shows_the_principle_progress_after_the_save(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="one")
    response = respondent.autosave(a_id, "PW.2", level=3, evidence="two")
    assert "2 of 5 indicators answered in this principle" in response.text
    assert "average 2.00, weakest link 1+" in response.text
    assert 'data-edits="2"' in response.text


def test_unknown_principle_is_404(respondent, a_id):
    assert respondent.get(f"/assessments/{a_id}/principles/ZZ").status_code == 404


def test_htmx_autosave_stores_the_answer_and_swaps_only_the_fragments(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level=3, evidence="Decree 2025-114")
    assert response.status_code == 200
    assert "Saved at" in response.text
    assert 'id="version-PW-1"' in response.text and 'hx-swap-oob="true"' in response.text
    assert 'id="principle-progress"' in response.text
    assert 'id="stepper-total"' in response.text and 'id="stepper-item-PW"' in response.text
    assert 'id="stepper-item-OC"' not in response.text
    assert "<html" not in response.text
    assert "1 of 28 answered" in response.text
    stored = answers_of(app, a_id)["PW.1"]
    assert (stored.level, stored.evidence, stored.version) == (3, "Decree 2025-114", 1)


def test_autosave_reply_is_small(respondent, a_id):
    response = respondent.autosave(a_id, "PW.1", level=3, evidence="x")
    assert len(response.data) < 4096


def test_autosave_without_htmx_redirects_back_to_the_indicator(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.2", level=1, evidence="Law 24-07", htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/principles/PW#ind-PW.2")
    assert answers_of(app, a_id)["PW.2"].level == 1


def test_plain_form_post_saves_every_indicator_of_the_principle(respondent, app, a_id):
    data = {"action": "next"}
    for n in range(1, 6):
        data[f"PW.{n}-level"] = str(n % 5)
        data[f"PW.{n}-evidence"] = f"evidence {n}"
    response = respondent.post(f"/assessments/{a_id}/principles/PW", data)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/principles/OC")
    stored = answers_of(app, a_id)
    assert [stored[f"PW.{n}"].level for n in range(1, 6)] == [1, 2, 3, 4, 0]
    assert "Your answers are saved" in respondent.get(response.headers["Location"]).text


def test_plain_form_post_with_one_bad_answer_saves_nothing(respondent, app, a_id):
    data = {"PW.1-level": "2", "PW.1-evidence": "fine", "PW.2-level": "9"}
    response = respondent.post(f"/assessments/{a_id}/principles/PW", data)
    assert response.status_code == 422
    assert "outside the scale" in response.text
    assert 'value="fine"' not in response.text  # textarea content, not an attribute
    assert ">fine</textarea>" in response.text
    assert answers_of(app, a_id) == {}


def test_level_outside_the_scale_is_refused_with_a_message(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level=7)
    assert response.status_code == 422
    assert "outside the scale (0 to 4)" in response.text
    assert answers_of(app, a_id) == {}


def test_non_numeric_level_is_refused(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level="three")
    assert response.status_code == 422
    assert "must be a number" in response.text


def test_unknown_indicator_is_refused(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.99", level=1)
    assert response.status_code == 404
    assert "does not exist" in response.text
    assert answers_of(app, a_id) == {}


def test_evidence_over_the_limit_is_refused(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level=1, evidence="x" * 20_001)
    assert response.status_code == 422
    assert "the limit is 20,000" in response.text
    assert answers_of(app, a_id) == {}


def test_not_applicable_without_justification_is_refused(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level="na", evidence="   ")
    assert response.status_code == 422
    assert "justification" in response.text
    assert answers_of(app, a_id) == {}


def test_not_applicable_with_justification_is_saved(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level="na", evidence="No reform budget line.")
    assert response.status_code == 200
    stored = answers_of(app, a_id)["PW.1"]
    assert stored.not_applicable and stored.level is None


def test_control_characters_are_refused(respondent, app, a_id):
    response = respondent.autosave(a_id, "PW.1", level=1, evidence="bad\x00text")
    assert response.status_code == 422
    assert "control characters" in response.text


def test_autosave_without_csrf_token_is_refused(respondent, app, a_id):
    response = respondent.post(f"/assessments/{a_id}/answers/PW.1",
                               {"PW.1-level": "2"}, htmx=True, csrf=False)
    assert response.status_code == 400
    assert answers_of(app, a_id) == {}


def test_every_change_is_kept_as_a_revision(respondent, app, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="first", version=0)
    respondent.autosave(a_id, "PW.1", level=2, evidence="second", version=1)
    revisions = revisions_of(app, a_id, "PW.1")
    assert [(r.before["level"], r.after["level"]) for r in revisions] == [(None, 1), (1, 2)]
    assert revisions[1].before["evidence"] == "first"
    assert all(r.changed_by_id is not None for r in revisions)


def test_saving_the_same_value_again_writes_no_revision(respondent, app, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="same", version=0)
    response = respondent.autosave(a_id, "PW.1", level=1, evidence="same", version=1)
    assert response.status_code == 200
    assert len(revisions_of(app, a_id, "PW.1")) == 1


def test_history_page_lists_each_change(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=1, evidence="old text", version=0)
    respondent.autosave(a_id, "PW.1", level=2, evidence="new text", version=1)
    page = respondent.get(f"/assessments/{a_id}/answers/PW.1/history")
    assert page.status_code == 200
    assert "old text" in page.text and "new text" in page.text
    assert "Version 2 by <bdi>Resp A</bdi>" in page.text


def test_save_with_an_older_version_is_a_conflict_not_an_overwrite(make_browser, app, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="first person's text", version=0)
    response = second.autosave(a_id, "PW.1", level=1, evidence="second person's text",
                               version=0)
    assert response.status_code == 409
    assert "first person&#39;s text" in response.text
    assert "Keep mine" in response.text and "Take theirs" in response.text
    assert 'data-version="1"' in response.text
    assert 'id="version-PW-1"' not in response.text  # the next plain save conflicts again
    assert answers_of(app, a_id)["PW.1"].evidence == "first person's text"
    kinds = [r.kind for r in revisions_of(app, a_id, "PW.1")]
    assert kinds == ["edit", "conflict"]


def test_keep_mine_after_a_conflict_saves_with_the_new_version(make_browser, app, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="theirs", version=0)
    second.autosave(a_id, "PW.1", level=1, evidence="mine", version=0)
    response = second.autosave(a_id, "PW.1", level=1, evidence="mine", version=1)
    assert response.status_code == 200
    assert answers_of(app, a_id)["PW.1"].evidence == "mine"


def test_take_theirs_returns_the_stored_indicator(make_browser, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="theirs", version=0)
    fragment = second.get(f"/assessments/{a_id}/answers/PW.1", htmx=True)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("{#") or 'id="ind-PW-1"' in fragment.text
    assert ">theirs</textarea>" in fragment.text
    assert 'value="1"' in fragment.text


def test_concurrent_first_saves_of_one_answer_never_fail(app, a_id):
    from tests.conftest import Browser

    browsers = []
    for _ in range(6):
        browser = Browser(app.test_client())
        browser.login("resp-a@example.org")
        browsers.append(browser)
    statuses = []

    def save(browser, n):
        statuses.append(browser.autosave(a_id, "PW.1", level=n % 5, evidence=f"t{n}").status_code)

    threads = [threading.Thread(target=save, args=(b, n)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 200 for status in statuses), statuses
    with app.app_context():
        assert db.session.query(Answer).filter_by(assessment_id=a_id).count() == 1
        answer = db.session.query(Answer).filter_by(assessment_id=a_id).one()
        assert answer.version == len(revisions_of(app, a_id, "PW.1"))


def test_submit_names_the_unanswered_indicators(respondent, app, a_id):
    respondent.autosave(a_id, "PW.1", level=2, evidence="x")
    response = respondent.post(f"/assessments/{a_id}/submit")
    assert response.status_code == 422
    assert "27 indicators are unanswered" in response.text
    assert "PW.2" in response.text and "PA.6" in response.text
    with app.app_context():
        assert db.session.get(Assessment, a_id).status == "draft"


def _complete(respondent, a_id, app):
    from cbassess.permissions import instrument_of

    with app.app_context():
        spec = instrument_of(db.session.get(Assessment, a_id))
        keys = [i.key for i in spec.indicators]
    for n, key in enumerate(keys):
        assert respondent.autosave(a_id, key, level=n % 5, evidence=f"ev {key}").status_code == 200


def test_complete_assessment_is_submitted_and_becomes_read_only(respondent, app, a_id):
    _complete(respondent, a_id, app)
    response = respondent.post(f"/assessments/{a_id}/submit")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Assessment, a_id).status == "submitted"
    late = respondent.autosave(a_id, "PW.1", level=0, evidence="late change")
    assert late.status_code == 409
    assert "can no longer be changed" in late.text
    assert answers_of(app, a_id)["PW.1"].evidence == "ev PW.1"
    page = respondent.get(f"/assessments/{a_id}/principles/PW")
    assert "read-only" in page.text and "hx-post" not in page.text


def test_submitting_twice_answers_409(respondent, app, a_id):
    _complete(respondent, a_id, app)
    respondent.post(f"/assessments/{a_id}/submit")
    assert respondent.post(f"/assessments/{a_id}/submit").status_code == 409


def test_list_shows_progress_count(respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=2, evidence="x")
    respondent.autosave(a_id, "PW.2", level="na", evidence="why")
    assert "2 of 28" in respondent.get("/assessments").text


def test_plain_form_conflict_shows_theirs_and_a_second_post_keeps_mine(make_browser, app, a_id):
    first, second = make_browser("resp-a@example.org"), make_browser("resp-a2@example.org")
    first.autosave(a_id, "PW.1", level=3, evidence="theirs", version=0)
    data = {"PW.1-level": "1", "PW.1-evidence": "mine", "PW.1-version": "0"}
    refused = second.post(f"/assessments/{a_id}/principles/PW", data)
    assert refused.status_code == 409
    assert ">mine</textarea>" in refused.text and "theirs" in refused.text
    assert 'name="PW.1-version" value="1"' in refused.text
    assert answers_of(app, a_id)["PW.1"].evidence == "theirs"
    kept = second.post(f"/assessments/{a_id}/principles/PW", {**data, "PW.1-version": "1"})
    assert kept.status_code == 303
    assert answers_of(app, a_id)["PW.1"].evidence == "mine"


def test_saving_or_confirming_an_indicator_the_instrument_lacks_gets_404_and_writes_nothing(
        app, respondent, a_id):
    saved = respondent.autosave(a_id, "PW.99", level=2, evidence="x")
    confirmed = respondent.post(f"/assessments/{a_id}/answers/PW.99/confirm", htmx=True)
    for reply in (saved, confirmed):
        assert reply.status_code == 404
        assert "This indicator does not exist in the assessment&#39;s instrument." in reply.text
    with app.app_context():
        assert db.session.query(Answer).filter_by(indicator_key="PW.99").count() == 0
