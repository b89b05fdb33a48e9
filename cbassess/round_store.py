"""Start the next round of an administration's assessment, and find a round's previous one.

`start_round` is the one way a round starts from an earlier one (the coordinator's page and
the admin's alike): it checks everything first (the earlier assessment is the last submitted
or validated one, no other round is in progress, the name is free, the instrument is the
same one, in the same or a newer version that is not retired), then, under the earlier
assessment's lock, creates the new assessment, copies every answer in as "carried over"
(each with a revision saying so), copies the references to its evidence files (the files
themselves are content-addressed, so nothing is copied on disk), links the two rounds, and
records an audit entry, in one commit. The rules of what carries over are cbassess.rounds'.

SQLAlchemy, no Flask request (messages are lazy translations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from . import audit, text_policy
from .answers import lock_assessment, values_of
from .audit import Actor
from .instrument import Instrument as InstrumentSpec
from .models import (
    Answer,
    AnswerRevision,
    Assessment,
    EvidenceFile,
    Instrument,
    RoundLink,
    Status,
)
from .rounds import CarryOver, carried_value, carry_over
from .scoring import AnswerValue

ROUND_NAME_LIMIT = 100
SOURCE_STATUSES = (Status.SUBMITTED, Status.VALIDATED)
IN_PROGRESS = (Status.DRAFT, Status.RETURNED)


class RoundRefused(ValueError):
    """A round that cannot start; `field` names the form field at fault (or "")."""

    def __init__(self, field: str, message) -> None:
        self.field, self.message = field, message
        super().__init__(str(message))


@dataclass(frozen=True)
class Started:
    """A round just started: the new assessment and what was carried over."""

    assessment: Assessment
    carry: CarryOver
    answers: int  # answers copied in
    files: int  # evidence files' references copied in


def link_of(session: Session, assessment_id: int) -> RoundLink | None:
    """How the assessment was started from its previous round, if it was."""
    return session.scalar(select(RoundLink).options(
        joinedload(RoundLink.previous).joinedload(Assessment.instrument_row),
        joinedload(RoundLink.started_by))
        .where(RoundLink.assessment_id == assessment_id))


def previous_of(session: Session, assessment_id: int) -> Assessment | None:
    """The round this assessment was started from, or None."""
    link = link_of(session, assessment_id)
    return link.previous if link else None


def around(session: Session, assessment_id: int) \
        -> tuple[RoundLink | None, Assessment | None]:
    """In one query: how the assessment was started from its previous round (or None), and
    the round started from it (or None)."""
    links = session.scalars(select(RoundLink).options(
        joinedload(RoundLink.previous).joinedload(Assessment.instrument_row),
        joinedload(RoundLink.started_by), joinedload(RoundLink.assessment))
        .where((RoundLink.assessment_id == assessment_id)
               | (RoundLink.previous_id == assessment_id))).all()
    link = next((row for row in links if row.assessment_id == assessment_id), None)
    following = next((row.assessment for row in links if row.previous_id == assessment_id),
                     None)
    return link, following


def carry_from(session: Session, organisation_id: int):
    """The assessment (its id and round name) the administration's next round would start
    from now, its last submitted or validated one; None when there is none or a round is in
    progress. One statement, for the list page's hint."""
    rows = session.execute(
        select(Assessment.id, Assessment.round_name, Assessment.status)
        .where(Assessment.organisation_id == organisation_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())).all()
    if any(Status(row.status) in IN_PROGRESS for row in rows):
        return None
    latest = next((row for row in rows if Status(row.status) in SOURCE_STATUSES), None)
    return latest


def latest_source(session: Session, organisation_id: int) -> Assessment | None:
    """The administration's last submitted or validated assessment (newest first)."""
    return session.scalar(
        select(Assessment).where(Assessment.organisation_id == organisation_id,
                                 Assessment.status.in_(list(SOURCE_STATUSES)))
        .order_by(Assessment.created_at.desc(), Assessment.id.desc()).limit(1))


def in_progress(session: Session, organisation_id: int) -> Assessment | None:
    """A round of the administration still being answered (a draft, or returned)."""
    return session.scalar(
        select(Assessment).where(Assessment.organisation_id == organisation_id,
                                 Assessment.status.in_(list(IN_PROGRESS)))
        .order_by(Assessment.created_at.desc(), Assessment.id.desc()).limit(1))


def refusal(session: Session, source: Assessment):
    """Why no round can start from `source` now (a lazy message), or None.

    Only from a submitted or validated assessment, only from the administration's last
    one, and only while no other round of the administration is being answered: a second
    round in progress would split the team's work.
    """
    if source.status_enum not in SOURCE_STATUSES:
        return _l("A new round starts from a submitted or validated assessment; "
                  "“%(name)s” is not submitted yet.", name=source.round_name)
    busy = in_progress(session, source.organisation_id)
    if busy is not None:
        return _l("A round is already in progress: “%(name)s”. Finish and submit it before "
                  "starting another.", name=busy.round_name)
    latest = latest_source(session, source.organisation_id)
    if latest is not None and latest.id != source.id:
        return _l("A new round starts from the administration's last submitted or validated "
                  "assessment, which is “%(name)s”.", name=latest.round_name)
    return None


def instrument_choices(session: Session, source: Assessment) -> list[Instrument]:
    """The versions a round from `source` may use: its own instrument, in its version or one
    imported after it, not retired; the newest first."""
    own = source.instrument_row
    return list(session.scalars(
        select(Instrument).where(Instrument.key == own.key, Instrument.retired_at.is_(None),
                                 (Instrument.imported_at > own.imported_at)
                                 | (Instrument.id == own.id))
        .order_by(Instrument.imported_at.desc(), Instrument.id.desc())))


def carried_files(session: Session, source_id: int,
                  keys: set[str] | None = None) -> list[EvidenceFile]:
    """The evidence files of `source_id` a next round takes (those not removed, of the
    indicators carried over)."""
    query = (select(EvidenceFile).where(EvidenceFile.assessment_id == source_id,
                                        EvidenceFile.removed_at.is_(None))
             .order_by(EvidenceFile.id))
    if keys is not None:
        query = query.where(EvidenceFile.indicator_key.in_(list(keys)))
    return list(session.scalars(query))


def check_round_name(name: str):
    """The round name as stored, or RoundRefused."""
    try:
        name = text_policy.clean_line(name, ROUND_NAME_LIMIT)
    except text_policy.TextRefused as refused:
        if refused.reason == "length":
            raise RoundRefused("round_name", _l("A round name has at most %(n)d characters.",
                                                n=ROUND_NAME_LIMIT)) from None
        raise RoundRefused("round_name", _l(
            "The round name contains characters that cannot be stored: control characters, "
            "line separators or text-direction overrides.")) from None
    if text_policy.is_blank(name):
        raise RoundRefused("round_name", _l("Give the round a name, for example “2027 "
                                            "self-assessment”."))
    return name.strip()


def start_round(session: Session, actor: Actor, source: Assessment, source_spec: InstrumentSpec,
                round_name: str, instrument_id: int | None, parse) -> Started:
    """Start the next round from `source` (see the module's docstring); `parse` turns an
    instrument row into its parsed instrument. Raises RoundRefused and changes nothing."""
    round_name = check_round_name(round_name)
    choices = {row.id: row for row in instrument_choices(session, source)}
    row = choices.get(instrument_id) if instrument_id is not None else None
    if row is None:
        raise RoundRefused("instrument_id", _l("Choose a version of the instrument from the "
                                               "list."))
    spec = parse(row)
    now = datetime.now(UTC)
    try:
        lock_assessment(session.connection(), source.id)
        session.refresh(source)  # its status as it is under the lock
        why_not = refusal(session, source)
        if why_not is not None:
            raise RoundRefused("", why_not)
        if session.scalar(select(Assessment.id).where(
                Assessment.organisation_id == source.organisation_id,
                Assessment.round_name == round_name)) is not None:
            raise RoundRefused("round_name", _l("Your administration already has a round "
                                                "called “%(name)s”.", name=round_name))
        answers = list(session.scalars(select(Answer).where(Answer.assessment_id == source.id)))
        carry = carry_over(source_spec, spec,
                           {a.indicator_key: AnswerValue.of(a) for a in answers})
        assessment = Assessment(organisation_id=source.organisation_id, instrument_id=row.id,
                                round_name=round_name, status=Status.DRAFT,
                                created_by_id=actor.id, created_at=now, updated_at=now,
                                answered_count=0)
        session.add(assessment)
        session.flush()
        session.add(RoundLink(assessment_id=assessment.id, previous_id=source.id,
                              started_by_id=actor.id, started_at=now))
        keep = set(carry.carried)
        copies = []
        for answer in answers:
            if answer.indicator_key not in keep:
                continue
            values = values_of(answer)
            value = carried_value(AnswerValue(answer.level, answer.not_applicable), spec)
            values.update(level=value.level, not_applicable=value.not_applicable)
            copy = Answer(assessment_id=assessment.id, indicator_key=answer.indicator_key,
                          version=1, updated_at=now, updated_by_id=actor.id,
                          carried_over=True, **values)
            session.add(copy)
            copies.append((copy, values))
        session.flush()
        empty = values_of(Answer(level=None, not_applicable=False, evidence="", note=""))
        session.add_all(AnswerRevision(
            answer_id=copy.id, assessment_id=assessment.id, indicator_key=copy.indicator_key,
            version=1, changed_by_id=actor.id, changed_at=now, kind="carried",
            before=empty, after=values) for copy, values in copies)
        files = carried_files(session, source.id, keep)
        session.add_all(EvidenceFile(
            assessment_id=assessment.id, indicator_key=f.indicator_key, sha256=f.sha256,
            filename=f.filename, content_type=f.content_type, size=f.size,
            attached_by_id=f.attached_by_id, attached_at=f.attached_at) for f in files)
        organisation = source.organisation
        audit.record(session, actor, "assessment.start_round", "assessment", assessment.id,
                     f"{organisation.name} — {round_name}", previous=source.round_name,
                     previous_id=source.id, instrument=row.key, version=row.version,
                     carried=len(copies), files=len(files), removed=list(carry.removed),
                     new=list(carry.new))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.refresh(assessment)
    return Started(assessment, carry, len(copies), len(files))
