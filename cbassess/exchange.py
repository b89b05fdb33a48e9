"""export.zip: an assessment's export.json with its files, and the import of one into
another administration. SQLAlchemy and the evidence store; no Flask.

The archive holds `export.json` and `files/<sha256>` for each file it lists. An import
checks everything before it writes anything: the archive's shape (no other entry, bounded
sizes, nothing expanded beyond what it says), the instrument (the same text must be
imported here), each answer (the same validation as a save), each file (its hash, its size
against the limits, its content as at upload). Then one transaction creates the
assessment, its answers, their history and the files' rows; the files are in the store
before it commits. A refusal leaves the database as it was.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import answers as answer_store
from . import text_policy
from .evidence import Limits
from .evidence_store import (
    EvidenceStore,
    FileRefused,
    Staged,
    check,
    clean_filename,
)
from .instrument import load_text
from .models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceFile,
    Instrument,
    Organisation,
    Status,
    User,
)

EXPORT_JSON = "export.json"
EXPORT_JSON_LIMIT = 64 * 1024 * 1024
ROUND_NAME_LIMIT = 100
_FILE_MEMBER = re.compile(r"files/([0-9a-f]{64})")


class ImportRefused(Exception):
    """An archive that is not imported; the message says why (nothing was written)."""


def file_entry(row: EvidenceFile) -> dict[str, Any]:
    """One file as export.json lists it."""
    return {
        "indicator_key": row.indicator_key, "filename": row.filename,
        "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
        "path": f"files/{row.sha256}",
        "attached_by": row.attached_by.email if row.attached_by else None,
        "attached_at": row.attached_at.isoformat(),
        "removed_by": row.removed_by.email if row.removed_by else None,
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


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ImportRefused(f"{what} is missing or not text")
    return value


def _time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(_text(value, what))
    except ValueError:
        raise ImportRefused(f"{what} is not a date and time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_body(archive: zipfile.ZipFile) -> dict[str, Any]:
    names = [info.filename for info in archive.infolist()]
    if EXPORT_JSON not in names:
        raise ImportRefused("the archive has no export.json: is it a cbassess export.zip?")
    strangers = [n for n in names if n != EXPORT_JSON and not _FILE_MEMBER.fullmatch(n)]
    if strangers:
        raise ImportRefused(f"the archive holds entries an export never has: {strangers[:5]}")
    if len(names) != len(set(names)):
        raise ImportRefused("the archive holds an entry twice")
    info = archive.getinfo(EXPORT_JSON)
    if info.file_size > EXPORT_JSON_LIMIT:
        raise ImportRefused("export.json is too large")
    with archive.open(info) as handle:
        raw = handle.read(EXPORT_JSON_LIMIT + 1)
    if len(raw) > EXPORT_JSON_LIMIT:
        raise ImportRefused("export.json is too large")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRefused(f"export.json is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ImportRefused("export.json is not an export")
    for key, kind in (("assessment", dict), ("instrument", dict), ("answers", list),
                      ("revisions", list), ("files", list)):
        if not isinstance(body.get(key), kind):
            raise ImportRefused(f"export.json has no {key!r} {kind.__name__}")
    return body


def import_archive(session: Session, store: EvidenceStore, archive_path: str,
                   organisation_name: str, round_name: str | None, limits: Limits
                   ) -> Assessment:
    """Create, in the named administration, the assessment an export.zip holds (see the
    module's rules); ImportRefused says what is wrong, and nothing is written then."""
    staged: list[Staged] = []
    try:
        try:
            archive = zipfile.ZipFile(archive_path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ImportRefused(f"{archive_path} is not a zip archive: {exc}") from None
        with archive:
            body = _read_body(archive)
            organisation = session.scalar(select(Organisation).where(
                Organisation.name == organisation_name))
            if organisation is None:
                raise ImportRefused(f"there is no administration called {organisation_name!r}")
            described = body["instrument"]
            row = session.scalar(select(Instrument).where(
                Instrument.key == described.get("key"),
                Instrument.version == described.get("version")))
            if row is None or row.content_hash != described.get("content_hash"):
                raise ImportRefused(
                    f"the instrument {described.get('key')} {described.get('version')} is "
                    "not imported here with the same text: import it first "
                    "(flask instrument import)")
            spec = load_text(row.source, source=f"{row.key} {row.version}")
            meta = body["assessment"]
            try:  # the same rules as a round started on the page
                name = text_policy.clean_line(
                    round_name or _text(meta.get("round"), "the round"), ROUND_NAME_LIMIT)
            except text_policy.TextRefused:
                name = ""
            if text_policy.is_blank(name):
                raise ImportRefused(f"{round_name or meta.get('round')!r} cannot be a round "
                                    "name")
            if session.scalar(select(Assessment.id).where(
                    Assessment.organisation_id == organisation.id,
                    Assessment.round_name == name)) is not None:
                raise ImportRefused(f"{organisation_name} already has a round called {name!r}: "
                                    "give another with --round")
            try:
                status = Status(meta.get("status"))
            except ValueError:
                raise ImportRefused(f"unknown status {meta.get('status')!r}") from None
            inputs = _answers(spec, body["answers"])
            files = _files(spec, body["files"], archive, store, limits, staged)
        users = {u.email: u.id for u in session.scalars(select(User))}
        now = datetime.now(UTC)
        assessment = Assessment(
            organisation_id=organisation.id, instrument_id=row.id, round_name=name,
            status=status, created_at=_time(meta.get("created_at"), "created_at") or now,
            updated_at=now, submitted_at=_time(meta.get("submitted_at"), "submitted_at"),
            answered_count=sum(1 for item, _ in inputs
                               if item.level is not None or item.not_applicable))
        session.add(assessment)
        session.flush()
        answers: dict[str, Answer] = {}
        for item, source in inputs:
            answers[item.indicator_key] = Answer(
                assessment_id=assessment.id, indicator_key=item.indicator_key,
                level=item.level, not_applicable=item.not_applicable, evidence=item.evidence,
                note=item.note, evidence_kind=item.evidence_kind, confidence=item.confidence,
                version=max(int(source.get("version") or 0), 1),
                updated_at=_time(source.get("saved_at"), "saved_at") or now,
                updated_by_id=users.get(source.get("saved_by")))
        session.add_all(answers.values())
        session.flush()
        session.add_all(_revisions(body["revisions"], assessment.id, answers, users))
        for entry, item in files:
            store.keep(item)
            session.add(EvidenceFile(
                assessment_id=assessment.id, indicator_key=entry["indicator_key"],
                sha256=item.sha256, filename=entry["filename"],
                content_type=entry["content_type"], size=item.size,
                attached_by_id=users.get(entry.get("attached_by")),
                attached_at=_time(entry.get("attached_at"), "attached_at") or now,
                removed_by_id=users.get(entry.get("removed_by")),
                removed_at=_time(entry.get("removed_at"), "removed_at")))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        for item in staged:
            store.discard(item)
    return assessment


def _answers(spec, rows: list) -> list[tuple[answer_store.AnswerInput, dict]]:
    """Each exported answer with something in it, validated as a save would be."""
    inputs = []
    seen = set()
    for source in rows:
        if not isinstance(source, dict):
            raise ImportRefused("an answer in export.json is not an object")
        key = _text(source.get("indicator_key"), "an answer's indicator_key")
        if key in seen:
            raise ImportRefused(f"{key} is answered twice")
        seen.add(key)
        level = source.get("level")
        if level is not None and not isinstance(level, int):
            raise ImportRefused(f"{key}: the level is not a number")
        form = {f"{key}-level": "na" if source.get("not_applicable") else
                ("" if level is None else str(level)),
                f"{key}-evidence": _text(source.get("evidence", ""), f"{key}'s evidence"),
                f"{key}-note": _text(source.get("note", ""), f"{key}'s note")}
        for field in answer_store.ANSWER_FIELDS:  # kind of evidence, confidence: when given
            if source.get(field):
                form[f"{key}-{field}"] = _text(source[field], f"{key}'s {field}")
        try:
            item = answer_store.parse_answer(spec, key, form)
        except answer_store.AnswerInputError as error:
            raise ImportRefused(f"{key}: {error.field} {error.message}") from None
        if item.level is None and not item.not_applicable and not item.evidence \
                and not item.note:
            continue
        inputs.append((item, source))
    return inputs


def _revisions(rows: list, assessment_id: int, answers: dict[str, Answer],
               users: dict[str, int]) -> list[AnswerRevision]:
    """The exported history of the answers imported (who, when, before and after)."""
    revisions = []
    for source in rows:
        if not isinstance(source, dict):
            raise ImportRefused("a revision in export.json is not an object")
        answer = answers.get(source.get("indicator_key"))
        if answer is None:
            continue
        if not isinstance(source.get("before"), dict) or not isinstance(source.get("after"),
                                                                            dict):
            raise ImportRefused(f"a revision of {answer.indicator_key} has no before/after")
        kind = source.get("kind") if source.get("kind") in ("edit", "conflict") else "edit"
        version = source.get("version")
        revisions.append(AnswerRevision(
            answer_id=answer.id, assessment_id=assessment_id,
            indicator_key=answer.indicator_key,
            version=version if isinstance(version, int) else 0,
            changed_by_id=users.get(source.get("changed_by")),
            changed_at=_time(source.get("changed_at"), "changed_at") or datetime.now(UTC),
            kind=kind, before=source["before"], after=source["after"]))
    return revisions


def _files(spec, entries: list, archive: zipfile.ZipFile, store: EvidenceStore, limits: Limits,
           staged: list[Staged]) -> list[tuple[dict, Staged]]:
    """Each listed file read from the archive (never more than the per-file limit), its
    hash and size checked against the list, its content checked as at upload."""
    members = {info.filename: info for info in archive.infolist()}
    found: list[tuple[dict, Staged]] = []
    total: dict[str, int] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ImportRefused("a file in export.json is not an object")
        sha256 = _text(entry.get("sha256"), "a file's sha256")
        key = _text(entry.get("indicator_key"), "a file's indicator_key")
        if spec.indicator(key) is None:
            raise ImportRefused(f"a file is attached to {key!r}, not an indicator of the "
                                "instrument")
        info = members.get(f"files/{sha256}")
        if info is None:
            raise ImportRefused(f"the archive lacks files/{sha256} ({entry.get('filename')})")
        name = clean_filename(_text(entry.get("filename"), "a file's name"))
        if info.file_size > limits.per_file:
            raise ImportRefused(f"{name} is larger than the limit for one file")
        with archive.open(info) as stream:
            try:
                item = store.stage(stream, limits.per_file, name)
            except FileRefused:
                raise ImportRefused(f"{name} is larger than the limit for one file") from None
        staged.append(item)
        if item.sha256 != sha256 or item.size != entry.get("size"):
            raise ImportRefused(f"{name} does not match its SHA-256 or size in export.json: "
                                "the archive was changed or damaged")
        try:
            file_type = check(item.path, name)
        except FileRefused as refused:
            raise ImportRefused(f"{name} is refused: {refused.reason}") from None
        total[sha256] = item.size
        found.append(({**entry, "filename": name, "content_type": file_type.content_type},
                      item))
    if sum(total.values()) > limits.per_assessment:
        raise ImportRefused("the files are larger than the limit for one assessment")
    return found

