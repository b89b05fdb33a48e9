"""Administration in the browser: administrations, users, invitations, instruments, new
assessments and the audit log, through real HTTP against a real database.

Every refused form answers 422 with the reason beside its field and writes nothing (no
row, no audit entry); every change writes its audit entry with it.
"""

from __future__ import annotations

import html
import re
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cbassess import accounts
from cbassess.extensions import db
from cbassess.models import (
    Assessment,
    AuditEntry,
    Instrument,
    Organisation,
    PasswordToken,
    Role,
    User,
)
from tests.conftest import DATA, PASSWORD, SHIPPED_KEY, Browser
from tests.mail_server import without_tokens

NEW_PASSWORD = "a-fresh-passphrase-2026"


@pytest.fixture
def admin(make_browser) -> Browser:
    return make_browser("admin@example.org")


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


def _org_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def _link_on(page: str) -> str:
    match = re.search(r'value="(http://localhost/password/set/[A-Za-z0-9_-]+)"', page)
    assert match, "no one-time link on the page"
    return match.group(1).removeprefix("http://localhost")


# ----------------------------------------------------------------------- administrations


def test_an_admin_creates_an_administration_and_it_is_on_record(app, admin):
    response = admin.post("/admin/administrations/new", {
        "name": "  Kenya Revenue   Authority ", "country_code": "KE",
        "region": "East and Southern Africa", "languages": ["en", "sw"]})
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).text
    assert "Kenya Revenue Authority" in page and "Kenya" in page and "Swahili" in page
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Kenya Revenue Authority"))
        assert (organisation.country_code, organisation.language_list) == ("KE", ["en", "sw"])
    [entry] = _audit(app, "organisation.create")
    assert (entry.actor_email, entry.target_label) == ("admin@example.org",
                                                      "Kenya Revenue Authority")


@pytest.mark.parametrize("form, field, message", [
    ({"name": "", "country_code": "KE", "languages": ["en"]}, "name", "Give the administration"),
    ({"name": "X", "country_code": "XX", "languages": ["en"]}, "country_code", "ISO 3166"),
    ({"name": "X", "country_code": "KE", "languages": []}, "languages", "at least one"),
    ({"name": "X", "country_code": "KE", "languages": ["zz"]}, "languages", "from the list"),
    ({"name": "administration a", "country_code": "KE", "languages": ["en"]}, "name",
     "already exists"),
    ({"name": "X" * 201, "country_code": "KE", "languages": ["en"]}, "name", "at most 200"),
    ({"name": "Bad\x07name", "country_code": "KE", "languages": ["en"]}, "name",
     "cannot be stored"),
])
def test_a_refused_administration_says_why_and_writes_nothing(app, admin, form, field,
                                                              message):
    before = _count(app, Organisation), _count(app, AuditEntry)
    response = admin.post("/admin/administrations/new", form)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="{field}-error"' in response.text and 'aria-invalid="true"' in response.text
    assert (_count(app, Organisation), _count(app, AuditEntry)) == before


def test_editing_an_administration_records_what_changed(app, admin):
    org_id = _org_id(app, "Administration A")
    form = admin.get(f"/admin/administrations/{org_id}/edit").text
    assert "Administration A" in form
    response = admin.post(f"/admin/administrations/{org_id}/edit", {
        "name": "Administration A", "country_code": "FR", "region": "Europe",
        "languages": ["fr", "en"]})
    assert response.status_code == 303
    [entry] = _audit(app, "organisation.update")
    assert entry.details["changes"] == {"country": ["AA", "FR"],
                                        "languages": [["en"], ["fr", "en"]]}


def test_the_administrations_list_searches_and_pages(app, admin):
    with app.app_context():
        for n in range(30):
            accounts.create_organisation(db.session, None, accounts.OrganisationFields(
                f"Customs {n:02d}", "KE", "East", ("en",)))
    first = admin.get("/admin/administrations").text
    assert "Page 1 of 2" in first and "Administration A" in first
    second = admin.get("/admin/administrations?page=2").text
    assert "Customs 29" in second and "Customs 00" not in second
    found = admin.get("/admin/administrations?q=customs 1").text
    assert "Customs 10" in found and "Customs 19" in found and "Customs 20" not in found
    assert "No administration matches" in admin.get("/admin/administrations?q=%25_").text


def test_an_administration_page_shows_its_people_and_assessments(app, admin):
    page = admin.get(f"/admin/administrations/{_org_id(app, 'Administration A')}").text
    for text in ("resp-a@example.org", "resp-a2@example.org", "fac-a@example.org",
                 "2026 round"):
        assert text in page
    assert "resp-b@example.org" not in page and "fac-none@example.org" not in page


# ----------------------------------------------------------------------- assessments


def test_an_admin_starts_an_assessment_for_an_administration(app, admin, respondent):
    org_id = _org_id(app, "Administration A")
    instrument_id = _instrument_id(app, SHIPPED_KEY)
    response = admin.post(f"/admin/administrations/{org_id}/assessments",
                          {"round_name": "2027 round", "instrument_id": instrument_id})
    assert response.status_code == 303
    assert "2027 round" in respondent.get("/assessments").text
    [entry] = _audit(app, "assessment.create")
    assert entry.target_label == "Administration A — 2027 round"
    again = admin.post(f"/admin/administrations/{org_id}/assessments",
                       {"round_name": "2027 round", "instrument_id": instrument_id})
    assert again.status_code == 422 and "already has a round" in again.text
    assert _count(app, Assessment, Assessment.organisation_id == org_id) == 2


def _instrument_id(app, key: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Instrument.id).where(Instrument.key == key))


# ---------------------------------------------------------------------------- users


def test_inviting_a_user_without_mail_shows_the_link_once_and_stores_only_its_hash(
        app, admin, client):
    org_id = _org_id(app, "Administration A")
    response = admin.post("/admin/users/new", {
        "email": "New.Person@Example.org", "name": "New Person", "role": "respondent",
        "organisation_id": org_id})
    assert response.status_code == 200
    assert "Pass this link on" in response.text
    link = _link_on(response.text)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        [stored] = db.session.scalars(select(PasswordToken)).all()
        assert stored.token_hash == accounts.token_hash(token) != token
        assert stored.expires_at.replace(tzinfo=UTC) - stored.created_at.replace(tzinfo=UTC) \
            == timedelta(hours=72)
    # Until then the account has no password anybody knows.
    assert Browser(app.test_client()).login("new.person@example.org",
                                            PASSWORD).status_code == 401
    page = client.get(link)
    assert page.status_code == 200 and "new.person@example.org" in page.text
    newcomer = Browser(client)
    newcomer.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = newcomer.post(link, {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert Browser(app.test_client()).login("new.person@example.org",
                                            NEW_PASSWORD).status_code == 302
    assert client.get(link).status_code == 410  # single use
    assert [e.action for e in _audit(app, "user.create") + _audit(app, "user.password_link")
            + _audit(app, "user.password_set")] == [
        "user.create", "user.password_link", "user.password_set"]


def test_an_expired_link_no_longer_opens_the_account(app, client):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resp-a2@example.org"))
        token = accounts.issue_link(db.session, None, user, accounts.Purpose.RESET,
                                    now=datetime.now(UTC) - timedelta(hours=72, minutes=1))
    response = client.get(f"/password/set/{token}")
    assert response.status_code == 410 and "no longer works" in response.text


def test_a_newer_link_replaces_the_older_one(app, client):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resp-a2@example.org"))
        older = accounts.issue_link(db.session, None, user, accounts.Purpose.RESET)
        newer = accounts.issue_link(db.session, None, user, accounts.Purpose.RESET)
    assert client.get(f"/password/set/{older}").status_code == 410
    assert client.get(f"/password/set/{newer}").status_code == 200


def test_a_weak_or_mistyped_password_is_refused_and_the_link_still_works(app, client):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "resp-a2@example.org"))
        token = accounts.issue_link(db.session, None, user, accounts.Purpose.RESET)
    link = f"/password/set/{token}"
    browser = Browser(client)
    browser.refresh_token(link)
    short = browser.post(link, {"password": "short", "confirm_password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    guessable = browser.post(link, {"password": "aaaaaaaaaaaaaaaa",
                                    "confirm_password": "aaaaaaaaaaaaaaaa"})
    assert guessable.status_code == 422 and "repeats a character" in guessable.text
    own = browser.post(link, {"password": "resp-a2@example.org",
                              "confirm_password": "resp-a2@example.org"})
    assert own.status_code == 422 and "your name or e-mail address" in own.text
    differ = browser.post(link, {"password": NEW_PASSWORD, "confirm_password": "other" * 4})
    assert differ.status_code == 422 and "differ" in differ.text
    assert client.get(link).status_code == 200
    assert Browser(app.test_client()).login("resp-a2@example.org").status_code == 302


@pytest.mark.parametrize("form, field, message", [
    ({"email": "not-an-address", "role": "admin"}, "email", "Enter an e-mail address"),
    ({"email": "resp-a@example.org", "role": "admin"}, "email", "already exists"),
    ({"email": "x@example.org", "role": "respondent"}, "organisation_id",
     "needs the administration"),
    ({"email": "x@example.org", "role": "superuser"}, "role", "Choose a role"),
])
def test_a_refused_user_says_why_and_writes_nothing(app, admin, form, field, message):
    before = _count(app, User), _count(app, AuditEntry), _count(app, PasswordToken)
    response = admin.post("/admin/users/new", form)
    assert response.status_code == 422 and message in response.text
    assert f'id="{field}-error"' in response.text
    assert (_count(app, User), _count(app, AuditEntry), _count(app, PasswordToken)) == before


def test_an_admin_edits_a_name_and_role_on_record(app, admin):
    user = _user(app, "resp-a2@example.org")
    response = admin.post(f"/admin/users/{user.id}", {"name": "Renamed", "role": "facilitator",
                                                      "organisation_id": ""})
    assert response.status_code == 303
    changed = _user(app, "resp-a2@example.org")
    assert (changed.name, changed.role, changed.organisation_id) == ("Renamed", "facilitator",
                                                                     None)
    [entry] = _audit(app, "user.update")
    assert entry.details["changes"]["role"] == ["respondent", "facilitator"]


def test_the_only_active_admin_cannot_be_demoted_or_deactivated(app, admin):
    me = _user(app, "admin@example.org")
    org_id = _org_id(app, "Administration A")
    demote = admin.post(f"/admin/users/{me.id}", {"name": "Admin", "role": "respondent",
                                                  "organisation_id": org_id})
    assert demote.status_code == 422 and "only active admin" in demote.text
    admin.post(f"/admin/users/{me.id}/deactivate")
    assert _user(app, "admin@example.org").active


def test_deactivation_ends_a_live_session_on_its_next_request(app, admin, respondent, a_id):
    assert respondent.get(f"/assessments/{a_id}").status_code == 200
    user = _user(app, "resp-a@example.org")
    assert admin.post(f"/admin/users/{user.id}/deactivate").status_code == 303
    after = respondent.get(f"/assessments/{a_id}")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    saved = respondent.autosave(a_id, "PW.1", level=2, evidence="after deactivation")
    assert saved.status_code == 401
    assert Browser(app.test_client()).login("resp-a@example.org").status_code == 401
    assert admin.post(f"/admin/users/{user.id}/reactivate").status_code == 303
    assert Browser(app.test_client()).login("resp-a@example.org").status_code == 302
    assert [e.action for e in _audit(app, "user.deactivate") + _audit(app, "user.reactivate")] \
        == ["user.deactivate", "user.reactivate"]


def test_a_deactivated_users_links_stop_working(app, admin, client):
    user = _user(app, "resp-a2@example.org")
    with app.app_context():
        token = accounts.issue_link(db.session, None, db.session.get(User, user.id),
                                    accounts.Purpose.RESET)
    admin.post(f"/admin/users/{user.id}/deactivate")
    assert client.get(f"/password/set/{token}").status_code == 410


def test_assigning_a_facilitator_opens_the_administrations_assessments(app, admin, make_browser,
                                                                       b_id):
    facilitator = make_browser("fac-none@example.org")
    assert facilitator.get(f"/assessments/{b_id}").status_code == 404
    user = _user(app, "fac-none@example.org")
    org_b = _org_id(app, "Administration B")
    assert admin.post(f"/admin/users/{user.id}/assignments",
                      {"organisation_id": org_b}).status_code == 303
    assert facilitator.get(f"/assessments/{b_id}").status_code == 200
    assert admin.post(f"/admin/users/{user.id}/assignments/{org_b}/delete").status_code == 303
    assert facilitator.get(f"/assessments/{b_id}").status_code == 404
    assert [e.details["organisation"] for e in _audit(app, "user.assign")
            + _audit(app, "user.unassign")] == ["Administration B", "Administration B"]


def test_only_facilitators_are_assigned(app, admin):
    user = _user(app, "resp-a2@example.org")
    response = admin.post(f"/admin/users/{user.id}/assignments",
                          {"organisation_id": _org_id(app, "Administration B")})
    assert response.status_code == 303
    assert "Only facilitators" in admin.get(response.headers["Location"]).text
    assert _audit(app, "user.assign") == []


def test_the_users_list_filters_by_role_state_and_search(app, admin):
    page = admin.get("/admin/users?role=facilitator").text
    assert "fac-a@example.org" in page and "resp-a@example.org" not in page
    assert "resp-b@example.org" in admin.get("/admin/users?q=Resp B").text
    admin.post(f"/admin/users/{_user(app, 'resp-b@example.org').id}/deactivate")
    inactive = admin.get("/admin/users?state=inactive").text
    assert "resp-b@example.org" in inactive and "resp-a@example.org" not in inactive


def test_unknown_records_answer_404(admin):
    for path in ("/admin/users/9999", "/admin/administrations/9999",
                 "/admin/administrations/9999/edit", "/admin/instruments/9999"):
        assert admin.get(path).status_code == 404, path


# ----------------------------------------------------------------------- instruments


def test_the_instruments_page_lists_versions_with_their_hashes(app, admin):
    with app.app_context():
        row = db.session.scalar(select(Instrument).where(Instrument.key == SHIPPED_KEY))
        digest = row.content_hash
    page = admin.get("/admin/instruments").text
    assert SHIPPED_KEY in page and digest in page


def test_uploading_an_instrument_imports_it_once(app, admin):
    data = (DATA / "other-framework.yaml").read_bytes()
    response = admin.client.post("/admin/instruments", data={
        "csrf_token": admin.token, "file": (_file(data), "other-framework.yaml")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    preview = admin.get(response.headers["Location"]).text
    assert "Preview" in preview and "TF.1" in preview
    again = admin.client.post("/admin/instruments", data={
        "csrf_token": admin.token, "file": (_file(data), "again.yaml")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "already imported with exactly this text" in again.text
    assert _count(app, Instrument, Instrument.key == "trade-facilitation-mini") == 1
    [entry] = [e for e in _audit(app, "instrument.import")
               if e.target_label.startswith("trade-facilitation-mini")]
    assert entry.actor_email == "admin@example.org"


def _file(data: bytes):
    import io

    return io.BytesIO(data)


@pytest.mark.parametrize("text, where", [
    ("key: TF.2", "duplicate key 'TF.1'"),
    ("version:", "version"),
])
def test_a_broken_upload_shows_the_path_inside_the_file_and_imports_nothing(app, admin, text,
                                                                            where):
    source = (DATA / "other-framework.yaml").read_text(encoding="utf-8")
    broken = source.replace(text, "key: TF.1" if text.startswith("key") else "version: [1]", 1)
    before = _count(app, Instrument), _count(app, AuditEntry)
    response = admin.client.post("/admin/instruments", data={
        "csrf_token": admin.token, "file": (_file(broken.encode()), "broken.yaml")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "broken.yaml" in response.text and "was not imported" in response.text
    assert where in html.unescape(response.text)
    assert (_count(app, Instrument), _count(app, AuditEntry)) == before


def test_an_upload_that_is_not_utf8_or_missing_is_refused(app, admin):
    response = admin.client.post("/admin/instruments", data={
        "csrf_token": admin.token, "file": (_file(b"key: \xff\xfe"), "latin.yaml")},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "not valid UTF-8" in response.text
    missing = admin.post("/admin/instruments", {})
    assert missing.status_code == 422 and "Choose an instrument file" in missing.text


def test_a_retired_version_cannot_start_an_assessment_but_old_ones_still_work(
        app, admin, respondent, a_id):
    instrument_id = _instrument_id(app, SHIPPED_KEY)
    assert admin.post(f"/admin/instruments/{instrument_id}/retire").status_code == 303
    index = respondent.get("/assessments").text
    assert "Start a new assessment" not in index  # no instrument left to choose
    refused = respondent.post("/assessments", {"round_name": "After retirement",
                                               "instrument_id": instrument_id})
    assert refused.status_code == 422
    by_admin = admin.post(f"/admin/administrations/{_org_id(app, 'Administration A')}"
                          "/assessments", {"round_name": "X", "instrument_id": instrument_id})
    assert by_admin.status_code == 422
    assert respondent.get(f"/assessments/{a_id}/principles/PW").status_code == 200
    assert respondent.autosave(a_id, "PW.1", level=2, evidence="still open").status_code == 200
    assert admin.post(f"/admin/instruments/{instrument_id}/restore").status_code == 303
    assert "Start a new assessment" in respondent.get("/assessments").text
    assert [e.action for e in _audit(app, "instrument.retire")
            + _audit(app, "instrument.restore")] == ["instrument.retire", "instrument.restore"]


def test_the_preview_shows_each_principle_in_each_language(app, admin):
    instrument_id = _instrument_id(app, SHIPPED_KEY)
    page = admin.get(f"/admin/instruments/{instrument_id}?principle=OC").text
    assert "OC.1" in page and "PW.1" not in page and "disabled" in page


# ------------------------------------------------------------------------------ audit log


def test_the_audit_log_filters_by_action_actor_record_and_date(app, admin):
    org_id = _org_id(app, "Administration A")
    admin.post(f"/admin/users/{_user(app, 'fac-none@example.org').id}/assignments",
               {"organisation_id": org_id})
    admin.post(f"/admin/instruments/{_instrument_id(app, SHIPPED_KEY)}/retire")
    def entries(query: str = "") -> str:  # the table of entries (the filters list every action)
        page = admin.get(f"/admin/audit{query}").text
        return page.split("<tbody>")[1] if "<tbody>" in page else ""

    everything = entries()
    assert "Assigned to an administration" in everything
    assert "Instrument version retired" in everything
    only = entries("?action=user.assign")
    assert "fac-none@example.org" in only and "Instrument version retired" not in only
    assert "No entry matches" in admin.get("/admin/audit?actor=nobody").text
    assert "Assigned to an administration" in entries("?target=fac-none")
    today = datetime.now(UTC).date()
    assert "Assigned to an administration" in entries(f"?since={today}&until={today}")
    yesterday = today - timedelta(days=1)
    assert "No entry matches" in admin.get(f"/admin/audit?until={yesterday}").text
    assert admin.get("/admin/audit?since=not-a-date&action=drop table").status_code == 200


def test_audit_details_are_escaped(app, admin):
    admin.post("/admin/administrations/new", {"name": "<script>alert(1)</script>",
                                              "country_code": "KE", "languages": ["en"]})
    page = admin.get("/admin/audit").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.sqlite_only
def test_the_audit_log_is_in_backups(app, admin, runner, tmp_path):
    admin.post(f"/admin/users/{_user(app, 'resp-b@example.org').id}/deactivate")
    result = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite")])
    assert result.exit_code == 0, result.output
    with closing(sqlite3.connect(tmp_path / "copy.sqlite")) as copy:
        rows = copy.execute("SELECT action, actor_email, target_label FROM audit_log").fetchall()
    assert rows[-1] == ("user.deactivate", "admin@example.org", "resp-b@example.org")


@pytest.mark.postgresql_only
def test_the_audit_log_is_in_postgresql_backups(app, admin, runner, tmp_path):
    admin.post(f"/admin/users/{_user(app, 'resp-b@example.org').id}/deactivate")
    result = runner.invoke(args=["backup", str(tmp_path / "copy.dump")])
    assert result.exit_code == 0, result.output
    rows = subprocess.run(["pg_restore", "--data-only", "--table=audit_log", "--file=-",
                           str(tmp_path / "copy.dump")], capture_output=True, text=True,
                          check=True).stdout
    assert "user.deactivate\tuser" in rows and "admin@example.org" in rows


def test_a_command_line_change_is_on_record_too(app, runner):
    result = runner.invoke(args=["create-user", "--email", "cli@example.org", "--role",
                                 "facilitator", "--assign", "Administration A",
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    [entry] = _audit(app, "user.create")
    assert (entry.actor_email, entry.details["assigned"]) == ("command line",
                                                             ["Administration A"])


# --------------------------------------------------------------------------- own account


def test_everyone_changes_their_name_and_language(app, respondent):
    response = respondent.post("/account", {"name": "Amina D.", "language": "fr"})
    assert response.status_code == 303
    page = respondent.get("/account")
    assert "Amina D." in page.text and '<html lang="fr"' in page.text
    refused = respondent.post("/account", {"name": "x", "language": "xx"})
    assert refused.status_code == 422
    assert _user(app, "resp-a@example.org").language == "fr"


def test_forgot_password_without_mail_says_the_same_for_any_address(client):
    browser = Browser(client)
    browser.refresh_token("/password/forgot")
    known = browser.post("/password/forgot", {"email": "resp-a@example.org"})
    unknown = browser.post("/password/forgot", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known.text) == without_tokens(unknown.text)


def test_admin_pages_refuse_other_roles(make_browser):
    for email in ("resp-a@example.org", "fac-a@example.org"):
        browser = make_browser(email)
        for path in ("/admin/", "/admin/users", "/admin/audit", "/admin/instruments"):
            assert browser.get(path).status_code == 403
    assert Role.ADMIN.value == "admin"
