"""What a database holds before a migration runs: nothing, a cbassess database under
migrations, a cbassess 0.1.0 database made before migrations existed, or something else.
Imports nothing from Flask; migrations/env.py calls it before every upgrade.

0.1.0's `init-db` created the tables directly, with no Alembic version table. Such a
database is exactly the schema of the first migration (`BASELINE`), so it is recognised by
its tables and columns and stamped with that revision; every later migration then applies
to it as to any other. Anything that is neither empty nor recognisable is refused before a
single statement changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"

# The tables and columns of 0.1.0, frozen: later models change, this never does.
LEGACY_TABLES: dict[str, frozenset[str]] = {
    "organisations": frozenset({"id", "name", "country_code", "region", "created_at"}),
    "users": frozenset({"id", "email", "name", "password_hash", "role", "organisation_id",
                        "active", "language", "created_at"}),
    "facilitator_assignments": frozenset({"user_id", "organisation_id"}),
    "instruments": frozenset({"id", "key", "version", "title", "content_hash", "source",
                              "imported_at"}),
    "assessments": frozenset({"id", "organisation_id", "instrument_id", "round_name", "status",
                              "created_by_id", "created_at", "updated_at", "submitted_at",
                              "submitted_by_id", "validated_at", "answered_count"}),
    "answers": frozenset({"id", "assessment_id", "indicator_key", "level", "not_applicable",
                          "evidence", "note", "version", "updated_at", "updated_by_id"}),
    "answer_revisions": frozenset({"id", "answer_id", "assessment_id", "indicator_key",
                                   "version", "changed_by_id", "changed_at", "kind", "before",
                                   "after"}),
}
# Tables whose rows are the users' work: a database with none of them holds nothing to lose.
DATA_TABLES = ("organisations", "users", "assessments")


class SchemaError(RuntimeError):
    """A database that no migration may touch; the message says what was found."""


class State(StrEnum):
    EMPTY = "empty"  # no tables at all: the migrations create everything
    MANAGED = "managed"  # has the version table: Alembic knows where it stands
    LEGACY = "legacy"  # 0.1.0's tables, no version table: stamp BASELINE, then upgrade


@dataclass(frozen=True)
class Survey:
    state: State
    holds_data: bool


def survey(connection: Connection) -> Survey:
    """Classify the database behind `connection`, or raise SchemaError when it is foreign."""
    inspector = inspect(connection)
    tables = {name for name in inspector.get_table_names() if not name.startswith("sqlite_")}
    if not tables:
        return Survey(State.EMPTY, holds_data=False)
    if VERSION_TABLE in tables:
        return Survey(State.MANAGED, _holds_data(connection, tables))
    missing = sorted(set(LEGACY_TABLES) - tables)
    foreign = sorted(tables - set(LEGACY_TABLES))
    if foreign and len(missing) == len(LEGACY_TABLES):
        raise SchemaError(
            f"this database is not a cbassess database (it has the tables {', '.join(foreign)} "
            "and none of cbassess's); nothing was changed. Point SQLALCHEMY_DATABASE_URI at an "
            "empty database or at a cbassess one.")
    if missing or foreign:
        found = []
        if missing:
            found.append(f"the tables {', '.join(missing)} are missing")
        if foreign:
            found.append(f"it has tables cbassess does not know ({', '.join(foreign)})")
        raise SchemaError(
            "this database has no migration history and is not a complete cbassess 0.1.0 "
            f"database: {'; '.join(found)}. Nothing was changed; restore it from a backup.")
    for table, expected in LEGACY_TABLES.items():
        columns = {column["name"] for column in inspector.get_columns(table)}
        if columns != expected:
            differences = sorted(expected ^ columns)
            raise SchemaError(
                f"the table {table} does not have 0.1.0's columns (differs in "
                f"{', '.join(differences)}); nothing was changed. Restore it from a backup.")
    return Survey(State.LEGACY, _holds_data(connection, tables))


def _holds_data(connection: Connection, tables: set[str]) -> bool:
    return any(
        connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in DATA_TABLES if table in tables
    )
