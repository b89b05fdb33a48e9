"""Who may do what: every route, every role, every method, with the status expected.

The tests walk `app.url_map` itself (everything but static files), so a route added without a
row in EXPECTED fails here until someone decides who may use it. Every request is a real one,
sent as a browser would (session cookie, CSRF token, Origin header), against Administration
A's assessment. HEAD answers as GET does; OPTIONS is Flask's automatic answer (200, no view
code runs) for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from cbassess import accounts
from cbassess.extensions import db
from cbassess.models import Organisation, User
from tests.conftest import Browser

ROLES = ("anonymous", "resp_a", "resp_b", "fac_a", "fac_none", "admin", "deactivated")
EMAILS = {"resp_a": "resp-a@example.org", "resp_b": "resp-b@example.org",
          "fac_a": "fac-a@example.org", "fac_none": "fac-none@example.org",
          "admin": "admin@example.org",
          # Signed in, then deactivated: from the next request on, treated as signed out.
          "deactivated": "resp-a2@example.org"}


@dataclass(frozen=True)
class Row:
    """Expected status per role for one endpoint and method, and the request to send."""

    anonymous: int
    resp_a: int
    resp_b: int
    fac_a: int
    fac_none: int
    admin: int
    form: dict = field(default_factory=dict)
    htmx: bool = False
    key: str = "PW.1"

    def status(self, role: str) -> int:
        return getattr(self, "anonymous" if role == "deactivated" else role)


def everyone(status: int, **request) -> Row:
    return Row(status, status, status, status, status, status, **request)


def admin_page(status: int = 200, signed_out: int = 302, **request) -> Row:
    """Admins only: other roles get 403; signed out, the sign-in page (a form post with
    fields: 401 and the sign-in form carrying them)."""
    return Row(signed_out, 403, 403, 403, 403, status, **request)


def assessment_page(**request) -> Row:
    """Readable by A's respondents, A's facilitator and admins; 404 for everyone else."""
    return Row(302, 200, 404, 200, 404, 200, **request)


ANSWER = {"PW.1-level": "2", "PW.1-evidence": "matrix", "PW.1-note": ""}
ACTION = {"description": "Matrix action", "status": "not_started", "version": "0"}
REVIEW = {"PW.1-review-level": "2", "PW.1-state": "accepted", "PW.1-finding": "matrix"}
QUERY = {"indicator_key": "PW.1", "message": "matrix"}

EXPECTED: dict[tuple[str, str], Row] = {
    ("auth.login", "GET"): Row(200, 302, 302, 302, 302, 302),
    ("auth.login", "POST"): everyone(400),  # empty form: public, refused as incomplete
    ("auth.login_resume", "POST"): everyone(400),  # the same, carrying an expired post
    ("auth.logout", "POST"): everyone(302),
    ("auth.change_password", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("auth.change_password", "POST"): Row(302, 422, 422, 422, 422, 422),  # empty form
    # The language switcher: anyone, signed in or not, back to the page they were on.
    ("language.choose", "POST"): everyone(303, form={"language": "fr", "next": "/assessments"}),
    ("assessments.home", "GET"): everyone(302),
    ("assessments.index", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("assessments.create", "POST"): Row(401, 303, 303, 403, 403, 403,
                                 form={"round_name": "Matrix round", "instrument_id": "1"}),
    ("assessments.overview", "GET"): assessment_page(),
    ("answering.principle_page", "GET"): assessment_page(key="PW"),
    ("answering.principle_page", "POST"): Row(401, 303, 404, 403, 404, 403, key="PW",
                                         form={**ANSWER, "action": "save"}),
    ("answering.indicator_fragment", "GET"): Row(401, 200, 404, 200, 404, 200, htmx=True),
    ("answering.autosave", "POST"): Row(401, 200, 404, 403, 404, 403, form=ANSWER, htmx=True),
    ("answering.history", "GET"): assessment_page(),
    ("assessments.submit", "POST"): Row(302, 422, 404, 403, 404, 403),
    ("assessments.submit", "GET"): Row(302, 200, 404, 403, 404, 403),
    # A.'s assessment is a draft: nothing to withdraw, review, return or validate yet (409).
    ("assessments.withdraw", "POST"): Row(302, 409, 404, 403, 404, 403),
    ("review.summary", "GET"): Row(302, 403, 404, 200, 404, 200),
    ("review.principle_page", "GET"): Row(302, 403, 404, 200, 404, 200, key="PW"),
    ("review.save", "POST"): Row(401, 403, 404, 409, 404, 409, form=REVIEW, htmx=True),
    ("review.review_fragment", "GET"): Row(401, 403, 404, 200, 404, 200, htmx=True),
    ("review.history", "GET"): Row(302, 403, 404, 200, 404, 200),
    ("review.open_query", "POST"): Row(401, 403, 404, 409, 404, 409, form=QUERY, htmx=True),
    # No thread exists on a draft: 404 for everyone signed in.
    ("review.reply", "POST"): Row(401, 404, 404, 404, 404, 404, form=QUERY, htmx=True),
    ("review.close_query", "POST"): Row(401, 404, 404, 404, 404, 404, htmx=True),
    ("review.return_", "POST"): Row(401, 403, 404, 409, 404, 409, form={"message": "Why"}),
    ("review.validate", "POST"): Row(302, 403, 404, 409, 404, 409),
    ("review.reopen", "POST"): Row(401, 403, 404, 403, 404, 409, form={"message": "Why"}),
    ("review.verify", "GET"): everyone(200),
    ("dashboard.index", "GET"): Row(302, 403, 403, 200, 200, 200),
    ("dashboard.regional", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("results.results", "GET"): assessment_page(),
    ("results.report_pdf", "GET"): assessment_page(),
    ("results.export_json", "GET"): assessment_page(),
    ("results.export_csv", "GET"): assessment_page(),
    ("healthz", "GET"): everyone(200),
    ("plan.plan_page", "GET"): assessment_page(),
    # PW.2 is not rated (the autosave row above rates PW.1, and runs first): the
    # respondent's save is refused as such (422), and there is no action to comment on
    # (404); tests/test_action_plan.py covers the rest.
    ("plan.save", "POST"): Row(401, 422, 404, 403, 404, 403, form=ACTION, htmx=True,
                               key="PW.2"),
    ("plan.comment", "POST"): Row(401, 403, 404, 404, 404, 404, form={"comment": "Matrix"},
                                  htmx=True, key="PW.2"),
    ("plan.history", "GET"): assessment_page(),
    ("results.report_options", "GET"): assessment_page(),
    ("results.report_preview", "GET"): assessment_page(),
    ("results.report_prepare", "GET"): Row(401, 200, 404, 200, 404, 200, htmx=True),
    ("results.export_xlsx", "GET"): assessment_page(),
    # Facilitators and admins only; a facilitator with no administration gets an empty one.
    ("results.portfolio_xlsx", "GET"): Row(302, 403, 403, 200, 200, 200),
    ("results.portfolio_csv", "GET"): Row(302, 403, 403, 200, 200, 200),
    ("account.profile", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("account.profile", "POST"): Row(401, 303, 303, 303, 303, 303,
                                     form={"name": "Matrix", "language": ""}),
    ("account.forgot_password", "GET"): everyone(200),
    ("account.forgot_password", "POST"): everyone(200, form={"email": "resp-a@example.org"}),
    ("account.set_password", "GET"): everyone(410),  # the matrix's token is not a live one
    ("account.set_password", "POST"): everyone(410, form={"password": "x" * 16,
                                                          "confirm_password": "x" * 16}),
    ("admin.home", "GET"): admin_page(),
    ("admin.organisations", "GET"): admin_page(),
    ("admin.organisation", "GET"): admin_page(),
    ("admin.new_organisation", "GET"): admin_page(),
    ("admin.new_organisation", "POST"): admin_page(303, 401, form={
        "name": "Matrix Customs", "country_code": "KE", "languages": "en"}),
    ("admin.edit_organisation", "GET"): admin_page(),
    ("admin.edit_organisation", "POST"): admin_page(303, 401, form={
        "name": "Administration A", "country_code": "KE", "languages": "en"}),
    ("admin.start_assessment", "POST"): admin_page(303, 401, form={
        "round_name": "Matrix admin round", "instrument_id": "1"}),
    ("admin.users", "GET"): admin_page(),
    ("admin.new_user", "GET"): admin_page(),
    ("admin.new_user", "POST"): admin_page(200, 401, form={
        "email": "matrix-new@example.org", "role": "admin"}),
    ("admin.user", "GET"): admin_page(),
    ("admin.user", "POST"): admin_page(303, 401, form={
        "name": "Resp A Two", "role": "respondent", "organisation_id": "1"}),
    ("admin.deactivate", "POST"): admin_page(303),
    ("admin.reactivate", "POST"): admin_page(303),
    ("admin.send_link", "POST"): admin_page(200),
    ("admin.assign", "POST"): admin_page(303, 401, form={"organisation_id": "1"}),
    ("admin.unassign", "POST"): admin_page(303),
    ("admin.instruments", "GET"): admin_page(),
    ("admin.instruments", "POST"): admin_page(422),  # no file chosen
    ("admin.instrument", "GET"): admin_page(),
    ("admin.retire_instrument", "POST"): admin_page(303),
    ("admin.restore_instrument", "POST"): admin_page(303),
    ("admin.audit_log", "GET"): admin_page(),
    ("admin.imports", "GET"): admin_page(),
    ("admin.import_upload", "POST"): admin_page(422),  # no file chosen
    ("admin.import_confirm", "POST"): admin_page(404),  # no upload waiting
    # The coordinator only (resp_a is not one): test_teams.py covers them.
    ("team.assign", "POST"): Row(401, 403, 404, 403, 404, 303, key="PW",
                                 form={"user_id": ""}),
    ("results.export_zip", "GET"): assessment_page(),
    # Evidence files: file_id is a file attached to A's PW.1 (the a_file_id fixture). A plain
    # form without a file is refused with a message (303 back to the page); removal 303s.
    ("attachments.upload", "POST"): Row(302, 303, 404, 403, 404, 403),
    ("attachments.remove", "POST"): Row(302, 303, 404, 403, 404, 403),
    ("attachments.download", "GET"): assessment_page(),
    # Rounds. A's assessment is a draft: no next round starts from it (409 for whoever may
    # start one: its respondents, as A has no coordinator, and admins); confirming an
    # answer that is not carried over changes nothing (200); there is no previous round
    # to compare with (the page says so) or to carry actions from (409). test_rounds.py
    # covers the rest.
    ("assessments.next_round", "GET"): Row(302, 409, 404, 403, 404, 409),
    ("assessments.next_round", "POST"): Row(401, 409, 404, 403, 404, 409,
                                            form={"round_name": "Matrix next round",
                                                  "instrument_id": "1"}),
    ("answering.confirm", "POST"): Row(401, 200, 404, 403, 404, 403, htmx=True),
    ("results.comparison", "GET"): assessment_page(),
    ("plan.carry", "POST"): Row(302, 409, 404, 403, 404, 403),
    ("plan.carry_open", "POST"): Row(302, 409, 404, 403, 404, 403),
}


def _routes(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every route but static files; sign-out last."""
    routes = [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static" for method in sorted(rule.methods)]
    return sorted(routes, key=lambda r: (r[0] == "auth.logout", r[1] == "POST", r[0], r[1]))


# The first administration, user and instrument, and a token that opens nothing.
DEFAULT_IDS = {"organisation_id": 1, "user_id": 1, "instrument_id": 1,
               "token": "not-a-live-token", "file_id": 1}


def _path(rule, a_id: int, key: str, ids: dict | None = None) -> str:
    """The URL of `rule` for the assessment `a_id`, the indicator or principle `key` and
    the records in `ids` (administration, user, instrument, token)."""
    values = {"assessment_id": a_id, "key": key, "thread_id": 1, **DEFAULT_IDS,
              **(ids or {})}
    return rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]


def _row(endpoint: str, method: str) -> Row | None:
    if method == "OPTIONS":
        return everyone(200)
    return EXPECTED.get((endpoint, "GET" if method == "HEAD" else method))


def test_every_route_and_method_has_a_row_in_the_table(app):
    missing = [(e, m) for e, m, _ in _routes(app) if _row(e, m) is None]
    assert missing == [], f"decide who may use these, then add them to EXPECTED: {missing}"


def test_the_table_has_no_row_for_a_route_that_no_longer_exists(app):
    routes = {(e, m) for e, m, _ in _routes(app)}
    assert [k for k in EXPECTED if k not in routes] == []


@pytest.fixture
def record_ids(app, other_instrument) -> dict:
    """The records admin routes act on: Administration A, its second respondent, and an
    instrument no assessment uses (retiring it leaves the shipped one for new rounds)."""
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Administration A"))
        user = db.session.scalar(select(User).where(User.email == "resp-a2@example.org"))
        return {"organisation_id": organisation.id, "user_id": user.id,
                "instrument_id": other_instrument, "token": "not-a-live-token"}


@pytest.fixture
def a_file_id(app, a_id) -> int:
    """A file attached to A's PW.1, for the routes that serve or remove one."""
    import io

    from cbassess import evidence
    from cbassess.extensions import db

    with app.app_context():
        (row,) = evidence.attach(
            db.session, evidence.store_for(app.config, app.instance_path), a_id, "PW.1",
            [evidence.Upload("matrix.txt", io.BytesIO(b"matrix evidence"))], None,
            evidence.limits_for(app.config))
        return row.id


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_as_the_table_says(app, a_id, record_ids, a_file_id,
                                                        role):
    browser = Browser(app.test_client())
    if role == "anonymous":
        browser.refresh_token("/login")  # a visitor's session: a valid token, no user
    else:
        browser.login(EMAILS[role])
    if role == "deactivated":
        with app.app_context():
            user = db.session.get(User, record_ids["user_id"])
            accounts.set_active(db.session, None, user, False)
    wrong = []
    for endpoint, method, rule in _routes(app):
        row = _row(endpoint, method)
        assert row is not None, f"no row for {endpoint} {method}"
        path = _path(rule, a_id, row.key, {**record_ids, "file_id": a_file_id})
        headers = {"Origin": "http://localhost"}
        data = dict(row.form) if method == "POST" else None
        if row.htmx:
            headers.update({"HX-Request": "true", "X-CSRFToken": browser.token})
        elif method == "POST":
            data["csrf_token"] = browser.token
        status = browser.client.open(path, method=method, data=data, headers=headers).status_code
        if status != row.status(role):
            wrong.append(f"{method} {path}: {status}, expected {row.status(role)}")
    assert wrong == []
