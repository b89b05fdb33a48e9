"""Who may see and change what, stated once and used by every view.

- A respondent sees and edits only their own administration's assessments.
- A facilitator sees the assessments of the administrations assigned to them (read-only
  until the review workflow exists).
- An admin sees everything.
An assessment the user may not see answers 404, so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .instrument import Instrument as InstrumentSpec
from .instrument import load_text
from .models import Assessment, Instrument, Role, User, facilitator_assignments


@dataclass(frozen=True)
class AnswerTarget:
    """What a save needs of its assessment: who owns it and which instrument it is on."""

    id: int
    organisation_id: int
    answered_count: int
    instrument_id: int
    instrument_hash: str


def can_view(user: User, assessment: Assessment | AnswerTarget) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.RESPONDENT:
        return user.organisation_id == assessment.organisation_id
    if user.role == Role.FACILITATOR:
        return db.session.execute(
            select(facilitator_assignments.c.user_id).where(
                facilitator_assignments.c.user_id == user.id,
                facilitator_assignments.c.organisation_id == assessment.organisation_id,
            )
        ).first() is not None
    return False


def can_administer(user: User) -> bool:
    """Only admins run the installation: administrations, users, instruments, audit log."""
    return user.role == Role.ADMIN


def can_coordinate(user: User, assessment: Assessment) -> bool:
    """The administration's coordinator (and admins) share out its principles."""
    if user.role == Role.ADMIN:
        return True
    if not can_answer(user, assessment):
        return False
    return bool(db.session.scalar(select(User.is_coordinator).where(User.id == user.id)))


def can_submit(user: User, assessment: Assessment) -> bool:
    """A team with a coordinator is submitted by the coordinator alone; an administration
    that has none yet (as before teams existed) by any of its respondents."""
    if not can_answer(user, assessment):
        return False
    coordinators = select(User.id).where(User.organisation_id == assessment.organisation_id,
                                         User.is_coordinator.is_(True),
                                         User.active.is_(True))
    found = set(db.session.scalars(coordinators))
    return not found or user.id in found


def can_start_round(user: User, assessment: Assessment) -> bool:
    """Who starts the administration's next round from this assessment: an admin, or who
    submits it (the coordinator; any respondent of an administration without one)."""
    return user.role == Role.ADMIN or can_submit(user, assessment)


def can_answer(user: User, assessment: Assessment | AnswerTarget) -> bool:
    """Only respondents of the administration write answers."""
    return user.role == Role.RESPONDENT and user.organisation_id == assessment.organisation_id


def can_edit_plan(user: User, assessment: Assessment) -> bool:
    """Respondents of the administration edit its action plan, whatever the status: the
    plan is the work that follows a submission."""
    return user.role == Role.RESPONDENT and user.organisation_id == assessment.organisation_id


def can_comment_plan(user: User, assessment: Assessment) -> bool:
    """Facilitators who see the assessment (and admins) comment on its action plan."""
    return user.role in (Role.FACILITATOR, Role.ADMIN) and can_view(user, assessment)


def can_review(user: User, assessment: Assessment | AnswerTarget) -> bool:
    """Facilitators review the administrations assigned to them; admins review any."""
    return user.role in (Role.FACILITATOR, Role.ADMIN) and can_view(user, assessment)


def visible_assessments(user: User) -> Select:
    """A query of the assessments this user may see, for list pages."""
    query = select(Assessment)
    if user.role == Role.RESPONDENT:
        return query.where(Assessment.organisation_id == user.organisation_id)
    if user.role == Role.FACILITATOR:
        assigned = select(facilitator_assignments.c.organisation_id).where(
            facilitator_assignments.c.user_id == user.id
        )
        return query.where(Assessment.organisation_id.in_(assigned))
    return query


# One query for the assessment, its instrument row and its administration: every page and
# every save needs all three. Built once: loader options are immutable.
_WITH_INSTRUMENT_AND_OWNER = (joinedload(Assessment.instrument_row),
                              joinedload(Assessment.organisation))


def assessment_or_404(assessment_id: int, write: bool = False) -> Assessment:
    """The assessment if the current user may see it (and, with write, answer it), else 404/403."""
    assessment = db.session.get(Assessment, assessment_id, options=_WITH_INSTRUMENT_AND_OWNER)
    _authorise(assessment, write)
    return assessment


def _authorise(assessment: Assessment | AnswerTarget | None, write: bool) -> None:
    """404 when the current user may not see it (or it does not exist), 403 when they may
    see but not answer it and `write` is asked."""
    if assessment is None or not can_view(current_user, assessment):
        abort(404)
    if write and not can_answer(current_user, assessment):
        abort(403)


_assessments, _instruments = Assessment.__table__, Instrument.__table__
_ANSWER_TARGET = (
    select(_assessments.c.id, _assessments.c.organisation_id, _assessments.c.answered_count,
           _assessments.c.instrument_id, _instruments.c.content_hash.label("instrument_hash"))
    .join(_instruments, _instruments.c.id == _assessments.c.instrument_id)
    .where(_assessments.c.id == bindparam("assessment_id"))
)


def answer_target_or_404(assessment_id: int) -> AnswerTarget:
    """The assessment a save writes to, if the current user may answer it, else 404/403.

    The same rules as assessment_or_404(write=True), from one narrow query: an autosave
    needs a few columns, not the assessment, its administration and its instrument as
    objects.
    """
    row = db.session.connection().execute(
        _ANSWER_TARGET, {"assessment_id": assessment_id}).first()
    target = AnswerTarget(**row._mapping) if row is not None else None
    _authorise(target, write=True)
    return target


def instrument_of_target(target: AnswerTarget) -> InstrumentSpec:
    """The parsed instrument of a save's assessment (its text is read only on a cache miss)."""
    spec = _parsed.get(target.instrument_hash)
    if spec is None:
        spec = parse_instrument_row(db.session.get(Instrument, target.instrument_id))
    return spec


def instrument_of(assessment: Assessment) -> InstrumentSpec:
    """The parsed instrument the assessment was taken on (cached by its text)."""
    return parse_instrument_row(assessment.instrument_row)


_PARSED_LIMIT = 64
_parsed: dict[str, InstrumentSpec] = {}


def parse_instrument_row(row: Instrument) -> InstrumentSpec:
    """Parse a stored instrument's text (cached, so each text is parsed once per process).

    The cache is keyed by the SHA-256 of the text, which the row carries: a hit needs
    neither the text (a deferred column, tens of KB) nor a hash of it. A parse is stored
    under the hash of the text actually parsed, so a row whose text does not match its hash
    never gets another text's instrument.
    """
    spec = _parsed.get(row.content_hash)
    if spec is None:
        spec = load_text(row.source, source=f"{row.key} {row.version}")
        if len(_parsed) < _PARSED_LIMIT:
            _parsed[spec.content_hash] = spec
    return spec
