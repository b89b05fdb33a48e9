"""Attaching and removing evidence files: the rules, in one place. SQLAlchemy, no Flask.

- Every file of a request is checked (size, content, extension) before any is kept: a
  request attaches all its files or none.
- The assessment's status and the space its files use are read under the same write lock
  as the answers' saves (SQLite: sqlite_writes; PostgreSQL: the assessment's row lock), so
  two uploads cannot both pass the assessment's limit, and none lands after submission.
- A file's content is in the store before its row is committed: a row never refers to a
  missing file. A crash in between leaves a stored file nobody refers to, which
  `flask evidence orphans --delete` cleans up.
- Removing a file marks its row (who, when); the content stays for the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from .evidence_store import EvidenceStore, Staged, check, clean_filename
from .models import Assessment, EvidenceFile, Status
from .sqlite_writes import hold_write_lock

MEGABYTE = 1024 * 1024
DEFAULT_FILE_LIMIT = 20 * MEGABYTE
DEFAULT_ASSESSMENT_LIMIT = 500 * MEGABYTE
DEFAULT_FILES_PER_REQUEST = 10


@dataclass(frozen=True)
class Limits:
    """How much may be attached: per file, per assessment, per request."""

    per_file: int = DEFAULT_FILE_LIMIT
    per_assessment: int = DEFAULT_ASSESSMENT_LIMIT
    files_per_request: int = DEFAULT_FILES_PER_REQUEST


@dataclass(frozen=True)
class Upload:
    """One file as received: the name it was sent with and its content."""

    filename: str
    stream: BinaryIO


class AttachmentsLocked(Exception):
    """The assessment is not open for changes (submitted, validated)."""


class AssessmentFull(Exception):
    """The files would take the assessment over its limit."""

    def __init__(self, used: int, adding: int, limit: int) -> None:
        super().__init__(f"{used} + {adding} bytes > {limit}")
        self.used, self.adding, self.limit = used, adding, limit


class TooManyFiles(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} files")
        self.limit = limit


class NoFile(Exception):
    """A request with no file in it."""


_assessments = Assessment.__table__
_files = EvidenceFile.__table__
_LOCK_ASSESSMENT = (select(_assessments.c.status)
                    .where(_assessments.c.id == bindparam("assessment_id"))
                    .with_for_update())
_STATUS = select(_assessments.c.status).where(_assessments.c.id == bindparam("assessment_id"))


def current_files(session: Session, assessment_id: int,
                  indicator_keys: Iterable[str] | None = None) -> list[EvidenceFile]:
    """The files attached (and not removed) to an assessment's answers, or to some of them,
    oldest first, with who attached them. The one query for "the files of an answer":
    pages, the report, the exports and the evidence rules all read them here."""
    query = (select(EvidenceFile).options(joinedload(EvidenceFile.attached_by))
             .where(EvidenceFile.assessment_id == assessment_id,
                    EvidenceFile.removed_at.is_(None))
             .order_by(EvidenceFile.indicator_key, EvidenceFile.id))
    if indicator_keys is not None:
        query = query.where(EvidenceFile.indicator_key.in_(list(indicator_keys)))
    return list(session.scalars(query))


def indicators_with_files(session: Session, assessment_id: int,
                          indicator_keys: Iterable[str] | None = None) -> frozenset[str]:
    """The indicators (of an assessment, or among some of its indicators) whose answers
    have at least one current file: what the evidence rule (claims.has_evidence) needs,
    in one narrow query."""
    query = (select(_files.c.indicator_key).distinct()
             .where(_files.c.assessment_id == assessment_id, _files.c.removed_at.is_(None)))
    if indicator_keys is not None:
        query = query.where(_files.c.indicator_key.in_(list(indicator_keys)))
    return frozenset(session.scalars(query))


def files_by_indicator(files: Iterable[EvidenceFile]) -> dict[str, list[EvidenceFile]]:
    grouped: dict[str, list[EvidenceFile]] = {}
    for item in files:
        grouped.setdefault(item.indicator_key, []).append(item)
    return grouped


def every_file(session: Session, assessment_id: int,
               indicator_key: str | None = None) -> list[EvidenceFile]:
    """All files ever attached, removed ones included (history, exports, backups)."""
    query = (select(EvidenceFile)
             .options(joinedload(EvidenceFile.attached_by), joinedload(EvidenceFile.removed_by))
             .where(EvidenceFile.assessment_id == assessment_id)
             .order_by(EvidenceFile.indicator_key, EvidenceFile.id))
    if indicator_key is not None:
        query = query.where(EvidenceFile.indicator_key == indicator_key)
    return list(session.scalars(query))


def space_used(session: Session, assessment_id: int) -> int:
    """Bytes the assessment's files take in the store: each distinct file once, removed
    ones included (they are kept for the history)."""
    distinct = (select(_files.c.sha256, func.max(_files.c.size).label("size"))
                .where(_files.c.assessment_id == assessment_id)
                .group_by(_files.c.sha256).subquery())
    return int(session.execute(select(func.coalesce(func.sum(distinct.c.size), 0))).scalar())


def _lock(session: Session, assessment_id: int) -> str | None:
    """Take the assessment's write lock and read its status under it."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        hold_write_lock(connection)
        return connection.execute(_STATUS, {"assessment_id": assessment_id}).scalar()
    return connection.execute(_LOCK_ASSESSMENT, {"assessment_id": assessment_id}).scalar()


def _editable(status: str | None) -> bool:
    return status is not None and Status(status).editable_by_respondent


def stage_all(store: EvidenceStore, uploads: Iterable[Upload], limits: Limits
              ) -> list[tuple[str, str, Staged]]:
    """Write each upload to the store's incoming folder and check it: (name, content type,
    staged file) for each, or the first refusal (and nothing left behind)."""
    staged: list[tuple[str, str, Staged]] = []
    try:
        for upload in uploads:
            if len(staged) >= limits.files_per_request:
                raise TooManyFiles(limits.files_per_request)
            name = clean_filename(upload.filename)
            item = store.stage(upload.stream, limits.per_file, name)
            staged.append((name, "", item))
            file_type = check(item.path, name)
            staged[-1] = (name, file_type.content_type, item)
        if not staged:
            raise NoFile()
    except BaseException:
        for _, _, item in staged:
            store.discard(item)
        raise
    return staged


def attach(session: Session, store: EvidenceStore, assessment_id: int, indicator_key: str,
           uploads: Iterable[Upload], user_id: int | None, limits: Limits
           ) -> list[EvidenceFile]:
    """Check, keep and record the uploaded files, all or none (see the module's rules)."""
    staged = stage_all(store, uploads, limits)
    try:
        status = _lock(session, assessment_id)
        if not _editable(status):
            raise AttachmentsLocked()
        used = space_used(session, assessment_id)
        known = set(session.scalars(select(_files.c.sha256).where(
            _files.c.assessment_id == assessment_id)))
        new = {item.sha256: item.size for _, _, item in staged if item.sha256 not in known}
        adding = sum(new.values())
        if used + adding > limits.per_assessment:
            raise AssessmentFull(used, adding, limits.per_assessment)
        now = datetime.now(UTC)
        rows = []
        for name, content_type, item in staged:
            store.keep(item)
            rows.append(EvidenceFile(
                assessment_id=assessment_id, indicator_key=indicator_key, sha256=item.sha256,
                filename=name, content_type=content_type, size=item.size,
                attached_by_id=user_id, attached_at=now))
        session.add_all(rows)
        session.execute(update(Assessment).where(Assessment.id == assessment_id)
                        .values(updated_at=now))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        for _, _, item in staged:
            store.discard(item)  # those kept were moved; the rest go
    return rows


def remove(session: Session, assessment_id: int, file_id: int, user_id: int | None) -> bool:
    """Mark a file removed (it stays in the history). False when it is not this
    assessment's or was removed already; AttachmentsLocked when the assessment is closed."""
    try:
        status = _lock(session, assessment_id)
        if not _editable(status):
            raise AttachmentsLocked()
        now = datetime.now(UTC)
        changed = session.execute(
            update(EvidenceFile)
            .where(EvidenceFile.id == file_id, EvidenceFile.assessment_id == assessment_id,
                   EvidenceFile.removed_at.is_(None))
            .values(removed_at=now, removed_by_id=user_id)
        ).rowcount
        if changed:
            session.execute(update(Assessment).where(Assessment.id == assessment_id)
                            .values(updated_at=now))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return bool(changed)


def referenced_hashes(session: Session) -> set[str]:
    """Every file any row refers to (removed ones too: the history can still serve them)."""
    return set(session.scalars(select(_files.c.sha256).distinct()))


def store_for(config: dict, instance_path: str) -> EvidenceStore:
    """The store the configuration names (EVIDENCE_STORE_PATH, for a folder several app
    servers share), else `evidence/` in the instance folder; never under static/."""
    return EvidenceStore(config.get("EVIDENCE_STORE_PATH") or Path(instance_path) / "evidence")


def limits_for(config: dict) -> Limits:
    return Limits(per_file=int(config.get("EVIDENCE_FILE_LIMIT", DEFAULT_FILE_LIMIT)),
                  per_assessment=int(config.get("EVIDENCE_ASSESSMENT_LIMIT",
                                                DEFAULT_ASSESSMENT_LIMIT)),
                  files_per_request=int(config.get("EVIDENCE_FILES_PER_REQUEST",
                                                   DEFAULT_FILES_PER_REQUEST)))


def request_limit(config: dict) -> int:
    """The largest upload request read: EVIDENCE_REQUEST_LIMIT, or room for a full request
    of files at their limit plus the form around them."""
    configured = config.get("EVIDENCE_REQUEST_LIMIT")
    if configured:
        return int(configured)
    limits = limits_for(config)
    return limits.per_file * limits.files_per_request + MEGABYTE
