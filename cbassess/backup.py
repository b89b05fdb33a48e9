"""Online backup and restore of the SQLite database. Imports nothing from Flask.

- `backup` copies the live database with SQLite's backup API, which reads one consistent
  snapshot even while the app is writing (a plain copy of a database in WAL mode can be torn,
  or miss commits still in the -wal file). The copy is written next to its target as one
  self-contained file (rollback journal, no -wal), passes `PRAGMA integrity_check`, and only
  then is renamed into place, so a backup file is never half-written.
- `restore` refuses a file that is not an intact cbassess database, keeps a copy of the current
  database beside it, and copies the backup in through the same API: a running app sees the
  restored content on its next query instead of holding a replaced file open.

- Evidence files go with the database: `backup_files` copies every file the backed-up
  database refers to into `<backup>.files/` (laid out as a store), each checked against its
  SHA-256; `restore_files` checks every file the backup refers to before anything is
  changed, then adds the missing ones to the store.

PostgreSQL has its own tools for both (pg_dump and pg_restore); its evidence files are a
folder to copy (their names are their hashes, so a copy is checked with `evidence check`).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from .evidence_store import EvidenceStore, file_sha256

SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = frozenset({"organisations", "users", "instruments", "assessments", "answers",
                             "answer_revisions"})
POSTGRES_ADVICE = ("The database is PostgreSQL: back it up with pg_dump (for example "
                   "`pg_dump --format=custom --file=cbassess.dump DBNAME`) and restore it with "
                   "pg_restore (`pg_restore --clean --dbname=DBNAME cbassess.dump`).")
BUSY_TIMEOUT_SECONDS = 30


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def sqlite_path(database_url: str | URL) -> Path:
    """The file of a SQLite database URL; a clear refusal for any other database."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(POSTGRES_ADVICE)
    if backend != "sqlite":
        raise BackupError(f"backup and restore work on SQLite only; this database is {backend}")
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory: there is no file to back up")
    return Path(url.database)


def timestamp() -> str:
    """Now in UTC, as file names carry it: 20270115-021500."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def unused_name(folder: Path, name: str, suffix: str = "") -> Path:
    """`folder/name+suffix`, or with -2, -3… after `name`: a kept copy never replaces a file.

    Two restores within the same second would otherwise give the second one's kept copy the
    first one's name, overwriting the very file being restored.
    """
    candidate, number = folder / f"{name}{suffix}", 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{name}-{number}{suffix}"
    return candidate


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)


def _problems(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` finds wrong with a database file (nothing: [])."""
    try:
        with closing(_connect(path)) as connection:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if result == ["ok"] else result


def verify(path: str | Path) -> None:
    """Raise BackupError unless `path` is an intact cbassess database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database")
    problems = _problems(path)
    if problems:
        raise BackupError(f"{path} fails the integrity check: {'; '.join(problems[:5])}")
    with closing(_connect(path)) as connection:
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupError(f"{path} is not a cbassess database (it has no "
                          f"{', '.join(sorted(missing))} table)")


def _copy(source: Path, target: Path) -> None:
    """Copy a live database into one checked, self-contained file, renamed into place."""
    temporary = target.with_name(f".{target.name}.partial")
    temporary.unlink(missing_ok=True)
    try:
        with closing(_connect(source)) as origin, closing(_connect(temporary)) as copy:
            origin.backup(copy)  # one snapshot, however much the app writes meanwhile
            copy.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the copy
        problems = _problems(temporary)
        if problems:
            raise BackupError(f"the copy fails the integrity check: {'; '.join(problems[:5])}")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def backup(database: str | Path, target: str | Path) -> Path:
    """Copy the database to `target` (a file, or a folder for a dated file); return the file.

    An existing file at `target` is replaced only once the new copy is complete and checked.
    """
    database, target = Path(database), Path(target)
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    if target.is_dir():
        target = target / f"cbassess-{timestamp()}.sqlite"
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if target.resolve() == database.resolve():
        raise BackupError("the backup cannot be written over the database itself")
    try:
        _copy(database, target)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from exc
    return target


def restore(backup_file: str | Path, database: str | Path) -> Path | None:
    """Replace the database's content with a checked backup.

    Returns where the database as it was before is kept (None when there was none).
    """
    backup_file, database = Path(backup_file), Path(database)
    verify(backup_file)
    if backup_file.resolve() == database.resolve():
        raise BackupError("that file is the database itself")
    kept = None
    try:
        if database.is_file():
            kept = unused_name(database.parent,
                               f"{database.name}.before-restore-{timestamp()}")
            _copy(database, kept)
        with closing(_connect(backup_file)) as origin, closing(_connect(database)) as live:
            origin.backup(live)
    except sqlite3.Error as exc:
        raise BackupError(f"the restore failed: {exc}") from exc
    return kept


def files_folder(backup_file: str | Path) -> Path:
    """Where a backup's evidence files are kept: beside it, `<name>.files/`."""
    backup_file = Path(backup_file)
    return backup_file.with_name(backup_file.name + ".files")


def referenced_files(database: str | Path) -> set[str]:
    """The SHA-256 of every evidence file a database file refers to (none before 0.2)."""
    with closing(_connect(Path(database))) as connection:
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'evidence_files'"
        ).fetchone()
        if not has_table:
            return set()
        return {row[0] for row in connection.execute(
            "SELECT DISTINCT sha256 FROM evidence_files")}


def _copy_checked(source: Path, sha256: str, target: EvidenceStore) -> None:
    """Copy one file into a store, atomically, refusing it unless it has its hash."""
    with source.open("rb") as stream:
        staged = target.stage(stream, limit=source.stat().st_size)
    if staged.sha256 != sha256:
        target.discard(staged)
        raise BackupError(f"{source} does not have the content its name says (SHA-256 "
                          f"{staged.sha256}): the file is damaged")
    target.keep(staged)


def backup_files(backup_file: str | Path, store: EvidenceStore, referenced: set[str]
                 ) -> tuple[Path, int]:
    """Copy the evidence files a backup refers to beside it; return the folder and the
    number of files. A file missing or damaged in the store is an error (the backup would
    not be complete)."""
    folder = EvidenceStore(files_folder(backup_file))
    folder.root.mkdir(parents=True, exist_ok=True)
    for sha256 in sorted(referenced):
        if folder.verify(sha256):
            continue
        source = store.path_of(sha256)
        if not source.is_file():
            raise BackupError(f"evidence file {sha256} is missing from the store "
                              f"{store.root}: the backup of the files is incomplete")
        _copy_checked(source, sha256, folder)
    return folder.root, len(referenced)


def check_files_folder(backup_file: str | Path) -> None:
    """Every file beside a backup still has the content its name says (BackupError)."""
    folder = EvidenceStore(files_folder(backup_file))
    damaged = [sha256 for sha256 in folder.stored() if not folder.verify(sha256)]
    if damaged:
        raise BackupError(f"{len(damaged)} evidence file(s) in {folder.root} do not match "
                          f"their SHA-256: {', '.join(damaged[:5])}")


def check_backup_files(backup_file: str | Path, store: EvidenceStore, referenced: set[str]
                       ) -> list[str]:
    """The referenced files the store lacks, all found intact beside the backup; raises
    BackupError listing those that are neither there nor in the store, intact."""
    folder = EvidenceStore(files_folder(backup_file))
    missing = [sha256 for sha256 in sorted(referenced)
               if not store.verify(sha256) and not folder.verify(sha256)]
    if missing:
        raise BackupError(f"{len(missing)} evidence file(s) the backup refers to are neither "
                          f"in {folder.root} nor in the store, or do not match their "
                          f"SHA-256: {', '.join(missing[:5])}")
    return [sha256 for sha256 in sorted(referenced) if not store.verify(sha256)]


def restore_files(backup_file: str | Path, store: EvidenceStore, referenced: set[str]) -> int:
    """Add to the store, checked, every referenced file it lacks; return how many were
    added. Checks them all before copying any."""
    folder = EvidenceStore(files_folder(backup_file))
    needed = check_backup_files(backup_file, store, referenced)
    for sha256 in needed:
        _copy_checked(folder.path_of(sha256), sha256, store)
    return len(needed)


def restore_folder(backup_file: str | Path, store: EvidenceStore) -> int:
    """Add to the store every file beside a backup that it lacks, each checked (for a
    PostgreSQL dump, whose references are known only once it is restored)."""
    folder = EvidenceStore(files_folder(backup_file))
    check_files_folder(backup_file)
    needed = [sha256 for sha256 in folder.stored() if not store.verify(sha256)]
    for sha256 in needed:
        _copy_checked(folder.path_of(sha256), sha256, store)
    return len(needed)


def damaged_files(store: EvidenceStore, referenced: set[str]) -> list[str]:
    """The referenced files that are missing from the store or fail their hash."""
    return [sha256 for sha256 in sorted(referenced)
            if not store.has(sha256) or file_sha256(store.path_of(sha256)) != sha256]
