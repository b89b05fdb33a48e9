"""The assessment interchange format: export.json's `records`, which an import turns back
into rows exactly. SQLAlchemy, no Flask request (messages are lazy translations).

The format is read from the tables themselves. Each part is a table whose columns are
written as they are (dates and times as ISO 8601 in UTC), except: the row's own id; the
link to its assessment (given by where the record sits); the link to a parent record
(`Link`: the parent with the same indicator key, or the parent's position in its list);
and people, written as their e-mail, their names in the file's `people`. So a column added
to one of these tables is exported and imported with no change here, checked by its type
and length; a column that points at another table stops `fields_of` until it is placed
here, and a new table that belongs to an assessment fails the format's test until it is a
part (or said not to be carried).

Version 1 is the first format an import reads; a file of another version is refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l  # read in the language of whoever sees it
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    select,
)
from sqlalchemy.orm import Session

from .models import (
    Action,
    ActionComment,
    ActionRevision,
    Answer,
    AnswerRevision,
    Assessment,
    AssessmentEvent,
    EvidenceFile,
    ImportedAuthor,
    Organisation,
    QueryMessage,
    QueryThread,
    Review,
    ReviewRevision,
    SignOffSnapshot,
    User,
)

FORMAT_NAME = "cbassess-assessment"
FORMAT_VERSION = 1
INT_RANGE = {Integer: 2**31, BigInteger: 2**63}
REVISIONS_PER_BATCH = 20  # a revision may hold two 20,000-character texts


@dataclass(frozen=True)
class Link:
    """A column pointing at a parent record of the same assessment, and how the file says
    which: by the parent's indicator key, or by its position (`field`) in its list."""

    column: str
    part: str
    by_position: bool = False

    @property
    def field(self) -> str:
        return self.column.removesuffix("_id")


@dataclass(frozen=True)
class Part:
    """One table of an assessment's records, as a list in the file (`key`)."""

    key: str
    model: type
    link: Link | None = None

    @property
    def table(self):
        return self.model.__table__


ASSESSMENT = Part("assessment", Assessment)
PARTS: tuple[Part, ...] = (
    Part("answers", Answer),
    Part("answer_revisions", AnswerRevision, Link("answer_id", "answers")),
    Part("reviews", Review),
    Part("review_revisions", ReviewRevision, Link("review_id", "reviews")),
    Part("query_threads", QueryThread),
    Part("query_messages", QueryMessage, Link("thread_id", "query_threads", by_position=True)),
    Part("events", AssessmentEvent),
    Part("actions", Action),
    Part("action_revisions", ActionRevision, Link("action_id", "actions")),
    Part("action_comments", ActionComment),
    Part("files", EvidenceFile),
    Part("signoff_snapshots", SignOffSnapshot),
)
PART = {part.key: part for part in PARTS}
# The answers' history can be long: it is written last, a batch at a time, as the
# document's top-level "revisions", not inside "records".
STREAMED = "answer_revisions"
# Tables that belong to an assessment and are not carried: who in the team answers which
# principle names this installation's accounts (a team is set up again where it lands),
# imported authors are written as the people they name, and the link to the round an
# assessment was started from (round_links) names an assessment of this installation: the
# imported one stands alone (its answers still say whether they are carried over).
NOT_CARRIED = frozenset({"principle_assignments", "imported_authors", "round_links"})
# The assessment's own links, given by the file's administration and instrument.
GIVEN_ELSEWHERE = frozenset({"organisation_id", "instrument_id"})


class FormatError(TypeError):
    """A column the format does not know how to carry (a link to another table)."""


@dataclass(frozen=True)
class Field:
    """One column as the file carries it: `name` in the file, `kind` value, person or
    position (of the parent record)."""

    name: str
    column: Column
    kind: str  # "value" | "person" | "position"


@cache
def fields_of(part: Part) -> tuple[Field, ...]:
    """The fields of a part's records, from its table's columns (see the module's rules)."""
    found = []
    for column in part.table.columns:
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if column.primary_key or (column.name == "assessment_id" and part is not ASSESSMENT):
            continue
        if part.link and column.name == part.link.column:
            if part.link.by_position:
                found.append(Field(part.link.field, column, "position"))
            continue
        if part is ASSESSMENT and column.name in GIVEN_ELSEWHERE:
            continue
        if targets == {"users"}:
            found.append(Field(column.name.removesuffix("_id"), column, "person"))
        elif targets:
            raise FormatError(f"{part.table.name}.{column.name} points at {targets}: say how "
                              "the format carries it (cbassess/interchange.py)")
        else:
            found.append(Field(column.name, column, "value"))
    return tuple(found)


def as_utc(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite gives them back without a zone; they were written in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode(column: Column, value: Any) -> Any:
    """A column's value as JSON holds it."""
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return as_utc(value).isoformat()
    if isinstance(column.type, Date):
        return value.isoformat()
    return value


class ValueRefused(ValueError):
    """A value the column cannot hold; `message` is for people (lazy translation)."""

    def __init__(self, message) -> None:
        self.message = message
        super().__init__(str(message))


def decode(column: Column, raw: Any) -> Any:
    """A value from the file as the column stores it, checked against the column's type,
    length and nullability; ValueRefused otherwise."""
    if raw is None:
        if not column.nullable:
            raise ValueRefused(_l("may not be empty"))
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        try:
            return as_utc(datetime.fromisoformat(raw)) if isinstance(raw, str) else _bad()
        except ValueError:
            raise ValueRefused(_l("is not a date and time (ISO 8601)")) from None
    if isinstance(kind, Date):
        try:
            return date.fromisoformat(raw) if isinstance(raw, str) else _bad()
        except ValueError:
            raise ValueRefused(_l("is not a date (YYYY-MM-DD)")) from None
    if isinstance(kind, Boolean):
        if not isinstance(raw, bool):
            raise ValueRefused(_l("is not true or false"))
        return raw
    if isinstance(kind, Integer):  # BigInteger too
        limit = INT_RANGE[BigInteger] if isinstance(kind, BigInteger) else INT_RANGE[Integer]
        if isinstance(raw, bool) or not isinstance(raw, int) or not -limit <= raw < limit:
            raise ValueRefused(_l("is not a whole number in range"))
        return raw
    if isinstance(kind, Float):  # the headline averages (recomputed on import anyway)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ValueRefused(_l("is not a number"))
        return float(raw)
    if isinstance(kind, String | Text):
        if not isinstance(raw, str):
            raise ValueRefused(_l("is not text"))
        if "\x00" in raw:
            raise ValueRefused(_l("holds a NUL character"))
        if kind.length is not None and len(raw) > kind.length:
            raise ValueRefused(_l("is longer than %(n)d characters", n=kind.length))
        return raw
    if isinstance(kind, JSON):
        return raw
    raise FormatError(f"no rule for {column.table.name}.{column.name} ({kind})")


def _bad():
    raise ValueError


def has_default(column: Column) -> bool:
    """A column an older file may lack: it gets its default (or nothing) when missing."""
    return column.nullable or column.default is not None or column.server_default is not None


# ------------------------------------------------------------------------------- export


def administration_record(organisation: Organisation) -> dict:
    return {"name": organisation.name, "country_code": organisation.country_code,
            "region": organisation.region, "languages": organisation.language_list}


@dataclass
class People:
    """Who the records name: accounts by id, and imported authors by (table, row, column)."""

    users: dict[int, tuple[str, str]]
    imported: dict[tuple[str, int, str], tuple[str, str]]

    def email(self, table: str, row_id: int, field: Field, user_id: int | None) -> str | None:
        if user_id is not None and user_id in self.users:
            return self.users[user_id][0]
        author = self.imported.get((table, row_id, field.column.name))
        return author[0] if author else None

    def names(self) -> dict[str, str]:
        """E-mail → name of everyone named, in e-mail order."""
        found = {email: name for email, name in self.users.values()}
        found.update({email: name for email, name in self.imported.values()})
        return dict(sorted(found.items()))


def _rows(session: Session, part: Part, assessment_id: int) -> list:
    table = part.table
    if "assessment_id" in table.c:
        query = select(table).where(table.c.assessment_id == assessment_id)
    else:  # query_messages: through their thread
        parent = PART[part.link.part].table
        query = select(table).join(parent, parent.c.id == table.c[part.link.column]) \
            .where(parent.c.assessment_id == assessment_id)
    if part.link and part.link.by_position:
        query = query.order_by(table.c[part.link.column], table.c.id)
    else:
        query = query.order_by(table.c.id)
    return list(session.execute(query))


def _people(session: Session, assessment: Assessment, rows: Mapping[str, list]) -> People:
    user_ids = {getattr(assessment, f.column.name) for f in fields_of(ASSESSMENT)
                if f.kind == "person"}
    for key, found in rows.items():
        for f in fields_of(PART[key]):
            if f.kind == "person":
                user_ids.update(getattr(row, f.column.name) for row in found)
    revisions = AnswerRevision.__table__
    user_ids.update(session.scalars(select(revisions.c.changed_by_id).distinct().where(
        revisions.c.assessment_id == assessment.id)))
    user_ids.discard(None)
    users = {row.id: (row.email, row.name) for row in session.execute(
        select(User.id, User.email, User.name).where(User.id.in_(user_ids)))} \
        if user_ids else {}
    imported = {(a.record_table, a.record_id, a.field): (a.email, a.name)
                for a in session.scalars(select(ImportedAuthor).where(
                    ImportedAuthor.assessment_id == assessment.id))}
    return People(users, imported)


def _record(part: Part, row: Any, people: People, positions: Mapping[int, int]) -> dict:
    record = {}
    for f in fields_of(part):
        value = getattr(row, f.column.name)
        if f.kind == "person":
            record[f.name] = people.email(part.table.name, row.id, f, value)
        elif f.kind == "position":
            record[f.name] = positions[value]
        else:
            record[f.name] = encode(f.column, value)
    return record


def export_records(session: Session, assessment: Assessment) -> tuple[dict, People]:
    """Every record of the assessment but the answers' history (`revision_records`), and
    the people they name."""
    rows = {part.key: _rows(session, part, assessment.id) for part in PARTS
            if part.key != STREAMED}
    people = _people(session, assessment, rows)
    records: dict[str, Any] = {
        "administration": administration_record(assessment.organisation),
        "assessment": _record(ASSESSMENT, assessment, people, {}),
    }
    for part in PARTS:
        if part.key == STREAMED:
            continue
        positions = {}
        if part.link and part.link.by_position:
            positions = {row.id: n for n, row in enumerate(rows[part.link.part])}
        records[part.key] = [_record(part, row, people, positions) for row in rows[part.key]]
    return records, people


def revision_records(session: Session, assessment_id: int, people: People) -> Iterator[dict]:
    """The answers' history in id order, read REVISIONS_PER_BATCH at a time.

    Each batch is its own query after the last id seen (keyset), not one server-side cursor:
    a cursor does not outlive the transaction, and a reply may still be being sent after
    the request's own work has ended.
    """
    part, table = PART[STREAMED], PART[STREAMED].table
    last_id = 0
    while True:
        batch = session.execute(
            select(table).where(table.c.assessment_id == assessment_id, table.c.id > last_id)
            .order_by(table.c.id).limit(REVISIONS_PER_BATCH)).all()
        for row in batch:
            yield _record(part, row, people, {})
        if len(batch) < REVISIONS_PER_BATCH:
            return
        last_id = batch[-1].id


def format_header() -> dict:
    return {"name": FORMAT_NAME, "version": FORMAT_VERSION}


class Authors:
    """Who a row of one assessment names (`relation`: changed_by, author, actor…): the
    account, else the imported author kept for that row and column, else None. Imported
    authors are read once per table, and only when a row names no account."""

    def __init__(self, session: Session, assessment_id: int) -> None:
        self.session, self.assessment_id = session, assessment_id
        self._imported: dict[str, dict[tuple[int, str], tuple[str, str]]] = {}

    def of(self, row: Any, relation: str) -> tuple[str, str] | None:
        """(e-mail, name as shown) of whoever `row.<relation>` is."""
        user = getattr(row, relation)
        if user is not None:
            return user.email, user.display_name
        table = row.__table__.name
        if table not in self._imported:
            self._imported[table] = {
                (a.record_id, a.field): (a.email, a.name or a.email)
                for a in self.session.scalars(select(ImportedAuthor).where(
                    ImportedAuthor.assessment_id == self.assessment_id,
                    ImportedAuthor.record_table == table))}
        return self._imported[table].get((row.id, f"{relation}_id"))

    def email(self, row: Any, relation: str) -> str | None:
        found = self.of(row, relation)
        return found[0] if found else None

    def name(self, row: Any, relation: str) -> str | None:
        found = self.of(row, relation)
        return found[1] if found else None
