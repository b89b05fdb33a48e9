"""A team per administration: the admin names a coordinator, who shares out an
assessment's principles; the overview shows who is on which principle and each person's
progress. Assigning locks nobody out: the whole team still answers everything."""

from __future__ import annotations

from sqlalchemy import select

from cbassess.extensions import db
from cbassess.models import Assessment, AuditEntry, PrincipleAssignment, Status, User
from tests.conftest import Browser


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def _make_coordinator(app, make_browser, email: str = "resp-a@example.org") -> Browser:
    admin = make_browser("admin@example.org")
    user_id = _user_id(app, email)
    with app.app_context():
        org_id = db.session.get(User, user_id).organisation_id
    response = admin.post(f"/admin/users/{user_id}", {
        "name": "Resp A", "role": "respondent", "organisation_id": org_id,
        "is_coordinator": "yes"})
    assert response.status_code == 303
    return make_browser(email)


def _assignments(app, a_id: int) -> dict[str, str]:
    with app.app_context():
        return {row.principle_key: row.user.email for row in db.session.scalars(
            select(PrincipleAssignment).where(PrincipleAssignment.assessment_id == a_id))}


def test_an_admin_names_a_coordinator_on_record(app, make_browser):
    _make_coordinator(app, make_browser)
    with app.app_context():
        assert db.session.scalar(select(User.is_coordinator).where(
            User.email == "resp-a@example.org"))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
        assert entry.details["changes"]["coordinator"] == [False, True]


def test_the_coordinator_shares_out_principles_and_the_overview_shows_progress(
        app, make_browser, a_id):
    coordinator = _make_coordinator(app, make_browser)
    colleague_id = _user_id(app, "resp-a2@example.org")
    assert coordinator.post(f"/assessments/{a_id}/principles/PW/assignee",
                            {"user_id": colleague_id}).status_code == 303
    assert coordinator.post(f"/assessments/{a_id}/principles/OC/assignee",
                            {"user_id": _user_id(app, "resp-a@example.org")}).status_code == 303
    assert _assignments(app, a_id) == {"PW": "resp-a2@example.org", "OC": "resp-a@example.org"}

    colleague = make_browser("resp-a2@example.org")
    assert colleague.autosave(a_id, "PW.1", level=2, evidence="by the colleague").status_code \
        == 200
    # Not theirs, and still theirs to answer: the assignment locks nobody out.
    assert colleague.autosave(a_id, "OC.1", level=1, evidence="helping out").status_code == 200
    page = colleague.get(f"/assessments/{a_id}").text
    team = page.split('id="team"')[1]
    assert "Resp A Two" in team and "1 of 5 answered" in team  # PW has five indicators
    assert "<select" not in team  # only the coordinator changes the assignments
    assert "<select" in coordinator.get(f"/assessments/{a_id}").text.split('id="team"')[1]

    assert coordinator.post(f"/assessments/{a_id}/principles/PW/assignee",
                            {"user_id": ""}).status_code == 303
    assert _assignments(app, a_id) == {"OC": "resp-a@example.org"}
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "assessment.assign_principle").order_by(AuditEntry.id)).all()
        assert [(e.details["principle"], e.details["after"]) for e in entries] == [
            ("PW", "resp-a2@example.org"), ("OC", "resp-a@example.org"), ("PW", None)]


def test_only_the_coordinator_or_an_admin_assigns(app, make_browser, respondent, a_id):
    colleague_id = _user_id(app, "resp-a2@example.org")
    path = f"/assessments/{a_id}/principles/PW/assignee"
    assert respondent.post(path, {"user_id": colleague_id}).status_code == 403
    assert make_browser("fac-a@example.org").post(path, {"user_id": colleague_id}) \
        .status_code == 403
    assert make_browser("resp-b@example.org").post(path, {"user_id": colleague_id}) \
        .status_code == 404
    assert _assignments(app, a_id) == {}
    assert make_browser("admin@example.org").post(path, {"user_id": colleague_id}) \
        .status_code == 303
    assert _assignments(app, a_id) == {"PW": "resp-a2@example.org"}


def test_a_principle_goes_only_to_an_active_member_of_the_team(app, make_browser, a_id):
    coordinator = _make_coordinator(app, make_browser)
    for user_id in (_user_id(app, "resp-b@example.org"), _user_id(app, "fac-a@example.org"),
                    99999):
        response = coordinator.post(f"/assessments/{a_id}/principles/PW/assignee",
                                    {"user_id": user_id}, follow_redirects=True)
        assert "Choose a member of the administration" in response.text
    unknown = coordinator.post(f"/assessments/{a_id}/principles/NOPE/assignee",
                               {"user_id": ""}, follow_redirects=True)
    assert "not in the assessment" in unknown.text
    assert _assignments(app, a_id) == {}


def test_a_submitted_assessment_is_not_shared_out_any_more(app, make_browser, a_id):
    coordinator = _make_coordinator(app, make_browser)
    with app.app_context():
        db.session.get(Assessment, a_id).status = Status.SUBMITTED
        db.session.commit()
    response = coordinator.post(f"/assessments/{a_id}/principles/PW/assignee",
                                {"user_id": _user_id(app, "resp-a2@example.org")})
    assert response.status_code == 409
    assert _assignments(app, a_id) == {}


def test_the_command_line_names_a_coordinator(app, runner):
    result = runner.invoke(args=["create-user", "--email", "lead@example.org", "--role",
                                 "respondent", "--organisation", "Administration A",
                                 "--coordinator", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.is_coordinator).where(
            User.email == "lead@example.org"))
    refused = runner.invoke(args=["create-user", "--email", "x@example.org", "--role", "admin",
                                  "--coordinator", "--password", "a-long-password"])
    assert refused.exit_code != 0 and "for respondents" in refused.output


def test_with_a_coordinator_only_they_submit(app, make_browser, a_id):
    colleague = make_browser("resp-a2@example.org")
    assert colleague.post(f"/assessments/{a_id}/submit").status_code == 422  # no coordinator
    coordinator = _make_coordinator(app, make_browser)
    assert colleague.post(f"/assessments/{a_id}/submit").status_code == 403
    overview = colleague.get(f"/assessments/{a_id}").text
    assert "coordinator submits the assessment" in overview
    assert f'action="/assessments/{a_id}/submit"' not in overview
    assert coordinator.post(f"/assessments/{a_id}/submit").status_code == 422  # unanswered
    with app.app_context():
        assert db.session.get(Assessment, a_id).status == Status.DRAFT
