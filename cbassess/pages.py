"""What the assessment, answering and review pages share (blueprints never import each other).

Answers loaded for display, scores, edit counts, the request's language, whether the
current user may edit an assessment, and the status as a person reads it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from flask import Flask, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import answers as answer_store
from . import claims, i18n, interchange
from .evidence import indicators_with_files
from .extensions import db
from .instrument import Indicator, text_blocks
from .instrument import Instrument as InstrumentSpec
from .models import Answer, Assessment, Status
from .permissions import can_answer
from .reviews import FINDING_LIMIT
from .reviews import MESSAGE_LIMIT as QUERY_LIMIT
from .scoring import AnswerValue, Scores, score
from .security import BodyBudget
from .transitions import MESSAGE_LIMIT
from .workflow import Refusal

# A message or a finding at its limit, each character a 4-byte UTF-8 character
# percent-encoded (12 bytes), with a few short fields (level, state, version, token).
ONE_MESSAGE = BodyBudget(bytes=max(MESSAGE_LIMIT, QUERY_LIMIT, FINDING_LIMIT) * 12 + 4 * 1024,
                         fields=8)


def load_answers(assessment_id: int) -> dict[str, Answer]:
    """All stored answers of an assessment, by indicator key, in one query."""
    return {a.indicator_key: a for a in db.session.scalars(
        select(Answer).options(joinedload(Answer.updated_by))
        .where(Answer.assessment_id == assessment_id))}


def edit_count(answers: dict) -> int:
    """Edits made to an assessment's answers so far (versions only grow).

    Sent with each progress update so the page can drop a reply that was overtaken by a
    newer one: saves of different indicators run side by side and may answer out of order.
    """
    return sum(a.version for a in answers.values())


def claim_values(instrument: InstrumentSpec, answers: Mapping[str, Answer],
                 with_files: Collection[str]) -> dict[str, AnswerValue]:
    """What scoring needs of each answer, with whether it is an unsupported claim
    (claims.is_unsupported; `with_files`: the indicators whose answers have files). An
    answer carried over from the previous round counts for nothing until it is confirmed
    or changed (AnswerValue.of)."""
    values = {}
    for key, answer in answers.items():
        indicator = instrument.indicator(key)
        if answer.carried_over:
            values[key] = AnswerValue.of(answer)
            continue
        values[key] = AnswerValue(
            answer.level, answer.not_applicable,
            indicator is not None and claims.is_unsupported(indicator, answer,
                                                                  key in with_files),
            answer.confidence)
    return values


def scores_of(instrument: InstrumentSpec, answers: dict[str, Answer],
              with_files: Collection[str]) -> Scores:
    """The scores of the answers as claimed, unsupported claims flagged."""
    return score(instrument, claim_values(instrument, answers, with_files))


def files_of(assessment_id: int, instrument: InstrumentSpec,
             answers: Mapping[str, Answer]) -> frozenset[str]:
    """The indicators whose answers have files, for the evidence rule: looked up (one
    query) only when some claim lacks written evidence, as files alone could support it."""
    if not any(instrument.indicator(key) is not None
               and claims.is_unsupported(instrument.indicator(key), answer)
               for key, answer in answers.items()):
        return frozenset()
    return indicators_with_files(db.session, assessment_id)


def first_unanswered(instrument: InstrumentSpec, answers: Mapping[str, Answer]) \
        -> Indicator | None:
    """Where "Continue the assessment" leads: the first indicator not yet answered."""
    return next((i for i in instrument.indicators
                 if i.key not in answers or not answers[i.key].answered), None)


def language() -> str:
    """The request's language, as instrument texts are looked up in ("fr", "pt-BR")."""
    return i18n.tag()


def input_error(error: answer_store.AnswerInputError) -> str:
    """A refused answer's message in the reader's language, its numbers written in it too."""
    params = {name: i18n.number(value) if isinstance(value, int) else value
              for name, value in error.params.items()}
    return _(error.message, **params)


def editable(assessment: Assessment) -> bool:
    """Whether the current user may change this assessment's answers now."""
    return can_answer(current_user, assessment) and assessment.status_enum.editable_by_respondent


def locked_message() -> str:
    return _("This assessment has been submitted for review and can no longer be changed.")


STATUS_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted for review"),
    Status.RETURNED: _l("Returned for changes"),
    Status.VALIDATED: _l("Validated"),
}


def status_label(status: str) -> str:
    """The status as a person reads it."""
    return str(STATUS_LABELS.get(Status(status), status))


def refusal_text(refusal: Refusal) -> str:
    """Why an action was refused, in the reader's language (a status named as they read it)."""
    params = dict(refusal.params)
    if "status" in params:
        params["status"] = status_label(params["status"]).lower()
    return _(refusal.reason, **params)


EVENT_LABELS = {
    "submit": _l("Submitted"),
    "withdraw": _l("Submission withdrawn"),
    "return": _l("Returned to the administration"),
    "validate": _l("Validated"),
    "reopen": _l("Reopened"),
}


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def author_name(row, relation: str) -> str | None:
    """The name shown for whoever `row.<relation>` is (changed_by, author, actor…): their
    account's, or, in an imported assessment, the author kept without an account."""
    user = getattr(row, relation)
    if user is not None:
        return user.display_name
    assessment_id = getattr(row, "assessment_id", None) or row.thread.assessment_id
    cache = g.setdefault("authors", {})
    if assessment_id not in cache:
        cache[assessment_id] = interchange.Authors(db.session, assessment_id)
    return cache[assessment_id].name(row, relation)


def init_app(app: Flask) -> None:
    app.add_template_filter(text_blocks, "text_blocks")  # guidance as paragraphs and lists
    app.add_template_global(author_name, "author_name")
    app.add_template_filter(event_label, "event_label")
    app.add_template_filter(status_label, "status_label")
