"""One account cannot make the server build an unbounded reply from an unbounded history.

The history page shows a page of revisions at a time; export.json is streamed (memory held
while it is produced does not grow with the history); answer saves are limited per person
at a rate no one typing or clicking reaches, and every 429 says when to come back.
"""

from __future__ import annotations

import json
import re
import tracemalloc

import pytest
from limits import parse_many

from cbassess import create_app
from cbassess.extensions import db
from tests.conftest import Browser
from tests.reliability_helpers import build_app

DEBOUNCE_SECONDS = 0.9  # hx-trigger="… typed delay:900ms" on each indicator


def _save_many(browser, a_id: int, key: str, count: int, text: str = "") -> None:
    for n in range(count):
        response = browser.autosave(a_id, key, level=n % 5, evidence=f"{text}{n}")
        assert response.status_code == 200, response.text


def test_the_history_page_shows_one_page_of_revisions_at_a_time(app, respondent, a_id):
    per_page = app.config["HISTORY_PAGE_SIZE"]
    _save_many(respondent, a_id, "PW.1", 2 * per_page + 3, text="version ")
    path = f"/assessments/{a_id}/answers/PW.1/history"
    first = respondent.get(path).text
    assert first.count('class="revision revision--edit"') == per_page
    assert "version 42" in first and "version 21" not in first  # newest first
    assert "Page 1 of 3" in first and f'href="{path}?page=2"' in first
    last = respondent.get(f"{path}?page=3").text
    assert last.count('class="revision revision--edit"') == 3
    assert "version 0" in last and 'rel="prev"' in last
    assert respondent.get(f"{path}?page=4").status_code == 404


def _peak_memory_of_export(browser, a_id: int) -> tuple[int, bytes]:
    tracemalloc.start()
    try:
        response = browser.client.get(f"/assessments/{a_id}/export.json", buffered=False)
        chunks = []
        peak_seen = 0
        for chunk in response.response:
            chunks.append(len(chunk))
            peak_seen = max(peak_seen, tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
        body_size = sum(chunks)
        response.close()
    finally:
        tracemalloc.stop()
    return peak_seen, body_size


def test_export_json_is_streamed_with_memory_that_does_not_grow_with_the_history(
        app, respondent, a_id):
    """Revisions of 20,000 characters each: with four times the history the reply is four
    times larger, but the memory held while producing it is not."""
    evidence = "e" * 19_990

    def grow_to(total: int) -> None:
        while _revisions(app, a_id) < total:
            n = _revisions(app, a_id)
            assert respondent.autosave(a_id, "PW.1", level=n % 5,
                                       evidence=f"{n:04}{evidence}").status_code == 200

    grow_to(50)
    small_peak, small_size = _peak_memory_of_export(respondent, a_id)
    grow_to(200)
    large_peak, large_size = _peak_memory_of_export(respondent, a_id)
    assert large_size > 3.5 * small_size
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)
    assert large_peak < large_size / 2  # the old reply was built whole: more than its size
    body = json.loads(respondent.get(f"/assessments/{a_id}/export.json").data)
    assert len(body["revisions"]) == 200
    assert body["revisions"][-1]["after"]["evidence"] == f"0199{evidence}"
    assert body["revisions"][0]["changed_by"] == "resp-a@example.org"
    assert body["assessment"]["round"] == "2026 round" and len(body["answers"]) == 28


def _revisions(app, a_id: int) -> int:
    from cbassess.models import AnswerRevision
    with app.app_context():
        count = db.session.query(AnswerRevision).filter_by(assessment_id=a_id).count()
        db.session.remove()
    return count


@pytest.fixture
def limited(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, SAVE_LIMITS="30 per minute")
    yield app
    with app.app_context():
        db.engine.dispose()


def _browser(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def _a_id(app) -> int:
    from tests.conftest import assessment_id
    return assessment_id(app)


def test_saves_past_the_limit_get_429_with_retry_after_and_save_nothing(limited):
    a_id = _a_id(limited)
    respondent = _browser(limited, "resp-a@example.org")
    _save_many(respondent, a_id, "PW.1", 30)
    refused = respondent.autosave(a_id, "PW.1", level=1, evidence="one too many")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "Too many attempts" in refused.text
    page = respondent.post(f"/assessments/{a_id}/principles/PW",
                           {"PW.2-level": "3", "action": "save"})
    assert page.status_code == 429  # the plain page post shares the budget
    history = respondent.get(f"/assessments/{a_id}/answers/PW.1/history").text
    assert "one too many" not in history
    other = _browser(limited, "resp-a2@example.org")  # the limit is per person
    assert other.autosave(a_id, "PW.2", level=2, evidence="mine").status_code == 200


def test_every_429_says_when_to_try_again(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, LOGIN_LIMITS="1 per minute")
    client = app.test_client()
    for _ in range(2):
        page = client.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        response = client.post("/login", data={"email": "x@example.org", "password": "wrong",
                                               "csrf_token": token})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert re.search(r"Wait \d+ seconds", response.text)
    with app.app_context():
        db.engine.dispose()


def test_the_default_save_limit_is_beyond_anyone_typing_or_clicking():
    """Typing saves once per 0.9 s pause in each field; a person can switch between a
    few tabs while their saves are pending, and click answers faster than they type."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    limits = {limit.GRANULARITY.name: limit for limit in parse_many(app.config["SAVE_LIMITS"])}
    human_per_second = 3 / DEBOUNCE_SECONDS  # three tabs' pending saves at once
    assert limits["minute"].amount / 60 >= human_per_second
    assert limits["hour"].amount / 3600 >= 2 / DEBOUNCE_SECONDS * 0.9  # 2 a second, sustained
    assert limits["hour"].amount <= 10_000  # still a bound on one account's history


def test_a_day_of_human_paced_saves_is_far_below_the_limit(database_url):
    """As many saves as the per-minute limit allows, one after another, all succeed: a
    person saving once per pause never gets near it (measured in saves, not time)."""
    app = build_app(database_url, RATELIMIT_ENABLED=True)
    a_id = _a_id(app)
    respondent = _browser(app, "resp-a@example.org")
    minute = next(limit for limit in parse_many(app.config["SAVE_LIMITS"])
                  if limit.GRANULARITY.name == "minute")
    human_in_a_minute = int(60 / DEBOUNCE_SECONDS)
    assert human_in_a_minute * 3 < minute.amount
    _save_many(respondent, a_id, "PW.1", human_in_a_minute * 3)
    with app.app_context():
        db.engine.dispose()
