"""A team per administration: its respondents, the coordinator who leads them, and who
answers which principle of an assessment.

Assigning a principle says who is expected to answer it; it does not lock anyone out:
everyone in the team reads and answers everything, and concurrent edits keep the version
check of answers.py. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .accounts import AccountError
from .audit import Actor
from .instrument import Instrument as InstrumentSpec
from .models import Assessment, PrincipleAssignment, Role, User
from .scoring import Progress, Scores


@dataclass(frozen=True)
class MemberProgress:
    """One team member: the principles assigned to them and how far those are answered."""

    user: User
    principles: tuple[str, ...]
    answered: int
    total: int


@dataclass(frozen=True)
class Team:
    """An assessment's team as the overview shows it, read in one query."""

    members: tuple[User, ...]
    assignee: dict[str, User]  # principle key -> the person answering it
    progress: tuple[MemberProgress, ...]

    def _member(self, user) -> User | None:
        return next((m for m in self.members if m.id == user.id), None)

    def can_coordinate(self, user) -> bool:
        """permissions.can_coordinate, from what was read (no query): for the page."""
        if user.role == Role.ADMIN:
            return True
        member = self._member(user)
        return member is not None and member.is_coordinator

    def can_submit(self, user) -> bool:
        """permissions.can_submit, from what was read (no query): for the page."""
        if self._member(user) is None:
            return False
        coordinators = [m for m in self.members if m.is_coordinator]
        return not coordinators or any(m.id == user.id for m in coordinators)


def members(session: Session, organisation_id: int) -> list[User]:
    """The active respondents of an administration, coordinators first."""
    return list(session.scalars(_members(organisation_id)))


def _members(organisation_id: int):
    return (select(User).where(User.organisation_id == organisation_id,
                               User.role == Role.RESPONDENT, User.active.is_(True))
            .order_by(User.is_coordinator.desc(), User.name, User.email))


def team_of(session: Session, assessment: Assessment, instrument: InstrumentSpec,
            scores: Progress | Scores) -> Team:
    """Who is on which principle, and each assigned person's progress on theirs (from the
    page's own `scores`): one query, the team with their assignments."""
    rows = session.execute(
        _members(assessment.organisation_id).add_columns(PrincipleAssignment.principle_key)
        .outerjoin(PrincipleAssignment,
                   (PrincipleAssignment.user_id == User.id)
                   & (PrincipleAssignment.assessment_id == assessment.id))).all()
    people = tuple({user.id: user for user, _ in rows}.values())
    assignee = {key: user for user, key in rows
                if key is not None and instrument.principle(key) is not None}
    progress = []
    for person in people:
        keys = tuple(p.key for p in instrument.principles
                     if p.key in assignee and assignee[p.key].id == person.id)
        if keys:
            parts = [scores.principle(key) for key in keys]
            progress.append(MemberProgress(person, keys, sum(p.answered for p in parts),
                                           sum(p.total for p in parts)))
    return Team(people, assignee, tuple(progress))


def assign_principle(session: Session, actor: Actor, assessment: Assessment,
                     instrument: InstrumentSpec, principle_key: str,
                     user_id: int | None) -> User | None:
    """Give a principle to a team member (None: to nobody); recorded in the audit log."""
    principle = instrument.principle(principle_key)
    if principle is None:
        raise AccountError("principle", _l("This principle is not in the assessment's "
                                           "instrument."))
    person = None
    if user_id is not None:
        person = session.get(User, user_id)
        if (person is None or not person.active or person.role != Role.RESPONDENT
                or person.organisation_id != assessment.organisation_id):
            raise AccountError("user_id", _l("Choose a member of the administration's team."))
    current = session.scalar(select(PrincipleAssignment).where(
        PrincipleAssignment.assessment_id == assessment.id,
        PrincipleAssignment.principle_key == principle_key))
    before = current.user.email if current is not None else None
    if person is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(PrincipleAssignment(assessment_id=assessment.id,
                                        principle_key=principle_key, user_id=person.id))
    else:
        current.user_id = person.id
    after = person.email if person is not None else None
    if before != after:
        audit.record(session, actor, "assessment.assign_principle", "assessment",
                     assessment.id, f"{assessment.organisation.name} — {assessment.round_name}",
                     principle=principle_key, before=before, after=after)
    session.commit()
    return person
