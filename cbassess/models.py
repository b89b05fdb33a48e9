"""Database tables.

Answers hold the current value of each indicator; every change to one is also written to
answer_revisions in the same transaction, so the history is complete by construction.
Assessments point at the exact instrument text they were taken on (instruments.source
and its hash), so editing an instrument file never changes an earlier assessment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .workflow import Role as Role  # stored in users.role; imported from here by the app
from .workflow import Status


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organisation(db.Model):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The languages the administration works in: ISO 639-1 codes separated by commas.
    languages: Mapped[str] = mapped_column(String(100), default="en", server_default="en")

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]


facilitator_assignments = db.Table(
    "facilitator_assignments",
    db.Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    db.Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"),
              primary_key=True),
)


class Account(UserMixin):
    """Flask-Login's view of a person, shared by the User row and security.SignedInUser."""

    active: bool
    name: str
    email: str

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot sign in
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email


class User(Account, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A respondent who leads their administration's team: assigns principles to colleagues.
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())

    organisation: Mapped[Organisation | None] = relationship()
    assigned_organisations: Mapped[list[Organisation]] = relationship(
        secondary=facilitator_assignments, order_by=Organisation.name
    )


class Instrument(db.Model):
    """One published instrument text; the YAML is kept whole so it can be re-read exactly."""

    __tablename__ = "instruments"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Deferred: list pages join this table, and the text (tens of KB) is read only to
    # parse it, once per process (permissions.parse_instrument_row).
    source: Mapped[str] = mapped_column(Text, deferred=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A retired version is kept for the assessments taken on it; no new one can use it.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class Assessment(db.Model):
    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("organisation_id", "round_name"),
        # The lists sort by (created_at, id): these cover the facilitator's (by
        # administration) and the admin's (all) without reading the table.
        Index("ix_assessments_organisation_created", "organisation_id", "created_at", "id"),
        Index("ix_assessments_created", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="RESTRICT"))
    round_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=Status.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Moves when the status or the answered count changes; each answer has its own time.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by a facilitator's first review change after a submission: withdrawing ends there.
    # (Who validated is in the validate event and the snapshot: a new foreign key here would
    # make SQLite copy the table, and the copy's drop would cascade to the answers.)
    review_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_count: Mapped[int] = mapped_column(Integer, default=0)
    # The headline averages (headline.py), kept with every change of a level so that the
    # dashboard sorts on them in SQL: claimed, and validated (null until a first review).
    claimed_average: Mapped[float | None] = mapped_column(Float)
    validated_average: Mapped[float | None] = mapped_column(Float)

    organisation: Mapped[Organisation] = relationship()
    instrument_row: Mapped[Instrument] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])

    @property
    def status_enum(self) -> Status:
        return Status(self.status)


class Answer(db.Model):
    """The current answer to one indicator; `version` counts its changes (for edit conflicts)."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "indicator_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE")
    )
    indicator_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Optional, when the instrument asks for them (instrument.ANSWER_FIELDS).
    evidence_kind: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Copied from the previous round and not yet confirmed or changed: counts as unanswered.
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    updated_by: Mapped[User | None] = relationship()

    @property
    def answered(self) -> bool:
        return not self.carried_over and (self.not_applicable or self.level is not None)


class AnswerRevision(db.Model):
    """One change to an answer: who, when, the value before and after."""

    __tablename__ = "answer_revisions"
    __table_args__ = (Index("ix_answer_revisions_answer", "answer_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    indicator_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="edit")
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)

    changed_by: Mapped[User | None] = relationship()


class Action(db.Model):
    """The planned action for one indicator below its target (cbassess.action_plan).

    A row exists once someone saves the action; until then the plan shows the defaults
    (target one level up, the next level's descriptor as the action). `version` counts
    saves, for edit conflicts, as on answers.
    """

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("assessment_id", "indicator_key",
                                       name="uq_actions_assessment_indicator"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    target_level: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str | None] = mapped_column(String(10))  # None: the suggested one
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    progress_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()


class ActionRevision(db.Model):
    """One save of an action (or a refused, conflicting one): who, when, before and after."""

    __tablename__ = "action_revisions"
    __table_args__ = (Index("ix_action_revisions_assessment_indicator",
                            "assessment_id", "indicator_key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="edit")
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)

    changed_by: Mapped[User | None] = relationship()


class ActionComment(db.Model):
    """A facilitator's comment on an indicator's action (kept even before the action is saved)."""

    __tablename__ = "action_comments"
    __table_args__ = (Index("ix_action_comments_assessment_indicator",
                            "assessment_id", "indicator_key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    author: Mapped[User | None] = relationship()


class PasswordToken(db.Model):
    """A one-time link to set a password (an invitation or a reset).

    Only the SHA-256 of the token is stored: the link itself exists only in the e-mail or
    on the admin's screen, so a copy of the database opens no account.
    """

    __tablename__ = "password_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_password_tokens_token_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class AuditEntry(db.Model):
    """One administrative action: who did what to which record, and when.

    The actor's e-mail and the record's label are copied in, so an entry still reads right
    after the user or the record changes name.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created", "created_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(50), index=True)
    target_type: Mapped[str] = mapped_column(String(30), index=True)
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_label: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class PrincipleAssignment(db.Model):
    """Who in the administration's team answers a principle of an assessment (one person
    per principle; everyone in the team can still read and answer everything)."""

    __tablename__ = "principle_assignments"
    __table_args__ = (UniqueConstraint("assessment_id", "principle_key",
                                       name="uq_principle_assignments_assessment_principle"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    principle_key: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class EvidenceFile(db.Model):
    """A file attached to an answer. The content is in the evidence store under its SHA-256;
    a removed file keeps its row (removed_at, removed_by), so the history still shows it."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        Index("ix_evidence_files_answer", "assessment_id", "indicator_key", "id"),
        Index("ix_evidence_files_sha256", "sha256"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE")
    )
    indicator_key: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    attached_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attached_by: Mapped[User | None] = relationship(foreign_keys=[attached_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])
class AssessmentEvent(db.Model):
    """One step of an assessment's life (submit, withdraw, return, validate, reopen):
    who, when, from which status to which, and the message they wrote."""

    __tablename__ = "assessment_events"
    __table_args__ = (Index("ix_assessment_events_assessment", "assessment_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    message: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()


class ReviewState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    QUERIED = "queried"


class Review(db.Model):
    """A facilitator's view of one answer: the validated level (or N/A), a finding, a state.

    `version` counts changes, for edit conflicts between two facilitators, as for answers.
    """

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("assessment_id", "indicator_key",
                                       name="uq_reviews_assessment_indicator"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[int | None] = mapped_column(Integer)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    finding: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default=ReviewState.PENDING)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()


class ReviewRevision(db.Model):
    """One change to a review: who, when, the values before and after (or a refused one)."""

    __tablename__ = "review_revisions"
    __table_args__ = (Index("ix_review_revisions_assessment", "assessment_id", "indicator_key",
                            "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="edit")
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)

    changed_by: Mapped[User | None] = relationship()


class QueryThread(db.Model):
    """A facilitator's question on one indicator and the conversation that follows."""

    __tablename__ = "query_threads"
    __table_args__ = (Index("ix_query_threads_assessment", "assessment_id", "closed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    indicator_key: Mapped[str] = mapped_column(String(40))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    messages: Mapped[list[QueryMessage]] = relationship(
        order_by="QueryMessage.id", back_populates="thread")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class QueryMessage(db.Model):
    __tablename__ = "query_messages"
    __table_args__ = (Index("ix_query_messages_thread", "thread_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("query_threads.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User | None] = relationship()
    thread: Mapped[QueryThread] = relationship(back_populates="messages")


class SignOffSnapshot(db.Model):
    """What was validated, frozen: canonical JSON and its SHA-256 (printed on reports)."""

    __tablename__ = "signoff_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    validated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportedAuthor(db.Model):
    """Someone an imported assessment names who has no account here: their e-mail and name
    as the export gave them, for the row and column that names them. That column stays
    empty (no account is created for them); pages and exports read the name from here."""

    __tablename__ = "imported_authors"
    __table_args__ = (Index("ix_imported_authors_assessment", "assessment_id", "record_table"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    record_table: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")


class RoundLink(db.Model):
    """An assessment started as the next round of an earlier one (cbassess.rounds): its
    answers were carried over from `previous`, and the comparison pages compare the two."""

    __tablename__ = "round_links"
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True)
    previous_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    assessment: Mapped[Assessment] = relationship(foreign_keys=[assessment_id])
    previous: Mapped[Assessment] = relationship(foreign_keys=[previous_id])
    started_by: Mapped[User | None] = relationship()
