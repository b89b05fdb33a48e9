"""Read and save an assessment's action plan: the one write path for actions and comments.

The save follows the answers' pattern (cbassess.answers) and shares its pieces: the
assessment's write lock (`lock_assessment`) is taken before the action is read, so no
other save comes between the read and the write; the row is created by a real upsert
(`insert_missing`) on its first save; a save that carries an older version than the stored
one is refused as an edit conflict, and the refused value is kept in the history; every
change writes a revision in the same transaction.

Unlike answers, actions stay editable whatever the assessment's status: the plan is the
work that follows a submission or a validation.

Uses SQLAlchemy but nothing from Flask.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from .action_plan import ActionInput, Comment, StoredAction, action_values
from .answers import insert_missing, lock_assessment
from .claims import is_unsupported
from .evidence import indicators_with_files
from .instrument import Instrument
from .interchange import Authors
from .models import Action, ActionComment, ActionRevision, Answer, Assessment
from .scoring import AnswerValue

_actions = Action.__table__


class ActionConflict(Exception):
    """The action was saved by someone else after the person loaded it."""

    def __init__(self, current: StoredAction) -> None:
        self.current = current
        super().__init__(current.indicator_key)


class AssessmentGone(Exception):
    """The assessment was deleted while the person was editing its plan."""


def _stored(row: Action, authors: Authors | None = None) -> StoredAction:
    return StoredAction(
        indicator_key=row.indicator_key, target_level=row.target_level,
        description=row.description, owner=row.owner, due_date=_as_date(row.due_date),
        priority=row.priority, status=row.status, progress_note=row.progress_note,
        version=row.version, updated_at=row.updated_at,
        updated_by=authors.name(row, "updated_by") if authors
        else row.updated_by.display_name if row.updated_by else None)


def _as_date(value) -> date | None:
    """A DATE column as a date (a driver may hand back a datetime)."""
    return value.date() if isinstance(value, datetime) else value


def answer_levels(session: Session, assessment_id: int,
                  instrument: Instrument) -> dict[str, AnswerValue]:
    """Each answered indicator's level or "not applicable", and whether the level is a
    claim without the evidence it needs (claims.is_unsupported: text or a file), in two
    narrow queries. An answer carried over from the previous round counts once confirmed
    or changed."""
    rows = session.execute(
        select(Answer.indicator_key, Answer.level, Answer.not_applicable, Answer.evidence)
        .where(Answer.assessment_id == assessment_id, Answer.carried_over.is_(False)))
    with_files = indicators_with_files(session, assessment_id)
    levels = {}
    for row in rows:
        indicator = instrument.indicator(row.indicator_key)
        levels[row.indicator_key] = AnswerValue(
            row.level, bool(row.not_applicable),
            indicator is not None and is_unsupported(indicator, row,
                                                     row.indicator_key in with_files))
    return levels


def load_actions(session: Session, assessment_id: int) -> dict[str, StoredAction]:
    """The saved actions of an assessment, by indicator key."""
    authors = Authors(session, assessment_id)
    return {row.indicator_key: _stored(row, authors) for row in session.scalars(
        select(Action).options(joinedload(Action.updated_by))
        .where(Action.assessment_id == assessment_id))}


def load_comments(session: Session, assessment_id: int) -> dict[str, list[Comment]]:
    """The comments on an assessment's actions, oldest first, by indicator key."""
    comments: dict[str, list[Comment]] = {}
    authors = Authors(session, assessment_id)
    for row in session.scalars(
            select(ActionComment).options(joinedload(ActionComment.author))
            .where(ActionComment.assessment_id == assessment_id).order_by(ActionComment.id)):
        author = authors.name(row, "author") or "—"
        comments.setdefault(row.indicator_key, []).append(
            Comment(author, row.body, row.created_at))
    return comments


def load_history(session: Session, assessment_id: int, indicator_key: str) \
        -> list[ActionRevision]:
    """Every save of one action (and every refused one), newest first."""
    return list(session.scalars(
        select(ActionRevision).options(joinedload(ActionRevision.changed_by))
        .where(ActionRevision.assessment_id == assessment_id,
               ActionRevision.indicator_key == indicator_key)
        .order_by(ActionRevision.id.desc())))


def save_action(session: Session, assessment_id: int, item: ActionInput,
                user_id: int) -> StoredAction:
    """Save one validated action in one transaction and return it as stored.

    Raises ActionConflict when the action was saved since `item.expected_version` (nothing
    changes then but the history, which keeps the refused value as a "conflict" revision),
    AssessmentGone when the assessment no longer exists. A save that changes nothing
    writes nothing.
    """
    now = datetime.now(UTC)
    try:
        connection = session.connection()
        lock_assessment(connection, assessment_id)
        if session.get(Assessment, assessment_id) is None:
            raise AssessmentGone()
        insert_missing(connection, _actions, [{
            "assessment_id": assessment_id, "indicator_key": item.indicator_key,
            "description": "", "owner": "", "status": "not_started", "progress_note": "",
            "version": 0}], ["assessment_id", "indicator_key"])
        row = session.scalars(
            select(Action).options(joinedload(Action.updated_by))
            .where(Action.assessment_id == assessment_id,
                   Action.indicator_key == item.indicator_key)
            .execution_options(populate_existing=True)).one()
        current = _stored(row)
        if current.values() == item.values():
            session.commit()
            return current
        if item.expected_version is not None and item.expected_version != current.version:
            session.rollback()
            _record_conflict(session, assessment_id, item, user_id, now)
            raise ActionConflict(current)
        version = current.version + 1
        values = item.values()
        session.execute(update(Action).where(Action.id == row.id).values(
            target_level=item.target_level, description=item.description, owner=item.owner,
            due_date=item.due_date, priority=item.priority, status=item.status,
            progress_note=item.progress_note, version=version, updated_at=now,
            updated_by_id=user_id))
        session.add(ActionRevision(
            action_id=row.id, assessment_id=assessment_id, indicator_key=item.indicator_key,
            version=version, changed_by_id=user_id, changed_at=now, kind="edit",
            before=current.values(), after=values))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    row = session.scalars(select(Action).options(joinedload(Action.updated_by))
                          .where(Action.id == row.id)
                          .execution_options(populate_existing=True)).one()
    return _stored(row)


def _record_conflict(session: Session, assessment_id: int, item: ActionInput, user_id: int,
                     now: datetime) -> None:
    """Keep the refused value in the history, so neither person's text is lost."""
    row = session.scalars(select(Action).where(
        Action.assessment_id == assessment_id,
        Action.indicator_key == item.indicator_key)).one()
    session.add(ActionRevision(
        action_id=row.id, assessment_id=assessment_id, indicator_key=item.indicator_key,
        version=row.version, changed_by_id=user_id, changed_at=now, kind="conflict",
        before=action_values(_stored(row)), after=item.values()))
    session.commit()


def carry_actions(session: Session, assessment_id: int, items: list[StoredAction],
                  user_id: int) -> list[str]:
    """Carry actions of the previous round into this round's plan, each as it stood (its
    text, owner, due date, priority, status and progress), with a revision of kind
    "carried". An indicator that already has an action in this plan keeps it: the carried
    one is skipped. Returns the keys carried; one transaction, under the assessment's lock."""
    now = datetime.now(UTC)
    carried = []
    try:
        connection = session.connection()
        lock_assessment(connection, assessment_id)
        if session.get(Assessment, assessment_id) is None:
            raise AssessmentGone()
        present = set(session.scalars(select(Action.indicator_key)
                                      .where(Action.assessment_id == assessment_id)))
        for item in items:
            if item.indicator_key in present:
                continue
            row = Action(assessment_id=assessment_id, indicator_key=item.indicator_key,
                         target_level=item.target_level, description=item.description,
                         owner=item.owner, due_date=item.due_date, priority=item.priority,
                         status=str(item.status), progress_note=item.progress_note, version=1,
                         updated_at=now, updated_by_id=user_id)
            session.add(row)
            session.flush()
            session.add(ActionRevision(
                action_id=row.id, assessment_id=assessment_id,
                indicator_key=item.indicator_key, version=1, changed_by_id=user_id,
                changed_at=now, kind="carried",
                before=action_values(StoredAction(item.indicator_key)),
                after=action_values(item)))
            present.add(item.indicator_key)
            carried.append(item.indicator_key)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return carried


def add_comment(session: Session, assessment_id: int, indicator_key: str, author_id: int,
                body: str) -> None:
    """Add a comment to an indicator's action (whether or not the action is saved yet)."""
    try:
        session.add(ActionComment(assessment_id=assessment_id, indicator_key=indicator_key,
                                  author_id=author_id, body=body,
                                  created_at=datetime.now(UTC)))
        session.commit()
    except BaseException:
        session.rollback()
        raise
