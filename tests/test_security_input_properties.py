"""Bad input gets a clear 4xx and changes nothing; good input is stored exactly.

Hypothesis posts random forms (random keys, huge strings, NUL and other control characters,
non-digit versions, levels off the scale) to the autosave endpoint and to the plain form post
of a principle page, and random invalid UTF-8 in the body. For each example the expected
outcome comes from the rules as the issue states them (`_expected` below), independently of
answers.py; the server must never answer 5xx, and the database (answers with a version, and
their edit history) changes only when the answer is valid.

Examples are derandomized, so a run in CI is the same run as on a laptop.
"""

from __future__ import annotations

import io
import re
import unicodedata
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cbassess.extensions import db
from cbassess.models import Answer, AnswerRevision, Assessment

PROPERTY = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

EVIDENCE_LIMIT, NOTE_LIMIT = 20_000, 4_000
SCALE = range(0, 5)  # the shipped instrument: levels 0-4, "not applicable" allowed
# Control characters (C0 but tab and line ends, DEL, C1), line and paragraph separators,
# bidirectional embeddings, overrides and isolates (the text policy, stated independently).
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069]")
# What one autosave body may weigh: both texts at their limits in 4-byte characters,
# percent-encoded, plus 4 KB for the rest (security.ONE_ANSWER).
AUTOSAVE_BODY_LIMIT = (EVIDENCE_LIMIT + NOTE_LIMIT) * 12 + 4 * 1024
HUGE = ["x" * (EVIDENCE_LIMIT + 1), "é" * EVIDENCE_LIMIT, "𝄞" * (NOTE_LIMIT + 1),
        "y" * 300_000, "a\x00" * 5_000]

values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "4", "5", "-1", "-0", "004", "na", "NA", " 3 ", "²", "٣", "1e3",
                     "0x1", "3.0", "99999999999", "1234567890", "\x00", "\x1f", "a\x00b",
                     "tab\there", "line\r\nbreak", "cr\ronly", "\u0958", "e\u0301"]),
    st.from_regex(r"-?[0-9]{1,12}", fullmatch=True),
    st.sampled_from(HUGE),
)


def _fields(keys: list[str]):
    parts = ["level", "evidence", "note", "version"]
    names = st.one_of(st.sampled_from([f"{k}-{p}" for k in keys for p in parts]),
                      st.text(max_size=15))
    return st.dictionaries(names, values, max_size=8)


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _blank(text: str) -> bool:
    """Nothing a person would see: whitespace and zero-width or other invisible characters."""
    invisible = {"\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u17b5",
                 "\u180e", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060",
                 "\u2061", "\u2062", "\u2063", "\u2064", "\u2800", "\u3164", "\ufeff",
                 "\uffa0"}
    return all(c.isspace() or c in invisible or unicodedata.category(c) == "Cf"
               or "\ufe00" <= c <= "\ufe0f" for c in text)


def _expected(form: dict, key: str, stored: tuple | None) -> str:
    """The rules of one answer: "rejected", "conflict", "unchanged" or "saved"."""
    level_text = (form.get(f"{key}-level") or "").strip()
    level, not_applicable = None, False
    if level_text == "na":
        not_applicable = True
    elif level_text:
        if not re.fullmatch(r"-?[0-9]{1,3}", level_text) or int(level_text) not in SCALE:
            return "rejected"
        level = int(level_text)
    texts = []
    for part, limit in (("evidence", EVIDENCE_LIMIT), ("note", NOTE_LIMIT)):
        raw = form.get(f"{key}-{part}", "")
        if REFUSED.search(raw) or len(_normal(raw)) > limit:
            return "rejected"
        texts.append(_normal(raw))
    if not_applicable and _blank(texts[0]):
        return "rejected"
    version_text = (form.get(f"{key}-version") or "").strip()
    if version_text and not re.fullmatch(r"[0-9]{1,9}", version_text):
        return "rejected"
    value = (level, not_applicable, *texts)
    current = stored[:4] if stored else (None, False, "", "")
    if value == current:
        return "unchanged"
    if version_text and int(version_text) != (stored[4] if stored else 0):
        return "conflict"
    return "saved"


def _snapshot(app, a_id: int) -> dict:
    """Answers that hold something (version > 0) and the count of edit revisions."""
    with app.app_context():
        answers = {a.indicator_key: (a.level, a.not_applicable, a.evidence, a.note, a.version)
                   for a in db.session.query(Answer).filter(Answer.assessment_id == a_id,
                                                            Answer.version > 0)}
        edits = db.session.query(AnswerRevision).filter_by(assessment_id=a_id,
                                                           kind="edit").count()
        db.session.remove()
    return {"answers": answers, "edits": edits}


@PROPERTY
@given(form=_fields(["PW.1", "PW.2"]))
def test_random_autosave_forms_never_5xx_and_change_the_database_only_when_valid(
        respondent, app, a_id, form):
    before = _snapshot(app, a_id)
    response = respondent.post(f"/assessments/{a_id}/answers/PW.1", form, htmx=True)
    after = _snapshot(app, a_id)
    outcome = ("too large" if len(urlencode(form)) > AUTOSAVE_BODY_LIMIT
               else _expected(form, "PW.1", before["answers"].get("PW.1")))
    event(outcome)
    assert response.status_code < 500
    if outcome == "saved":
        assert response.status_code == 200
        level, _, evidence, note, version = after["answers"]["PW.1"]
        assert (evidence, note) == (_normal(form.get("PW.1-evidence", "")),
                                    _normal(form.get("PW.1-note", "")))
        assert version == before["answers"].get("PW.1", (0,) * 5)[4] + 1
        assert after["edits"] == before["edits"] + 1
    else:
        assert response.status_code == {"rejected": 422, "conflict": 409,
                                         "unchanged": 200, "too large": 413}[outcome]
        assert after == before
    if response.status_code >= 400 and outcome != "too large":
        assert "Not saved" in response.text


@PROPERTY
@given(form=_fields(["PW.1", "PW.2", "PW.3"]))
def test_random_principle_page_posts_never_5xx_and_save_all_or_nothing(
        respondent, app, a_id, form):
    keys = [f"PW.{n}" for n in range(1, 6)]
    before = _snapshot(app, a_id)
    response = respondent.post(f"/assessments/{a_id}/principles/PW", form)
    after = _snapshot(app, a_id)
    outcomes = {k: _expected(form, k, before["answers"].get(k)) for k in keys}
    event(min(outcomes.values(), key=["rejected", "conflict", "saved", "unchanged"].index))
    assert response.status_code < 500
    if "rejected" in outcomes.values():
        assert response.status_code == 422
        assert "Nothing was saved" in response.text
        assert after == before
    elif "conflict" in outcomes.values():
        assert response.status_code == 409
        assert after == before
    else:
        assert response.status_code == 303
        saved = [k for k, outcome in outcomes.items() if outcome == "saved"]
        assert after["edits"] == before["edits"] + len(saved)
        for key in saved:
            assert after["answers"][key][2] == _normal(form.get(f"{key}-evidence", ""))


def _invalid_utf8():
    return st.binary(min_size=1, max_size=12).filter(_not_utf8)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@PROPERTY
@given(bad=_invalid_utf8(), escaped=st.booleans(), text=st.text(max_size=10))
def test_invalid_utf8_in_an_autosave_body_gets_400_and_changes_nothing(
        respondent, app, a_id, bad, escaped, text):
    before = _snapshot(app, a_id)
    payload = quote_from_bytes(bad).encode() if escaped else bad
    body = b"PW.1-level=2&PW.1-evidence=" + quote(text).encode() + payload
    response = respondent.client.post(
        f"/assessments/{a_id}/answers/PW.1", data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"HX-Request": "true", "X-CSRFToken": respondent.token})
    assert response.status_code == 400
    assert "not valid UTF-8" in response.text
    assert _snapshot(app, a_id) == before


@PROPERTY
@given(bad=_invalid_utf8(), escaped=st.booleans())
def test_invalid_utf8_in_a_principle_page_post_gets_400_and_changes_nothing(
        respondent, app, a_id, bad, escaped):
    before = _snapshot(app, a_id)
    payload = quote_from_bytes(bad).encode() if escaped else bad
    body = (f"csrf_token={respondent.token}&PW.1-level=2&PW.1-evidence=".encode() + payload)
    response = respondent.client.post(f"/assessments/{a_id}/principles/PW", data=body,
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.text
    assert _snapshot(app, a_id) == before


def test_latin1_percent_escape_is_refused_not_stored_as_percent_text(respondent, app, a_id):
    """Werkzeug alone would store "caf%E9" for this body."""
    response = respondent.client.post(
        f"/assessments/{a_id}/answers/PW.1", data=b"PW.1-level=1&PW.1-evidence=caf%E9",
        content_type="application/x-www-form-urlencoded",
        headers={"HX-Request": "true", "X-CSRFToken": respondent.token})
    assert response.status_code == 400
    assert "not valid UTF-8 text" in response.text
    assert _snapshot(app, a_id)["answers"] == {}


def test_raw_invalid_bytes_get_the_utf8_message_not_a_csrf_one(respondent, app, a_id):
    """Werkzeug alone would read this body as an empty form and report a missing token."""
    body = f"csrf_token={respondent.token}&PW.1-evidence=caf\xe9".encode("latin-1")
    response = respondent.client.post(f"/assessments/{a_id}/principles/PW", data=body,
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid UTF-8 text" in response.text
    assert "Form expired" not in response.text


def test_a_body_over_the_request_limit_gets_413_with_a_readable_message(respondent, app, a_id):
    response = respondent.post(f"/assessments/{a_id}/answers/PW.1",
                               {"PW.1-evidence": "x" * (17 * 1024 * 1024)}, htmx=True)
    assert response.status_code == 413
    assert "too large" in response.text
    assert _snapshot(app, a_id)["answers"] == {}


def test_a_body_over_the_request_limit_sent_in_chunks_without_a_length_gets_413_too(
        respondent, app, a_id):
    """A chunked body has no length to check up front: going past the limit refuses it
    rather than acting on its first 16 MB."""
    body = urlencode({"PW.1-level": "2", "PW.1-evidence": "x" * (17 * 1024 * 1024)}).encode()
    response = respondent.client.post(
        f"/assessments/{a_id}/answers/PW.1", input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"HX-Request": "true", "X-CSRFToken": respondent.token},
        # As gunicorn passes a chunked body: no length, the input marked as terminated.
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    assert response.status_code == 413
    assert _snapshot(app, a_id)["answers"] == {}


def test_a_principle_page_with_every_field_at_its_limit_in_4_byte_characters_saves(
        respondent, app, a_id):
    """The request limit leaves room for the longest answers in any script."""
    form = {"action": "save"}
    for n in range(1, 6):
        form.update({f"PW.{n}-level": "2", f"PW.{n}-evidence": "𝄞" * EVIDENCE_LIMIT,
                     f"PW.{n}-note": "𝄞" * NOTE_LIMIT})
    response = respondent.post(f"/assessments/{a_id}/principles/PW", form)
    assert response.status_code == 303
    assert len(_snapshot(app, a_id)["answers"]) == 5


NEW_ROUND_REFUSALS = {
    "no name": ({"round_name": "   ", "instrument_id": "1"}, "Give the round a name"),
    "name too long": ({"round_name": "r" * 101, "instrument_id": "1"}, "at most 100 characters"),
    "control character": ({"round_name": "2027\x00round", "instrument_id": "1"},
                          "characters that cannot be stored"),
    "instrument not a number": ({"round_name": "2027", "instrument_id": "one"},
                                "Choose an instrument"),
    "unknown instrument": ({"round_name": "2027", "instrument_id": "999"},
                           "Choose an instrument"),
    "name already used": ({"round_name": "2026 round", "instrument_id": "1"},
                          "already has a round called"),
}


@pytest.mark.parametrize("case", list(NEW_ROUND_REFUSALS))
def test_new_round_with_bad_input_gets_422_with_a_message_and_creates_nothing(
        respondent, app, case):
    form, message = NEW_ROUND_REFUSALS[case]
    with app.app_context():
        before = db.session.query(Assessment).count()
    response = respondent.post("/assessments", form)
    assert response.status_code == 422
    assert message in response.text
    with app.app_context():
        assert db.session.query(Assessment).count() == before
