"""Stored XSS: text typed by people or written into an instrument is shown as text, everywhere.

One payload with a script element, an event handler, an attribute break-out and a
javascript: URL goes into every place text is stored: evidence and note, a person's name, an
administration's name, a round's name (through the form that creates it), and every text of
an imported instrument. Each page that shows them, the conflict and indicator fragments, and
the PDF must show the payload as text and contain no markup of its own making.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import yaml
from markupsafe import escape

from cbassess.cli import import_instrument
from cbassess.extensions import db
from cbassess.models import Organisation, User
from tests.conftest import DATA, Browser, pdf_text
from tests.reliability_helpers import build_app, forms_in

PAYLOAD = ('<script>alert(1)</script><img src=x onerror=alert(2)>"\'><svg onload=alert(3)>'
           'javascript:alert(4)')
TEXT_FIELDS = {"title", "summary", "description", "question", "guidance", "label"}


def _poison(node):
    """Prefix every human-readable text of an instrument document with the payload."""
    if isinstance(node, list):
        return [_poison(item) for item in node]
    if not isinstance(node, dict):
        return node
    poisoned = {}
    for key, value in node.items():
        if key in TEXT_FIELDS and isinstance(value, str):
            value = f"{PAYLOAD} {value}"
        elif key in TEXT_FIELDS and isinstance(value, dict):
            value = {lang: f"{PAYLOAD} {text}" for lang, text in value.items()}
        elif key == "descriptors":
            value = {level: f"{PAYLOAD} {text}" for level, text in value.items()}
        elif key == "evidence_examples":
            value = [f"{PAYLOAD} {text}" for text in value]
        poisoned[key] = _poison(value)
    return poisoned


@pytest.fixture(scope="module")
def stage(tmp_path_factory, databases):
    """Payloads in every stored text; returns the app, the pages' paths and two sessions."""
    tmp_path = tmp_path_factory.mktemp("xss")
    app = build_app(databases.seeded())
    document = _poison(yaml.safe_load((DATA / "other-framework.yaml").read_text("utf-8")))
    document["key"] = "xss-check"
    path = tmp_path / "xss-check.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with app.app_context():
        instrument_id = import_instrument(path)[0].id
        db.session.query(Organisation).filter_by(name="Administration A").one().name = PAYLOAD
        for user in db.session.query(User).filter(User.email.like("resp-a%")):
            user.name = PAYLOAD
        db.session.commit()
    first, second = Browser(app.test_client()), Browser(app.test_client())
    first.login("resp-a@example.org")
    second.login("resp-a2@example.org")
    created = first.post("/assessments", {"round_name": PAYLOAD, "instrument_id": instrument_id})
    assert created.status_code == 303, created.text
    a_id = int(created.headers["Location"].rsplit("/", 1)[1])
    saved = first.autosave(a_id, "TF.1", level=2, evidence=PAYLOAD, note=PAYLOAD, version=0)
    assert saved.status_code == 200
    conflict = second.autosave(a_id, "TF.1", level=1, evidence="other", version=0)
    assert conflict.status_code == 409
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    yield {"app": app, "a_id": a_id, "first": first, "admin": admin, "conflict": conflict.text}
    with app.app_context():
        db.engine.dispose()


class _Markup(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def assert_shown_as_text(html: str) -> None:
    """The payload appears escaped, and the page builds no script, handler or URL from it."""
    assert str(escape("<script>alert(1)</script>")) in html
    parser = _Markup()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert tag != "script" or attrs.get("src", "").startswith("/static/"), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), attrs


PAGES = {
    "list (respondent)": ("first", "/assessments"),
    "list (admin, with administration names)": ("admin", "/assessments"),
    "overview": ("first", "/assessments/{a_id}"),
    "principle": ("first", "/assessments/{a_id}/principles/TF"),
    "results": ("first", "/assessments/{a_id}/results"),
    "history": ("first", "/assessments/{a_id}/answers/TF.1/history"),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_payloads_are_shown_as_text_on_the_page(stage, page):
    who, path = PAGES[page]
    response = stage[who].get(path.format(a_id=stage["a_id"]))
    assert response.status_code == 200
    assert_shown_as_text(response.text)


def test_payloads_are_shown_as_text_in_the_conflict_fragment(stage):
    assert_shown_as_text(stage["conflict"])


def test_payloads_are_shown_as_text_in_the_indicator_fragment(stage):
    response = stage["first"].get(f"/assessments/{stage['a_id']}/answers/TF.1", htmx=True)
    assert response.status_code == 200
    assert_shown_as_text(response.text)


def test_payloads_in_the_principle_page_keep_the_typed_text_intact(stage):
    page = stage["first"].get(f"/assessments/{stage['a_id']}/principles/TF").text
    [form] = [f for f in forms_in(page) if f["action"].endswith("/principles/TF")]
    fields = dict(form["fields"])
    assert fields["TF.1-evidence"] == PAYLOAD and fields["TF.1-note"] == PAYLOAD


def test_payloads_are_text_in_the_pdf(stage):
    response = stage["first"].get(f"/assessments/{stage['a_id']}/report.pdf")
    assert response.status_code == 200
    flat = re.sub(r"\s+", "", pdf_text(response.data))
    assert re.sub(r"\s+", "", PAYLOAD) in flat
    assert flat.count("<script>alert(1)</script>") >= 5  # instrument, round, administration…


def test_payload_posted_after_expiry_is_carried_as_text_in_the_sign_in_form(stage):
    visitor = Browser(stage["app"].test_client())
    response = visitor.client.post(
        f"/assessments/{stage['a_id']}/principles/TF",
        data={"TF.1-evidence": PAYLOAD, PAYLOAD: PAYLOAD},
        headers={"Origin": "http://localhost"})
    assert response.status_code == 401
    assert_shown_as_text(response.text)
    [form] = [f for f in forms_in(response.text) if f["action"] == "/login/resume"]
    assert (f"resume:{PAYLOAD}", PAYLOAD) in form["fields"]


def test_payload_in_a_user_name_is_text_in_the_page_header(stage):
    page = stage["first"].get("/assessments").text
    header = page[page.index('<header'):page.index("</header>")]
    assert str(escape(PAYLOAD)) in header
