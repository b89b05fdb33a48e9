"""The action plan through HTTP: the page, saving in place (htmx and plain form), edit
conflicts and the history, facilitators' comments, sorting and overdue marking."""

from __future__ import annotations

import re

from cbassess.extensions import db
from cbassess.models import Action, ActionRevision


def rate(respondent, a_id, levels: dict[str, int]) -> None:
    for key, level in levels.items():
        assert respondent.autosave(a_id, key, level=level, evidence=f"evidence {key}"
                                   ).status_code == 200


def action_form(**values) -> dict:
    base = {"target_level": "", "description": "Have the strategy endorsed by the minister",
            "owner": "Strategy unit", "due_date": "2027-06-30", "priority": "",
            "status": "in_progress", "progress_note": "Draft sent", "version": "0"}
    return {**base, **values}


def article(html: str, key: str) -> str:
    match = re.search(rf'<article id="action-{re.escape(key)}".*?</article>', html, re.S)
    assert match, f"no action {key} on the page"
    return match.group(0)


def test_the_plan_proposes_an_action_per_indicator_below_target(app, respondent, a_id):
    rate(respondent, a_id, {"PW.1": 1, "PW.2": 4, "PW.3": 3})
    page = respondent.get(f"/assessments/{a_id}/actions")
    assert page.status_code == 200
    assert 'id="action-PW.1"' in page.text and 'id="action-PW.3"' in page.text
    assert 'id="action-PW.2"' not in page.text  # at the top of the scale
    one = article(page.text, "PW.1")
    assert "Level 1 → target 2" in one
    assert "Priority: High" in one  # the principle's weakest link
    assert "Not saved yet" in one
    assert "indicators are not rated yet" in page.text


def test_saving_in_place_with_htmx_returns_the_action_and_writes_a_revision(app, respondent,
                                                                             a_id):
    rate(respondent, a_id, {"PW.1": 1})
    reply = respondent.post(f"/assessments/{a_id}/actions/PW.1",
                            action_form(target_level="3", priority="medium"), htmx=True)
    assert reply.status_code == 200
    assert reply.text.lstrip().startswith('<article id="action-PW.1"')
    assert "Saved" in reply.text and "Level 1 → target 3" in reply.text
    assert 'name="version" value="1"' in reply.text
    with app.app_context():
        action = db.session.query(Action).one()
        assert (action.target_level, action.owner, action.priority, action.version) == (
            3, "Strategy unit", "medium", 1)
        revision = db.session.query(ActionRevision).one()
        assert revision.kind == "edit" and revision.after["due_date"] == "2027-06-30"


def test_without_javascript_the_form_posts_and_the_page_comes_back(app, respondent, a_id):
    rate(respondent, a_id, {"PW.1": 1})
    reply = respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form())
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/assessments/{a_id}/actions#action-PW.1")
    page = respondent.get(f"/assessments/{a_id}/actions")
    assert "The action for PW.1 is saved." in page.text
    assert "Have the strategy endorsed by the minister" in article(page.text, "PW.1")


def test_a_bad_action_is_refused_with_its_field_marked_and_nothing_written(app, respondent,
                                                                          a_id):
    rate(respondent, a_id, {"PW.1": 1})
    reply = respondent.post(f"/assessments/{a_id}/actions/PW.1",
                            action_form(due_date="31/12/2027", owner="Kept <b>owner</b>"),
                            htmx=True)
    assert reply.status_code == 422
    assert "Give the due date as a date (YYYY-MM-DD)." in reply.text
    assert 'aria-invalid="true"' in reply.text
    assert "Kept &lt;b&gt;owner&lt;/b&gt;" in reply.text  # what was typed stays, escaped
    plain = respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(target_level="1"))
    assert plain.status_code == 422 and "must be above the current level" in plain.text
    with app.app_context():
        assert db.session.query(Action).count() == 0


def test_an_older_version_is_a_conflict_kept_in_the_history(app, respondent, make_browser,
                                                             a_id):
    rate(respondent, a_id, {"PW.1": 1})
    other = make_browser("resp-a2@example.org")
    assert other.post(f"/assessments/{a_id}/actions/PW.1", action_form(owner="Theirs"),
                      htmx=True).status_code == 200
    reply = respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(owner="Mine"),
                            htmx=True)
    assert reply.status_code == 409
    assert "Resp A Two saved this action after you opened the page" in reply.text
    assert "Their version" in reply.text
    assert 'name="version" value="1"' in reply.text  # saving again replaces theirs
    assert respondent.post(f"/assessments/{a_id}/actions/PW.1",
                           action_form(owner="Mine", version="1"), htmx=True).status_code == 200
    history = respondent.get(f"/assessments/{a_id}/actions/PW.1/history")
    assert "Edit refused (conflict) by <bdi>Resp A" in history.text
    assert history.text.count("Version ") == 2


def test_facilitators_comment_and_cannot_edit(app, respondent, make_browser, a_id):
    rate(respondent, a_id, {"PW.1": 1})
    facilitator = make_browser("fac-a@example.org")
    page = facilitator.get(f"/assessments/{a_id}/actions")
    assert "Comment on this action" in page.text and "Save the action" not in page.text
    reply = facilitator.post(f"/assessments/{a_id}/actions/PW.1/comments",
                             {"comment": "Which minister? <script>"}, htmx=True)
    assert reply.status_code == 200
    assert "Which minister? &lt;script&gt;" in reply.text and "Fac A" in reply.text
    empty = facilitator.post(f"/assessments/{a_id}/actions/PW.1/comments", {"comment": " "},
                             htmx=True)
    assert empty.status_code == 422 and "Write a comment" in empty.text
    assert facilitator.post(f"/assessments/{a_id}/actions/PW.1", action_form(),
                            htmx=True).status_code == 403
    assert "Which minister?" in respondent.get(f"/assessments/{a_id}/actions").text
    assert respondent.post(f"/assessments/{a_id}/actions/PW.1/comments",
                           {"comment": "x"}).status_code == 403


def test_overdue_actions_are_marked_and_sorting_orders_each_principle(app, respondent, a_id):
    rate(respondent, a_id, {"PW.1": 1, "PW.2": 2, "PW.3": 0})
    respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(due_date="2020-01-31"))
    respondent.post(f"/assessments/{a_id}/actions/PW.2",
                    action_form(due_date="2026-01-15", status="done"))
    page = respondent.get(f"/assessments/{a_id}/actions?sort=due")
    assert "Overdue" in article(page.text, "PW.1")
    assert "Overdue" not in article(page.text, "PW.2")  # done is never overdue
    assert "1 overdue" in page.text
    order = re.findall(r'<article id="action-(PW\.\d)"', page.text)
    assert order == ["PW.1", "PW.2", "PW.3"]
    by_priority = re.findall(r'<article id="action-(PW\.\d)"',
                             respondent.get(f"/assessments/{a_id}/actions?sort=priority").text)
    assert by_priority[0] == "PW.3"  # level 0 and weakest link: high


def test_actions_stay_editable_after_submission(app, respondent, a_id):
    with app.app_context():
        from cbassess.models import Assessment
        db.session.get(Assessment, a_id).status = "submitted"
        db.session.commit()
    with app.app_context():
        from cbassess.models import Answer
        db.session.add(Answer(assessment_id=a_id, indicator_key="PW.1", level=1,
                              evidence="e", note="", version=1))
        db.session.commit()
    assert respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(),
                           htmx=True).status_code == 200


def test_an_unrated_or_unknown_indicator_has_no_action(app, respondent, a_id):
    reply = respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(), htmx=True)
    assert reply.status_code == 422 and "Rate this indicator" in reply.text
    assert respondent.post(f"/assessments/{a_id}/actions/NOPE.1", action_form(),
                           htmx=True).status_code == 404
