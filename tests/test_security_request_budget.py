"""The work a request body can cause before anyone is known is bounded, per route.

A body is read and parsed before the sender is known: the CSRF check reads the form, and an
expired session's post is read so that its text can be carried through sign-in. So the
budget each route declares (security.accepts; 8 KB and 16 fields for any other) is the most
an anonymous sender can make the server read and parse.

Work is measured, not time: the bytes the app reads from the request's input stream (a
counting stream stands in for the socket) and the Python function calls made while the
request is handled (sys.setprofile counts them; they grow with every field parsed).
"""

from __future__ import annotations

import io
import sys
from urllib.parse import urlencode

import pytest

from cbassess.security import CARRIED_POST, ONE_ANSWER, ONE_PRINCIPLE, SMALL_FORM
from tests.conftest import PASSWORD, Browser, csrf_from
from tests.test_security_authorisation_matrix import _path, _routes

FIELD_BOMB = b"&" * (1024 * 1024)  # a million empty fields in one megabyte


class CountingStream(io.BytesIO):
    """The request body as the server's socket would hand it over, counting what is read."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def read1(self, size=-1):
        chunk = super().read1(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer):
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


class Work:
    """Bytes read from the body and Python calls made while one request is handled."""

    def __init__(self) -> None:
        self.calls = 0
        self.bytes_read = 0
        self.status = 0

    def _count(self, frame, event, arg) -> None:
        if event == "call":
            self.calls += 1


def send(client, path: str, body: bytes, content_type: str = "application/x-www-form-urlencoded",
         chunked: bool = False, headers: dict | None = None) -> Work:
    """POST `body` to `path` from a browser of this site, measuring the work it causes."""
    work, stream = Work(), CountingStream(body)
    extra = {"environ_overrides": {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}} \
        if chunked else {}
    sys.setprofile(work._count)
    try:
        response = client.post(path, input_stream=stream, content_type=content_type,
                               content_length=None if chunked else len(body),
                               headers={"Origin": "http://localhost", **(headers or {})},
                               **extra)
    finally:
        sys.setprofile(None)
    work.bytes_read, work.status = stream.bytes_read, response.status_code
    return work


def _post_routes(app, a_id: int) -> list[tuple[str, str]]:
    """(endpoint, path) of every route that takes a POST."""
    return [(endpoint,
             _path(rule, a_id, "PW" if endpoint == "answering.principle_page" else "PW.1"))
            for endpoint, method, rule in _routes(app) if method == "POST"]


def _budget(app, endpoint: str):
    return getattr(app.view_functions[endpoint], "body_budget", SMALL_FORM)


def test_an_ordinary_sign_in_is_within_the_sign_in_forms_budget(client):
    page = client.get("/login")
    body = urlencode({"csrf_token": csrf_from(page.text), "email": "resp-a@example.org",
                      "password": PASSWORD}).encode()
    work = send(client, "/login", body)
    assert work.status == 302
    assert work.bytes_read == len(body) <= SMALL_FORM.bytes


@pytest.mark.parametrize("chunked", [False, True], ids=["with a length", "chunked"])
def test_an_anonymous_field_bomb_is_refused_with_bounded_work_on_every_route(
        app, client, a_id, chunked):
    """A megabyte of empty fields, to every route that takes a POST, from a visitor."""
    baseline = send(client, "/login", b"email=x&password=y&csrf_token=z")
    over = []
    for endpoint, path in _post_routes(app, a_id):
        budget = _budget(app, endpoint)
        work = send(client, path, FIELD_BOMB, chunked=chunked)
        # Read at most the budget (and the byte that shows a chunked body went past it),
        # parse no field: about the calls of a three-field sign-in, whatever the bomb.
        if not (400 <= work.status < 500 and work.bytes_read <= budget.bytes + 1
                and work.calls <= 2 * baseline.calls + 2_000):
            over.append(f"{endpoint}: {work.status}, {work.bytes_read:,} bytes read, "
                        f"{work.calls:,} calls (a sign-in: {baseline.calls:,})")
    assert over == []


def test_a_declared_length_over_the_budget_is_refused_before_a_byte_is_read(app, client, a_id):
    for endpoint, path in _post_routes(app, a_id):
        budget = _budget(app, endpoint)
        work = send(client, path, b"a=" + b"x" * budget.bytes)
        assert (work.status, work.bytes_read) == (413, 0), endpoint


def test_the_sign_in_form_takes_a_few_kilobytes_not_megabytes(client):
    page = client.get("/login")
    body = urlencode({"csrf_token": csrf_from(page.text), "email": "resp-a@example.org",
                      "password": PASSWORD, "padding": "x" * SMALL_FORM.bytes}).encode()
    work = send(client, "/login", body)
    assert SMALL_FORM.bytes <= 8 * 1024
    assert work.status == 413
    assert work.bytes_read == 0
    assert client.get("/assessments").status_code == 302  # not signed in


def test_more_fields_than_a_route_takes_are_refused_without_being_split(client):
    """Within the byte budget, but with more fields than the form has."""
    page = client.get("/login")
    body = (urlencode({"csrf_token": csrf_from(page.text), "email": "resp-a@example.org",
                       "password": PASSWORD}) + "&x=" * SMALL_FORM.fields).encode()
    assert len(body) < SMALL_FORM.bytes
    work = send(client, "/login", body)
    assert work.status == 413
    assert client.get("/assessments").status_code == 302


def test_a_multipart_body_with_more_parts_than_the_route_takes_is_refused(client):
    page = client.get("/login")
    token = csrf_from(page.text)
    parts = [("csrf_token", token), ("email", "resp-a@example.org"), ("password", PASSWORD)]
    parts += [(f"f{n}", "") for n in range(SMALL_FORM.fields)]
    boundary = "cbassess-test-boundary"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in parts) + f"--{boundary}--\r\n"
    work = send(client, "/login", body.encode(),
                content_type=f"multipart/form-data; boundary={boundary}")
    assert work.status == 413
    assert client.get("/assessments").status_code == 302


def test_the_budgets_leave_room_for_every_legitimate_form():
    """An autosave and a whole principle page at every field's limit (security.py's own
    sums are checked in test_security_input_properties.py with real posts); the sign-in
    form that carries a page takes the page and the sign-in fields."""
    assert ONE_ANSWER.bytes >= (20_000 + 4_000) * 12
    assert ONE_PRINCIPLE.fields >= 4 * 100 + 2
    assert CARRIED_POST.bytes >= ONE_PRINCIPLE.bytes + SMALL_FORM.bytes
    assert CARRIED_POST.fields >= ONE_PRINCIPLE.fields + 3


def test_an_expired_sessions_page_post_still_reaches_the_sign_in_form_and_back(
        app, respondent, a_id):
    """The budget of /login/resume carries a principle page with long answers."""
    evidence = "𝄞" * 20_000
    form = {"csrf_token": respondent.token, "PW.1-level": "2", "PW.1-evidence": evidence}
    respondent.client.delete_cookie("session")
    response = respondent.client.post(f"/assessments/{a_id}/principles/PW", data=form,
                                      headers={"Origin": "http://localhost"})
    assert response.status_code == 401
    visitor = Browser(respondent.client)
    carried = {"csrf_token": csrf_from(response.text), "email": "resp-a@example.org",
               "password": PASSWORD, "resume_to": f"/assessments/{a_id}/principles/PW",
               "resume:PW.1-level": "2", "resume:PW.1-evidence": evidence}
    page = visitor.client.post("/login/resume", data=carried,
                               headers={"Origin": "http://localhost"})
    assert page.status_code == 200
    assert "Send what I typed" in page.text
    assert evidence in page.text
