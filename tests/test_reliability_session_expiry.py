"""A session that expires while someone is typing never costs them their text.

With htmx, the save answers 401 with a sign-in link; after signing in (in another tab) the
page's old CSRF token is refused with a fresh one in X-CSRF-Token, which app.js retries with:
the server side of that sequence is driven here over HTTP. Without JavaScript, the post of a
principle page answers 401 with a sign-in form that carries what was typed, and after signing
in a page sends it again with a fresh token.

Real expiry uses a one-second PERMANENT_SESSION_LIFETIME and waits it out; elsewhere the
browser's part of expiry (dropping the cookie) is done by deleting the session cookie.
"""

from __future__ import annotations

import time

import pytest
from werkzeug.datastructures import MultiDict

from cbassess.extensions import db
from cbassess.models import Answer
from tests.conftest import PASSWORD, Browser, assessment_id, csrf_from
from tests.reliability_helpers import build_app, forms_in

LIFETIME_SECONDS = 1
TYPED = 'Decree <b>2025-114</b> "endorsed" & signed;\nsecond line — ünïcödé'


@pytest.fixture
def short_app(database_url):
    app = build_app(database_url, PERMANENT_SESSION_LIFETIME=LIFETIME_SECONDS)
    yield app
    with app.app_context():
        db.engine.dispose()


def _wait_for_expiry() -> None:
    """Session timestamps have one-second resolution: two seconds is always past one."""
    time.sleep(LIFETIME_SECONDS + 1.1)


def _answers(app, assessment_id: int) -> dict[str, Answer]:
    with app.app_context():
        return {a.indicator_key: a for a in db.session.query(Answer).filter_by(
            assessment_id=assessment_id)}


def _htmx_save(client, assessment_id: int, token: str):
    return client.post(
        f"/assessments/{assessment_id}/answers/PW.1",
        data={"PW.1-level": "3", "PW.1-evidence": TYPED, "PW.1-note": "", "PW.1-version": "0"},
        headers={"HX-Request": "true", "X-CSRFToken": token,
                 "HX-Current-URL": f"http://localhost/assessments/{assessment_id}/principles/PW"})


def _sign_in_again(client) -> None:
    """Sign in as in a new tab, leaving the editing page's token as it was."""
    page = client.get("/login")
    response = client.post("/login", data={"email": "resp-a@example.org", "password": PASSWORD,
                                           "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302


def test_htmx_autosave_after_the_session_expired_answers_401_with_a_sign_in_link(
        app, respondent, a_id):
    token = csrf_from(respondent.get(f"/assessments/{a_id}/principles/PW").text)
    respondent.client.delete_cookie("session")  # what the browser does once the cookie expires
    response = _htmx_save(respondent.client, a_id, token)
    assert response.status_code == 401
    assert "session has expired" in response.text
    assert f'href="/login?next=/assessments/{a_id}/principles/PW"' in response.text
    assert _answers(app, a_id) == {}


def test_pending_autosave_saves_after_signing_in_again_with_the_fresh_token(short_app):
    a_id = assessment_id(short_app)
    browser = Browser(short_app.test_client())
    browser.login("resp-a@example.org")
    old_token = csrf_from(browser.get(f"/assessments/{a_id}/principles/PW").text)
    _wait_for_expiry()
    assert _htmx_save(browser.client, a_id, old_token).status_code == 401
    _sign_in_again(browser.client)
    refused = _htmx_save(browser.client, a_id, old_token)
    assert refused.status_code == 400
    assert _answers(short_app, a_id) == {}
    retried = _htmx_save(browser.client, a_id, refused.headers["X-CSRF-Token"])
    assert retried.status_code == 200
    stored = _answers(short_app, a_id)["PW.1"]
    assert (stored.level, stored.evidence, stored.version) == (3, TYPED, 1)


def test_session_cookie_is_refused_by_the_server_after_its_lifetime(short_app):
    a_id = assessment_id(short_app)
    browser = Browser(short_app.test_client())
    browser.login("resp-a@example.org")
    cookie = browser.client.get_cookie("session").value
    _wait_for_expiry()
    browser.client.set_cookie("session", cookie)  # replayed as it was, expiry ignored
    response = browser.get(f"/assessments/{a_id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --------------------------------------------------------------------------- without JavaScript


def _principle_form(a_id: int) -> dict:
    data = {"action": "next"}
    for n in range(1, 6):
        data.update({f"PW.{n}-level": str(n % 5), f"PW.{n}-evidence": f"{TYPED} ({n})",
                     f"PW.{n}-note": f"note {n}", f"PW.{n}-version": "0"})
    return data


@pytest.fixture
def expired(respondent, a_id):
    """A respondent on a principle page, with the form's token, whose session has expired."""
    token = csrf_from(respondent.get(f"/assessments/{a_id}/principles/PW").text)
    respondent.client.delete_cookie("session")  # what the browser does once the cookie expires
    return respondent, token


def _post_page(browser, a_id: int, token: str, origin: str = "http://localhost"):
    return browser.client.post(f"/assessments/{a_id}/principles/PW",
                               data={**_principle_form(a_id), "csrf_token": token},
                               headers={"Origin": origin})


def _submit(client, form: dict, **changes):
    fields = [(n, v) for n, v in form["fields"] if n not in changes] + list(changes.items())
    return client.post(form["action"], data=MultiDict(fields),
                       headers={"Origin": "http://localhost"})


def test_plain_post_after_expiry_answers_401_with_a_sign_in_form_carrying_the_text(
        expired, app, a_id):
    browser, token = expired
    response = _post_page(browser, a_id, token)
    assert response.status_code == 401
    [form] = [f for f in forms_in(response.text) if f["action"] == "/login/resume"]
    carried = dict(form["fields"])
    assert carried["resume_to"] == f"/assessments/{a_id}/principles/PW"
    for name, value in _principle_form(a_id).items():
        assert carried[f"resume:{name}"] == value
    assert "<b>2025" not in response.text  # carried as escaped attribute text
    assert _answers(app, a_id) == {}


def test_signing_in_from_that_form_offers_to_send_the_text_again(expired, app, a_id):
    browser, token = expired
    [form] = [f for f in forms_in(_post_page(browser, a_id, token).text)
              if f["action"] == "/login/resume"]
    response = _submit(browser.client, form, email="resp-a@example.org", password=PASSWORD)
    assert response.status_code == 200
    [resend] = [f for f in forms_in(response.text)
                if f["action"] == f"/assessments/{a_id}/principles/PW"]
    fields = dict(resend["fields"])
    assert fields["csrf_token"] not in (token, "")
    assert {k: v for k, v in fields.items() if k != "csrf_token"} == _principle_form(a_id)
    assert _answers(app, a_id) == {}  # nothing is sent again without the button


def test_sending_it_again_saves_every_answer_typed_before_the_expiry(expired, app, a_id):
    browser, token = expired
    [form] = [f for f in forms_in(_post_page(browser, a_id, token).text)
              if f["action"] == "/login/resume"]
    page = _submit(browser.client, form, email="resp-a@example.org", password=PASSWORD)
    [resend] = [f for f in forms_in(page.text)
                if f["action"] == f"/assessments/{a_id}/principles/PW"]
    response = _submit(browser.client, resend)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/principles/OC")
    stored = _answers(app, a_id)
    assert {k: (a.level, a.evidence, a.note) for k, a in stored.items()} == {
        f"PW.{n}": (n % 5, f"{TYPED} ({n})", f"note {n}") for n in range(1, 6)}


def test_a_wrong_password_on_that_form_keeps_carrying_the_text(expired, app, a_id):
    browser, token = expired
    [form] = [f for f in forms_in(_post_page(browser, a_id, token).text)
              if f["action"] == "/login/resume"]
    response = _submit(browser.client, form, email="resp-a@example.org",
                       password="not-the-password")
    assert response.status_code == 401
    [again] = [f for f in forms_in(response.text) if f["action"] == "/login/resume"]
    assert dict(again["fields"])["resume:PW.1-evidence"] == f"{TYPED} (1)"


def test_the_text_survives_a_sign_in_form_that_expired_in_turn(expired, app, a_id):
    browser, token = expired
    [form] = [f for f in forms_in(_post_page(browser, a_id, token).text)
              if f["action"] == "/login/resume"]
    browser.client.delete_cookie("session")  # the sign-in page was left open too long
    response = _submit(browser.client, form, email="resp-a@example.org", password=PASSWORD)
    assert response.status_code == 400
    assert "The sign-in form had expired" in response.text
    [again] = [f for f in forms_in(response.text) if f["action"] == "/login/resume"]
    page = _submit(browser.client, again, email="resp-a@example.org", password=PASSWORD)
    [resend] = [f for f in forms_in(page.text)
                if f["action"] == f"/assessments/{a_id}/principles/PW"]
    assert _submit(browser.client, resend).status_code == 303
    assert _answers(app, a_id)["PW.3"].evidence == f"{TYPED} (3)"


def test_a_cross_site_post_is_not_carried_into_the_sign_in_form(expired, a_id):
    browser, token = expired
    response = _post_page(browser, a_id, token, origin="https://elsewhere.example")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_sign_in_form_never_carries_a_password_field(app, a_id):
    browser = Browser(app.test_client())
    response = browser.client.post(
        f"/assessments/{a_id}/principles/PW",
        data={"PW.1-evidence": "typed", "new_password": "secret-value-123"},
        headers={"Origin": "http://localhost"})
    assert response.status_code == 401
    assert "secret-value-123" not in response.text
    assert "typed" in response.text


# --------------------------------------------------------------------------- sliding expiry


def test_an_unchanged_session_cookie_is_not_sent_again_with_every_reply(app, respondent, a_id):
    respondent.autosave(a_id, "PW.1", level=2, evidence="first")
    reply = respondent.autosave(a_id, "PW.1", level=2, evidence="second")
    assert reply.status_code == 200
    assert "Set-Cookie" not in reply.headers


def test_a_session_cookie_a_minute_old_is_sent_again_with_a_new_expiry(app, respondent, a_id):
    app.session_interface.refresh_after_seconds = 0  # every cookie is "a minute old"
    reply = respondent.autosave(a_id, "PW.1", level=2, evidence="typed")
    assert reply.status_code == 200
    assert "session=" in reply.headers["Set-Cookie"]
    assert "Expires=" in reply.headers["Set-Cookie"]


def test_a_re_sent_session_cookie_still_signs_the_user_in(app, respondent, a_id):
    app.session_interface.refresh_after_seconds = 0
    respondent.autosave(a_id, "PW.1", level=2, evidence="typed")
    assert respondent.get(f"/assessments/{a_id}").status_code == 200
