"""Signing in: rate limits per account and per address, one message for every failure, a new
session on sign-in bound to the browser, and passwords of at least 12 characters kept as
scrypt hashes. (The basic wrong-password/unknown-e-mail message is in tests/test_auth.py.)
"""

from __future__ import annotations

import re

import pytest
from limits.errors import ConfigurationError

from cbassess.extensions import db
from cbassess.models import User
from cbassess.passwords import MIN_LENGTH as MIN_PASSWORD_LENGTH
from cbassess.passwords import hash_password
from tests.conftest import PASSWORD, Browser, csrf_from
from tests.reliability_helpers import build_app

LIMIT = 3


@pytest.fixture
def limited_app(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, LOGIN_LIMITS=f"{LIMIT} per minute")
    yield app
    with app.app_context():
        db.engine.dispose()


def _attempt(app, email: str, address: str, password: str = "wrong-password-123",
             forwarded_for: str | None = None):
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}, headers=headers)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_from(page.text)},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_sign_in_is_limited_per_account_whatever_the_address(limited_app):
    for n in range(LIMIT):
        assert _attempt(limited_app, "resp-a@example.org", f"10.0.0.{n}").status_code == 401
    blocked = _attempt(limited_app, "resp-a@example.org", "10.0.1.1", password=PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text


def test_sign_in_is_limited_per_address_whatever_the_account(limited_app):
    for email in ("resp-b@example.org", "fac-a@example.org", "nobody@example.org"):
        assert _attempt(limited_app, email, "10.0.2.1").status_code == 401
    blocked = _attempt(limited_app, "admin@example.org", "10.0.2.1", password=PASSWORD)
    assert blocked.status_code == 429


def test_a_limited_account_leaves_other_accounts_and_addresses_alone(limited_app):
    for n in range(LIMIT + 1):
        _attempt(limited_app, "resp-a@example.org", f"10.0.3.{n}")
    assert _attempt(limited_app, "resp-b@example.org", "10.0.4.1",
                    password=PASSWORD).status_code == 302


def test_the_sign_in_page_itself_is_not_limited(limited_app):
    client = limited_app.test_client()
    for _ in range(LIMIT * 2):
        assert client.get("/login", environ_base={"REMOTE_ADDR": "10.0.5.1"}).status_code == 200


def _without_tokens(html: str) -> str:
    return re.sub(r'(value="|"X-CSRFToken": ")[^"]+', r"\1", html)


def test_wrong_password_unknown_email_and_inactive_account_get_the_same_page(app):
    with app.app_context():
        db.session.query(User).filter_by(email="resp-b@example.org").one().active = False
        db.session.commit()
    replies = [
        Browser(app.test_client()).login("resp-a@example.org", "wrong-password-123"),
        Browser(app.test_client()).login("nobody@example.org", "wrong-password-123"),
        Browser(app.test_client()).login("resp-b@example.org", PASSWORD),
    ]
    assert {r.status_code for r in replies} == {401}
    assert len({_without_tokens(r.text) for r in replies}) == 1
    assert "do not match an active account" in replies[0].text


def test_inactive_account_cannot_sign_in_with_the_right_password(app, make_browser, a_id):
    with app.app_context():
        db.session.query(User).filter_by(email="resp-a@example.org").one().active = False
        db.session.commit()
    browser = make_browser("resp-a@example.org")
    assert browser.get(f"/assessments/{a_id}").status_code == 302


def test_a_session_cookie_planted_before_sign_in_is_replaced_and_stays_anonymous(app, a_id):
    attacker = app.test_client()
    attacker.get("/login")
    planted = attacker.get_cookie("session").value
    victim = app.test_client()
    victim.set_cookie("session", planted)
    page = victim.get("/login")
    victim.post("/login", data={"email": "resp-a@example.org", "password": PASSWORD,
                                "csrf_token": csrf_from(page.text)})
    assert victim.get_cookie("session").value != planted
    assert victim.get(f"/assessments/{a_id}").status_code == 200
    assert attacker.get(f"/assessments/{a_id}").status_code == 302


def test_a_session_replayed_from_another_browser_is_dropped(respondent, a_id):
    """Flask-Login "strong" protection: the session is bound to address and user agent."""
    response = respondent.client.get(f"/assessments/{a_id}",
                                     headers={"User-Agent": "Another browser/1.0"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_session_replayed_from_another_address_is_dropped(respondent, a_id):
    response = respondent.client.get(f"/assessments/{a_id}",
                                     environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert response.status_code == 302


def test_passwords_shorter_than_the_minimum_are_refused():
    assert MIN_PASSWORD_LENGTH == 12
    with pytest.raises(ValueError, match="at least 12 characters"):
        hash_password("river-lamp3")
    assert hash_password("river-lamp34")  # length alone is not the rule: see
    # tests/test_security_passwords.py for the guessable ones


def test_passwords_are_stored_as_salted_scrypt_hashes(app):
    with app.app_context():
        hashes = [u.password_hash for u in db.session.query(User)]
    assert all(h.startswith("scrypt:32768:8:1$") for h in hashes)
    assert PASSWORD not in "".join(hashes)
    assert len({h.split("$")[1] for h in [hash_password(PASSWORD), hash_password(PASSWORD)]}) == 2


def test_a_replayed_session_naming_its_original_address_in_x_forwarded_for_is_dropped(
        respondent, a_id):
    """X-Forwarded-For is written by the client unless a trusted proxy wrote it."""
    response = respondent.client.get(f"/assessments/{a_id}",
                                     headers={"X-Forwarded-For": "127.0.0.1"},
                                     environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert response.status_code == 302


def test_without_a_trusted_proxy_naming_other_addresses_does_not_escape_the_address_limit(
        limited_app):
    for n in range(LIMIT):
        _attempt(limited_app, f"nobody{n}@example.org", "10.0.5.1",
                 forwarded_for=f"198.51.100.{n}")
    blocked = _attempt(limited_app, "admin@example.org", "10.0.5.1", password=PASSWORD,
                       forwarded_for="198.51.100.99")
    assert blocked.status_code == 429


@pytest.fixture
def app_behind_a_proxy(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, LOGIN_LIMITS=f"{LIMIT} per minute",
                    TRUSTED_PROXIES=1)
    yield app
    with app.app_context():
        db.engine.dispose()


PROXY = "10.9.9.9"


def test_behind_a_trusted_proxy_the_address_limit_counts_each_client_on_its_own(
        app_behind_a_proxy):
    for email in ("resp-b@example.org", "fac-a@example.org", "nobody@example.org"):
        _attempt(app_behind_a_proxy, email, PROXY, forwarded_for="198.51.100.1")
    blocked = _attempt(app_behind_a_proxy, "admin@example.org", PROXY, password=PASSWORD,
                       forwarded_for="198.51.100.1")
    assert blocked.status_code == 429
    other_client = _attempt(app_behind_a_proxy, "admin@example.org", PROXY,
                            password=PASSWORD, forwarded_for="198.51.100.2")
    assert other_client.status_code == 302


def test_behind_a_trusted_proxy_a_session_is_bound_to_the_address_the_proxy_recorded(
        app_behind_a_proxy):
    client = app_behind_a_proxy.test_client()
    via_proxy = {"REMOTE_ADDR": PROXY}
    page = client.get("/login", environ_base=via_proxy,
                      headers={"X-Forwarded-For": "198.51.100.7"})
    client.post("/login", data={"email": "resp-a@example.org", "password": PASSWORD,
                                "csrf_token": csrf_from(page.text)},
                environ_base=via_proxy, headers={"X-Forwarded-For": "198.51.100.7"})
    assert client.get("/assessments", environ_base=via_proxy,
                      headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200
    assert client.get("/assessments", environ_base=via_proxy,
                      headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 302


def test_the_configured_rate_limit_storage_is_the_one_used(database_url):
    """A shared store (here Memcached, whose client library is not installed) is not
    quietly replaced by per-process memory."""
    with pytest.raises(ConfigurationError, match="pymemcache"):
        build_app(database_url, RATELIMIT_ENABLED=True,
                  RATELIMIT_STORAGE_URI="memcached://127.0.0.1:11211")
