"""Backup and restore of a PostgreSQL database with pg_dump, pg_restore and psql. Imports
nothing from Flask; the same guarantees as the SQLite ones in backup.py.

- `backup` runs `pg_dump --format=custom` (one consistent snapshot, taken while the app
  writes) into a temporary file beside the target, checks that `pg_restore --list` can read
  it and that it holds cbassess's tables, and only then renames it into place.
- `restore` refuses a file that is not such a dump, keeps a dump of the current database
  beside the backup (`cbassess-before-restore-….dump`), then replaces the database in ONE
  transaction: psql runs "drop the schema's tables, recreate them from the dump" with
  --single-transaction and ON_ERROR_STOP, so a failed restore changes nothing.

The password, if the URL has one, reaches the tools through PGPASSWORD, never the command
line (where `ps` would show it). The client tools must be at least the server's version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from .backup import REQUIRED_TABLES, BackupError, timestamp, unused_name

DUMP_MAGIC = b"PGDMP"
TOOLS = ("pg_dump", "pg_restore", "psql")
# Drop every table, view and sequence of the public schema (the restored dump recreates
# them), as the first statements of the restore's single transaction.
_DROP_EVERYTHING = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', item.tablename);
  END LOOP;
  FOR item IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', item.sequencename);
  END LOOP;
END $$;
"""


def is_postgresql(database_url: str | URL) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client tools "
                          "(Debian: apt-get install postgresql-client) at the server's "
                          "version or newer")
    return found


def _connection(database_url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the tools, and the environment carrying the password."""
    url = make_url(database_url)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None)
    return libpq.render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict[str, str], what: str,
         stdin: bytes | None = None) -> bytes:
    try:
        completed = subprocess.run(command, input=stdin, capture_output=True, env=environment,
                                   check=False)
    except OSError as exc:
        raise BackupError(f"{what} failed: {exc}") from exc
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{what} failed: {' '.join(message[-3:]) or completed.returncode}")
    return completed.stdout


def verify(path: str | Path) -> None:
    """Raise BackupError unless `path` is a readable pg_dump archive of a cbassess database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            raise BackupError(f"{path} is not a PostgreSQL custom-format dump "
                              "(made by `backup` or `pg_dump --format=custom`)")
    listing = _run([_tool("pg_restore"), "--list", str(path)], dict(os.environ),
                   f"reading {path}").decode("utf-8", "replace")
    tables = {line.split()[-2] for line in listing.splitlines()
              if " TABLE DATA public " in line and len(line.split()) >= 2}
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupError(f"{path} is not a cbassess database (it has no "
                          f"{', '.join(sorted(missing))} table)")


def backup(database_url: str | URL, target: str | Path) -> Path:
    """Dump the database to `target` (a file, or a folder for a dated file); return the file.

    An existing file at `target` is replaced only once the new dump is complete and checked.
    """
    target = Path(target)
    if target.is_dir():
        target = target / f"cbassess-{timestamp()}.dump"
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    connection, environment = _connection(database_url)
    temporary = target.with_name(f".{target.name}.partial")
    temporary.unlink(missing_ok=True)
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={temporary}", f"--dbname={connection}"], environment, "pg_dump")
        verify(temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def restore(database_url: str | URL, backup_file: str | Path) -> Path:
    """Replace the database's content with a checked dump, in one transaction.

    Returns where a dump of the database as it was before is kept (beside the backup file).
    """
    backup_file = Path(backup_file)
    verify(backup_file)
    kept = backup(database_url, unused_name(
        backup_file.parent, f"cbassess-before-restore-{timestamp()}", ".dump"))
    script = _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
                   str(backup_file)], dict(os.environ), f"reading {backup_file}")
    connection, environment = _connection(database_url)
    _run([_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction",
          "--set=ON_ERROR_STOP=1", f"--dbname={connection}"], environment,
         "the restore (nothing was changed)", stdin=_DROP_EVERYTHING.encode() + script)
    return kept
