"""Response headers and cookies: a strict Content-Security-Policy that the pages actually obey,
no MIME sniffing, no framing, a same-origin referrer, and session cookies that scripts cannot
read, that other sites do not get, and that travel over HTTPS only in production.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from cbassess import create_app
from cbassess.extensions import db
from tests.conftest import Browser, assessment_id
from tests.reliability_helpers import build_app


def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


@pytest.fixture(scope="module")
def responses(databases):
    """A sample of every kind of answer: pages, fragments, errors, files, static."""
    app = build_app(databases.seeded())
    a_id = assessment_id(app)
    client, respondent = app.test_client(), Browser(app.test_client())
    respondent.login("resp-a@example.org")
    yield {
        "sign-in page": client.get("/login"),
        "list": respondent.get("/assessments"),
        "principle page": respondent.get(f"/assessments/{a_id}/principles/PW"),
        "results": respondent.get(f"/assessments/{a_id}/results"),
        "autosave fragment": respondent.autosave(a_id, "PW.1", level=1, evidence="x"),
        "validation error": respondent.autosave(a_id, "PW.1", level=9),
        "not found": respondent.get("/assessments/999999"),
        "session expired": client.post(f"/assessments/{a_id}/answers/PW.1",
                                       headers={"HX-Request": "true"}),
        "json export": respondent.get(f"/assessments/{a_id}/export.json"),
        "pdf": respondent.get(f"/assessments/{a_id}/report.pdf"),
        "static file": respondent.get("/static/app.js"),
    }
    with app.app_context():
        db.engine.dispose()


def test_every_response_has_a_csp_without_inline_script(responses):
    for name, response in responses.items():
        policy = _csp(response)
        assert policy["script-src"] == ["'self'"], name
        assert policy["default-src"] == ["'self'"], name
        assert policy["object-src"] == ["'none'"], name
        assert policy["base-uri"] == ["'self'"], name
        assert "'unsafe-inline'" not in policy["style-src"], name


def test_every_response_forbids_framing(responses):
    for name, response in responses.items():
        assert _csp(response)["frame-ancestors"] == ["'none'"], name
        assert response.headers["X-Frame-Options"] == "DENY", name


def test_every_response_forbids_mime_sniffing(responses):
    for name, response in responses.items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", name


def test_every_response_sends_a_same_origin_referrer_policy(responses):
    for name, response in responses.items():
        assert response.headers["Referrer-Policy"] == "same-origin", name


def test_pages_that_may_hold_answers_are_not_cached(responses):
    for name in ("list", "principle page", "results", "autosave fragment", "json export"):
        assert responses[name].headers["Cache-Control"] == "no-store", name


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.htmx_config: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        if "style" in attrs:
            self.found.append(f"style attribute on <{tag}>")
        self.found += [f"{name} on <{tag}>" for name in attrs if name.startswith("on")]
        self.found += [f"{name}" for name in attrs if name in ("hx-on", "hx-vars")
                       or name.startswith("hx-on")]
        if tag == "meta" and attrs.get("name") == "htmx-config":
            self.htmx_config = json.loads(attrs["content"])


@pytest.mark.parametrize("name", ["sign-in page", "list", "principle page", "results",
                                  "autosave fragment", "validation error", "not found"])
def test_pages_use_nothing_the_policy_would_block(responses, name):
    parser = _Inline()
    parser.feed(responses[name].text)
    assert parser.found == []


def test_htmx_is_configured_for_the_policy(responses):
    parser = _Inline()
    parser.feed(responses["principle page"].text)
    assert parser.htmx_config["allowEval"] is False
    assert parser.htmx_config["allowScriptTags"] is False
    assert parser.htmx_config["includeIndicatorStyles"] is False
    assert parser.htmx_config["selfRequestsOnly"] is True


def _set_cookie(response, name: str) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    return cookie


def _sign_in(app):
    return Browser(app.test_client()).login("resp-a@example.org")


def test_session_cookie_is_httponly_and_samesite_lax(app):
    cookie = _set_cookie(_sign_in(app), "session")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_has_an_expiry_from_the_session_lifetime(app):
    cookie = _set_cookie(_sign_in(app), "session")
    assert re.search(r"Expires=\w{3}, \d{2} \w{3} \d{4}", cookie)


def test_session_cookie_is_not_secure_in_development(app):
    assert "Secure" not in _set_cookie(_sign_in(app), "session")


def test_session_cookie_is_secure_in_production(tmp_path):
    app = create_app({"TESTING": True, "ENV_NAME": "production", "SECRET_KEY": "k" * 64,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})
    response = app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in _set_cookie(response, "session")
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_production_can_turn_secure_cookies_off_explicitly(tmp_path):
    """For a deployment that terminates HTTPS elsewhere and says so."""
    app = create_app({"TESTING": True, "ENV_NAME": "production", "SECRET_KEY": "k" * 64,
                      "SESSION_COOKIE_SECURE": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_sends_strict_transport_security_on_every_response(database_url):
    app = build_app(database_url, ENV_NAME="production")
    client = app.test_client()
    for path in ("/login", "/healthz", "/static/app.css", "/no-such-page"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000", path


def test_development_sends_no_strict_transport_security(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
