"""A facilitator's review of the answers, and the query threads on indicators.

The review values follow the answers' rules (answers.py): the level is checked against the
assessment's own instrument by the same function, text is cleaned the same way, every
change writes a revision in its transaction, and a save carrying an older version than the
stored one is refused as a conflict (kept in the history), so two facilitators never
silently overwrite each other. Reviews change only while the assessment is submitted;
the first change marks the review as started (the submission can no longer be withdrawn).

A query is a thread on one indicator: the facilitator opens it (the indicator becomes
"queried"), anyone who may see the assessment's review replies, a reviewer closes it.
Nothing is deleted. SQLAlchemy, no Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from . import headline
from .answers import (
    N_,
    AnswerInputError,
    clean_text,
    field_name,
    parse_level,
    parse_version,
)
from .instrument import Instrument
from .models import (
    Answer,
    Assessment,
    QueryMessage,
    QueryThread,
    Review,
    ReviewRevision,
    ReviewState,
    Status,
)
from .text_policy import is_blank
from .transitions import lock_assessment

FINDING_LIMIT = 4_000
MESSAGE_LIMIT = 4_000


class ReviewLocked(Exception):
    """The assessment is not under review (not submitted): reviews cannot change now."""


class ThreadClosed(Exception):
    """The query has been closed, or the assessment validated: no more replies."""


class ReviewConflict(Exception):
    """Someone else changed this review after the person loaded it; `current` is theirs."""

    def __init__(self, current: Review) -> None:
        self.current = current
        super().__init__(current.indicator_key)


@dataclass(frozen=True)
class ReviewInput:
    """A facilitator's posted review of one indicator, with the version they were editing."""

    indicator_key: str
    level: int | None
    not_applicable: bool
    finding: str
    state: str
    expected_version: int | None

    def as_dict(self) -> dict:
        return review_values(self)


def review_values(review: ReviewInput | Review | ReviewView) -> dict:
    """What a review says, as compared between saves and kept in its history."""
    return {"level": review.level, "not_applicable": review.not_applicable,
            "finding": review.finding, "state": review.state}


@dataclass
class ReviewView:
    """What an indicator's review fields show: the stored review, or the claimed level
    when nobody has reviewed it yet (the validated level starts as the claimed one)."""

    level: int | None
    not_applicable: bool
    finding: str
    state: str
    version: int
    review: Review | None = None

    @classmethod
    def of(cls, review: Review | None, answer: Answer | None) -> ReviewView:
        if review is not None:
            return cls(review.level, review.not_applicable, review.finding, review.state,
                       review.version, review)
        return cls(answer.level if answer else None, bool(answer and answer.not_applicable),
                   "", ReviewState.PENDING, 0)

    @property
    def level_value(self) -> str:
        """The level as a form value: "na", a number, or ""."""
        return "na" if self.not_applicable else "" if self.level is None else str(self.level)

    @property
    def changed_from(self) -> bool:
        return self.review is not None


def parse_review(instrument: Instrument, indicator_key: str,
                 form: Mapping[str, str]) -> ReviewInput:
    """Validate one indicator's review fields from a form."""
    if instrument.indicator(indicator_key) is None:
        raise AnswerInputError(indicator_key, "indicator",
                               N_("%(key)s is not an indicator of this instrument."),
                               key=indicator_key)
    level, not_applicable = parse_level(
        instrument, indicator_key, "review-level",
        form.get(field_name(indicator_key, "review-level")))
    if level is None and not not_applicable:
        raise AnswerInputError(indicator_key, "review-level", N_("Choose the validated level."))
    finding = clean_text(indicator_key, "finding",
                         form.get(field_name(indicator_key, "finding"), ""), FINDING_LIMIT)
    state = (form.get(field_name(indicator_key, "state")) or ReviewState.PENDING).strip()
    if state not in {s.value for s in ReviewState}:
        raise AnswerInputError(indicator_key, "state",
                               N_("Choose whether the answer is accepted or queried."))
    version = parse_version(indicator_key, "review-version",
                            form.get(field_name(indicator_key, "review-version")))
    return ReviewInput(indicator_key, level, not_applicable, finding, state, version)


def _under_review(session: Session, assessment_id: int) -> Assessment:
    """Lock the assessment and check it is submitted; mark the review as started."""
    lock_assessment(session.connection(), assessment_id)
    assessment = session.get(Assessment, assessment_id, populate_existing=True)
    if assessment is None or assessment.status_enum != Status.SUBMITTED:
        raise ReviewLocked()
    if assessment.review_started_at is None:
        session.execute(update(Assessment).where(Assessment.id == assessment_id)
                        .values(review_started_at=datetime.now(UTC)))
    return assessment


def _review_row(session: Session, assessment_id: int, indicator_key: str) -> Review:
    """The stored review, created from the claimed answer on the first change.

    Runs under the assessment's lock, so two first changes cannot both create it.
    """
    review = session.scalar(select(Review).where(Review.assessment_id == assessment_id,
                                                 Review.indicator_key == indicator_key)
                            .execution_options(populate_existing=True))
    if review is None:
        answer = session.scalar(select(Answer).where(Answer.assessment_id == assessment_id,
                                                     Answer.indicator_key == indicator_key))
        review = Review(assessment_id=assessment_id, indicator_key=indicator_key,
                        level=answer.level if answer else None,
                        not_applicable=bool(answer and answer.not_applicable),
                        finding="", state=ReviewState.PENDING, version=0)
        session.add(review)
        session.flush()
    return review


def _change(session: Session, review: Review, values: dict, user_id: int, now: datetime,
            kind: str = "edit") -> None:
    before = review_values(review)
    if before == values:
        return
    for name, value in values.items():
        setattr(review, name, value)
    review.version += 1
    review.updated_at, review.updated_by_id = now, user_id
    session.add(ReviewRevision(review_id=review.id, assessment_id=review.assessment_id,
                               indicator_key=review.indicator_key, version=review.version,
                               changed_by_id=user_id, changed_at=now, kind=kind,
                               before=before, after=values))


def save_review(session: Session, assessment_id: int, item: ReviewInput,
                user_id: int) -> Review:
    """Save one indicator's review; raise ReviewLocked or ReviewConflict (nothing saved)."""
    now = datetime.now(UTC)
    try:
        _under_review(session, assessment_id)
        review = _review_row(session, assessment_id, item.indicator_key)
        if (review_values(review) != item.as_dict() and item.expected_version is not None
                and item.expected_version != review.version):
            session.add(ReviewRevision(
                review_id=review.id, assessment_id=assessment_id,
                indicator_key=review.indicator_key, version=review.version,
                changed_by_id=user_id, changed_at=now, kind="conflict",
                before=review_values(review), after=item.as_dict()))
            session.commit()
            raise ReviewConflict(session.get(Review, review.id,
                                             options=[joinedload(Review.updated_by)]))
        # A first review (the row is new) or a changed level moves the validated average.
        rescore = review.version == 0 or ((review.level, review.not_applicable)
                                          != (item.level, item.not_applicable))
        _change(session, review, item.as_dict(), user_id, now)
        if rescore:
            session.flush()  # the validated average reads the stored levels (headline.py)
            headline.refresh(session.connection(), assessment_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return review


def reviews_of(session: Session, assessment_id: int) -> dict[str, Review]:
    return {r.indicator_key: r for r in session.scalars(
        select(Review).options(joinedload(Review.updated_by))
        .where(Review.assessment_id == assessment_id))}


def revisions_of(session: Session, assessment_id: int, indicator_key: str) \
        -> list[ReviewRevision]:
    return list(session.scalars(
        select(ReviewRevision).options(joinedload(ReviewRevision.changed_by))
        .where(ReviewRevision.assessment_id == assessment_id,
               ReviewRevision.indicator_key == indicator_key)
        .order_by(ReviewRevision.id.desc())))


def _message(body: str) -> str:
    body = clean_text("query", "message", body, MESSAGE_LIMIT).strip()
    if is_blank(body):
        raise AnswerInputError("query", "message", N_("Write the message."))
    return body


def open_query(session: Session, assessment_id: int, indicator_key: str, body: str,
               user_id: int) -> QueryThread:
    """Ask a question on an indicator (or add to its open thread); it becomes "queried"."""
    body = _message(body)
    now = datetime.now(UTC)
    try:
        _under_review(session, assessment_id)
        thread = session.scalar(select(QueryThread).where(
            QueryThread.assessment_id == assessment_id,
            QueryThread.indicator_key == indicator_key, QueryThread.closed_at.is_(None)))
        if thread is None:
            thread = QueryThread(assessment_id=assessment_id, indicator_key=indicator_key,
                                 opened_by_id=user_id, opened_at=now)
            session.add(thread)
            session.flush()
        session.add(QueryMessage(thread_id=thread.id, author_id=user_id, at=now, body=body))
        review = _review_row(session, assessment_id, indicator_key)
        _change(session, review, {**review_values(review), "state": ReviewState.QUERIED},
                user_id, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return thread


def reply(session: Session, thread: QueryThread, body: str, user_id: int) -> QueryMessage:
    """Add a message to an open thread of an assessment not yet validated."""
    body = _message(body)
    try:
        lock_assessment(session.connection(), thread.assessment_id)
        session.refresh(thread)
        status = session.scalar(select(Assessment.status)
                                .where(Assessment.id == thread.assessment_id))
        if thread.closed_at is not None or status == Status.VALIDATED:
            raise ThreadClosed()
        message = QueryMessage(thread_id=thread.id, author_id=user_id,
                               at=datetime.now(UTC), body=body)
        session.add(message)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return message


def close(session: Session, thread: QueryThread, user_id: int) -> None:
    """A reviewer closes a thread: the conversation stays, no more replies."""
    try:
        lock_assessment(session.connection(), thread.assessment_id)
        session.refresh(thread)
        if thread.closed_at is not None:
            raise ThreadClosed()
        thread.closed_at, thread.closed_by_id = datetime.now(UTC), user_id
        session.commit()
    except BaseException:
        session.rollback()
        raise


def threads_of(session: Session, assessment_id: int) -> dict[str, list[QueryThread]]:
    """Every thread of an assessment with its messages and authors, by indicator, oldest
    first (three queries whatever their number)."""
    threads: dict[str, list[QueryThread]] = {}
    for thread in session.scalars(
            select(QueryThread)
            .options(joinedload(QueryThread.opened_by), joinedload(QueryThread.closed_by),
                     selectinload(QueryThread.messages).joinedload(QueryMessage.author))
            .where(QueryThread.assessment_id == assessment_id).order_by(QueryThread.id)):
        threads.setdefault(thread.indicator_key, []).append(thread)
    return threads
