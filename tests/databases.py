"""A fresh database for every test, on the backend this run is for.

`make test` runs the suite twice: on SQLite (the default) and on PostgreSQL
(`CBASSESS_TEST_DATABASE=postgresql`, a cluster the run starts itself; tests/services.py).
The schema comes only from the migrations: a template is migrated and seeded once per run
(`init_db`, then the shared seed), and each test gets a copy of it — a file copy on SQLite,
`CREATE DATABASE … TEMPLATE` on PostgreSQL — so every test starts from the same rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.services import PostgresServer

BACKENDS = ("sqlite", "postgresql")
BACKEND = os.environ.get("CBASSESS_TEST_DATABASE", "sqlite")
if BACKEND not in BACKENDS:
    raise RuntimeError(f"CBASSESS_TEST_DATABASE must be one of {BACKENDS}, not {BACKEND!r}")


class Databases:
    """Hands out databases: `seeded()` (migrated, instruments imported, the shared seed) and
    `empty()`; `discard(url)` drops one. Cleaned up by `close()`."""

    def __init__(self, folder: Path, seed: Callable[[str], None],
                 postgres: PostgresServer | None) -> None:
        self.folder = folder
        self.postgres = postgres
        self._seed = seed
        self._numbers = itertools.count(1)
        self._template: str | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def _new_name(self, kind: str) -> str:
        return f"{kind}_{next(self._numbers)}"

    def empty(self) -> str:
        name = self._new_name("empty")
        if self.postgres:
            return self.postgres.create_database(name)
        return f"sqlite:///{self._own_folder(name) / 'cbassess.sqlite'}"

    def seeded(self) -> str:
        if self._template is None:
            self._template = self.empty()
            self._seed(self._template)
        name = self._new_name("test")
        if self.postgres:
            return self.postgres.create_database(name, template=database_name(self._template))
        path = self._own_folder(name) / "cbassess.sqlite"
        shutil.copyfile(sqlite_file(self._template), path)
        return f"sqlite:///{path}"

    def _own_folder(self, name: str) -> Path:
        """A folder per SQLite database, as an instance folder is: files a test makes beside
        its database (backups, a database kept by a restore) are its own."""
        folder = self.folder / name
        folder.mkdir()
        return folder

    def discard(self, url: str) -> None:
        if self.postgres:
            self.postgres.drop_database(database_name(url))
            return
        shutil.rmtree(sqlite_file(url).parent, ignore_errors=True)


def database_name(url: str) -> str:
    return make_url(url).database or ""


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")
