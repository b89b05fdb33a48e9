"""Change an assessment's status: the one function every step of the workflow goes through.

`perform` takes the assessment's lock (the same one answer saves take, so no save slips in
between a check and the change), gathers the facts workflow.py's checks need, asks
`workflow.decide`, and writes the new status with an event (who, when, from, to, message)
in one transaction; a refusal changes nothing. A validation also freezes a sign-off
snapshot (signoff.py). A status an admin changes (a reopening always is) also goes into
the admin audit log, in the same transaction. SQLAlchemy, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session, joinedload

from . import audit, signoff
from .answers import clean_text, unanswered
from .instrument import Instrument
from .models import (
    Answer,
    Assessment,
    AssessmentEvent,
    Organisation,
    QueryThread,
    Review,
    ReviewState,
    Role,
    Status,
)
from .sqlite_writes import hold_write_lock
from .workflow import Action, Facts, Refusal, decide

MESSAGE_LIMIT = 4_000


class TransitionRefused(Exception):
    """The action does not apply now; `refusal` says why (workflow.Refusal)."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.reason % refusal.params if refusal.params else refusal.reason)


@dataclass(frozen=True)
class Actor:
    """Who acts: their id and role (the caller has checked they may act on this assessment),
    and their e-mail, which the audit log keeps beside the id."""

    id: int
    role: Role
    email: str = ""


def audited(action: Action, role: Role) -> bool:
    """Whether a status change goes into the admin audit log as well as the assessment's
    events: an admin's (a reopening, or an admin validating or returning in a
    facilitator's place), not a team's or a facilitator's everyday steps."""
    return action == Action.REOPEN or role == Role.ADMIN


def lock_assessment(connection: Connection, assessment_id: int) -> None:
    """Take the assessment's write lock: SQLite's writer lock, or the row lock elsewhere."""
    if connection.dialect.name == "sqlite":
        hold_write_lock(connection)
    else:
        connection.execute(select(Assessment.id).where(Assessment.id == assessment_id)
                           .with_for_update())


def open_query_counts(session: Session, assessment_ids: list[int]) -> dict[int, int]:
    """Open queries per assessment, in one query (for lists and overviews), even for an
    empty page: a page costs the same number of statements whatever it holds."""
    rows = session.execute(
        select(QueryThread.assessment_id, func.count(QueryThread.id))
        .where(QueryThread.assessment_id.in_(assessment_ids), QueryThread.closed_at.is_(None))
        .group_by(QueryThread.assessment_id))
    return dict(rows.all())


def gather_facts(session: Session, assessment: Assessment, instrument: Instrument,
                 message: str = "") -> Facts:
    """What the workflow's checks need, read from the database as it is now."""
    answers = {a.indicator_key: a for a in session.scalars(
        select(Answer).where(Answer.assessment_id == assessment.id))}
    accepted = set(session.scalars(
        select(Review.indicator_key).where(Review.assessment_id == assessment.id,
                                           Review.state == ReviewState.ACCEPTED)))
    last_submit = session.scalar(
        select(AssessmentEvent.from_status)
        .where(AssessmentEvent.assessment_id == assessment.id,
               AssessmentEvent.action == Action.SUBMIT)
        .order_by(AssessmentEvent.id.desc()).limit(1))
    return Facts(
        unanswered=len(unanswered(instrument, answers)),
        review_started=assessment.review_started_at is not None,
        open_queries=open_query_counts(session, [assessment.id]).get(assessment.id, 0),
        not_accepted=sum(1 for i in instrument.indicators if i.key not in accepted),
        message=message,
        submitted_from=Status(last_submit) if last_submit else Status.DRAFT,
    )


def check(session: Session, assessment: Assessment, instrument: Instrument, action: Action,
          role: Role, message: str = "") -> Status | Refusal:
    """What `perform` would answer now, without changing anything (for pages to explain)."""
    return decide(assessment.status_enum, action, role,
                  gather_facts(session, assessment, instrument, message))


def perform(session: Session, assessment: Assessment, instrument: Instrument, action: Action,
            actor: Actor, message: str = "") -> AssessmentEvent:
    """Apply `action` and record it, or raise TransitionRefused (or AnswerInputError for a
    message that breaks the text policy) and change nothing."""
    # The text policy of every stored text (answers.clean_text): AnswerInputError if broken.
    message = clean_text("message", "message", message, MESSAGE_LIMIT).strip()
    try:
        lock_assessment(session.connection(), assessment.id)
        session.refresh(assessment)  # the status as it is under the lock
        before = assessment.status_enum
        outcome = decide(before, action, actor.role,
                         gather_facts(session, assessment, instrument, message))
        if isinstance(outcome, Refusal):
            raise TransitionRefused(outcome)
        now = datetime.now(UTC)
        values: dict = {"status": outcome, "updated_at": now}
        if action == Action.SUBMIT:
            values.update(submitted_at=now, submitted_by_id=actor.id, review_started_at=None)
        elif action == Action.WITHDRAW:
            values.update(submitted_at=None, submitted_by_id=None)
        elif action == Action.VALIDATE:
            values.update(validated_at=now)
        elif action == Action.REOPEN:
            values.update(validated_at=None, review_started_at=now)
        session.execute(update(Assessment).where(Assessment.id == assessment.id).values(values))
        event = AssessmentEvent(assessment_id=assessment.id, action=action,
                                from_status=before, to_status=outcome, actor_id=actor.id,
                                at=now, message=message)
        session.add(event)
        if audited(action, actor.role):
            _record_in_audit_log(session, assessment, action, actor, before, outcome, message)
        if action == Action.VALIDATE:
            session.flush()
            signoff.freeze(session, assessment, instrument, actor.id, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(assessment)
    return event


def _record_in_audit_log(session: Session, assessment: Assessment, action: Action,
                         actor: Actor, before: Status, after: Status, message: str) -> None:
    """The audit entry of an admin's status change, named "assessment.<action>"; its
    record is the assessment, labelled with its administration and round."""
    administration = session.scalar(select(Organisation.name).where(
        Organisation.id == assessment.organisation_id)) or ""
    audit.record(session, actor, f"assessment.{action.value}", "assessment", assessment.id,
                 f"{administration} · {assessment.round_name}", status_before=before.value,
                 status_after=after.value, message=message)


def events_of(session: Session, assessment_id: int) -> list[AssessmentEvent]:
    """The assessment's steps so far, oldest first."""
    return list(session.scalars(
        select(AssessmentEvent).options(joinedload(AssessmentEvent.actor))
        .where(AssessmentEvent.assessment_id == assessment_id).order_by(AssessmentEvent.id)))
