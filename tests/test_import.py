"""Importing an exported assessment into another installation: exactly, or not at all.

One assessment with everything in it (answers with N/A and notes and edits, a file, an
action plan with its history and a comment, a submission, a query from a visiting
facilitator, reviews with findings, a validation and its sign-off) is made once per module
through HTTP, in a database of its own: the source installation. Each test imports its
export into a fresh seeded database (another installation) through the command line or the
admin page, and reads the result back through the exports and the pages.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from cbassess import create_app, evidence, interchange
from cbassess.extensions import db
from cbassess.models import (
    Assessment,
    AuditEntry,
    ImportedAuthor,
    Organisation,
    Role,
    User,
)
from cbassess.passwords import hash_password
from tests import evidence_samples as samples
from tests.conftest import PASSWORD, Browser
from tests.test_action_plan import action_form
from tests.test_review import keys_of, open_query, save_review

ROUND = "2025 peer review"
VISITOR = "visitor@source.example"


@dataclass(frozen=True)
class Source:
    json: bytes
    zip: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.json)


def _add_visitor(app) -> None:
    """A facilitator from elsewhere, assigned to Administration A."""
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Administration A"))
        db.session.add(User(email=VISITOR, name="Visiting Expert", role=Role.FACILITATOR,
                            password_hash=hash_password(PASSWORD),
                            assigned_organisations=[organisation]))
        db.session.commit()


@pytest.fixture(scope="module")
def source(databases, tmp_path_factory) -> Source:
    url = databases.seeded()
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": url,
                      "EVIDENCE_STORE_PATH": str(tmp_path_factory.mktemp("source"))})
    with app.app_context():
        assessment = db.session.scalar(select(Assessment).join(Organisation).where(
            Organisation.name == "Administration A"))
        assessment.round_name, a_id = ROUND, assessment.id
        db.session.commit()
    _add_visitor(app)

    def browser(email: str) -> Browser:
        made = Browser(app.test_client())
        made.login(email)
        return made

    respondent, facilitator, visitor = (browser("resp-a@example.org"),
                                        browser("fac-a@example.org"), browser(VISITOR))
    for n, key in enumerate(keys_of(app, a_id)):
        level = "na" if key == "PW.2" else n % 5
        assert respondent.autosave(a_id, key, level=level, evidence=f"Évidence « {key} »",
                                   note="internal" if n % 3 else "").status_code == 200
    assert respondent.post(f"/assessments/{a_id}/answers/PW.1", {
        "PW.1-level": "1", "PW.1-evidence": "Strategy 2025–2029\nadopted", "PW.1-note": "",
        "PW.1-evidence_kind": "documentary", "PW.1-confidence": "medium"},
        htmx=True).status_code == 200
    assert respondent.post(f"/assessments/{a_id}/answers/PW.1/files",
                           {"files": [(io.BytesIO(samples.pdf()), "strategy.pdf")]},
                           htmx=True, content_type="multipart/form-data").status_code == 200
    assert respondent.post(f"/assessments/{a_id}/actions/PW.1", action_form(),
                           htmx=True).status_code == 200
    assert respondent.post(f"/assessments/{a_id}/actions/PW.1",
                           action_form(owner="Reform board", version="1", priority="high"),
                           htmx=True).status_code == 200
    assert facilitator.post(f"/assessments/{a_id}/actions/PW.1/comments",
                            {"comment": "Name a deputy owner"}, htmx=True).status_code == 200
    assert respondent.post(f"/assessments/{a_id}/submit",
                           {"message": "Ready"}).status_code == 303
    assert open_query(visitor, a_id, "PW.1", "Which decree?").status_code == 200
    with app.app_context():
        from cbassess.models import QueryThread
        thread = db.session.scalar(select(QueryThread.id))
    respondent.post(f"/assessments/{a_id}/queries/{thread}/replies",
                    {"message": "Decree 12/2025"}, htmx=True)
    visitor.post(f"/assessments/{a_id}/queries/{thread}/close", htmx=True)
    for key in keys_of(app, a_id):
        assert save_review(facilitator, a_id, key, level="na" if key == "PW.2" else "1",
                           finding="Seen the decree" if key == "PW.1" else "").status_code == 200
    assert facilitator.post(f"/assessments/{a_id}/validate").status_code == 303
    made = Source(respondent.get(f"/assessments/{a_id}/export.json").data,
                  respondent.get(f"/assessments/{a_id}/export.zip").data)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.discard(url)
    return made


def comparable(body: dict) -> dict:
    """An export with what differs between installations by nature taken out: ids."""
    body = copy.deepcopy(body)
    body["assessment"].pop("id")
    return body


def run_import(runner, path: Path, *options: str):
    return runner.invoke(args=["import-assessment", str(path), *options])


def written(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def imported_id(app, round_name: str = ROUND) -> int:
    with app.app_context():
        return db.session.scalar(select(Assessment.id).where(Assessment.round_name == round_name))


def counts(app) -> tuple[int, ...]:
    """Rows that an import adds, and the files it stores."""
    with app.app_context():
        rows = tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Assessment, AuditEntry, Organisation, User, ImportedAuthor))
    return rows + (len(list(evidence.store_for(app.config, app.instance_path).stored())),)


def put_files_in_store(app, source: Source) -> None:
    """The files already in this installation's store (a shared store, or imported before)."""
    store = evidence.store_for(app.config, app.instance_path)
    with zipfile.ZipFile(io.BytesIO(source.zip)) as archive:
        for name in archive.namelist():
            if name.startswith("files/"):
                with archive.open(name) as stream:
                    store.keep(store.stage(stream, 10**8))


@pytest.mark.parametrize("kind", ["zip", "json"])
def test_an_export_imports_exactly_and_exports_again_the_same(app, runner, make_browser,
                                                               source, tmp_path, kind):
    _add_visitor(app)
    if kind == "json":
        put_files_in_store(app, source)
    result = run_import(runner, written(tmp_path, f"export.{kind}", getattr(source, kind)))
    assert result.exit_code == 0, result.output
    version = source.body["instrument"]["version"]
    assert f"Imported “{ROUND}” (validated, wco-cb-core-principles {version})" in result.output
    new_id = imported_id(app)
    respondent = make_browser("resp-a@example.org")
    again = respondent.get(f"/assessments/{new_id}/export.json").get_json()
    original = source.body
    # The whole document, every part and field, whatever fields exist now or are added.
    assert comparable(again) == comparable(original)
    # And the fields that matter most, one by one.
    records, before = again["records"], original["records"]
    assert records["assessment"]["round_name"] == ROUND
    assert records["assessment"]["status"] == "validated"
    assert again["instrument"] == original["instrument"]
    pw1 = next(a for a in records["answers"] if a["indicator_key"] == "PW.1")
    assert (pw1["level"], pw1["evidence"], pw1["version"]) == (
        1, "Strategy 2025–2029\nadopted", 2)
    assert (pw1["evidence_kind"], pw1["confidence"]) == ("documentary", "medium")
    pw2 = next(a for a in records["answers"] if a["indicator_key"] == "PW.2")
    assert pw2["not_applicable"] is True and pw2["evidence"] == "Évidence « PW.2 »"
    assert [(r["indicator_key"], r["version"], r["changed_by"]) for r in again["revisions"]] \
        == [(r["indicator_key"], r["version"], "resp-a@example.org")
            for r in original["revisions"]]
    assert next(r for r in records["reviews"] if r["indicator_key"] == "PW.1")[
        "finding"] == "Seen the decree"
    assert [(m["body"], m["author"]) for m in records["query_messages"]] == [
        ("Which decree?", VISITOR), ("Decree 12/2025", "resp-a@example.org")]
    assert records["query_threads"][0]["closed_by"] == VISITOR
    (action,) = records["actions"]
    assert (action["owner"], action["priority"], action["version"]) == (
        "Reform board", "high", 2)
    assert len(records["action_revisions"]) == 2 == len(before["action_revisions"])
    assert records["action_comments"][0]["body"] == "Name a deputy owner"
    assert [e["action"] for e in records["events"]] == ["submit", "validate"]
    assert records["files"][0]["filename"] == "strategy.pdf"
    (row_file,) = respondent.get(f"/assessments/{new_id}/export.json").get_json()["files"]
    # The sign-off verifies here, on the page and on the command line.
    digest = original["signoff"]["digest"]
    assert again["signoff"]["digest"] == digest
    verified = runner.invoke(args=["verify", digest])
    assert verified.exit_code == 0 and "Matches" in verified.output, verified.output
    assert "matches a sign-off snapshot" in app.test_client().get(
        f"/verify?digest={digest}").text
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "assessment.import"))
        assert entry.target_id == new_id and entry.details["file"] == f"export.{kind}"


def test_people_without_an_account_here_are_kept_by_name_and_no_account_is_made(
        app, runner, make_browser, source, tmp_path):
    with app.app_context():
        accounts_before = db.session.scalar(select(func.count(User.id)))
    result = run_import(runner, written(tmp_path, "export.zip", source.zip))
    assert result.exit_code == 0, result.output
    assert f"Named without an account here (kept by name and e-mail): {VISITOR}" \
        in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == accounts_before
        recorded = db.session.scalars(select(ImportedAuthor)).all()
        assert {(a.email, a.name) for a in recorded} == {(VISITOR, "Visiting Expert")}
        # the query, its messages, and the review its opening marked "queried"
        assert {a.record_table for a in recorded} == {"query_threads", "query_messages",
                                                      "review_revisions"}
    new_id = imported_id(app)
    respondent = make_browser("resp-a@example.org")
    again = respondent.get(f"/assessments/{new_id}/export.json").get_json()
    # Exported again, the document names them as the first installation's did.
    assert comparable(again) == comparable(source.body)
    assert again["people"][VISITOR] == "Visiting Expert"
    # And the pages show their name: the query beside the answer, the review's history.
    assert "Visiting Expert" in respondent.get(f"/assessments/{new_id}/principles/PW").text
    history = make_browser("fac-a@example.org").get(
        f"/assessments/{new_id}/reviews/PW.1/history")
    assert history.status_code == 200 and "Visiting Expert" in history.text


def test_a_dry_run_checks_everything_and_writes_nothing(app, runner, source, tmp_path):
    before = counts(app)
    result = run_import(runner, written(tmp_path, "export.zip", source.zip), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would import" in result.output and "Dry run: nothing was written." in result.output
    assert counts(app) == before
    assert list(evidence.store_for(app.config, app.instance_path).stored()) == []


def test_a_missing_administration_is_created_only_when_asked(app, runner, source, tmp_path):
    path = written(tmp_path, "export.zip", source.zip)
    refused = run_import(runner, path, "--administration", "Kenya Customs")
    assert refused.exit_code == 1
    assert "no administration called “Kenya Customs”" in refused.output
    made = run_import(runner, path, "--administration", "Kenya Customs",
                      "--create-administration", "--country", "KE")
    assert made.exit_code == 0, made.output
    assert "into Kenya Customs (created)" in made.output
    with app.app_context():
        organisation = db.session.scalar(select(Organisation).where(
            Organisation.name == "Kenya Customs"))
        assert (organisation.country_code, organisation.region) == ("KE", "Europe")
        assert db.session.scalar(select(Assessment.round_name).where(
            Assessment.organisation_id == organisation.id)) == ROUND


def _changed(body: dict, change) -> bytes:
    body = copy.deepcopy(body)
    change(body)
    return json.dumps(body).encode()


def _no_files(body: dict) -> None:
    body["records"]["files"] = []


@pytest.mark.parametrize(("change", "words"), [
    (lambda b: b, "records.files[0].sha256: The content of “strategy.pdf” is not in this "
                  "installation's file store: import the export.zip"),
    (lambda b: b.pop("format"), "format: The file does not say it is a cbassess assessment"),
    (lambda b: b["format"].update(version=2), "format.version: The file is in format "
                                              "version 2; this installation reads version 1"),
    (lambda b: b["instrument"].update(content_hash="0" * 64), "instrument.content_hash"),
    (lambda b: b["instrument"].update(version="9.9.9"),
     "The instrument wco-cb-core-principles 9.9.9 is not imported here"),
    (lambda b: b["records"]["administration"].update(name="Nowhere"),
     "no administration called “Nowhere”"),
    (lambda b: (_no_files(b), b["records"]["answers"][0].update(level=9)),
     "records.answers[0].level: Level 9 is outside the scale (0 to 4)."),
    (lambda b: (_no_files(b), b["records"]["answers"][0].update(confidence="certain")),
     "records.answers[0].confidence: The value must be one of high, medium, low."),
    (lambda b: (_no_files(b), b["records"]["answers"][1].update(evidence=" ")),
     "records.answers[1].evidence: “Not applicable” needs a written justification"),
    (lambda b: (_no_files(b), b["records"]["reviews"][0].update(indicator_key="ZZ.9")),
     "records.reviews[0].indicator_key: ZZ.9 is not an indicator of this instrument."),
    (lambda b: (_no_files(b), b["records"]["answers"][1].update(confidence_level="high")),
     "records.answers[1].confidence_level: is not a field of this version's format"),
    (lambda b: (_no_files(b), b["records"]["actions"][0].update(status="maybe")),
     "records.actions[0].status: is not an action's status"),
    (lambda b: (_no_files(b), b["revisions"][0].update(changed_at="yesterday")),
     "revisions[0].changed_at: is not a date and time"),
    (lambda b: (_no_files(b), b["people"].update({VISITOR: "V" * 201})),
     f"people.{VISITOR}: is longer than 200 characters"),
    (lambda b: (_no_files(b), b["records"]["signoff_snapshots"][0].update(
        payload=b["records"]["signoff_snapshots"][0]["payload"].replace('"level":1', '"level":4'))),
     "records.signoff_snapshots[0].payload: does not match its digest"),
])
def test_a_file_that_does_not_match_is_refused_with_where_and_nothing_changes(
        app, runner, source, tmp_path, change, words):
    path = written(tmp_path, "export.json", _changed(source.body, change))
    before = counts(app)
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "nothing was imported" in result.output and words in result.output, result.output
    assert counts(app) == before


def test_broken_json_and_a_second_import_are_refused(app, runner, source, tmp_path):
    broken = run_import(runner, written(tmp_path, "broken.json", source.json[:-40]))
    assert broken.exit_code == 1 and "The file is not valid JSON (line 1" in broken.output
    path = written(tmp_path, "export.zip", source.zip)
    assert run_import(runner, path).exit_code == 0
    again = run_import(runner, path)
    assert again.exit_code == 1 and "already has a round called “2025 peer review”" \
        in again.output
    renamed = run_import(runner, path, "--round", "Copy")
    assert renamed.exit_code == 1 and "already held here" in renamed.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Assessment.id))) == 3


def test_every_table_of_an_assessment_is_carried_or_said_not_to_be(app):
    """A table added later that belongs to an assessment must be placed in the format."""
    with app.app_context():
        inspector = inspect(db.engine)
        belonging = {table for table in inspector.get_table_names()
                     for fk in inspector.get_foreign_keys(table)
                     if fk["referred_table"] in ("assessments", "query_threads")}
    carried = {part.table.name for part in interchange.PARTS}
    assert belonging - carried - interchange.NOT_CARRIED == set()
    for part in (interchange.ASSESSMENT, *interchange.PARTS):
        assert interchange.fields_of(part)  # no column it cannot carry


# --- the admin page ---------------------------------------------------------------------

def upload(browser, content: bytes, name: str, **options):
    page = browser.get("/admin/imports")
    assert page.status_code == 200
    browser.refresh_token("/admin/imports")
    return browser.post("/admin/imports", {"file": (io.BytesIO(content), name), **options},
                        content_type="multipart/form-data")


def test_the_admin_page_checks_an_upload_then_imports_it_on_confirmation(
        app, make_browser, source):
    admin = make_browser("admin@example.org")
    assert "Import an assessment" in admin.get("/admin/").text
    checked = upload(admin, source.zip, "export.zip")
    assert checked.status_code == 200, checked.text
    assert "Ready to import" in checked.text and ROUND in checked.text
    assert "Visiting Expert" in checked.text or VISITOR in checked.text
    assert imported_id(app) is None  # checked, not yet written
    token = checked.text.split('name="token" value="')[1].split('"')[0]
    confirmed = admin.post("/admin/imports/confirm", {"token": token})
    assert confirmed.status_code == 303
    new_id = imported_id(app)
    assert confirmed.headers["Location"].endswith(f"/assessments/{new_id}")
    assert admin.post("/admin/imports/confirm", {"token": token}).status_code == 404
    assert list(Path(app.config["IMPORT_UPLOAD_PATH"]).iterdir()) == []  # not kept after


def test_the_admin_page_lists_each_problem_with_where_it_is(app, make_browser, source):
    admin = make_browser("admin@example.org")
    body = _changed(source.body, lambda b: (_no_files(b), b["records"]["answers"][0].update(
        level=9), b["records"]["actions"][0].update(status="maybe")))
    refused = upload(admin, body, "export.json")
    assert refused.status_code == 422
    assert "records.answers[0].level" in refused.text and "records.actions[0].status" \
        in refused.text
    assert "Nothing was imported" in refused.text and 'name="token"' not in refused.text
    assert upload(admin, b"{not json", "export.json").status_code == 422


def test_the_import_page_reads_no_more_than_its_budget(app, make_browser, source):
    """An admin's upload may be large (IMPORT_REQUEST_LIMIT); anyone else's request to the
    route keeps the small budget of a route that declares none, and is refused unread."""
    big = b"x" * (64 * 1024)
    respondent = make_browser("resp-a@example.org")
    respondent.refresh_token()
    assert respondent.post("/admin/imports", {"file": (io.BytesIO(big), "export.json")},
                           content_type="multipart/form-data").status_code == 413
    admin = make_browser("admin@example.org")
    assert upload(admin, source.zip, "export.zip").status_code == 200  # far over 8 KB
    app.config["IMPORT_REQUEST_LIMIT"] = 32 * 1024
    assert upload(admin, big, "export.json").status_code == 413
    assert list(Path(app.config["IMPORT_UPLOAD_PATH"]).glob("*.json")) == []


def test_confirming_checks_again_what_changed_since_the_upload(app, runner, make_browser,
                                                              source, tmp_path):
    admin = make_browser("admin@example.org")
    checked = upload(admin, source.zip, "export.zip")
    token = checked.text.split('name="token" value="')[1].split('"')[0]
    assert run_import(runner, written(tmp_path, "export.zip", source.zip)).exit_code == 0
    late = admin.post("/admin/imports/confirm", {"token": token})
    assert late.status_code == 422 and "already has a round called" in late.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Assessment.id)).where(
            Assessment.round_name == ROUND)) == 1
