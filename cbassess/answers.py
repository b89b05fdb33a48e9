"""Validate and save answers: the one write path for both autosave and the plain form post.

Rules kept here, outside the views:
- input is checked against the assessment's own instrument (scale, keys, limits) before
  anything is written, and a batch is written whole or not at all;
- the assessment's status and the answers are read under the same lock as the write, so a
  save can never slip in after a submission or between another save's read and write;
- the answer row is created with a real upsert (INSERT … ON CONFLICT DO NOTHING), so two
  first saves of one answer never collide;
- every change writes a revision in the same transaction; a save that carries an older
  version than the stored one is refused as an edit conflict (and the attempt is kept in the
  history), so nobody silently overwrites a newer change.

Uses SQLAlchemy but nothing from Flask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from . import headline
from .instrument import ANSWER_FIELDS, Instrument, Scale
from .models import Answer, AnswerRevision, Assessment, Status
from .scoring import headline_average
from .sqlite_writes import hold_write_lock
from .text_policy import TextRefused, clean, is_blank, refused_characters

EVIDENCE_LIMIT = 20_000
NOTE_LIMIT = 4_000
NOT_APPLICABLE = "na"
ANSWER_PARTS = ("level", "evidence", "note", "version", "evidence_kind", "confidence")
# (the form fields of one answer)


def N_(message: str) -> str:
    """Mark a message for the catalogue; the page that shows it translates it."""
    return message


class AnswerInputError(ValueError):
    """A posted answer breaks a rule; `field` names which part ("level", "evidence", …).

    `message` is the untranslated text, with `%(name)s` placeholders filled from `params`
    once translated, so the person reads it in their own language.
    """

    def __init__(self, indicator_key: str, field: str, message: str, **params) -> None:
        self.indicator_key, self.field, self.message, self.params = (
            indicator_key, field, message, params)
        super().__init__(f"{indicator_key} {field}: {message % params}")


class AssessmentLocked(Exception):
    """The assessment is not open for changes by respondents (submitted or validated)."""


@dataclass(frozen=True)
class AnswerInput:
    """A validated answer as posted, with the version the person was editing."""

    indicator_key: str
    level: int | None
    not_applicable: bool
    evidence: str
    note: str
    expected_version: int | None
    evidence_kind: str | None = None
    confidence: str | None = None

    def as_dict(self) -> dict:
        return values_of(self)


@dataclass(frozen=True)
class Conflict:
    """An answer changed by someone else after the person loaded it."""

    indicator_key: str
    current: Answer


class EditConflict(Exception):
    """One or more answers in a save were changed since the person loaded them."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        super().__init__(", ".join(c.indicator_key for c in conflicts))


def values_of(answer: AnswerInput | StoredAnswer | Answer) -> dict:
    """What an answer says, as compared between saves and kept in its history."""
    return {"level": answer.level, "not_applicable": answer.not_applicable,
            "evidence": answer.evidence, "note": answer.note,
            "evidence_kind": answer.evidence_kind, "confidence": answer.confidence}


def field_name(indicator_key: str, part: str) -> str:
    """Form field name of one part of an answer, e.g. "PW.1-evidence"."""
    return f"{indicator_key}-{part}"


# Per field, so that each message can say what it is about as its language needs to.
_REFUSED_CHARACTERS = {
    "evidence": N_("The evidence contains characters that cannot be stored (%(characters)s): "
                   "control characters, line separators or text-direction overrides."),
    "note": N_("The note contains characters that cannot be stored (%(characters)s): control "
               "characters, line separators or text-direction overrides."),
    "finding": N_("The finding contains characters that cannot be stored (%(characters)s): "
                  "control characters, line separators or text-direction overrides."),
    "message": N_("The message contains characters that cannot be stored (%(characters)s): "
                  "control characters, line separators or text-direction overrides."),
}
_TOO_LONG = {
    "evidence": N_("The evidence is %(length)s characters long; the limit is %(limit)s."),
    "note": N_("The note is %(length)s characters long; the limit is %(limit)s."),
    "finding": N_("The finding is %(length)s characters long; the limit is %(limit)s."),
    "message": N_("The message is %(length)s characters long; the limit is %(limit)s."),
}


def clean_text(indicator_key: str, field: str, value: str, limit: int) -> str:
    """The text as stored (text_policy.clean), or AnswerInputError naming what is wrong."""
    try:
        return clean(value, limit)
    except TextRefused as refused:
        if refused.reason == "length":
            raise AnswerInputError(indicator_key, field, _TOO_LONG[field],
                                   length=refused.length, limit=refused.limit) from None
        raise AnswerInputError(indicator_key, field, _REFUSED_CHARACTERS[field],
                               characters=", ".join(refused_characters(value)[:5])) from None


def parse_answer(instrument: Instrument, indicator_key: str,
                 form: Mapping[str, str]) -> AnswerInput:
    """Validate one indicator's fields from a form, against the assessment's instrument."""
    indicator = instrument.indicator(indicator_key)
    if indicator is None:
        raise AnswerInputError(indicator_key, "indicator",
                               N_("%(key)s is not an indicator of this instrument."),
                               key=indicator_key)
    level, not_applicable = parse_level(
        instrument, indicator_key, "level", form.get(field_name(indicator_key, "level")))
    evidence = clean_text(indicator_key, "evidence",
                          form.get(field_name(indicator_key, "evidence"), ""), EVIDENCE_LIMIT)
    note = clean_text(indicator_key, "note",
                      form.get(field_name(indicator_key, "note"), ""), NOTE_LIMIT)
    if not_applicable and is_blank(evidence):
        raise AnswerInputError(indicator_key, "evidence",
                               N_("“Not applicable” needs a written justification in the "
                                  "evidence field."))
    optional = {name: _optional_field(instrument, indicator_key, name, form)
                for name in ANSWER_FIELDS}
    expected_version = parse_version(indicator_key, "version",
                                     form.get(field_name(indicator_key, "version")))
    return AnswerInput(indicator_key, level, not_applicable, evidence, note, expected_version,
                       **optional)


def _optional_field(instrument: Instrument, indicator_key: str, name: str,
                    form: Mapping[str, str]) -> str | None:
    """One of the instrument's optional fields (kind of evidence, confidence), or None."""
    raw = (form.get(field_name(indicator_key, name)) or "").strip()
    if not raw:
        return None
    if name not in instrument.answer_fields:
        raise AnswerInputError(indicator_key, name,
                               N_("This instrument does not ask for this field."))
    if raw not in ANSWER_FIELDS[name]:
        raise AnswerInputError(indicator_key, name, N_("The value must be one of %(values)s."),
                               values=", ".join(ANSWER_FIELDS[name]))
    return raw


def parse_level(instrument: Instrument, indicator_key: str, field: str,
                raw: str | None) -> tuple[int | None, bool]:
    """A posted level: (level, not applicable), checked against the instrument's scale.

    The same rule for a respondent's answer and a facilitator's validated level.
    """
    raw = (raw or "").strip()
    scale = instrument.scale
    if raw == NOT_APPLICABLE:
        if not scale.not_applicable_allowed:
            raise AnswerInputError(indicator_key, field,
                                   N_("This instrument does not allow “not applicable”."))
        return None, True
    if not raw:
        return None, False
    if not re.fullmatch(r"-?[0-9]{1,3}", raw):
        raise AnswerInputError(indicator_key, field, N_("The level must be a number."))
    level = int(raw)
    if level not in scale.values:
        raise AnswerInputError(
            indicator_key, field,
            N_("Level %(level)s is outside the scale (%(minimum)s to %(maximum)s)."),
            level=level, minimum=scale.minimum, maximum=scale.maximum,
        )
    return level, False


def parse_version(indicator_key: str, field: str, raw: str | None) -> int | None:
    """The version a form was editing (for conflicts), or None when it carries none."""
    raw = (raw or "").strip()
    if not raw:
        return None
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise AnswerInputError(indicator_key, field,
                               N_("The form's version of this answer is invalid; reload the "
                                  "page."))
    return int(raw)


_answers = Answer.__table__
_revisions = AnswerRevision.__table__
_assessments = Assessment.__table__

# The save's statements, built once: SQLAlchemy compiles each once per process and reuses it.
# Core, not ORM: a save is a handful of known statements, and the ORM's unit of work cost
# more than the statements themselves (docs/PERFORMANCE.md).
_SAVING = bindparam("keys", expanding=True)
_CURRENT = (
    # The assessment's status and every answer's state (what progress needs), with the text
    # of the answers being saved: one read, under the write lock.
    select(_assessments.c.status, _answers.c.id, _answers.c.indicator_key, _answers.c.level,
           _answers.c.not_applicable, _answers.c.version,
           case((_answers.c.indicator_key.in_(_SAVING), _answers.c.evidence)).label("evidence"),
           case((_answers.c.indicator_key.in_(_SAVING), _answers.c.note)).label("note"),
           _answers.c.evidence_kind, _answers.c.confidence,
           _answers.c.updated_at, _answers.c.updated_by_id, _answers.c.carried_over)
    .select_from(_assessments)
    .outerjoin(_answers, _answers.c.assessment_id == _assessments.c.id)
    .where(_assessments.c.id == bindparam("assessment_id"))
)
# Databases other than SQLite: the assessment's row lock, which submit() also takes, so
# saves to one assessment and its submission queue. Taken by a statement of its own, before
# _CURRENT: PostgreSQL re-reads a row it waited to lock, but not the rest of that
# statement's result, which would then be as it was before the other save committed.
_LOCK_ASSESSMENT = (select(_assessments.c.id)
                    .where(_assessments.c.id == bindparam("assessment_id"))
                    .with_for_update())
# The columns to set are the other keys of each row of parameters.
_CHANGE = update(_answers).where(_answers.c.id == bindparam("answer_id"))
_RECORD = insert(_revisions)
_RECOUNT = (
    update(_assessments)
    .where(_assessments.c.id == bindparam("assessment_id"))
    .values(updated_at=bindparam("now"), claimed_average=bindparam("claimed"),
            answered_count=select(func.count(_answers.c.id))
            .where(_answers.c.assessment_id == bindparam("assessment_id"),
                   _answers.c.level.is_not(None) | _answers.c.not_applicable,
                   _answers.c.carried_over.is_(False))
            .scalar_subquery())
)
# A level changed but not whether the indicator is answered: only the claimed average moves.
_RESCORE = (update(_assessments).where(_assessments.c.id == bindparam("assessment_id"))
            .values(claimed_average=bindparam("claimed")))


class AnswerState(NamedTuple):
    """What progress and scores need of one answer; reads like an Answer for scoring.

    A named tuple: a save builds one for every indicator of the assessment. An answer carried
    over from the previous round and not yet confirmed is read as unanswered (no level).
    """

    level: int | None
    not_applicable: bool
    version: int

    @property
    def answered(self) -> bool:
        return self.not_applicable or self.level is not None


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as this save left it: plain values that no later commit can change.

    The reply hands `version` to the person's page, so it must be the version this save
    wrote, even if someone else's save has changed the row since.
    """

    id: int
    indicator_key: str
    level: int | None
    not_applicable: bool
    evidence: str
    note: str
    version: int
    updated_at: datetime | None
    updated_by_id: int | None
    evidence_kind: str | None = None
    confidence: str | None = None
    carried_over: bool = False

    @property
    def answered(self) -> bool:
        return not self.carried_over and (self.not_applicable or self.level is not None)

    def as_dict(self) -> dict:
        return values_of(self)


@dataclass(frozen=True)
class Saved:
    """A save's outcome: the answers posted, as stored, and the state of every answer of the
    assessment at the moment of the commit (for the progress shown in the reply)."""

    answers: list[StoredAnswer]
    states: dict[str, AnswerState]
    # Answers that were carried over before this save and no longer are (changed or
    # confirmed): their "carried over" notice goes.
    uncarried: tuple[str, ...] = ()


def lock_assessment(connection: Connection, assessment_id: int) -> None:
    """Take the lock that queues every write to one assessment (answers, submission, its
    action plan): SQLite's write lock, or elsewhere the assessment's row lock."""
    if connection.dialect.name == "sqlite":
        hold_write_lock(connection)
    else:
        connection.execute(_LOCK_ASSESSMENT, {"assessment_id": assessment_id})


def insert_missing(connection: Connection, table, rows: list[dict],
                   unique: list[str]) -> None:
    """Insert rows, skipping any whose `unique` columns already exist: a real upsert, so
    two first saves of one row never collide."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    connection.execute(dialect_insert(table).values(rows)
                       .on_conflict_do_nothing(index_elements=unique))


def _create_missing(connection: Connection, assessment_id: int, keys: list[str]) -> None:
    """Create empty answer rows with a real upsert, so two first saves never collide."""
    insert_missing(connection, _answers,
                   [{"assessment_id": assessment_id, "indicator_key": key, "version": 0,
                     "evidence": "", "note": "", "not_applicable": False} for key in keys],
                   ["assessment_id", "indicator_key"])


def _current(connection: Connection, assessment_id: int, keys: list[str]) \
        -> tuple[dict[str, StoredAnswer], dict[str, AnswerState], Status]:
    """The answers being saved, the state of all answers and the assessment's status, read
    afresh under the lock.

    Raises AssessmentLocked when the assessment is not open for respondents (or is gone).
    """
    rows = connection.execute(_CURRENT, {"assessment_id": assessment_id, "keys": keys}).all()
    if not rows or not Status(rows[0].status).editable_by_respondent:
        raise AssessmentLocked()
    saving, states = {}, {}
    for row in rows:
        if row.id is None:  # the outer join's row of an assessment with no answers yet
            continue
        states[row.indicator_key] = (
            AnswerState(None, False, row.version) if row.carried_over
            else AnswerState(row.level, bool(row.not_applicable), row.version))
        if row.evidence is not None:
            saving[row.indicator_key] = StoredAnswer(
                row.id, row.indicator_key, row.level, row.not_applicable, row.evidence,
                row.note, row.version, row.updated_at, row.updated_by_id,
                row.evidence_kind, row.confidence, carried_over=bool(row.carried_over))
    return saving, states, Status(rows[0].status)


def save_answers(session: Session, assessment_id: int, inputs: Iterable[AnswerInput],
                 user_id: int, scale: Scale | None = None) -> Saved:
    """Save a batch of validated answers in one transaction.

    Raises AssessmentLocked when the assessment is not open for respondents, EditConflict
    when any answer was changed since its `expected_version` (nothing is saved then, and each
    refused value is kept in the history as a "conflict" revision). An answer posted
    unchanged writes nothing (one carried over from the previous round stays carried over:
    only `confirm_answers` or a change settles it).

    The status and the answers are read under the database's write lock (SQLite) or after
    taking the assessment's row lock (PostgreSQL), so no other save or a submission can come
    between the read and the write.

    `scale` is the instrument's (the caller has parsed it to check the answers): a level's
    change keeps the claimed average (headline.py) without reading the instrument again.
    """
    inputs = list(inputs)
    keys = [item.indicator_key for item in inputs]
    now = datetime.now(UTC)
    try:
        connection = session.connection()
        lock_assessment(connection, assessment_id)
        stored, states, status = _current(connection, assessment_id, keys)
        missing = [key for key in keys if key not in stored]
        if missing:  # first saves only: most saves change an answer that exists
            _create_missing(connection, assessment_id, missing)
            stored, states, status = _current(connection, assessment_id, keys)
        conflicts, changes = [], []
        for item in inputs:
            answer = stored[item.indicator_key]
            if answer.as_dict() == item.as_dict():
                continue
            if item.expected_version is not None and item.expected_version != answer.version:
                conflicts.append((item, answer))
            else:
                changes.append((item, answer))
        if conflicts:
            session.rollback()
            _record_conflicts(session, assessment_id, conflicts, user_id, now)
            raise EditConflict([
                Conflict(item.indicator_key, session.get(Answer, answer.id))
                for item, answer in conflicts
            ])
        if changes:
            updates, revisions = [], []
            for item, answer in changes:
                version = answer.version + 1
                updates.append({"answer_id": answer.id, "version": version,
                                "updated_at": now, "updated_by_id": user_id,
                                "carried_over": False, **item.as_dict()})
                revisions.append({
                    "answer_id": answer.id, "assessment_id": assessment_id,
                    "indicator_key": answer.indicator_key, "version": version,
                    "changed_by_id": user_id, "changed_at": now, "kind": "edit",
                    "before": answer.as_dict(), "after": item.as_dict()})
                stored[item.indicator_key] = StoredAnswer(
                    answer.id, answer.indicator_key, item.level, item.not_applicable,
                    item.evidence, item.note, version, now, user_id,
                    item.evidence_kind, item.confidence)
                states[item.indicator_key] = AnswerState(item.level, item.not_applicable,
                                                         version)
            # One row is the usual autosave: a plain execute is cheaper than executemany.
            connection.execute(_CHANGE, updates[0] if len(updates) == 1 else updates)
            connection.execute(_RECORD, revisions[0] if len(revisions) == 1 else revisions)
            # The headline average moves only with a level or "n/a" (headline.py); the count
            # only when an answer became (un)answered. Typing evidence changes neither.
            # A carried-over answer changed becomes answered: it counts from now on.
            recounted = any(answer.answered != stored[answer.indicator_key].answered
                            for _, answer in changes)
            rescored = recounted or any((answer.level, answer.not_applicable)
                                        != (stored[answer.indicator_key].level,
                                            stored[answer.indicator_key].not_applicable)
                                        for _, answer in changes)
            # The scale of the instrument the caller parsed the answers with, or looked up.
            claimed = (headline_average(states, scale or headline.scale_of(connection,
                                                                           assessment_id))
                       if rescored else None)
            if recounted:
                connection.execute(_RECOUNT, {"assessment_id": assessment_id, "now": now,
                                              "claimed": claimed})
            elif rescored:
                connection.execute(_RESCORE, {"assessment_id": assessment_id,
                                              "claimed": claimed})
            if rescored and status == Status.RETURNED:
                # Reviewed levels exist: the validated average moves with an unreviewed
                # indicator's claim. Read both afresh (a returned assessment's saves only).
                headline.refresh(connection, assessment_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Saved([stored[key] for key in keys], states,
                 tuple(answer.indicator_key for _, answer in changes if answer.carried_over))


def confirm_answers(session: Session, assessment_id: int, keys: Iterable[str],
                    user_id: int) -> Saved:
    """Confirm the answers among `keys` that are still carried over from the previous round:
    they keep their values and count as answered from now on.

    The same path as a save: the assessment's lock, its status read under it
    (AssessmentLocked when it is not open for respondents), a new version and a revision of
    kind "confirm" per answer, the answered count kept, one commit. An answer that is no
    longer carried over (someone confirmed or changed it meanwhile) is left as it is, so a
    second click changes nothing.
    """
    keys = list(keys)
    now = datetime.now(UTC)
    try:
        connection = session.connection()
        lock_assessment(connection, assessment_id)
        stored, states, status = _current(connection, assessment_id, keys)
        carried = [stored[key] for key in keys if key in stored and stored[key].carried_over]
        if carried:
            updates, revisions = [], []
            for answer in carried:
                version = answer.version + 1
                updates.append({"answer_id": answer.id, "version": version, "updated_at": now,
                                "updated_by_id": user_id, "carried_over": False})
                revisions.append({
                    "answer_id": answer.id, "assessment_id": assessment_id,
                    "indicator_key": answer.indicator_key, "version": version,
                    "changed_by_id": user_id, "changed_at": now, "kind": "confirm",
                    "before": answer.as_dict(), "after": answer.as_dict()})
                stored[answer.indicator_key] = replace(
                    answer, version=version, updated_at=now, updated_by_id=user_id,
                    carried_over=False)
                states[answer.indicator_key] = AnswerState(answer.level,
                                                           answer.not_applicable, version)
            connection.execute(_CHANGE, updates[0] if len(updates) == 1 else updates)
            connection.execute(_RECORD, revisions[0] if len(revisions) == 1 else revisions)
            if any(stored[a.indicator_key].answered for a in carried):
                # Confirmed answers count from now on: in the count and the headline average.
                claimed = headline_average(states, headline.scale_of(connection, assessment_id))
                connection.execute(_RECOUNT, {"assessment_id": assessment_id, "now": now,
                                              "claimed": claimed})
                if status == Status.RETURNED:
                    headline.refresh(connection, assessment_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Saved([stored[key] for key in keys if key in stored], states,
                 tuple(a.indicator_key for a in carried))


def _record_conflicts(session: Session, assessment_id: int, conflicts: list, user_id: int,
                      now: datetime) -> None:
    """Keep each refused value in the history, so neither person's text is lost."""
    for item, answer in conflicts:
        current = session.get(Answer, answer.id)
        session.add(AnswerRevision(
            answer_id=current.id, assessment_id=assessment_id,
            indicator_key=current.indicator_key, version=current.version,
            changed_by_id=user_id, changed_at=now, kind="conflict",
            before=values_of(current), after=item.as_dict(),
        ))
    session.commit()


def unanswered(instrument: Instrument, answers: Mapping[str, Answer]) -> list[str]:
    """Keys of the indicators with neither a level nor a justified "not applicable"."""
    return [i.key for i in instrument.indicators
            if i.key not in answers or not answers[i.key].answered]
