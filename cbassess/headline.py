"""The headline averages kept on each assessment, so the dashboard sorts on them in SQL.

`assessments.claimed_average` is `scoring.headline_average` of the answers (each level
counted for its score on the instrument's scale; an answer carried over from the previous
round and not yet confirmed counts as unanswered);
`assessments.validated_average` that of the answers with the facilitator's reviewed
levels in place of the claimed ones, and null until an indicator has been reviewed (what
the dashboard shows as "–"). Each write path that changes a level keeps them in the same
transaction: the autosave from the states it already holds (answers.py), a review save,
an import and anything else through `refresh`, which reads them afresh. SQLAlchemy Core,
no Flask.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, literal, select, union_all, update

from .instrument import Scale, load_text
from .models import Answer, Assessment, Instrument, Review
from .scoring import AnswerValue, headline_average

_answers, _reviews, _assessments = Answer.__table__, Review.__table__, Assessment.__table__
_instruments = Instrument.__table__
# Level scores: each instrument's scale, by the hash of its text (parsed once per process).
_scales: dict[str, Scale] = {}
_SCALES_LIMIT = 64
_ID = bindparam("assessment_id")
# Every level of the assessment, claimed and reviewed, in one read.
_LEVELS = union_all(
    select(literal("answer").label("source"), _answers.c.indicator_key, _answers.c.level,
           _answers.c.not_applicable).where(_answers.c.assessment_id == _ID,
                                            _answers.c.carried_over.is_(False)),
    select(literal("review").label("source"), _reviews.c.indicator_key, _reviews.c.level,
           _reviews.c.not_applicable).where(_reviews.c.assessment_id == _ID),
)
_STORE = (update(_assessments).where(_assessments.c.id == _ID)
          .values(claimed_average=bindparam("claimed"),
                  validated_average=bindparam("validated")))


_HASH = (select(_instruments.c.content_hash)
         .select_from(_assessments.join(_instruments,
                                        _instruments.c.id == _assessments.c.instrument_id))
         .where(_assessments.c.id == _ID))


def scale_of(connection: Connection, assessment_id: int) -> Scale:
    """The scale of the assessment's instrument, for its level scores: one statement (the
    text is read and parsed only the first time this process meets it)."""
    content_hash = connection.execute(_HASH, {"assessment_id": assessment_id}).scalar_one()
    scale = _scales.get(content_hash)
    if scale is None:
        text = connection.execute(select(_instruments.c.source).where(
            _instruments.c.content_hash == content_hash).limit(1)).scalar_one()
        scale = load_text(text, source=content_hash).scale
        if len(_scales) < _SCALES_LIMIT:
            _scales[content_hash] = scale
    return scale


def averages(claimed: Mapping[str, AnswerValue], reviewed: Mapping[str, AnswerValue],
             scale: Scale) -> tuple[float | None, float | None]:
    """(claimed, validated) headline averages; validated is None while nothing is reviewed."""
    validated = headline_average({**claimed, **reviewed}, scale) if reviewed else None
    return headline_average(claimed, scale), validated


def refresh(connection: Connection, assessment_id: int) -> tuple[float | None, float | None]:
    """Compute both averages from the stored levels and keep them on the assessment (three
    statements, in the caller's transaction); returns them."""
    claimed: dict[str, AnswerValue] = {}
    reviewed: dict[str, AnswerValue] = {}
    for row in connection.execute(_LEVELS, {"assessment_id": assessment_id}):
        into = claimed if row.source == "answer" else reviewed
        into[row.indicator_key] = AnswerValue(row.level, bool(row.not_applicable))
    result = averages(claimed, reviewed, scale_of(connection, assessment_id))
    connection.execute(_STORE, {"assessment_id": assessment_id, "claimed": result[0],
                                "validated": result[1]})
    return result
