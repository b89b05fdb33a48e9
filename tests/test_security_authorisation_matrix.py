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

from tests.conftest import Browser

ROLES = ("anonymous", "resp_a", "resp_b", "fac_a", "fac_none", "admin")
EMAILS = {"resp_a": "resp-a@example.org", "resp_b": "resp-b@example.org",
          "fac_a": "fac-a@example.org", "fac_none": "fac-none@example.org",
          "admin": "admin@example.org"}


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
        return getattr(self, role)


def everyone(status: int, **request) -> Row:
    return Row(status, status, status, status, status, status, **request)


def assessment_page(**request) -> Row:
    """Readable by A's respondents, A's facilitator and admins; 404 for everyone else."""
    return Row(302, 200, 404, 200, 404, 200, **request)


ANSWER = {"PW.1-level": "2", "PW.1-evidence": "matrix", "PW.1-note": ""}
ACTION = {"description": "Matrix action", "status": "not_started", "version": "0"}

EXPECTED: dict[tuple[str, str], Row] = {
    ("auth.login", "GET"): Row(200, 302, 302, 302, 302, 302),
    ("auth.login", "POST"): everyone(400),  # empty form: public, refused as incomplete
    ("auth.login_resume", "POST"): everyone(400),  # the same, carrying an expired post
    ("auth.logout", "POST"): everyone(302),
    ("auth.change_password", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("auth.change_password", "POST"): Row(302, 422, 422, 422, 422, 422),  # empty form
    # The language switcher: anyone, signed in or not, back to the page they were on.
    ("language.choose", "POST"): everyone(303, form={"language": "fr", "next": "/assessments"}),
    ("walk.home", "GET"): everyone(302),
    ("walk.index", "GET"): Row(302, 200, 200, 200, 200, 200),
    ("walk.create", "POST"): Row(401, 303, 303, 403, 403, 403,
                                 form={"round_name": "Matrix round", "instrument_id": "1"}),
    ("walk.overview", "GET"): assessment_page(),
    ("walk.principle_page", "GET"): assessment_page(key="PW"),
    ("walk.principle_page", "POST"): Row(401, 303, 404, 403, 404, 403, key="PW",
                                         form={**ANSWER, "action": "save"}),
    ("walk.indicator_fragment", "GET"): Row(401, 200, 404, 200, 404, 200, htmx=True),
    ("walk.autosave", "POST"): Row(401, 200, 404, 403, 404, 403, form=ANSWER, htmx=True),
    ("walk.history", "GET"): assessment_page(),
    ("walk.submit", "POST"): Row(302, 422, 404, 403, 404, 403),
    ("results.results", "GET"): assessment_page(),
    ("results.report_pdf", "GET"): assessment_page(),
    ("results.export_json", "GET"): assessment_page(),
    ("results.export_csv", "GET"): assessment_page(),
    ("healthz", "GET"): everyone(200),
    ("plan.plan_page", "GET"): assessment_page(),
    # PW.1 is not rated in the seed: the respondent's save is refused as such (422), and
    # there is no action to comment on (404); tests/test_action_plan.py covers the rest.
    ("plan.save", "POST"): Row(401, 422, 404, 403, 404, 403, form=ACTION, htmx=True),
    ("plan.comment", "POST"): Row(401, 403, 404, 404, 404, 404, form={"comment": "Matrix"},
                                  htmx=True),
    ("plan.history", "GET"): assessment_page(),
    ("results.report_options", "GET"): assessment_page(),
    ("results.report_preview", "GET"): assessment_page(),
    ("results.report_prepare", "GET"): Row(401, 200, 404, 200, 404, 200, htmx=True),
    ("results.export_xlsx", "GET"): assessment_page(),
    # Facilitators and admins only; a facilitator with no administration gets an empty one.
    ("results.portfolio_xlsx", "GET"): Row(302, 403, 403, 200, 200, 200),
    ("results.portfolio_csv", "GET"): Row(302, 403, 403, 200, 200, 200),
}


def _routes(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every route but static files; sign-out last."""
    routes = [(rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static" for method in sorted(rule.methods)]
    return sorted(routes, key=lambda r: (r[0] == "auth.logout", r[1] == "POST", r[0], r[1]))


def _path(rule, a_id: int, key: str) -> str:
    """The URL of `rule` for the assessment `a_id` and the indicator or principle `key`."""
    values = {"assessment_id": a_id, "key": key}
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


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_as_the_table_says(app, a_id, role):
    browser = Browser(app.test_client())
    if role == "anonymous":
        browser.refresh_token("/login")  # a visitor's session: a valid token, no user
    else:
        browser.login(EMAILS[role])
    wrong = []
    for endpoint, method, rule in _routes(app):
        row = _row(endpoint, method)
        assert row is not None, f"no row for {endpoint} {method}"
        path = _path(rule, a_id, row.key)
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
