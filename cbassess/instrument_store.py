"""Instruments in the database: import (from a file or uploaded text), list, retire.

`flask instrument import` and the admin's upload call the same `import_text`, so a file is
accepted or refused for the same reasons, with the same message naming the path inside
it. A published version is never changed: the same key and version with other text is
refused. Retiring a version only stops new assessments from choosing it; the assessments
taken on it keep reading its stored text. No Flask here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .audit import Actor
from .instrument import MAX_FILE_BYTES, InstrumentError, load_path, load_text
from .instrument import Instrument as InstrumentSpec
from .models import Instrument


def import_text(session: Session, text: str, source: str,
                actor: Actor | None = None) -> tuple[Instrument, bool]:
    """Validate instrument YAML and store it; returns (row, created).

    `source` names the file in error messages. Importing the very same text again is not an
    error (the existing row is returned), so scripted setups can run twice.
    """
    spec = load_text(text, source=source)
    return _store(session, spec, text, source, actor)


def import_path(session: Session, path: str | Path,
                actor: Actor | None = None) -> tuple[Instrument, bool]:
    """Validate and store an instrument file (read with instrument.load_path's limits)."""
    spec = load_path(path)
    return _store(session, spec, Path(path).read_text(encoding="utf-8"), str(path), actor)


def import_upload(session: Session, data: bytes, filename: str,
                  actor: Actor | None = None) -> tuple[Instrument, bool]:
    """Validate and store an uploaded file's bytes, with the limits of a file on disk."""
    if len(data) > MAX_FILE_BYTES:
        raise InstrumentError(filename, "",
                              f"is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstrumentError(filename, "", "is not valid UTF-8 text") from exc
    return import_text(session, text, filename, actor)


def _store(session: Session, spec: InstrumentSpec, text: str, source: str,
           actor: Actor | None) -> tuple[Instrument, bool]:
    existing = session.scalar(select(Instrument).where(Instrument.key == spec.key,
                                                       Instrument.version == spec.version))
    if existing is not None:
        if existing.content_hash != spec.content_hash:
            raise InstrumentError(
                source, "version",
                f"{spec.key} {spec.version} is already imported with different content; "
                "give the changed file a new version",
            )
        return existing, False
    row = Instrument(key=spec.key, version=spec.version, title=spec.title.get(),
                     content_hash=spec.content_hash, source=text)
    session.add(row)
    session.flush()
    audit.record(session, actor, "instrument.import", "instrument", row.id,
                 f"{row.key} {row.version}", title=row.title, sha256=row.content_hash)
    session.commit()
    return row, True


def all_instruments(session: Session) -> list[Instrument]:
    """Every imported version, by key and newest import first."""
    return list(session.scalars(select(Instrument).order_by(
        Instrument.key, Instrument.imported_at.desc(), Instrument.id.desc())))


def current_instruments(session: Session) -> list[Instrument]:
    """The versions a new assessment may use (not retired), by title."""
    return list(session.scalars(select(Instrument).where(Instrument.retired_at.is_(None))
                                .order_by(Instrument.title, Instrument.version)))


def set_retired(session: Session, actor: Actor | None, row: Instrument,
                retired: bool) -> Instrument:
    """Retire a version (no new assessment may use it) or bring it back."""
    if row.retired == retired:
        return row
    row.retired_at = datetime.now(UTC) if retired else None
    audit.record(session, actor, "instrument.retire" if retired else "instrument.restore",
                 "instrument", row.id, f"{row.key} {row.version}")
    session.commit()
    return row
