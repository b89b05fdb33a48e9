"""One text policy for every stored field, whatever the form's encoding.

Evidence, notes and round names refuse control characters (C0 and C1), the line and
paragraph separators and bidirectional embeddings, overrides and isolates, sent url-encoded
or as multipart; invalid UTF-8 is refused in both encodings (never stored as U+FFFD); and a
"not applicable" justification made only of invisible characters is blank.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from cbassess import text_policy
from cbassess.extensions import db
from cbassess.models import Answer, AnswerRevision, Assessment

REFUSED = {
    "NUL": "\x00", "escape": "\x1b", "DEL": "\x7f", "C1 PAD": "\x80", "C1 NEL": "\x85",
    "C1 CSI": "\x9b", "line separator": "\u2028", "paragraph separator": "\u2029",
    "LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e",
    "LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069",
}
INVISIBLE = ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\u00ad", " \u200b\t\n",
             "\u3164", "\u115f", "\u2800", "\u034f", "\ufe0f", "\u200e\u200f"]
ALLOWED = ["Budget law 24-07, art. 3", "tab\tand\nlines", "الجمارك \u200fالوطنية",
           "עברית\u200e (2026)", "emoji 🛃", "e\u0301 (NFC: é)", "中文证据"]
ENCODINGS = ["urlencoded", "multipart"]


def _post(browser, path: str, fields: dict, encoding: str, htmx: bool = True):
    headers = {"Origin": "http://localhost"}
    data = dict(fields)
    if htmx:
        headers.update({"HX-Request": "true", "X-CSRFToken": browser.token})
    else:
        data["csrf_token"] = browser.token
    return browser.client.post(path, data=MultiDict(data), headers=headers,
                               content_type="multipart/form-data"
                               if encoding == "multipart" else None)


def _stored(app, a_id: int) -> dict:
    with app.app_context():
        answers = {a.indicator_key: (a.level, a.not_applicable, a.evidence, a.note)
                   for a in db.session.query(Answer).filter(Answer.assessment_id == a_id,
                                                            Answer.version > 0)}
        revisions = db.session.query(AnswerRevision).count()
        db.session.remove()
    return {"answers": answers, "revisions": revisions}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("part", ["evidence", "note"])
@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_characters_in_an_answer_get_422_and_store_nothing(
        respondent, app, a_id, encoding, part, name):
    before = _stored(app, a_id)
    response = _post(respondent, f"/assessments/{a_id}/answers/PW.1",
                     {"PW.1-level": "2", f"PW.1-{part}": f"ok {REFUSED[name]} then"}, encoding)
    assert response.status_code == 422
    assert "cannot be stored" in response.text
    assert f"U+{ord(REFUSED[name]):04X}" in response.text
    assert response.headers["X-Field-Error"] == part
    assert _stored(app, a_id) == before


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_characters_in_a_round_name_get_422_and_create_nothing(
        respondent, app, encoding, name):
    with app.app_context():
        before = db.session.query(Assessment).count()
    response = _post(respondent, "/assessments",
                     {"round_name": f"2027 {REFUSED[name]}round", "instrument_id": "1"},
                     encoding, htmx=False)
    assert response.status_code == 422
    assert "characters that cannot be stored" in response.text
    with app.app_context():
        assert db.session.query(Assessment).count() == before


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("blank", INVISIBLE)
def test_a_justification_a_person_would_see_as_blank_is_refused(
        respondent, app, a_id, encoding, blank):
    before = _stored(app, a_id)
    response = _post(respondent, f"/assessments/{a_id}/answers/PW.1",
                     {"PW.1-level": "na", "PW.1-evidence": blank}, encoding)
    assert response.status_code == 422
    assert "needs a written justification" in response.text
    assert _stored(app, a_id) == before


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("blank", ["\u200b", "\u3164\u3164", "\ufeff "])
def test_a_round_name_a_person_would_see_as_blank_is_refused(respondent, app, encoding, blank):
    response = _post(respondent, "/assessments", {"round_name": blank, "instrument_id": "1"},
                     encoding, htmx=False)
    assert response.status_code == 422
    assert "Give the round a name" in response.text


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_text_in_any_script_is_stored_the_same_in_both_encodings(
        respondent, app, a_id, encoding, text):
    response = _post(respondent, f"/assessments/{a_id}/answers/PW.1",
                     {"PW.1-level": "na", "PW.1-evidence": text, "PW.1-note": text}, encoding)
    assert response.status_code == 200
    expected = text_policy.clean(text, 20_000)
    assert _stored(app, a_id)["answers"]["PW.1"] == (None, True, expected, expected)


def _multipart(token: str, value: bytes, name: bytes = b"PW.1-evidence") -> bytes:
    boundary = b"cbassess-boundary"
    parts = [(b"csrf_token", token.encode()), (b"PW.1-level", b"2"), (name, value)]
    return b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + n
                    + b'"\r\n\r\n' + v + b"\r\n" for n, v in parts) + b"--" + boundary + b"--\r\n"


@pytest.mark.parametrize("where", ["value", "field name"])
@pytest.mark.parametrize("bad", [b"caf\xe9", b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80",
                                 b"ok \xf0\x9f\x9b"])
def test_invalid_utf8_in_a_multipart_body_gets_400_and_is_never_stored_as_u_fffd(
        respondent, app, a_id, where, bad):
    body = (_multipart(respondent.token, bad) if where == "value"
            else _multipart(respondent.token, b"text", name=b"PW.1-evidence" + bad))
    before = _stored(app, a_id)
    response = respondent.client.post(
        f"/assessments/{a_id}/principles/PW", data=body,
        content_type="multipart/form-data; boundary=cbassess-boundary",
        headers={"Origin": "http://localhost"})
    assert response.status_code == 400
    assert "not valid UTF-8" in response.text
    assert _stored(app, a_id) == before


def test_valid_utf8_in_a_multipart_body_is_stored_exactly(respondent, app, a_id):
    text = "Douane · الجمارك · 海关 🛃"
    response = respondent.client.post(
        f"/assessments/{a_id}/principles/PW", data=_multipart(respondent.token, text.encode()),
        content_type="multipart/form-data; boundary=cbassess-boundary",
        headers={"Origin": "http://localhost"})
    assert response.status_code == 303
    assert _stored(app, a_id)["answers"]["PW.1"][2] == text


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=20))
def test_both_encodings_give_the_same_answer_for_any_text(respondent, app, a_id, text):
    outcomes = []
    for encoding in ENCODINGS:
        response = _post(respondent, f"/assessments/{a_id}/answers/PW.2",
                         {"PW.2-level": "na", "PW.2-evidence": text}, encoding)
        outcomes.append((response.status_code, _stored(app, a_id)["answers"].get("PW.2")))
    assert outcomes[0][0] == outcomes[1][0]
    assert outcomes[1][1] == outcomes[0][1]
    refused = text_policy.REFUSED.search(text) or text_policy.is_blank(text)
    assert outcomes[0][0] == (422 if refused else 200)


def test_the_policy_stated_as_functions():
    for name, character in REFUSED.items():
        with pytest.raises(text_policy.TextRefused):
            text_policy.clean(f"a{character}b", 100)
        with pytest.raises(text_policy.TextRefused):
            text_policy.clean_line(f"a{character}b", 100)
        assert text_policy.refused_characters(f"{character}{character}") == [
            f"U+{ord(character):04X}"], name
    assert all(text_policy.is_blank(b) for b in INVISIBLE + ["", " ", "\u3000"])
    assert not any(text_policy.is_blank(t) for t in ALLOWED + ["a\u200b", ".", "\u0301"])
    assert text_policy.clean("a\r\nb\rc", 10) == "a\nb\nc"
    assert text_policy.clean_line("  2027\t self \n assessment ", 100) == "2027 self assessment"
    with pytest.raises(text_policy.TextRefused) as refused:
        text_policy.clean("é" * 11, 10)
    assert (refused.value.reason, refused.value.length, refused.value.limit) == ("length", 11, 10)
