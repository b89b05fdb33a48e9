"""Hostile values in any URL part or query parameter answer 4xx, never 5xx.

Hypothesis walks `app.url_map` (everything but static files): for each route it puts
hostile values in every converter's place (ids beyond the database's integer range,
negative and non-ASCII digits, control characters, very long text, invalid percent-escapes)
and in every query parameter the app reads, and sends every method as a visitor, a
respondent, a facilitator and an admin. Which query parameters exist is read from the
source, so a new `request.args.get("…")` is fed hostile values the day it is written.
Signing in with a hostile `next` is a property of its own (the redirect follows a
successful sign-in).

Examples are derandomized, so a run in CI is the same run as on a laptop.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbassess.url_params import DATABASE_INT_MAX
from tests.conftest import PASSWORD, Browser, csrf_from
from tests.test_security_authorisation_matrix import EMAILS, _routes

PROPERTY = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
SOURCE = Path(__file__).resolve().parent.parent / "cbassess"
_CONVERTER = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?"
                        r"(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_QUERY_PARAMETER = re.compile(r"request\.args\.get\(\s*[\"']([^\"']+)[\"']")

HOSTILE_NUMBERS = [str(DATABASE_INT_MAX + 1), str(2**63), str(2**64), "9" * 40, "0", "-1",
                   "-0", "00000000000000000001", "１２", "٣", "²", "1e9", "0x10", "1.5", " 1",
                   "NaN", "inf"]
HOSTILE_TEXT = ["\x00", "%00", "a\nb", "\r\n", "\t", "\x7f", "\x85", "\u2028", "\u202e",
                "%ff", "%c3%28", "%", "%%", "../..", "..%2f..", "//evil.example", "\\evil",
                "x" * 5_000, "𝄞" * 100, "PW.1\x00", "<script>", "'\"", "?", "#",
                "javascript:alert(1)", "http://evil.example/", "/\t/evil.example",
                "/%0d%0aSet-Cookie:x=1", "\ufeff", ""]
hostile = st.one_of(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT),
                    st.text(max_size=30),
                    st.from_regex(r"-?[0-9]{8,30}", fullmatch=True))


def query_parameters() -> set[str]:
    """Every query parameter the app reads, from its source."""
    names = set()
    for path in SOURCE.rglob("*.py"):
        names.update(_QUERY_PARAMETER.findall(path.read_text(encoding="utf-8")))
    return names


def _path(rule, values: dict[str, str]) -> str:
    """The rule's path with each converter's place filled by the raw (escaped) value."""
    def fill(match):
        return quote(values[match.group("name")], safe="%")
    return _CONVERTER.sub(fill, rule.rule)


@pytest.fixture
def people(app):
    browsers = {"anonymous": Browser(app.test_client())}
    browsers["anonymous"].refresh_token("/login")
    for role in ("resp_a", "fac_a", "admin"):
        browsers[role] = Browser(app.test_client())
        browsers[role].login(EMAILS[role])
    return browsers


def test_the_app_reads_the_query_parameters_this_test_feeds():
    assert query_parameters() >= {"page", "next"}


@PROPERTY
@given(data=st.data())
def test_hostile_url_parts_and_query_parameters_never_get_a_5xx(app, a_id, people, data):
    routes = _routes(app)
    endpoint, method, rule = data.draw(st.sampled_from(routes), label="route")
    role = data.draw(st.sampled_from(sorted(people)), label="role")
    browser = people[role]
    values = {}
    for name in sorted(rule.arguments):
        real = str(a_id) if name == "assessment_id" else "PW.1" if "answers" in rule.rule \
            else "PW"
        values[name] = data.draw(st.one_of(st.just(real), hostile), label=name)
    query = {name: data.draw(hostile, label=f"?{name}")
             for name in sorted(query_parameters()) if data.draw(st.booleans())}
    path = _path(rule, values)
    if query:
        path += "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
    form = {"csrf_token": browser.token} if method == "POST" else None
    response = browser.client.open(path, method=method, data=form,
                                   headers={"Origin": "http://localhost"})
    assert response.status_code < 500, f"{method} {path} as {role}: {response.status_code}"


@PROPERTY
@given(target=hostile)
def test_signing_in_with_a_hostile_next_never_gets_a_5xx_nor_leaves_the_site(app, target):
    client = app.test_client()
    page = client.get("/login?next=" + quote(target, safe=""))
    assert page.status_code == 200
    response = client.post("/login?next=" + quote(target, safe=""), data={
        "email": "resp-a@example.org", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers={"Origin": "http://localhost"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path.startswith("/") and not location.path.startswith("//")
    assert not re.search(r"[\x00-\x20\x7f]", response.headers["Location"])
    again = client.get("/login?next=" + quote(target, safe=""))  # signed in: redirected
    assert again.status_code == 302


@pytest.mark.parametrize("value", [str(DATABASE_INT_MAX + 1), str(2**63), "9" * 30, "0"])
def test_ids_outside_the_database_range_match_no_route(app, respondent, value):
    for _endpoint, method, rule in _routes(app):
        if "assessment_id" not in rule.arguments or method not in ("GET", "POST"):
            continue
        path = _path(rule, {"assessment_id": value, "key": "PW.1", "file_id": "1",
                            "thread_id": value})
        response = respondent.client.open(path, method=method,
                                          data={"csrf_token": respondent.token}
                                          if method == "POST" else None,
                                          headers={"Origin": "http://localhost"})
        assert response.status_code in (404, 405), f"{method} {path}"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "9" * 30, str(2**63), "１"])
def test_page_numbers_that_are_not_pages_are_404(respondent, a_id, page):
    for path in ("/assessments", f"/assessments/{a_id}/answers/PW.1/history"):
        assert respondent.get(f"{path}?page={quote(page)}").status_code == 404, path
