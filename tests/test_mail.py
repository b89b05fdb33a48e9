"""E-mailed links, against a real SMTP server (aiosmtpd) the test starts on loopback.

An invitation from the admin pages and a "Forgot password" request both reach the inbox
with a working one-time link; an unknown address gets no message and the same page; the
requests are rate limited; an SMTP server that is away leaves the admin with the link.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cbassess import create_app
from cbassess.extensions import db
from cbassess.mail import MailError, MailSettings, send
from cbassess.models import Organisation
from tests.conftest import Browser
from tests.mail_server import SmtpServer, body_of, link_in, without_tokens
from tests.services import free_port

NEW_PASSWORD = "a-fresh-passphrase-2026"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _app(database_url: str, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False,
                       **config})


@pytest.fixture
def mail_app(database_url, smtp):
    app = _app(database_url, PUBLIC_URL="https://cbassess.example.org", **smtp.config())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _set_password(app, url: str, password: str = NEW_PASSWORD):
    path = url.removeprefix("https://cbassess.example.org")
    browser = Browser(app.test_client())
    page = browser.client.get(path)
    assert page.status_code == 200
    browser.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return browser.post(path, {"password": password, "confirm_password": password})


def test_an_invitation_is_emailed_and_its_link_sets_the_password(mail_app, smtp):
    admin = Browser(mail_app.test_client())
    admin.login("admin@example.org")
    with mail_app.app_context():
        org_id = db.session.scalar(select(Organisation.id).where(
            Organisation.name == "Administration A"))
    page = admin.post("/admin/users/new", {"email": "coordinator@example.org",
                                           "name": "Zainab Coordinator",
                                           "role": "respondent", "organisation_id": org_id})
    assert page.status_code == 200
    assert "was e-mailed to coordinator@example.org" in page.text
    assert "/password/set/" not in page.text  # the link went by e-mail only
    [message] = smtp.inbox.wait_for(1)
    assert smtp.inbox.recipients == [["coordinator@example.org"]]
    assert message["Subject"] == "Your cbassess account"
    assert message["From"] == "cbassess@example.org"
    assert "Hello Zainab Coordinator" in body_of(message)
    url = link_in(message)
    assert url.startswith("https://cbassess.example.org/password/set/")
    assert _set_password(mail_app, url).status_code == 303
    assert Browser(mail_app.test_client()).login("coordinator@example.org",
                                                 NEW_PASSWORD).status_code == 302
    used = mail_app.test_client().get(url.removeprefix("https://cbassess.example.org"))
    assert used.status_code == 410  # single use


def test_forgot_password_mails_a_link_to_a_known_address_only(mail_app, smtp):
    visitor = Browser(mail_app.test_client())
    visitor.refresh_token("/password/forgot")
    unknown = visitor.post("/password/forgot", {"email": "nobody@example.org"})
    known = visitor.post("/password/forgot", {"email": "Resp-A@Example.org"})
    assert unknown.status_code == known.status_code == 200
    assert without_tokens(unknown.text) == without_tokens(known.text)
    [message] = smtp.inbox.wait_for(1)
    assert smtp.inbox.recipients == [["resp-a@example.org"]]
    assert message["Subject"] == "Set a new cbassess password"
    assert _set_password(mail_app, link_in(message)).status_code == 303
    assert Browser(mail_app.test_client()).login("resp-a@example.org",
                                                 NEW_PASSWORD).status_code == 302
    # The unknown address got nothing: one more known request is the second message.
    visitor.post("/password/forgot", {"email": "resp-b@example.org"})
    assert smtp.inbox.wait_for(2)[1]["To"] == "resp-b@example.org"
    assert len(smtp.inbox.messages) == 2


def test_a_deactivated_account_gets_no_reset_mail(mail_app, smtp):
    admin = Browser(mail_app.test_client())
    admin.login("admin@example.org")
    page = admin.get("/admin/users?q=resp-b").text
    user_id = re.search(r'href="/admin/users/(\d+)"', page).group(1)
    admin.post(f"/admin/users/{user_id}/deactivate")
    visitor = Browser(mail_app.test_client())
    visitor.refresh_token("/password/forgot")
    visitor.post("/password/forgot", {"email": "resp-b@example.org"})
    visitor.post("/password/forgot", {"email": "resp-a@example.org"})
    [message] = smtp.inbox.wait_for(1)
    assert message["To"] == "resp-a@example.org"
    assert len(smtp.inbox.messages) == 1


def test_forgot_password_is_rate_limited(database_url, smtp):
    app = _app(database_url, RATELIMIT_ENABLED=True, FORGOT_PASSWORD_LIMITS="3 per hour",
               **smtp.config())
    visitor = Browser(app.test_client())
    visitor.refresh_token("/password/forgot")
    statuses = [visitor.post("/password/forgot", {"email": f"x{n}@example.org"}).status_code
                for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    with app.app_context():
        db.engine.dispose()


def test_an_smtp_server_that_is_away_leaves_the_admin_with_the_link(database_url):
    app = _app(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=5)
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    page = admin.post("/admin/users/new", {"email": "late@example.org", "role": "admin"})
    assert page.status_code == 200
    assert "could not be sent" in page.text
    assert re.search(r'value="http://localhost/password/set/[A-Za-z0-9_-]+"', page.text)
    with app.app_context():
        db.engine.dispose()


def test_send_speaks_smtp_to_a_real_server(smtp):
    settings = MailSettings.from_config(smtp.config())
    send(settings, "someone@example.org", "Accents: é, ü, 漢字", "Body with ünïcödé\n")
    [message] = smtp.inbox.wait_for(1)
    assert str(message["Subject"]) != "" and "ünïcödé" in body_of(message)


def test_send_reports_a_server_that_is_away():
    settings = MailSettings(server="127.0.0.1", port=free_port(), sender="a@example.org",
                            timeout=5)
    with pytest.raises(MailError):
        send(settings, "someone@example.org", "s", "b")


def test_mail_settings_come_from_the_mail_configuration():
    assert MailSettings.from_config({}) is None
    settings = MailSettings.from_config({"MAIL_SERVER": "smtp.example.org",
                                         "MAIL_USE_SSL": "true", "MAIL_USERNAME": "u"})
    assert (settings.port, settings.use_ssl, settings.use_tls) == (465, True, False)


def test_production_refuses_mail_without_a_public_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CBASSESS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": "x" * 32,
                    "MAIL_SERVER": "smtp.example.org"})
