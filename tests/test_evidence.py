"""Evidence files: what is accepted and refused, limits, storage, downloads, history, exports.

Every upload is a real multipart request through the test client, with the CSRF token from
the page (a plain form) or the header (htmx), against the run's database.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from cbassess import evidence
from cbassess.evidence_store import (
    EvidenceStore,
    clean_filename,
    content_disposition,
)
from cbassess.extensions import db
from cbassess.models import Assessment, EvidenceFile, Organisation, Status
from tests import evidence_samples as samples
from tests.conftest import Browser, pdf_text


def files_url(assessment_id: int, key: str = "PW.1") -> str:
    return f"/assessments/{assessment_id}/answers/{key}/files"


def upload(browser, assessment_id: int, files: dict[str, bytes], key: str = "PW.1",
           htmx: bool = True, **kwargs):
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return browser.post(files_url(assessment_id, key), data, htmx=htmx,
                        content_type="multipart/form-data", **kwargs)


def rows(app, assessment_id: int) -> list[EvidenceFile]:
    with app.app_context():
        found = db.session.query(EvidenceFile).filter_by(assessment_id=assessment_id) \
            .order_by(EvidenceFile.id).all()
        db.session.expunge_all()
        return found


def store(app) -> EvidenceStore:
    return EvidenceStore(app.config["EVIDENCE_STORE_PATH"])


def stored_files(app) -> list[str]:
    return list(store(app).stored())


def incoming(app) -> list[Path]:
    folder = store(app).incoming
    return sorted(folder.iterdir()) if folder.is_dir() else []


# --- accepted and refused ---------------------------------------------------------------

ACCEPTED = samples.accepted()


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_each_accepted_type_round_trips_byte_for_byte(app, respondent, a_id, name):
    content = ACCEPTED[name]
    reply = upload(respondent, a_id, {name: content})
    assert reply.status_code == 200, reply.text
    assert "Attached" in reply.text and name in reply.text
    (row,) = rows(app, a_id)
    assert (row.filename, row.size) == (name, len(content))
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    download = respondent.get(f"/assessments/{a_id}/files/{row.id}")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"].split(";")[0] == row.content_type
    assert download.headers["Content-Disposition"].startswith("attachment;")


REFUSED = samples.refused()


@pytest.mark.parametrize("name", list(REFUSED))
def test_each_refused_kind_is_refused_with_a_clear_message_and_nothing_kept(
        app, respondent, a_id, name):
    content, words = REFUSED[name]
    reply = upload(respondent, a_id, {name: content})
    assert reply.status_code == 422, reply.text
    assert words in reply.text and "Nothing was attached." in reply.text
    assert rows(app, a_id) == []
    assert stored_files(app) == [] and incoming(app) == []


def test_content_type_sent_by_the_browser_is_ignored(app, respondent, a_id):
    data = {"files": [(io.BytesIO(b"<html><script>alert(1)</script>"), "scan.pdf",
                       "application/pdf")]}
    reply = respondent.post(files_url(a_id), data, htmx=True, content_type="multipart/form-data")
    assert reply.status_code == 422 and "HTML" in reply.text


def test_one_bad_file_in_a_request_keeps_none_of_its_files(app, respondent, a_id):
    reply = upload(respondent, a_id, {"strategy.pdf": samples.pdf(),
                                      "page.html": b"<html></html>"})
    assert reply.status_code == 422
    assert rows(app, a_id) == [] and stored_files(app) == []


def test_a_request_without_a_file_asks_for_one(respondent, a_id):
    reply = respondent.post(files_url(a_id), {}, htmx=True)
    assert reply.status_code == 422 and "Choose a file to attach." in reply.text


# --- limits -----------------------------------------------------------------------------

def test_default_limits_are_20_mb_a_file_and_500_mb_an_assessment(app):
    limits = evidence.limits_for(app.config)
    assert (limits.per_file, limits.per_assessment) == (20 * 1024 * 1024, 500 * 1024 * 1024)


def test_a_file_at_the_limit_is_kept_and_one_byte_more_is_refused(app, respondent, a_id):
    app.config["EVIDENCE_FILE_LIMIT"] = 1000
    assert upload(respondent, a_id, {"edge.txt": b"a" * 1000}).status_code == 200
    over = upload(respondent, a_id, {"over.txt": b"b" * 1001})
    assert over.status_code == 413
    assert "larger than 1000 bytes, the limit for one file" in over.text
    assert [r.filename for r in rows(app, a_id)] == ["edge.txt"]
    assert len(stored_files(app)) == 1 and incoming(app) == []


def test_the_assessment_limit_counts_each_file_once_and_removed_ones_too(
        app, respondent, a_id):
    app.config["EVIDENCE_ASSESSMENT_LIMIT"] = 2500
    assert upload(respondent, a_id, {"one.txt": b"1" * 1000}).status_code == 200
    assert upload(respondent, a_id, {"two.txt": b"2" * 1000}).status_code == 200
    # the same content again takes no more space
    assert upload(respondent, a_id, {"one-again.txt": b"1" * 1000},
                  key="PW.2").status_code == 200
    first = rows(app, a_id)[0]
    assert respondent.post(f"/assessments/{a_id}/files/{first.id}/remove",
                           htmx=True).status_code == 200
    over = upload(respondent, a_id, {"three.txt": b"3" * 501})
    assert over.status_code == 413
    assert "over 2.4 KB" in over.text and "Nothing was attached." in over.text
    assert upload(respondent, a_id, {"three.txt": b"3" * 500}).status_code == 200
    assert len(stored_files(app)) == 3


def test_concurrent_uploads_never_pass_the_assessment_limit_together(app, make_browser, a_id):
    """Each upload reads the space used under the assessment's write lock."""
    import threading

    app.config["EVIDENCE_ASSESSMENT_LIMIT"] = 3000
    browsers = [make_browser("resp-a@example.org") for _ in range(6)]
    statuses = []

    def send(browser, n):
        statuses.append(upload(browser, a_id, {f"f{n}.txt": str(n).encode() * 1000}).status_code)

    threads = [threading.Thread(target=send, args=(b, n)) for n, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 413, 413, 413]
    assert len(rows(app, a_id)) == 3


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "form"])
def test_an_upload_larger_than_the_routes_body_limit_is_refused_before_reading(
        app, respondent, a_id, htmx):
    app.config["EVIDENCE_REQUEST_LIMIT"] = 5000
    reply = upload(respondent, a_id, {"big.txt": b"x" * 6000}, htmx=htmx)
    assert reply.status_code == 413
    assert "the most one upload may carry" in reply.text
    assert rows(app, a_id) == [] and stored_files(app) == []


def test_a_chunked_upload_is_stopped_at_the_routes_body_limit(app, respondent, a_id):
    """No length to refuse up front: reading stops at the limit, and nothing is kept."""
    app.config["EVIDENCE_REQUEST_LIMIT"] = 5000
    boundary = "chunked-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"big.txt\"\r\n\r\n").encode() + b"x" * 6000 + \
        f"\r\n--{boundary}--\r\n".encode()
    reply = respondent.client.post(
        files_url(a_id), input_stream=io.BytesIO(body), content_length=None,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"HX-Request": "true", "X-CSRFToken": respondent.token},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    assert reply.status_code == 413
    assert rows(app, a_id) == [] and stored_files(app) == []


def test_an_anonymous_upload_is_read_no_further_than_a_small_form(app, client, a_id):
    """The larger budget is for signed-in people: a visitor's body is refused unread."""
    visitor = Browser(client)
    visitor.refresh_token("/login")
    reply = upload(visitor, a_id, {"big.txt": b"x" * 20_000})
    assert reply.status_code == 413
    assert "Your session has ended" in reply.text
    assert rows(app, a_id) == [] and stored_files(app) == []


def test_the_upload_route_reads_more_than_the_app_wide_body_limit(app, respondent, a_id):
    app.config["MAX_CONTENT_LENGTH"] = 4000  # every other route
    reply = upload(respondent, a_id, {"notes.txt": b"y" * 10_000})
    assert reply.status_code == 200
    too_big_form = respondent.autosave(a_id, "PW.1", level=1, evidence="z" * 5000)
    assert too_big_form.status_code == 413


def test_too_many_files_in_one_request_are_refused(app, respondent, a_id):
    app.config["EVIDENCE_FILES_PER_REQUEST"] = 2
    reply = upload(respondent, a_id, {f"f{n}.txt": f"{n}".encode() for n in range(3)})
    assert reply.status_code == 422 and "at most 2 files" in reply.text
    assert rows(app, a_id) == [] and stored_files(app) == [] and incoming(app) == []


# --- storage ----------------------------------------------------------------------------

def test_the_same_file_attached_twice_is_stored_once(app, respondent, make_browser, a_id,
                                                     b_id):
    content = samples.pdf()
    upload(respondent, a_id, {"plan.pdf": content})
    upload(respondent, a_id, {"plan (copy).pdf": content}, key="OC.1")
    upload(make_browser("resp-b@example.org"), b_id, {"their plan.pdf": content})
    assert len(rows(app, a_id)) == 2 and len(rows(app, b_id)) == 1
    digest = hashlib.sha256(content).hexdigest()
    assert stored_files(app) == [digest]
    path = Path(app.config["EVIDENCE_STORE_PATH"]) / digest[:2] / digest
    assert path.read_bytes() == content


def test_files_are_stored_in_the_instance_folder_by_default_never_under_static(app):
    del app.config["EVIDENCE_STORE_PATH"]
    root = evidence.store_for(app.config, app.instance_path).root
    assert root == Path(app.instance_path) / "evidence"
    assert Path(app.static_folder) not in root.parents


CRASHING_UPLOAD = textwrap.dedent("""
    import os, sys
    from cbassess import create_app, evidence
    from cbassess.extensions import db

    class Blocking:
        '''Half a file, then waits for more that never comes.'''
        def __init__(self):
            self.sent = False
        def read(self, size=-1):
            if not self.sent:
                self.sent = True
                return b"%PDF-1.7 " + b"x" * 200_000
            print("half written", flush=True)
            os.read(0, 1)   # blocks until the parent kills us
            return b""

    app = create_app({"TESTING": True, "SECRET_KEY": "k",
                      "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "EVIDENCE_STORE_PATH": sys.argv[2]})
    with app.app_context():
        evidence.attach(db.session, evidence.store_for(app.config, ""), int(sys.argv[3]),
                        "PW.1", [evidence.Upload("plan.pdf", Blocking())], None,
                        evidence.limits_for(app.config))
""")


def test_a_crash_mid_upload_leaves_no_referenced_half_file(app, runner, database_url, a_id):
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_UPLOAD, database_url, app.config["EVIDENCE_STORE_PATH"],
         str(a_id)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent)
    try:
        assert process.stdout.readline().strip() == b"half written"
        (partial,) = incoming(app)
        assert partial.stat().st_size == 200_009
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert rows(app, a_id) == [] and stored_files(app) == []
    listed = runner.invoke(args=["evidence", "orphans", "--older-than", "0", "--delete"])
    assert listed.exit_code == 0 and str(partial) in listed.output
    assert incoming(app) == []


def test_orphans_are_listed_and_cleaned_but_referenced_files_stay(app, runner, respondent,
                                                                  a_id):
    upload(respondent, a_id, {"kept.txt": b"referenced"})
    with store(app).incoming.parent.joinpath("ignored").open("w"):
        pass
    lonely = store(app).stage(io.BytesIO(b"nobody refers to me"), 1000)
    store(app).keep(lonely)
    young = runner.invoke(args=["evidence", "orphans"])
    assert "Found 0 file(s)" in young.output  # within the grace period: may be committing
    cleaned = runner.invoke(args=["evidence", "orphans", "--older-than", "0", "--delete"])
    assert lonely.sha256 in cleaned.output and "Deleted 1 file(s)" in cleaned.output
    assert stored_files(app) == [hashlib.sha256(b"referenced").hexdigest()]
    check = runner.invoke(args=["evidence", "check"])
    assert check.exit_code == 0 and "OK: 1 evidence files" in check.output


def test_evidence_check_finds_a_damaged_file(app, runner, respondent, a_id):
    upload(respondent, a_id, {"kept.txt": b"original"})
    digest = hashlib.sha256(b"original").hexdigest()
    store(app).path_of(digest).write_bytes(b"tampered")
    check = runner.invoke(args=["evidence", "check"])
    assert check.exit_code == 1 and digest in check.output


# --- names and downloads ----------------------------------------------------------------

HOSTILE_NAME = ('../..\\evil "quoted"\r\nX-Injected: 1\u202egnp.' + "é" * 300 + ".txt")


def raw_upload(browser, assessment_id: int, disposition: str, content: bytes):
    """A multipart body written by hand, as any client (not only a browser) may send it."""
    boundary = "----cbassess-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; {disposition}"
            f"\r\nContent-Type: text/html\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    return browser.client.post(files_url(assessment_id), data=body, headers={
        "HX-Request": "true", "X-CSRFToken": browser.token,
        "Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_a_hostile_filename_is_stored_and_served_safely(app, respondent, a_id):
    # RFC 5987 lets a client send any character in a name, newlines and quotes included.
    reply = raw_upload(respondent, a_id, "filename*=UTF-8''" + quote(HOSTILE_NAME, safe=""),
                       b"minutes of the board")
    assert reply.status_code == 200, reply.text
    (row,) = rows(app, a_id)
    assert len(row.filename) == 255 and row.filename.endswith(".txt")
    assert not any(c in row.filename for c in '/\\\r\n\u202e')
    assert row.filename.startswith('evil "quoted" X-Injected: 1gnp.é')
    download = respondent.get(f"/assessments/{a_id}/files/{row.id}")
    header = download.headers["Content-Disposition"]
    assert "X-Injected" not in download.headers or download.headers.get("X-Injected") is None
    assert "\r" not in header and "\n" not in header
    fallback, encoded = header.split("; filename*=UTF-8''")
    assert fallback.startswith('attachment; filename="') and fallback.count('"') == 2
    assert unquote(encoded) == row.filename
    page = respondent.get(f"/assessments/{a_id}/principles/PW").text
    assert "evil &#34;quoted&#34;" in page or "evil &quot;quoted&quot;" in page


def test_clean_filename_and_content_disposition():
    assert clean_filename("C:\\Users\\me\\plan.pdf") == "plan.pdf"
    assert clean_filename("a\u200f\u202eb.pdf") == "ab.pdf"
    assert clean_filename("  ..  ") == "file"
    assert content_disposition("Décret n°2.pdf") == (
        "attachment; filename=\"Decret n2.pdf\"; "
        "filename*=UTF-8''D%C3%A9cret%20n%C2%B02.pdf")


def test_downloads_are_attachments_never_pages(app, respondent, a_id):
    upload(respondent, a_id, {"notes.txt": b"plain words"})
    (row,) = rows(app, a_id)
    download = respondent.get(f"/assessments/{a_id}/files/{row.id}")
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "default-src 'none'" in download.headers["Content-Security-Policy"]
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in download.headers["Cache-Control"]


def test_download_authorisation(app, respondent, make_browser, client, a_id, b_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    (row,) = rows(app, a_id)
    url = f"/assessments/{a_id}/files/{row.id}"
    assert make_browser("resp-a2@example.org").get(url).status_code == 200
    assert make_browser("fac-a@example.org").get(url).status_code == 200
    assert make_browser("admin@example.org").get(url).status_code == 200
    assert make_browser("resp-b@example.org").get(url).status_code == 404
    assert make_browser("fac-none@example.org").get(url).status_code == 404
    assert client.get(url).status_code == 302  # to sign in
    # a file of A's, asked for through B's assessment: B's respondent still gets nothing
    assert make_browser("resp-b@example.org").get(
        f"/assessments/{b_id}/files/{row.id}").status_code == 404


def test_only_the_administrations_respondents_attach_or_remove(app, respondent, make_browser,
                                                               a_id, b_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    (row,) = rows(app, a_id)
    assert upload(make_browser("fac-a@example.org"), a_id,
                  {"x.txt": b"x"}).status_code == 403
    assert upload(make_browser("resp-b@example.org"), a_id,
                  {"x.txt": b"x"}).status_code == 404
    resp_b = make_browser("resp-b@example.org")
    assert resp_b.post(f"/assessments/{a_id}/files/{row.id}/remove",
                       htmx=True).status_code == 404
    assert resp_b.post(f"/assessments/{b_id}/files/{row.id}/remove",
                       htmx=True).status_code == 404
    assert rows(app, a_id)[0].removed_at is None


def test_upload_and_remove_need_the_csrf_token(app, respondent, a_id):
    reply = upload(respondent, a_id, {"x.txt": b"x"}, htmx=False, csrf=False)
    assert reply.status_code == 400 and rows(app, a_id) == []
    upload(respondent, a_id, {"x.txt": b"x"})
    (row,) = rows(app, a_id)
    refused = respondent.post(f"/assessments/{a_id}/files/{row.id}/remove", csrf=False)
    assert refused.status_code == 400 and rows(app, a_id)[0].removed_at is None


# --- the page, with and without JavaScript ----------------------------------------------

def test_the_principle_page_has_a_plain_multipart_form_for_each_indicator(respondent, a_id):
    page = respondent.get(f"/assessments/{a_id}/principles/PW").text
    assert (f'<form id="evidence-upload-PW-1" method="post" enctype="multipart/form-data"\n'
            f'  action="/assessments/{a_id}/answers/PW.1/files">') in page
    assert 'form="evidence-upload-PW-1"' in page and 'type="file"' in page
    assert "Attach files" in page and "up to 20 MB each" in page


def test_without_javascript_a_plain_post_attaches_and_lists_the_files(app, respondent, a_id):
    reply = upload(respondent, a_id, {"decree.docx": samples.ooxml("docx"),
                                      "kpis.csv": b"a,b\n1,2\n"}, htmx=False)
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith(f"/assessments/{a_id}/principles/PW#evidence-PW-1")
    page = respondent.get(reply.headers["Location"]).text
    assert "2 files attached to PW.1." in page
    assert "decree.docx" in page and "kpis.csv" in page and "attached by <bdi>Resp A</bdi>" in page


def test_without_javascript_a_refusal_is_shown_on_the_page(app, respondent, a_id):
    reply = upload(respondent, a_id, {"logo.svg": b"<svg onload=alert(1)></svg>"}, htmx=False,
                   follow_redirects=True)
    assert "contains HTML, SVG or XML" in reply.text
    assert rows(app, a_id) == []


def test_with_htmx_the_reply_is_the_status_and_the_list_out_of_band(respondent, a_id):
    reply = upload(respondent, a_id, {"strategy.pdf": samples.pdf()})
    assert 'id="files-PW-1" class="evidence__files" hx-swap-oob="true"' in reply.text
    assert "strategy.pdf" in reply.text and "attached by <bdi>Resp A</bdi>" in reply.text


def test_a_removed_file_leaves_the_list_and_stays_in_the_history(app, respondent,
                                                                 make_browser, a_id):
    upload(respondent, a_id, {"draft.pdf": samples.pdf()})
    (row,) = rows(app, a_id)
    reply = respondent.post(f"/assessments/{a_id}/files/{row.id}/remove", htmx=True)
    assert reply.status_code == 200
    assert "“draft.pdf” removed; the answer's history keeps it." in html.unescape(reply.text)
    assert "No files attached." in reply.text
    assert "draft.pdf" not in respondent.get(f"/assessments/{a_id}/principles/PW").text.split(
        "evidence-PW-1")[1].split("evidence-PW-2")[0]
    history = respondent.get(f"/assessments/{a_id}/answers/PW.1/history").text
    assert "draft.pdf" in history and "removed by <bdi>Resp A</bdi>" in history
    assert make_browser("fac-a@example.org").get(
        f"/assessments/{a_id}/files/{row.id}").status_code == 200
    again = respondent.post(f"/assessments/{a_id}/files/{row.id}/remove", htmx=True)
    assert "was already removed" in again.text


def test_nothing_changes_once_the_assessment_is_submitted(app, respondent, make_browser, a_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    (row,) = rows(app, a_id)
    with app.app_context():
        db.session.get(Assessment, a_id).status = Status.SUBMITTED
        db.session.commit()
    refused = upload(respondent, a_id, {"late.txt": b"late"})
    assert refused.status_code == 409 and "can no longer be changed" in refused.text
    removal = respondent.post(f"/assessments/{a_id}/files/{row.id}/remove", htmx=True)
    assert removal.status_code == 409 and rows(app, a_id)[0].removed_at is None
    facilitator_page = make_browser("fac-a@example.org").get(
        f"/assessments/{a_id}/principles/PW").text
    assert "plan.pdf" in facilitator_page and "Attach files" not in facilitator_page
    assert "Remove" not in facilitator_page.split("evidence-PW-1")[1][:2000]


# --- report, exports, import ------------------------------------------------------------

def test_the_report_lists_every_file_in_an_annex(app, respondent, a_id):
    content = samples.pdf()
    upload(respondent, a_id, {"strategy.pdf": content})
    text = pdf_text(respondent.get(f"/assessments/{a_id}/report.pdf").data)
    assert "Annex: attached files" in text and "strategy.pdf" in text
    digest = hashlib.sha256(content).hexdigest()
    assert digest[:20] in text.replace("\n", "")


def test_export_json_lists_the_files(app, respondent, a_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    body = respondent.get(f"/assessments/{a_id}/export.json").get_json()
    (entry,) = body["files"]
    assert entry["filename"] == "plan.pdf" and entry["indicator_key"] == "PW.1"
    assert entry["sha256"] == hashlib.sha256(samples.pdf()).hexdigest()
    assert entry["path"] == f"files/{entry['sha256']}" and entry["removed_at"] is None


def _export_zip(respondent, a_id) -> bytes:
    reply = respondent.get(f"/assessments/{a_id}/export.zip")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    return reply.data


def test_export_zip_holds_the_json_and_every_file(app, respondent, a_id):
    upload(respondent, a_id, dict(list(ACCEPTED.items())[:4]))
    with zipfile.ZipFile(io.BytesIO(_export_zip(respondent, a_id))) as archive:
        body = json.loads(archive.read("export.json"))
        for entry in body["files"]:
            assert archive.read(entry["path"]) == ACCEPTED[entry["filename"]]
        assert len(body["files"]) == 4
        # the two JPEG samples are the same picture: in the archive once
        assert len(archive.namelist()) == 1 + len({e["sha256"] for e in body["files"]}) == 4


def test_import_restores_an_export_zip_into_another_administration(app, runner, respondent,
                                                                   tmp_path, a_id):
    respondent.post(f"/assessments/{a_id}/answers/PW.1", {
        "PW.1-level": "3", "PW.1-evidence": "Strategy adopted",
        "PW.1-evidence_kind": "documentary", "PW.1-confidence": "high"}, htmx=True)
    upload(respondent, a_id, {"strategy.pdf": samples.pdf(), "kpis.csv": b"a,b\n"})
    (tmp_path / "a.zip").write_bytes(_export_zip(respondent, a_id))
    result = runner.invoke(args=["import-assessment", str(tmp_path / "a.zip"),
                                 "--administration", "Administration B",
                                 "--round", "Archive 2026"])
    assert result.exit_code == 0, result.output
    assert "1 answers, 1 revisions" in result.output and "2 files." in result.output
    with app.app_context():
        org = db.session.query(Organisation).filter_by(name="Administration B").one()
        imported = db.session.query(Assessment).filter_by(organisation_id=org.id,
                                                          round_name="Archive 2026").one()
        imported_id = imported.id
    resp_b = respondent.__class__(app.test_client())
    resp_b.login("resp-b@example.org")
    sent = {"strategy.pdf": samples.pdf(), "kpis.csv": b"a,b\n"}
    imported_rows = rows(app, imported_id)
    assert sorted(r.filename for r in imported_rows) == sorted(sent)
    for row in imported_rows:
        assert resp_b.get(f"/assessments/{imported_id}/files/{row.id}").data == \
            sent[row.filename]
    body = resp_b.get(f"/assessments/{imported_id}/export.json").get_json()
    assert [(a["evidence"], a["evidence_kind"], a["confidence"]) for a in body["answers"]
            if a["indicator_key"] == "PW.1"] == [("Strategy adopted", "documentary", "high")]


def test_an_import_with_a_tampered_file_writes_nothing(app, runner, respondent, tmp_path,
                                                      a_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    original = zipfile.ZipFile(io.BytesIO(_export_zip(respondent, a_id)))
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name in original.namelist():
            data = original.read(name)
            archive.writestr(name, data + b"%" if name.startswith("files/") else data)
    before = stored_files(app)
    result = runner.invoke(args=["import-assessment", str(tampered),
                                 "--administration", "Administration B", "--round", "Copy"])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output and "SHA-256" in result.output
    with app.app_context():
        assert db.session.query(Assessment).count() == 2
    assert stored_files(app) == before and incoming(app) == []


def test_an_import_refuses_an_archive_with_other_entries(app, runner, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(samples.plain_zip({"export.json": b"{}", "../escape.txt": b"x"}))
    result = runner.invoke(args=["import-assessment", str(bad),
                                 "--administration", "Administration B"])
    assert result.exit_code == 1 and "entries an export never has" in result.output


# --- backup and restore -----------------------------------------------------------------

def test_backup_and_restore_keep_every_file(app, runner, respondent, tmp_path, a_id):
    upload(respondent, a_id, {name: ACCEPTED[name] for name in (
        "strategy.pdf", "notice-board.png", "signing.jpg", "decree.docx", "budget.xlsx")})
    backup = tmp_path / "nightly.backup"
    made = runner.invoke(args=["backup", str(backup)])
    assert made.exit_code == 0, made.output
    assert "Evidence files: 5 in" in made.output
    for path in list(Path(app.config["EVIDENCE_STORE_PATH"]).rglob("*")):
        if path.is_file():
            path.unlink()
    restored = runner.invoke(args=["restore", str(backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "5 added to the store" in restored.output
    for row in rows(app, a_id):
        assert respondent.get(f"/assessments/{a_id}/files/{row.id}").data == \
            ACCEPTED[row.filename]


def test_a_restore_whose_files_are_damaged_changes_nothing(app, runner, respondent, tmp_path,
                                                           a_id):
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    backup = tmp_path / "nightly.backup"
    runner.invoke(args=["backup", str(backup)])
    digest = hashlib.sha256(samples.pdf()).hexdigest()
    (tmp_path / "nightly.backup.files" / digest[:2] / digest).write_bytes(b"%PDF- damaged")
    store(app).path_of(digest).unlink()
    upload(respondent, a_id, {"later.txt": b"after the backup"})
    refused = runner.invoke(args=["restore", str(backup), "--yes"])
    assert refused.exit_code == 1 and digest in refused.output
    assert [r.filename for r in rows(app, a_id)] == ["plan.pdf", "later.txt"]



def _rewritten(archive_bytes: bytes, change) -> bytes:
    """The export.zip with its export.json changed by `change(body)`."""
    original = zipfile.ZipFile(io.BytesIO(archive_bytes))
    body = json.loads(original.read("export.json"))
    change(body)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in original.namelist():
            archive.writestr(name, json.dumps(body) if name == "export.json"
                             else original.read(name))
    return buffer.getvalue()


@pytest.mark.parametrize(("change", "options", "words"), [
    (lambda body: None, ["--administration", "Nowhere"], "no administration called"),
    (lambda body: body["instrument"].update(content_hash="0" * 64), [],
     "has another text"),
    (lambda body: body["records"]["answers"][0].update(level=9), [], "outside the scale"),
    (lambda body: body["records"]["answers"][0].update(indicator_key="ZZ.9"), [],
     "not an indicator of this instrument"),
    (lambda body: body["records"]["files"][0].update(indicator_key="ZZ.9"), [],
     "not an indicator"),
    (lambda body: body["records"]["files"][0].update(size=1), [], "SHA-256 or size"),
])
def test_an_import_that_does_not_validate_writes_nothing(app, runner, respondent, tmp_path,
                                                         a_id, change, options, words):
    respondent.autosave(a_id, "PW.1", level=2, evidence="Strategy")
    upload(respondent, a_id, {"plan.pdf": samples.pdf()})
    path = tmp_path / "changed.zip"
    path.write_bytes(_rewritten(_export_zip(respondent, a_id), change))
    result = runner.invoke(args=["import-assessment", str(path), "--round", "Copy",
                                 *(options or ["--administration", "Administration B"])])
    assert result.exit_code == 1 and words in result.output, result.output
    with app.app_context():
        assert db.session.query(Assessment).count() == 2
        assert db.session.query(EvidenceFile).count() == 1
    assert incoming(app) == []
