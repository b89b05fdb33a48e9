"""CSRF: every state-changing request needs the session's token, htmx ones included; and
requests with a safe method (GET, HEAD, OPTIONS) never change anything.

The state-changing routes are read from `app.url_map`, so a new POST route is covered the
day it is added. Each is sent as an authorised user would send it (same form, same headers)
except for the token, and must be refused with 400 and leave every table as it was.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, Browser
from tests.reliability_helpers import database_rows
from tests.test_security_authorisation_matrix import EMAILS, EXPECTED, _path, _routes

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SIGN_IN = ("auth.login", "auth.login_resume")  # sent by a visitor, not a signed-in person


def _unsafe_routes(app):
    return [(e, m, r) for e, m, r in _routes(app) if m in UNSAFE]


def _send(browser, a_id, endpoint, method, rule, token, htmx):
    row = EXPECTED[(endpoint, method)]
    path = _path(rule, a_id, row.key)
    data = dict(row.form)
    if endpoint in SIGN_IN:  # everything right but the token
        data = {"email": EMAILS["resp_a"], "password": PASSWORD}
    headers = {"Origin": "http://localhost"}
    if htmx:
        headers["HX-Request"] = "true"
        if token is not None:
            headers["X-CSRFToken"] = token
    elif token is not None:
        data["csrf_token"] = token
    return browser.client.open(path, method=method, data=data, headers=headers)


def _browsers(app) -> dict[str, Browser]:
    """A visitor for the sign-in form, a signed-in respondent of A for everything else."""
    visitor, respondent = Browser(app.test_client()), Browser(app.test_client())
    visitor.refresh_token("/login")
    respondent.login(EMAILS["resp_a"])
    return {"visitor": visitor, "respondent": respondent}


def _refusals(app, a_id, htmx: bool, token_of) -> list[str]:
    """Send every state-changing request with `token_of(browser)`; list what got through."""
    browsers = _browsers(app)
    through = []
    for endpoint, method, rule in _unsafe_routes(app):
        browser = browsers["visitor" if endpoint in SIGN_IN else "respondent"]
        before = database_rows(app)
        response = _send(browser, a_id, endpoint, method, rule, token_of(browser), htmx)
        if response.status_code != 400 or database_rows(app) != before:
            through.append(f"{method} {rule.rule}: {response.status_code}")
        if browser.client.get("/assessments").status_code != (
                302 if browser is browsers["visitor"] else 200):
            through.append(f"{method} {rule.rule}: changed who is signed in")
    return through


def test_there_are_state_changing_routes_to_check(app):
    assert {e for e, _, _ in _unsafe_routes(app)} >= {
        "auth.login", "auth.login_resume", "auth.logout", "auth.change_password",
        "assessments.create", "answering.principle_page", "answering.autosave",
        "assessments.submit"}


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_every_state_changing_request_without_a_token_is_refused_and_changes_nothing(
        app, a_id, htmx):
    assert _refusals(app, a_id, htmx, lambda browser: None) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_every_state_changing_request_with_another_sessions_token_is_refused(
        app, make_browser, a_id, htmx):
    other = make_browser(EMAILS["resp_a"])
    assert _refusals(app, a_id, htmx, lambda browser: other.token) == []


def test_sign_out_without_a_token_leaves_the_person_signed_in(respondent, a_id):
    assert respondent.post("/logout", csrf=False).status_code == 400
    assert respondent.get(f"/assessments/{a_id}").status_code == 200


def test_a_refused_token_tells_the_person_what_happened(respondent, a_id):
    response = respondent.post(f"/assessments/{a_id}/answers/PW.1", {"PW.1-level": "1"},
                               htmx=True, csrf=False)
    assert response.status_code == 400
    assert "This form has expired or was not sent from this site" in response.text
    assert response.headers["X-CSRF-Token"]


@pytest.mark.parametrize("role", ["resp_a", "fac_a", "admin"])
def test_get_head_and_options_never_change_the_database(app, a_id, make_browser, role):
    """Including HEAD on the principle page, which used to run the save of an empty form."""
    writer = make_browser(EMAILS["resp_a"])
    for key in ("PW.1", "PW.2"):
        writer.autosave(a_id, key, level=3, evidence=f"hours of work on {key}")
    browser = make_browser(EMAILS[role])
    before = database_rows(app)
    for endpoint, method, rule in _routes(app):
        if method in UNSAFE:
            continue
        key = "PW" if endpoint == "answering.principle_page" else "PW.1"
        browser.client.open(_path(rule, a_id, key), method=method,
                            headers={"Origin": "http://localhost"})
    assert database_rows(app) == before
