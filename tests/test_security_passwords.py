"""Passwords: long enough and hard to guess, with the reason shown where one is chosen.

The rule (passwords.py, zxcvbn) is checked on its own, through `create-user`, and through
the page where a signed-in person changes their password.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from cbassess import accounts, passwords
from cbassess.extensions import db
from cbassess.models import AuditEntry, User
from tests.conftest import PASSWORD, csrf_from

REFUSED = {
    "twelve identical characters": ("aaaaaaaaaaaa", passwords.Weakness.REPEATED),
    "a repeated group": ("abcabcabcabc", passwords.Weakness.REPEATED),
    "a common password": ("Password1234", passwords.Weakness.COMMON),
    "a keyboard row": ("qwertyuiop12", passwords.Weakness.COMMON),
    "a sequence": ("abcdefghijkl", passwords.Weakness.SEQUENCE),
    "digits in a row": ("123456789012", passwords.Weakness.COMMON),
    "the person's e-mail": ("resp-a@example.org", passwords.Weakness.PERSONAL),
    "too short": ("Tr0ub4d&r!", passwords.Weakness.TOO_SHORT),
    "too long": ("x7#Kq" * 250, passwords.Weakness.TOO_LONG),
}
ACCEPTED = ["correct-horse-battery", "demo-password-2026", "Lantern river 7 copper",
            "vingt-trois ponts de Paris", "Tr0ub4dor&3xyz", "海关改革计划需要证据二〇二六"]


@pytest.mark.parametrize("case", list(REFUSED))
def test_guessable_passwords_are_refused_with_their_reason(case):
    password, reason = REFUSED[case]
    assert passwords.weakness(password, ["resp-a@example.org", "Resp A"]) == reason
    with pytest.raises(passwords.WeakPassword):
        passwords.check(password, ["resp-a@example.org"])


@pytest.mark.parametrize("password", ACCEPTED)
def test_passwords_hard_to_guess_are_accepted(password):
    assert passwords.weakness(password, ["resp-a@example.org", "Resp A"]) is None


def test_create_user_refuses_a_guessable_password_and_says_why(runner, app):
    result = runner.invoke(args=["create-user", "--email", "w@example.org", "--role", "admin",
                                 "--password", "aaaaaaaaaaaa"])
    assert result.exit_code != 0
    assert "repeats a character" in result.output
    with app.app_context():
        assert db.session.query(User).filter_by(email="w@example.org").count() == 0


def _change(browser, current: str, new: str, confirm: str | None = None):
    page = browser.client.get("/account/password")
    return browser.client.post("/account/password", data={
        "csrf_token": csrf_from(page.text), "current": current, "new": new,
        "confirm": new if confirm is None else confirm}, headers={"Origin": "http://localhost"})


def _hash(app) -> str:
    with app.app_context():
        value = db.session.query(User).filter_by(email="resp-a@example.org").one().password_hash
        db.session.remove()
    return value


@pytest.mark.parametrize("case", ["twelve identical characters", "a common password",
                                  "the person's e-mail", "too short"])
def test_the_password_page_refuses_a_weak_password_and_shows_why(app, respondent, case):
    before = _hash(app)
    response = _change(respondent, PASSWORD, REFUSED[case][0])
    assert response.status_code == 422
    expected = {"twelve identical characters": "repeats a character",
                "a common password": "commonly used passwords",
                "the person's e-mail": "your name or e-mail address",
                "too short": "at least 12 characters"}[case]
    assert expected in response.text
    assert 'aria-invalid="true"' in response.text
    assert _hash(app) == before


def test_the_password_page_asks_for_the_current_password_and_a_matching_copy(app, respondent):
    before = _hash(app)
    wrong = _change(respondent, "not-my-password", "Lantern river 7 copper")
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    mismatch = _change(respondent, PASSWORD, "Lantern river 7 copper", "Lantern river 7")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    assert _hash(app) == before


def test_a_good_new_password_replaces_the_old_one(app, respondent, make_browser):
    response = _change(respondent, PASSWORD, "Lantern river 7 copper")
    assert response.status_code == 303
    assert check_password_hash(_hash(app), "Lantern river 7 copper")
    assert "Your password is changed" in respondent.get("/assessments").text
    old = make_browser("resp-a@example.org")
    assert old.client.get("/assessments").status_code == 302  # the old one no longer works


def test_the_page_states_the_rules_before_anything_is_typed(respondent):
    page = respondent.get("/account/password").text
    assert "At least 12 characters" in page
    assert 'aria-describedby="password-rules"' in page


def test_changing_ones_password_ends_unused_links_and_is_on_record(app, respondent, client):
    """A reset link asked for before the change (by anyone) must not undo it."""
    with app.app_context():
        user = db.session.query(User).filter_by(email="resp-a@example.org").one()
        token = accounts.issue_link(db.session, None, user, accounts.Purpose.RESET)
    assert client.get(f"/password/set/{token}").status_code == 200
    assert _change(respondent, PASSWORD, "Lantern river 7 copper").status_code == 303
    assert client.get(f"/password/set/{token}").status_code != 200
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.target_label) == ("user.password_set", "resp-a@example.org")
