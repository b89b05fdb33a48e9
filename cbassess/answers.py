"""Validate and save answers: the one write path for both autosave and the plain form post.

Rules kept here, outside the views:
- input is checked against the assessment's own instrument (scale, keys, limits) before
  anything is written, and a batch is written whole or not at all;
- the assessment's status is checked under the same lock as the write, so a save can never
  slip in after a submission;
- the answer row is created with a real upsert (INSERT … ON CONFLICT DO NOTHING), so two
  first saves of one answer never collide;
- every change writes a revision in the same transaction; a save that carries an older
  version than the stored one is refused as an edit conflict (and the attempt is kept in the
  history), so nobody silently overwrites a newer change.

Uses SQLAlchemy but nothing from Flask.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .instrument import Instrument
from .models import Answer, AnswerRevision, Assessment, Status

EVIDENCE_LIMIT = 20_000
NOTE_LIMIT = 4_000
NOT_APPLICABLE = "na"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AnswerInputError(ValueError):
    """A posted answer breaks a rule; `field` names which part ("level", "evidence", …)."""

    def __init__(self, indicator_key: str, field: str, message: str) -> None:
        self.indicator_key, self.field, self.message = indicator_key, field, message
        super().__init__(f"{indicator_key} {field}: {message}")


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

    def as_dict(self) -> dict:
        return {"level": self.level, "not_applicable": self.not_applicable,
                "evidence": self.evidence, "note": self.note}


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


def field_name(indicator_key: str, part: str) -> str:
    """Form field name of one part of an answer, e.g. "PW.1-evidence"."""
    return f"{indicator_key}-{part}"


def has_control_characters(text: str) -> bool:
    """True when text holds control characters other than tab and line ends."""
    return _CONTROL.search(text) is not None


def clean_text(indicator_key: str, field: str, value: str, limit: int) -> str:
    """Normalise line ends and Unicode (NFC) and enforce the limit; refuse control characters.

    NFC makes the same words typed on different keyboards the same stored answer.
    """
    if has_control_characters(value):
        raise AnswerInputError(indicator_key, field,
                               "contains control characters that cannot be stored")
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    if len(value) > limit:
        raise AnswerInputError(
            indicator_key, field,
            f"is {len(value):,} characters long; the limit is {limit:,}",
        )
    return value


def parse_answer(instrument: Instrument, indicator_key: str,
                 form: Mapping[str, str]) -> AnswerInput:
    """Validate one indicator's fields from a form, against the assessment's instrument."""
    indicator = instrument.indicator(indicator_key)
    if indicator is None:
        raise AnswerInputError(indicator_key, "indicator",
                               f"{indicator_key!r} is not an indicator of this instrument")
    raw_level = (form.get(field_name(indicator_key, "level")) or "").strip()
    level: int | None = None
    not_applicable = False
    scale = instrument.scale
    if raw_level == NOT_APPLICABLE:
        if not scale.not_applicable_allowed:
            raise AnswerInputError(indicator_key, "level",
                                   "this instrument does not allow “not applicable”")
        not_applicable = True
    elif raw_level:
        if not re.fullmatch(r"-?[0-9]{1,3}", raw_level):
            raise AnswerInputError(indicator_key, "level", "the level must be a number")
        level = int(raw_level)
        if level not in scale.values:
            raise AnswerInputError(
                indicator_key, "level",
                f"level {level} is outside the scale ({scale.minimum} to {scale.maximum})",
            )
    evidence = clean_text(indicator_key, "evidence",
                          form.get(field_name(indicator_key, "evidence"), ""), EVIDENCE_LIMIT)
    note = clean_text(indicator_key, "note",
                      form.get(field_name(indicator_key, "note"), ""), NOTE_LIMIT)
    if not_applicable and not evidence.strip():
        raise AnswerInputError(indicator_key, "evidence",
                               "“Not applicable” needs a written justification in the "
                               "evidence field")
    raw_version = (form.get(field_name(indicator_key, "version")) or "").strip()
    expected_version: int | None = None
    if raw_version:
        # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
        if not re.fullmatch(r"[0-9]{1,9}", raw_version):
            raise AnswerInputError(indicator_key, "version", "the form's version is invalid")
        expected_version = int(raw_version)
    return AnswerInput(indicator_key, level, not_applicable, evidence, note, expected_version)


def _insert(session: Session):
    """The dialect's INSERT construct, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _snapshot(answer: Answer) -> dict:
    return {"level": answer.level, "not_applicable": answer.not_applicable,
            "evidence": answer.evidence, "note": answer.note}


def save_answers(session: Session, assessment_id: int, inputs: Iterable[AnswerInput],
                 user_id: int) -> list[Answer]:
    """Save a batch of validated answers in one transaction; return the stored answers.

    Raises AssessmentLocked when the assessment is not open for respondents, EditConflict
    when any answer was changed since its `expected_version` (nothing is saved then, and each
    refused value is kept in the history as a "conflict" revision). An answer posted
    unchanged writes nothing.
    """
    inputs = list(inputs)
    now = datetime.now(UTC)
    try:
        locked = session.execute(
            update(Assessment)
            .where(Assessment.id == assessment_id,
                   Assessment.status.in_([Status.DRAFT, Status.RETURNED]))
            .values(updated_at=now)
            # Nothing in the session needs the new time before the commit expires it.
            .execution_options(synchronize_session=False)
        )
        if locked.rowcount != 1:
            raise AssessmentLocked()
        keys = [item.indicator_key for item in inputs]
        rows = _answer_rows(session, assessment_id, keys)
        missing = [item for item in inputs if item.indicator_key not in rows]
        if missing:  # first saves only: most saves change an answer that exists
            insert = _insert(session)
            session.execute(
                insert(Answer)
                .values([{"assessment_id": assessment_id, "indicator_key": item.indicator_key,
                          "version": 0, "evidence": "", "note": "", "not_applicable": False}
                         for item in missing])
                .on_conflict_do_nothing(index_elements=["assessment_id", "indicator_key"])
            )
            rows = _answer_rows(session, assessment_id, keys)
        conflicts, changes = [], []
        for item in inputs:
            answer = rows[item.indicator_key]
            if _snapshot(answer) == item.as_dict():
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
        recount = False
        for item, answer in changes:
            before = _snapshot(answer)
            recount = recount or answer.answered != (item.not_applicable or item.level is not None)
            answer.level, answer.not_applicable = item.level, item.not_applicable
            answer.evidence, answer.note = item.evidence, item.note
            answer.version += 1
            answer.updated_at, answer.updated_by_id = now, user_id
            session.add(AnswerRevision(
                answer_id=answer.id, assessment_id=assessment_id,
                indicator_key=answer.indicator_key, version=answer.version,
                changed_by_id=user_id, changed_at=now, kind="edit",
                before=before, after=item.as_dict(),
            ))
        if changes:
            session.flush()
        if recount:  # only when an answer became answered or unanswered
            refresh_answered_count(session, assessment_id)
        saved = [rows[item.indicator_key] for item in inputs]
        _keep_as_saved(session, saved)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return saved


def _answer_rows(session: Session, assessment_id: int, keys: list[str]) -> dict[str, Answer]:
    """The answers with these keys, read afresh and locked for this transaction."""
    return {answer.indicator_key: answer for answer in session.scalars(
        select(Answer)
        .where(Answer.assessment_id == assessment_id, Answer.indicator_key.in_(keys))
        .with_for_update()
        .execution_options(populate_existing=True))}


def _keep_as_saved(session: Session, answers: list[Answer]) -> None:
    """Detach the saved answers so they keep the values this save wrote.

    A commit expires every object in the session, and reading one afterwards re-reads its
    row, which by then may hold someone else's newer save. The reply would then hand that
    newer version to this person's page, and their next save would overwrite the other
    change without a conflict.
    """
    for answer in answers:
        _ = answer.updated_by  # loaded now: a detached answer cannot load it later
        session.expunge(answer)


def _record_conflicts(session: Session, assessment_id: int, conflicts: list, user_id: int,
                      now: datetime) -> None:
    """Keep each refused value in the history, so neither person's text is lost."""
    for item, answer in conflicts:
        current = session.get(Answer, answer.id)
        session.add(AnswerRevision(
            answer_id=current.id, assessment_id=assessment_id,
            indicator_key=current.indicator_key, version=current.version,
            changed_by_id=user_id, changed_at=now, kind="conflict",
            before=_snapshot(current), after=item.as_dict(),
        ))
    session.commit()


def refresh_answered_count(session: Session, assessment_id: int) -> None:
    """Recount the assessment's answered indicators (kept on the row for fast list pages)."""
    answered = (
        select(func.count(Answer.id))
        .where(Answer.assessment_id == assessment_id,
               (Answer.level.is_not(None)) | Answer.not_applicable)
        .scalar_subquery()
    )
    session.execute(
        update(Assessment).where(Assessment.id == assessment_id)
        .values(answered_count=answered)
    )


def unanswered(instrument: Instrument, answers: Mapping[str, Answer]) -> list[str]:
    """Keys of the indicators with neither a level nor a justified "not applicable"."""
    return [i.key for i in instrument.indicators
            if i.key not in answers or not answers[i.key].answered]


def submit(session: Session, assessment: Assessment, instrument: Instrument,
           user_id: int) -> list[str]:
    """Submit an assessment for review if every indicator is answered.

    Returns the unanswered indicator keys (and changes nothing) when it is incomplete;
    raises AssessmentLocked when it is not open for respondents.
    """
    try:
        now = datetime.now(UTC)
        locked = session.execute(
            update(Assessment)
            .where(Assessment.id == assessment.id,
                   Assessment.status.in_([Status.DRAFT, Status.RETURNED]))
            .values(updated_at=now)
        )
        if locked.rowcount != 1:
            raise AssessmentLocked()
        answers = {a.indicator_key: a for a in session.scalars(
            select(Answer).where(Answer.assessment_id == assessment.id))}
        missing = unanswered(instrument, answers)
        if missing:
            session.rollback()
            return missing
        session.execute(
            update(Assessment).where(Assessment.id == assessment.id)
            .values(status=Status.SUBMITTED, submitted_at=now, submitted_by_id=user_id)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(assessment)
    return []
