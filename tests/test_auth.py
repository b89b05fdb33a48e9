"""Signing in and out, and who sees which administration."""

from __future__ import annotations

from tests.conftest import PASSWORD, csrf_from


def test_login_page_is_public(client):
    assert client.get("/login").status_code == 200


def test_pages_redirect_anonymous_users_to_login(client, a_id):
    response = client.get(f"/assessments/{a_id}")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_correct_password_signs_in_and_redirects(browser):
    response = browser.login("resp-a@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/assessments"


def test_login_follows_a_local_next_but_not_another_site(browser, client):
    page = client.get("/login")
    response = client.post("/login?next=//evil.example/x", data={
        "email": "resp-a@example.org", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    assert response.headers["Location"] == "/assessments"


def test_wrong_password_and_unknown_email_get_the_same_message(browser, client):
    wrong = browser.login("resp-a@example.org", "wrong-password-123")
    unknown = browser.login("nobody@example.org", "wrong-password-123")
    assert wrong.status_code == unknown.status_code == 401
    message = "That e-mail and password do not match an active account."
    assert message in wrong.text and message in unknown.text


def test_email_is_matched_case_insensitively(browser):
    assert browser.login("Resp-A@Example.org").status_code == 302


def test_logout_needs_a_post_and_ends_the_session(respondent, a_id):
    assert respondent.get("/logout").status_code == 405
    assert respondent.post("/logout").status_code == 302
    assert respondent.get(f"/assessments/{a_id}").status_code == 302


def test_respondent_cannot_see_another_administrations_assessment(respondent, b_id):
    for path in ("", "/principles/PW", "/results", "/report.pdf", "/export.json",
                 "/export.csv", "/answers/PW.1/history"):
        assert respondent.get(f"/assessments/{b_id}{path}").status_code == 404, path


def test_respondent_cannot_save_into_another_administrations_assessment(respondent, b_id):
    assert respondent.autosave(b_id, "PW.1", level=1, evidence="x").status_code == 404


def test_respondent_list_shows_only_their_administration(respondent):
    page = respondent.get("/assessments").text
    assert "Administration B" not in page


def test_facilitator_sees_assigned_administrations_read_only(make_browser, a_id, b_id):
    facilitator = make_browser("fac-a@example.org")
    assert "Administration A" in facilitator.get("/assessments").text
    assert facilitator.get(f"/assessments/{a_id}/results").status_code == 200
    assert facilitator.get(f"/assessments/{a_id}/report.pdf").status_code == 200
    assert facilitator.get(f"/assessments/{b_id}").status_code == 404
    assert facilitator.autosave(a_id, "PW.1", level=1, evidence="x").status_code == 403
    assert "hx-post" not in facilitator.get(f"/assessments/{a_id}/principles/PW").text


def test_unassigned_facilitator_sees_nothing(make_browser, a_id):
    facilitator = make_browser("fac-none@example.org")
    assert facilitator.get(f"/assessments/{a_id}").status_code == 404
    assert "There are no assessments yet." in facilitator.get("/assessments").text


def test_admin_sees_every_administration(make_browser, a_id, b_id):
    admin = make_browser("admin@example.org")
    page = admin.get("/assessments").text
    assert "Administration A" in page and "Administration B" in page
    assert admin.get(f"/assessments/{b_id}/results").status_code == 200


def test_expired_session_autosave_answers_401_with_a_sign_in_link(client, a_id):
    response = client.post(f"/assessments/{a_id}/answers/PW.1", data={"PW.1-level": "1"},
                           headers={"HX-Request": "true",
                                    "HX-Current-URL": f"http://localhost/assessments/{a_id}"})
    assert response.status_code == 401
    assert "session has expired" in response.text
    assert 'target="_blank"' in response.text


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
