"""Exporting an assessment as export.zip, and importing an export.json or export.zip into
another installation exactly. SQLAlchemy and the evidence store; no Flask request (messages
are lazy translations, read in the language of whoever sees them). The command line and the
admin's upload page both call `import_file`.

The archive holds `export.json` and `files/<sha256>` for each file it lists. An import
checks everything before it writes anything, and reports every problem with where it is
in the file (`records.answers[3].level`): the format and its version, the instrument (the
same text must be imported here), the administration (or its creation), the round (not
already here), each record against its table (cbassess.interchange) and against the
instrument (the same rules as a save), each file (its hash and size, its content as at
upload: from the archive, or for a bare export.json already in this store), the sign-off
snapshot (its digest still matches, and it is not here already). Then one transaction
creates the assessment and every record, with an audit entry; the files are in the store
before it commits. A refusal, or a dry run, leaves the database as it was.

People are matched by e-mail to the accounts here. Someone with no account here is not
given one: the column stays empty and their e-mail and name are kept in imported_authors
for that row, so pages and a later export still name them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import accounts, audit, headline, interchange, text_policy
from . import answers as answer_store
from .action_plan import ActionStatus, Priority
from .audit import Actor
from .evidence import Limits
from .evidence_store import EvidenceStore, FileRefused, Staged, check, clean_filename
from .instrument import ANSWER_FIELDS, load_text
from .instrument import Instrument as InstrumentSpec
from .interchange import ASSESSMENT, PARTS, Field, Part, ValueRefused
from .models import (
    Assessment,
    EvidenceFile,
    ImportedAuthor,
    Instrument,
    Organisation,
    ReviewState,
    SignOffSnapshot,
    Status,
    User,
)
from .reviews import FINDING_LIMIT
from .workflow import Action as WorkflowAction

EXPORT_JSON = "export.json"
EXPORT_JSON_LIMIT = 64 * 1024 * 1024
ROUND_NAME_LIMIT = 100
MAX_PROBLEMS = 50  # reported at most; the rest are counted
_FILE_MEMBER = re.compile(r"files/([0-9a-f]{64})")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# "carried" and "confirm": an answer (or action) carried over from the previous round, and
# its confirmation (cbassess.round_store, answers.confirm_answers).
REVISION_KINDS = ("edit", "conflict", "carried", "confirm")


# ------------------------------------------------------------------------------- export


def file_entry(row: EvidenceFile, authors: interchange.Authors) -> dict[str, Any]:
    """One file as export.json lists it."""
    return {
        "indicator_key": row.indicator_key, "filename": row.filename,
        "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
        "path": f"files/{row.sha256}",
        "attached_by": authors.email(row, "attached_by"),
        "attached_at": row.attached_at.isoformat(),
        "removed_by": authors.email(row, "removed_by"),
        "removed_at": row.removed_at.isoformat() if row.removed_at else None,
    }


def write_archive(json_chunks: Iterable[str], sha256s: Iterable[str], store: EvidenceStore
                  ) -> IO[bytes]:
    """export.json (written as its pieces come) and each listed file once, in a temporary
    file (on disk past 8 MB), rewound for sending. Files are stored as they are: PDF,
    images and Office files are compressed already."""
    # Returned open: the response closes it once sent.
    archive_file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive_file, "w") as archive:
        info = zipfile.ZipInfo(EXPORT_JSON, date_time=datetime.now(UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as entry:
            for chunk in json_chunks:
                entry.write(chunk.encode("utf-8"))
        for sha256 in dict.fromkeys(sha256s):
            archive.write(store.path_of(sha256), f"files/{sha256}",
                          compress_type=zipfile.ZIP_STORED)
    archive_file.seek(0)
    return archive_file


# ------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where in the file (a path such as `records.answers[3].level`)."""

    path: str
    message: Any  # a lazy translation

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else str(self.message)


class ImportRefused(Exception):
    """A file that is not imported; `problems` say why and where (nothing was written)."""

    def __init__(self, problems: list[Problem], more: int = 0) -> None:
        self.problems, self.more = problems, more
        super().__init__("; ".join(str(p) for p in problems)
                         + (f"; … {more} more" if more else ""))


def refused(path: str, message) -> ImportRefused:
    return ImportRefused([Problem(path, message)])


@dataclass(frozen=True)
class ImportOptions:
    """What the person importing chose."""

    administration: str | None = None  # None: the one the file names
    round_name: str | None = None  # None: the exported one
    create_administration: bool = False  # create it when there is none of that name
    country_code: str | None = None  # a created administration's, else the file's
    dry_run: bool = False


@dataclass
class ImportSummary:
    """What an import did (or, on a dry run, would do)."""

    administration: str
    administration_created: bool
    round_name: str
    status: str
    instrument: str
    counts: dict[str, int]
    files: int
    matched_people: list[str]
    recorded_people: list[str]
    dry_run: bool
    assessment_id: int | None = None


@dataclass
class _Plan:
    """Everything checked, ready to write."""

    instrument_row: Instrument
    organisation: Organisation | None
    new_organisation: accounts.OrganisationFields | None
    round_name: str
    assessment: dict[str, Any]
    parts: dict[str, list[dict[str, Any]]]
    people: dict[str, str]  # e-mail → name, as the file gives them
    users: dict[str, int]  # e-mail → account here
    files: list[tuple[str, Staged | None]] = field(default_factory=list)


class _Problems:
    """Collects problems; stops collecting (but keeps counting) past MAX_PROBLEMS."""

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self.more = 0

    def add(self, path: str, message) -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(Problem(path, message))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.found:
            raise ImportRefused(self.found, self.more)


def import_file(session: Session, store: EvidenceStore, path: str | Path,
                options: ImportOptions, limits: Limits, actor: Actor | None,
                source_name: str = "") -> ImportSummary:
    """Import the export.json or export.zip at `path` (see the module's rules).

    ImportRefused lists what is wrong, and nothing is written then; with
    `options.dry_run` everything is checked and nothing written either way."""
    staged: list[Staged] = []
    try:
        with _opened(path) as (body, archive):
            plan = _check(session, store, body, archive, options, limits, staged)
        summary = _summary(plan, options)
        if options.dry_run:
            session.rollback()
            return summary
        try:
            summary.assessment_id = _write(session, store, plan, actor,
                                           source_name or Path(path).name)
            session.commit()
        except IntegrityError:  # the same round or sign-off written meanwhile
            raise refused("records.assessment", _l(
                "The same assessment was imported meanwhile: nothing more was imported."),
                          ) from None
        return summary
    except BaseException:
        session.rollback()
        raise
    finally:
        for item in staged:
            store.discard(item)


class _opened:
    """The file's document and, for an export.zip, the open archive."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.archive: zipfile.ZipFile | None = None

    def __enter__(self) -> tuple[dict, zipfile.ZipFile | None]:
        if zipfile.is_zipfile(self.path):
            try:
                self.archive = zipfile.ZipFile(self.path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise refused("", _l("The file is not a readable zip archive (%(error)s).",
                                     error=str(exc))) from None
            return _archive_body(self.archive), self.archive
        if self.path.stat().st_size > EXPORT_JSON_LIMIT:
            raise refused("", _l("The file is larger than an export.json can be."))
        return _parse(self.path.read_bytes()), None

    def __exit__(self, *exc) -> None:
        if self.archive is not None:
            self.archive.close()


def _archive_body(archive: zipfile.ZipFile) -> dict:
    names = [info.filename for info in archive.infolist()]
    if EXPORT_JSON not in names:
        raise refused("", _l("The archive has no export.json: is it a cbassess export.zip?"))
    strangers = [n for n in names if n != EXPORT_JSON and not _FILE_MEMBER.fullmatch(n)]
    if strangers:
        raise refused("", _l("The archive holds entries an export never has: %(names)s",
                             names=", ".join(strangers[:5])))
    if len(names) != len(set(names)):
        raise refused("", _l("The archive holds an entry twice."))
    info = archive.getinfo(EXPORT_JSON)
    if info.file_size > EXPORT_JSON_LIMIT:
        raise refused(EXPORT_JSON, _l("The file is larger than an export.json can be."))
    with archive.open(info) as handle:
        raw = handle.read(EXPORT_JSON_LIMIT + 1)
    if len(raw) > EXPORT_JSON_LIMIT:
        raise refused(EXPORT_JSON, _l("The file is larger than an export.json can be."))
    return _parse(raw)


def _parse(raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refused("", _l("The file is not UTF-8 text, so not an export.json.")) from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refused("", _l("The file is not valid JSON (line %(line)d, column %(column)d: "
                             "%(error)s).", line=exc.lineno, column=exc.colno,
                             error=exc.msg)) from None
    if not isinstance(body, dict):
        raise refused("", _l("The file is JSON but not an export of an assessment."))
    return body


def _check(session: Session, store: EvidenceStore, body: dict,
           archive: zipfile.ZipFile | None, options: ImportOptions, limits: Limits,
           staged: list[Staged]) -> _Plan:
    """Every check, every problem collected; the plan to write when there is none."""
    declared = body.get("format")
    if not isinstance(declared, dict) or declared.get("name") != interchange.FORMAT_NAME:
        raise refused("format", _l("The file does not say it is a cbassess assessment export "
                                   "(it is another file, or an export made before imports "
                                   "existed)."))
    if declared.get("version") != interchange.FORMAT_VERSION:
        raise refused("format.version", _l(
            "The file is in format version %(found)s; this installation reads version "
            "%(expected)d. Export it again from an installation of the same version.",
            found=json.dumps(declared.get("version")), expected=interchange.FORMAT_VERSION))
    problems = _Problems()
    row, spec = _instrument(session, body.get("instrument"))
    records = body.get("records")
    if not isinstance(records, dict) or not isinstance(records.get("assessment"), dict):
        raise refused("records", _l("The file holds no records of an assessment."))
    people = body.get("people")
    if not isinstance(people, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in people.items()):
        problems.add("people", _l("is not a list of e-mail addresses and names"))
        people = {}
    organisation, new_organisation = _organisation(session, records.get("administration"),
                                                   options, problems)
    assessment = _decode(ASSESSMENT, records["assessment"], "records.assessment", problems)
    round_name = _round_name(session, organisation, options, assessment.get("round_name"),
                             problems)
    assessment["round_name"] = round_name
    parts: dict[str, list[dict]] = {}
    for part in PARTS:
        where = "revisions" if part.key == interchange.STREAMED else f"records.{part.key}"
        rows = body.get("revisions") if part.key == interchange.STREAMED \
            else records.get(part.key)
        if rows is None:
            rows = []
        if not isinstance(rows, list):
            problems.add(where, _l("is not a list"))
            rows = []
        parts[part.key] = [_decode(part, item, f"{where}[{n}]", problems)
                           for n, item in enumerate(rows)]
    unknown = set(records) - {"administration", "assessment", *interchange.PART} \
        - {interchange.STREAMED}
    for key in sorted(unknown):
        problems.add(f"records.{key}", _l("is not a part of this version's format"))
    _check_rules(spec, assessment, parts, problems)
    _check_signoff(session, parts["signoff_snapshots"], problems)
    emails = _people_named(assessment, parts)
    for email in sorted(emails - set(people)):
        problems.add("people", _l("lacks %(email)s, whom the records name", email=email))
    for email in sorted(emails & set(people)):
        if len(email) > accounts.EMAIL_LIMIT or "@" not in email:
            problems.add("people", _l("%(email)s is not an e-mail address", email=email[:60]))
        if len(people[email]) > accounts.NAME_LIMIT:
            problems.add(f"people.{email}", _l("is longer than %(n)d characters",
                                               n=accounts.NAME_LIMIT))
    users = {}
    if emails:
        users = {email.lower(): user_id for user_id, email in session.execute(
            select(User.id, User.email).where(func.lower(User.email).in_(
                [e.lower() for e in emails])))}
    problems.raise_any()
    plan = _Plan(row, organisation, new_organisation, round_name, assessment, parts,
                 {e: people[e] for e in emails},
                 {e: users[e.lower()] for e in emails if e.lower() in users})
    plan.files = _files(parts["files"], archive, store, limits, staged, problems)
    problems.raise_any()
    return plan


def _instrument(session: Session, described: Any) -> tuple[Instrument, InstrumentSpec]:
    if not isinstance(described, dict):
        raise refused("instrument", _l("The file does not say which instrument the assessment "
                                       "was taken on."))
    key, version = described.get("key"), described.get("version")
    row = session.scalar(select(Instrument).where(Instrument.key == str(key),
                                                  Instrument.version == str(version)))
    if row is None:
        raise refused("instrument", _l(
            "The instrument %(key)s %(version)s is not imported here: import it first (Admin "
            "→ Instruments, or flask instrument import).", key=key, version=version))
    if row.content_hash != described.get("content_hash"):
        raise refused("instrument.content_hash", _l(
            "The instrument %(key)s %(version)s imported here has another text (SHA-256 "
            "%(here)s) than the one the assessment was taken on (%(file)s).",
            key=key, version=version, here=row.content_hash[:12],
            file=str(described.get("content_hash"))[:12]))
    return row, load_text(row.source, source=f"{row.key} {row.version}")


def _organisation(session: Session, described: Any, options: ImportOptions,
                  problems: _Problems) -> tuple[Organisation | None,
                                                accounts.OrganisationFields | None]:
    if not isinstance(described, dict):
        described = {}
    name = options.administration or described.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add("records.administration.name", _l("names no administration"))
        return None, None
    found = session.scalar(select(Organisation).where(
        func.lower(Organisation.name) == name.strip().lower()))
    if found is not None:
        return found, None
    if not options.create_administration:
        problems.add("records.administration", _l(
            "There is no administration called “%(name)s” here: create it first, or import "
            "with the option to create it.", name=name))
        return None, None
    languages = described.get("languages")
    fields = accounts.OrganisationFields(
        name, options.country_code or str(described.get("country_code") or ""),
        str(described.get("region") or ""),
        tuple(str(code) for code in languages) if isinstance(languages, list) else ("en",))
    try:
        return None, accounts.check_organisation(session, fields)
    except accounts.AccountError as error:
        problems.add(f"records.administration.{error.field}", error.message)
        return None, None


def _round_name(session: Session, organisation: Organisation | None, options: ImportOptions,
                exported: Any, problems: _Problems) -> str:
    raw = options.round_name or exported
    try:
        name = text_policy.clean_line(raw if isinstance(raw, str) else "", ROUND_NAME_LIMIT)
    except text_policy.TextRefused:
        name = ""
    if text_policy.is_blank(name):
        problems.add("records.assessment.round_name", _l("“%(name)s” cannot be a round name.",
                                                         name=raw))
        return ""
    if organisation is not None and session.scalar(select(Assessment.id).where(
            Assessment.organisation_id == organisation.id,
            Assessment.round_name == name)) is not None:
        problems.add("records.assessment.round_name", _l(
            "%(administration)s already has a round called “%(name)s” (imported already?): "
            "give the import another round name.", administration=organisation.name,
            name=name))
    return name


def _decode(part: Part, raw: Any, where: str, problems: _Problems) -> dict[str, Any]:
    """A record's values by column (people as e-mails, positions as numbers), each checked
    against its column; the problems added."""
    if not isinstance(raw, dict):
        problems.add(where, _l("is not a record (a JSON object)"))
        return {}
    fields = interchange.fields_of(part)
    known = {f.name for f in fields}
    for name in sorted(set(raw) - known):
        problems.add(f"{where}.{name}", _l("is not a field of this version's format"))
    values: dict[str, Any] = {}
    for f in fields:
        if f.name not in raw:
            if not interchange.has_default(f.column):
                problems.add(f"{where}.{f.name}", _l("is missing"))
            continue
        value = raw[f.name]
        if f.kind == "person":
            if value is not None and not isinstance(value, str):
                problems.add(f"{where}.{f.name}", _l("is not an e-mail address"))
                continue
            if value is None and not f.column.nullable:
                problems.add(f"{where}.{f.name}", _l("may not be empty"))
                continue
        elif f.kind == "position":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.add(f"{where}.{f.name}", _l("is not a position in its list"))
                continue
        else:
            try:
                value = interchange.decode(f.column, value)
            except ValueRefused as error:
                problems.add(f"{where}.{f.name}", error.message)
                continue
        values[f.column.name] = value
    values["__where__"] = where
    return values


def _people_named(assessment: dict, parts: dict[str, list[dict]]) -> set[str]:
    emails = set()
    for part, rows in ((ASSESSMENT, [assessment]),
                       *((p, parts[p.key]) for p in PARTS)):
        for f in interchange.fields_of(part):
            if f.kind == "person":
                emails.update(r[f.column.name] for r in rows if r.get(f.column.name))
    return emails


# The rules of the instrument and the workflow, per part (what a save would refuse).


def _check_rules(spec: InstrumentSpec, assessment: dict, parts: dict[str, list[dict]],
                 problems: _Problems) -> None:
    if "status" in assessment and assessment["status"] not in set(Status):
        problems.add("records.assessment.status", _l("is not a status"))
    for key, rows in parts.items():
        seen: set[str] = set()
        unique = key in ("answers", "reviews", "actions")
        for row in rows:
            where = row["__where__"]
            indicator = row.get("indicator_key")
            if indicator is not None and spec.indicator(indicator) is None:
                problems.add(f"{where}.indicator_key", _l(
                    "%(key)s is not an indicator of this instrument.", key=indicator))
                continue
            if unique and indicator is not None:
                if indicator in seen:
                    problems.add(f"{where}.indicator_key", _l("%(key)s appears twice.",
                                                              key=indicator))
                seen.add(indicator)
            rule = _RULES.get(key)
            if rule:
                rule(spec, row, where, problems)
    for key, parent in (("answer_revisions", "answers"), ("review_revisions", "reviews"),
                        ("action_revisions", "actions")):
        keys = {r.get("indicator_key") for r in parts[parent]}
        for row in parts[key]:
            if row.get("indicator_key") not in keys:
                problems.add(f"{row['__where__']}.indicator_key", _l(
                    "is the history of a record the file does not hold"))
    threads = len(parts["query_threads"])
    for row in parts["query_messages"]:
        if row.get("thread_id", 0) >= threads:
            problems.add(f"{row['__where__']}.thread", _l("is not a position in its list"))
    answered = sum(1 for r in parts["answers"]
                   if (r.get("not_applicable") or r.get("level") is not None)
                   and not r.get("carried_over"))  # carried over: not answered yet
    if "answered_count" in assessment and assessment["answered_count"] != answered:
        problems.add("records.assessment.answered_count", _l(
            "says %(count)d answered indicators; the answers hold %(answered)d",
            count=assessment["answered_count"], answered=answered))


def _answer(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    key = row.get("indicator_key", "")
    level = "na" if row.get("not_applicable") else (
        "" if row.get("level") is None else str(row.get("level")))
    form = {f"{key}-level": level, f"{key}-evidence": row.get("evidence", ""),
            f"{key}-note": row.get("note", "")}
    for name in ANSWER_FIELDS:  # the instrument's optional fields (kind of evidence…)
        if isinstance(row.get(name), str):
            form[f"{key}-{name}"] = row[name]
    try:
        parsed = answer_store.parse_answer(spec, key, form)
    except answer_store.AnswerInputError as error:
        problems.add(f"{where}.{error.field}", _l(error.message, **error.params))
        return
    for name in ("evidence", "note", *ANSWER_FIELDS):
        if name in row and getattr(parsed, name) != row[name]:
            problems.add(f"{where}.{name}", _l("is not a value as the app stores it"))


def _level(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    raw = "na" if row.get("not_applicable") else (
        "" if row.get("level") is None else str(row.get("level")))
    try:
        answer_store.parse_level(spec, row.get("indicator_key", ""), "level", raw)
    except answer_store.AnswerInputError as error:
        problems.add(f"{where}.level", _l(error.message, **error.params))


def _review(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    _level(spec, row, where, problems)
    if row.get("state", ReviewState.PENDING) not in set(ReviewState):
        problems.add(f"{where}.state", _l("is not a review state"))
    if len(row.get("finding", "")) > FINDING_LIMIT:
        problems.add(f"{where}.finding", _l("is longer than %(n)d characters", n=FINDING_LIMIT))


def _action(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    if row.get("status", ActionStatus.NOT_STARTED) not in set(ActionStatus):
        problems.add(f"{where}.status", _l("is not an action's status"))
    if row.get("priority") is not None and row["priority"] not in set(Priority):
        problems.add(f"{where}.priority", _l("is not a priority"))
    target = row.get("target_level")
    if target is not None and target not in spec.scale.values:
        problems.add(f"{where}.target_level", _l(
            "Level %(level)s is outside the scale (%(minimum)s to %(maximum)s).",
            level=target, minimum=spec.scale.minimum, maximum=spec.scale.maximum))


def _revision(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    if row.get("kind", "edit") not in REVISION_KINDS:
        problems.add(f"{where}.kind", _l("is not a kind of revision"))
    for name in ("before", "after"):
        if name in row and not isinstance(row[name], dict):
            problems.add(f"{where}.{name}", _l("is not a record (a JSON object)"))


def _event(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    if row.get("action") not in set(WorkflowAction):
        problems.add(f"{where}.action", _l("is not a step of the workflow"))
    for name in ("from_status", "to_status"):
        if row.get(name) not in set(Status):
            problems.add(f"{where}.{name}", _l("is not a status"))


def _file(spec: InstrumentSpec, row: dict, where: str, problems: _Problems) -> None:
    if not _SHA256.fullmatch(row.get("sha256", "")):
        problems.add(f"{where}.sha256", _l("is not a SHA-256 digest"))
    if "filename" in row and clean_filename(row["filename"]) != row["filename"]:
        problems.add(f"{where}.filename", _l("is not a name the app stores"))
    if row.get("size", 0) < 0:
        problems.add(f"{where}.size", _l("is not a whole number in range"))


_RULES: dict[str, Callable[[InstrumentSpec, dict, str, _Problems], None]] = {
    "answers": _answer, "reviews": _review, "actions": _action, "events": _event,
    "answer_revisions": _revision, "review_revisions": _revision,
    "action_revisions": _revision, "files": _file,
}


def _check_signoff(session: Session, rows: list[dict], problems: _Problems) -> None:
    """A snapshot still hashes to its digest, and is not held here already (a duplicate)."""
    for row in rows:
        where, payload, digest = row["__where__"], row.get("payload"), row.get("digest")
        if payload is None or digest is None:
            continue
        if hashlib.sha256(payload.encode("utf-8")).hexdigest() != digest:
            problems.add(f"{where}.payload", _l(
                "does not match its digest: the sign-off snapshot was altered"))
        elif session.scalar(select(SignOffSnapshot.id).where(
                SignOffSnapshot.digest == digest)) is not None:
            problems.add(f"{where}.digest", _l(
                "This validated assessment is already held here (its sign-off digest is "
                "known): it was imported before."))


def _files(rows: list[dict], archive: zipfile.ZipFile | None, store: EvidenceStore,
           limits: Limits, staged: list[Staged], problems: _Problems
           ) -> list[tuple[str, Staged | None]]:
    """Each listed file's content: read from the archive (never more than the per-file
    limit), its hash and size checked against the record and its content checked as at
    upload; for a bare export.json, already in this store with that hash."""
    found: list[tuple[str, Staged | None]] = []
    members = {info.filename: info for info in archive.infolist()} if archive else {}
    total: dict[str, int] = {}
    for row in rows:
        where, sha256, name = row["__where__"], row["sha256"], row["filename"]
        if sha256 in total:
            found.append((sha256, None))
            continue
        if archive is None:
            if not store.verify(sha256):
                problems.add(f"{where}.sha256", _l(
                    "The content of “%(name)s” is not in this installation's file store: "
                    "import the export.zip, which carries the files.", name=name))
            found.append((sha256, None))
            total[sha256] = row["size"]
            continue
        info = members.get(f"files/{sha256}")
        if info is None:
            problems.add(f"{where}.sha256", _l("The archive lacks files/%(sha256)s (%(name)s).",
                                               sha256=sha256, name=name))
            continue
        if info.file_size > limits.per_file:
            problems.add(where, _l("“%(name)s” is larger than the limit for one file.",
                                   name=name))
            continue
        with archive.open(info) as stream:
            try:
                item = store.stage(stream, limits.per_file, name)
            except FileRefused:
                problems.add(where, _l("“%(name)s” is larger than the limit for one file.",
                                       name=name))
                continue
        staged.append(item)
        if item.sha256 != sha256 or item.size != row["size"]:
            problems.add(where, _l("“%(name)s” does not match its SHA-256 or size in "
                                   "export.json: the archive was changed or damaged.",
                                   name=name))
            continue
        try:
            check(item.path, name)
        except FileRefused as error:
            problems.add(where, _l("“%(name)s” is refused: %(reason)s", name=name,
                                   reason=str(error.reason)))
            continue
        total[sha256] = item.size
        found.append((sha256, item))
    if sum(total.values()) > limits.per_assessment:
        problems.add("records.files", _l("The files are larger than the limit for one "
                                         "assessment."))
    return found


def _summary(plan: _Plan, options: ImportOptions) -> ImportSummary:
    return ImportSummary(
        administration=plan.organisation.name if plan.organisation
        else plan.new_organisation.name,
        administration_created=plan.organisation is None, round_name=plan.round_name,
        status=plan.assessment.get("status", Status.DRAFT),
        instrument=f"{plan.instrument_row.key} {plan.instrument_row.version}",
        counts={key: len(rows) for key, rows in plan.parts.items()},
        files=len({sha for sha, _ in plan.files}),
        matched_people=sorted(plan.users), recorded_people=sorted(
            set(plan.people) - set(plan.users)), dry_run=options.dry_run)


def _values(part: Part, row: dict, users: dict[str, int]
            ) -> tuple[dict[str, Any], list[tuple[Field, str]]]:
    """A checked record's column values, people as their accounts here; and the people it
    names who have no account here (their column left empty)."""
    kept: dict[str, Any] = {}
    unknown: list[tuple[Field, str]] = []
    for f in interchange.fields_of(part):
        if f.column.name not in row:
            continue  # an older file: the column's default
        value = row[f.column.name]
        if f.kind == "person" and value is not None:
            if value not in users:
                unknown.append((f, value))
            value = users.get(value)
        kept[f.column.name] = value
    return kept, unknown


def _write(session: Session, store: EvidenceStore, plan: _Plan, actor: Actor | None,
           source_name: str) -> int:
    """Create the administration if asked, the assessment and every record, the imported
    authors and the audit entry, in the caller's transaction; the files go into the store."""
    organisation = plan.organisation or accounts.add_organisation(
        session, actor, plan.new_organisation)
    kept, unknown = _values(ASSESSMENT, plan.assessment, plan.users)
    assessment = Assessment(organisation_id=organisation.id,
                            instrument_id=plan.instrument_row.id, **kept)
    session.add(assessment)
    session.flush()
    # (table, row, field, e-mail) of each person named without an account here
    authors = [(ASSESSMENT.table.name, assessment, f, email) for f, email in unknown]
    made: dict[str, list[Any]] = {}
    for part in PARTS:
        link_ids: dict[Any, int] = {}
        if part.link:  # parents are written first: link by position or by indicator key
            parents = made[part.link.part]
            link_ids = ({n: p.id for n, p in enumerate(parents)} if part.link.by_position
                        else {p.indicator_key: p.id for p in parents})
        made[part.key], named = [], []
        for row in plan.parts[part.key]:
            kept, unknown = _values(part, row, plan.users)
            if part.link:
                kept[part.link.column] = link_ids[
                    kept[part.link.column] if part.link.by_position else kept["indicator_key"]]
            if "assessment_id" in part.table.c:
                kept["assessment_id"] = assessment.id
            record = part.model(**kept)
            made[part.key].append(record)
            named += [(record, f, email) for f, email in unknown]
        session.add_all(made[part.key])
        session.flush()
        authors += [(part.table.name, record, f, email) for record, f, email in named]
    session.add_all(ImportedAuthor(
        assessment_id=assessment.id, record_table=table, record_id=record.id,
        field=f.column.name, email=email, name=plan.people.get(email, ""))
        for table, record, f, email in authors)
    for _sha256, item in plan.files:
        if item is not None:
            store.keep(item)
    # The headline averages from the levels just written, whatever the file said of them.
    session.flush()
    headline.refresh(session.connection(), assessment.id)
    audit.record(session, actor, "assessment.import", "assessment", assessment.id,
                 f"{organisation.name} — {assessment.round_name}", file=source_name,
                 instrument=f"{plan.instrument_row.key} {plan.instrument_row.version}",
                 status=assessment.status, records={k: len(v) for k, v in made.items()},
                 people_recorded=sorted(set(plan.people) - set(plan.users)))
    return assessment.id


# -------------------------------------------------------------- files waiting for a yes

STAGED_SUFFIXES = (".json", ".zip")
STAGED_FOR = 24 * 3600  # an upload not confirmed within a day is deleted


def stage_upload(folder: Path, owner_id: int, stream: IO[bytes], suffix: str) -> str:
    """Keep an uploaded file until its import is confirmed; returns its token. Older
    unconfirmed files are deleted on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        if old.is_file() and now - old.stat().st_mtime > STAGED_FOR:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    target = folder / f"{owner_id}-{token}{suffix if suffix in STAGED_SUFFIXES else '.json'}"
    with open(target, "xb") as handle:
        while chunk := stream.read(1024 * 1024):
            handle.write(chunk)
    return token


def staged_upload(folder: Path, owner_id: int, token: str) -> Path | None:
    """The file an upload's token names, if it is this person's and still kept."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,40}", token or ""):
        return None
    for suffix in STAGED_SUFFIXES:
        path = folder / f"{owner_id}-{token}{suffix}"
        if path.is_file():
            return path
    return None
