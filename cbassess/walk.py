"""The respondent's walk: assessment lists, overview, principle pages, autosave, history, submit.

Each view parses, authorises, calls answers.py or scoring.py, and renders. A principle page
is one plain <form> (it works with JavaScript off); with htmx each indicator saves itself and
the reply swaps only its status, plus its version, the principle's progress and the stepper
out of band.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import answers as answer_store
from . import scoring, text_policy
from .evidence import current_files, every_file, files_by_indicator
from .extensions import db, limiter
from .instrument import Indicator, Principle, text_blocks
from .instrument import Instrument as InstrumentSpec
from .models import Answer, AnswerRevision, Assessment, Instrument, Role, Status
from .permissions import (
    answer_target_or_404,
    assessment_or_404,
    can_answer,
    can_submit,
    instrument_of,
    instrument_of_target,
    parse_instrument_row,
    visible_assessments,
)
from .scoring import AnswerValue, Scores, score
from .security import ONE_ANSWER, ONE_PRINCIPLE, accepts
from .url_params import database_id, page_number

bp = Blueprint("walk", __name__)

ROUND_NAME_LIMIT = 100


def _saver() -> str:
    """Whose saves count together: the signed-in person (an expired session: the address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr}"


# Autosave and the plain page post share one budget per person (SAVE_LIMITS): far above what
# anyone typing or clicking reaches, it stops a script from growing the history unbounded.
_per_person_saving = limiter.shared_limit(lambda: current_app.config["SAVE_LIMITS"],
                                          scope="answer-saves", key_func=_saver,
                                          methods=["POST"])


@dataclass
class AnswerView:
    """What an indicator's fields show: the stored answer, or what was posted when it failed."""

    level: str = ""
    evidence: str = ""
    note: str = ""
    version: int = 0
    evidence_kind: str = ""
    confidence: str = ""
    answer: Answer | None = None
    error_field: str | None = None
    error: str | None = None
    conflict: Answer | None = None

    @classmethod
    def of(cls, answer: Answer | None) -> AnswerView:
        if answer is None:
            return cls()
        level = "na" if answer.not_applicable else (
            "" if answer.level is None else str(answer.level))
        return cls(level, answer.evidence, answer.note, answer.version,
                   answer.evidence_kind or "", answer.confidence or "", answer)

    @classmethod
    def posted(cls, key: str, form, answer: Answer | None) -> AnswerView:
        view = cls.of(answer)
        view.level = form.get(answer_store.field_name(key, "level"), "")
        view.evidence = form.get(answer_store.field_name(key, "evidence"), "")
        view.note = form.get(answer_store.field_name(key, "note"), "")
        view.evidence_kind = form.get(answer_store.field_name(key, "evidence_kind"), "")
        view.confidence = form.get(answer_store.field_name(key, "confidence"), "")
        return view


def load_answers(assessment_id: int) -> dict[str, Answer]:
    """All stored answers of an assessment, by indicator key, in one query."""
    return {a.indicator_key: a for a in db.session.scalars(
        select(Answer).options(joinedload(Answer.updated_by))
        .where(Answer.assessment_id == assessment_id))}


def edit_count(answers: dict[str, Answer]) -> int:
    """Edits made to an assessment's answers so far (versions only grow).

    Sent with each progress update so the page can drop a reply that was overtaken by a
    newer one: saves of different indicators run side by side and may answer out of order.
    """
    return sum(a.version for a in answers.values())


def scores_of(instrument: InstrumentSpec, answers: dict[str, Answer]) -> Scores:
    values = {}
    for key, answer in answers.items():
        indicator = instrument.indicator(key)
        values[key] = AnswerValue(
            answer.level, answer.not_applicable,
            indicator is not None and answer_store.is_unsupported(indicator, answer),
            answer.confidence)
    return score(instrument, values)


def first_unanswered(instrument: InstrumentSpec, answers: dict[str, Answer]) -> Indicator | None:
    """Where "Continue the assessment" leads: the first indicator not yet answered."""
    return next((i for i in instrument.indicators
                 if i.key not in answers or not answers[i.key].answered), None)


def _language() -> str:
    return str(get_locale() or "en")


def _principle_or_404(instrument: InstrumentSpec, key: str) -> Principle:
    principle = instrument.principle(key)
    if principle is None:
        abort(404)
    return principle


def _neighbours(instrument: InstrumentSpec, principle: Principle):
    keys = [p.key for p in instrument.principles]
    index = keys.index(principle.key)
    previous = instrument.principles[index - 1] if index > 0 else None
    following = instrument.principles[index + 1] if index + 1 < len(keys) else None
    return previous, following


@bp.app_context_processor
def answer_limits() -> dict:
    """Field limits shown as maxlength, the same numbers the server enforces; the rule for
    unsupported claims and the names of the optional answer fields, for every template
    that shows answers (pages and the report)."""
    return {"evidence_limit": answer_store.EVIDENCE_LIMIT, "note_limit": answer_store.NOTE_LIMIT,
            "is_unsupported": answer_store.is_unsupported,
            "answer_field_labels": ANSWER_FIELD_LABELS}


# Each optional answer field's name and the names of its values (instrument.ANSWER_FIELDS
# holds the values themselves); lazy, so each is translated only where it is shown.
ANSWER_FIELD_LABELS = {
    "evidence_kind": {"name": _l("Kind of evidence"), "values": {
        "documentary": _l("Documentary"), "records": _l("Data / records"),
        "interview": _l("Interview"), "observation": _l("Observation"),
        "self-declared": _l("Self-declared")}},
    "confidence": {"name": _l("Confidence"), "values": {
        "high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}},
}


bp.add_app_template_filter(text_blocks, "text_blocks")
bp.add_app_template_filter(scoring.number, "number")


@bp.get("/")
def home():
    return redirect(url_for("walk.index"))


@bp.get("/assessments")
@login_required
def index():
    """The assessments the user may see, newest first, a page at a time."""
    page = page_number()
    # Sort and count ids only (an index covers them), then load the one page of rows with
    # their administration and instrument: the sort never carries joined rows.
    order = (Assessment.created_at.desc(), Assessment.id.desc())
    query = visible_assessments(current_user).with_only_columns(Assessment.id).order_by(*order)
    pagination = db.paginate(query, page=page, per_page=current_app.config["PAGE_SIZE"],
                             error_out=True)  # 404 past the last page
    pagination.items = list(db.session.scalars(
        select(Assessment)
        .options(joinedload(Assessment.organisation), joinedload(Assessment.instrument_row))
        .where(Assessment.id.in_(pagination.items)).order_by(*order)))
    totals = _indicator_totals({a.instrument_row for a in pagination.items})
    return render_template(
        "walk/index.html", pagination=pagination, totals=totals,
        instruments=_instrument_choices() if current_user.role == Role.RESPONDENT else [],
        language=_language(),
    )


def _indicator_totals(rows: set[Instrument]) -> dict[int, int]:
    """Number of indicators of each instrument shown, for the progress column."""
    return {row.id: len(parse_instrument_row(row).indicators) for row in rows}


def _instrument_choices() -> list[Instrument]:
    """The newest version of each imported instrument that is not retired, the
    installation's default first.

    The default is a setting (DEFAULT_INSTRUMENT, an instrument key), so importing another
    instrument never changes what everyone's form preselects.
    """
    rows = db.session.scalars(select(Instrument).where(Instrument.retired_at.is_(None))
                              .order_by(Instrument.key, Instrument.imported_at.desc()))
    newest: dict[str, Instrument] = {}
    for row in rows:
        newest.setdefault(row.key, row)
    default = current_app.config.get("DEFAULT_INSTRUMENT")
    return sorted(newest.values(), key=lambda row: row.key != default)


@bp.post("/assessments")
@login_required
def create():
    """Start a new assessment (round) for the respondent's administration."""
    if current_user.role != Role.RESPONDENT or current_user.organisation_id is None:
        abort(403)
    round_name, error = _round_name(request.form.get("round_name") or "")
    instrument_id = database_id(request.form.get("instrument_id"))
    instrument = db.session.get(Instrument, instrument_id) if instrument_id else None
    if error is None and (instrument is None or instrument.retired):
        error = _("Choose an instrument.")
    if error is None:
        assessment = Assessment(organisation_id=current_user.organisation_id,
                                instrument_id=instrument.id, round_name=round_name,
                                created_by_id=current_user.id)
        db.session.add(assessment)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            error = _("Your administration already has a round called “%(name)s”.",
                      name=round_name)
        else:
            flash(_("Assessment “%(name)s” started.", name=round_name), "success")
            return redirect(url_for("walk.overview", assessment_id=assessment.id), 303)
    flash(error, "error")
    return index(), 422  # the list again, with the message; nothing was created


def _round_name(posted: str) -> tuple[str, str | None]:
    """The round name as stored, or the reason it cannot be (text_policy's rules)."""
    try:
        name = text_policy.clean_line(posted, ROUND_NAME_LIMIT)
    except text_policy.TextRefused as refused:
        if refused.reason == "length":
            return "", _("A round name has at most %(n)d characters.", n=ROUND_NAME_LIMIT)
        return "", _("The round name contains characters that cannot be stored: control "
                     "characters, line separators or text-direction overrides.")
    if text_policy.is_blank(name):
        return "", _("Give the round a name, for example “2027 self-assessment”.")
    return name, None


@bp.get("/assessments/<int:assessment_id>")
@login_required
def overview(assessment_id: int):
    """Each principle with its progress and current score, and the way in."""
    assessment = assessment_or_404(assessment_id)
    return _overview_with(assessment, instrument_of(assessment), None)


def _overview_with(assessment: Assessment, instrument: InstrumentSpec,
                   missing: list[str] | None) -> str:
    answers = load_answers(assessment.id)
    return render_template(
        "walk/overview.html", assessment=assessment, instrument=instrument,
        scores=scores_of(instrument, answers), language=_language(),
        editable=_editable(assessment), missing=missing,
        next_unanswered=first_unanswered(instrument, answers),
    )


def _editable(assessment: Assessment) -> bool:
    return can_answer(current_user, assessment) and assessment.status_enum.editable_by_respondent


def _principle_context(assessment: Assessment, instrument: InstrumentSpec, principle: Principle,
                       answers: dict[str, Answer], views: dict[str, AnswerView]) -> dict:
    previous, following = _neighbours(instrument, principle)
    return dict(
        assessment=assessment, instrument=instrument, principle=principle, views=views,
        scores=scores_of(instrument, answers), previous=previous, following=following,
        language=_language(), editable=_editable(assessment), edits=edit_count(answers),
        evidence_files=files_by_indicator(current_files(
            db.session, assessment.id, [i.key for i in principle.indicators])),
    )


@bp.route("/assessments/<int:assessment_id>/principles/<key>", methods=["GET", "POST"])
@accepts(ONE_PRINCIPLE)
@_per_person_saving
@login_required
def principle_page(assessment_id: int, key: str):
    """A principle's indicators; a POST (JavaScript off) saves them all at once."""
    assessment = assessment_or_404(assessment_id, write=request.method == "POST")
    instrument = instrument_of(assessment)
    principle = _principle_or_404(instrument, key)
    answers = load_answers(assessment.id)
    if request.method != "POST":  # GET and HEAD only read: a HEAD must never save
        views = {i.key: AnswerView.of(answers.get(i.key)) for i in principle.indicators}
        return render_template("walk/principle.html",
                               **_principle_context(assessment, instrument, principle, answers,
                                                    views))
    views = {i.key: AnswerView.posted(i.key, request.form, answers.get(i.key))
             for i in principle.indicators}
    status = _save_principle(assessment, instrument, principle, views)
    if status == 303:
        flash(_("Your answers are saved."), "success")
        following = _neighbours(instrument, principle)[1]
        if request.form.get("action") == "next" and following:
            target = url_for("walk.principle_page", assessment_id=assessment.id,
                             key=following.key)
        elif request.form.get("action") == "next":
            target = url_for("walk.overview", assessment_id=assessment.id)
        else:
            target = url_for("walk.principle_page", assessment_id=assessment.id, key=key)
        return redirect(target, 303)
    answers = load_answers(assessment.id)
    return render_template("walk/principle.html",
                           **_principle_context(assessment, instrument, principle, answers,
                                                views)), status


def _save_principle(assessment, instrument, principle, views: dict[str, AnswerView]) -> int:
    """Validate every indicator posted; save all of them, or none and mark what failed."""
    inputs = []
    for indicator in principle.indicators:
        try:
            inputs.append(answer_store.parse_answer(instrument, indicator.key, request.form))
        except answer_store.AnswerInputError as error:
            views[indicator.key].error_field = error.field
            views[indicator.key].error = error.message
    if any(v.error for v in views.values()):
        flash(_("Nothing was saved: correct the answers marked below."), "error")
        return 422
    try:
        answer_store.save_answers(db.session, assessment.id, inputs, current_user.id)
    except answer_store.AssessmentLocked:
        flash(_locked_message(), "error")
        return 409
    except answer_store.EditConflict as conflict:
        for item in conflict.conflicts:
            view = views[item.indicator_key]
            view.conflict = item.current
            view.version = item.current.version
            view.error = _conflict_message(item.current)
        flash(_("Nothing was saved: someone else changed answers marked below since you opened "
                "this page."), "error")
        return 409
    return 303


def _locked_message() -> str:
    return _("This assessment has been submitted for review and can no longer be changed.")


def _conflict_message(current: Answer) -> str:
    who = current.updated_by.display_name if current.updated_by else _("someone")
    return _("%(who)s changed this answer after you opened the page (perhaps in another tab). "
             "Their version is shown below: keep yours or take theirs.", who=who)


def _indicator_or_404(assessment_id: int, key: str):
    """The visible assessment, its instrument and one of its indicators, or 404."""
    assessment = assessment_or_404(assessment_id)
    instrument = instrument_of(assessment)
    indicator = instrument.indicator(key)
    if indicator is None:
        abort(404)
    return assessment, instrument, indicator


@bp.get("/assessments/<int:assessment_id>/answers/<key>")
@login_required
def indicator_fragment(assessment_id: int, key: str):
    """One indicator's fields as stored now (used by "take theirs" after a conflict)."""
    assessment, instrument, indicator = _indicator_or_404(assessment_id, key)
    answer = db.session.scalar(select(Answer).where(Answer.assessment_id == assessment.id,
                                                    Answer.indicator_key == key))
    if not request.headers.get("HX-Request"):
        return redirect(url_for("walk.principle_page", assessment_id=assessment.id,
                                key=indicator.principle_key, _anchor=f"ind-{key}"))
    return render_template("walk/_indicator.html", assessment=assessment, instrument=instrument,
                           indicator=indicator, view=AnswerView.of(answer),
                           editable=_editable(assessment), language=_language())


@bp.post("/assessments/<int:assessment_id>/answers/<key>")
@accepts(ONE_ANSWER)
@_per_person_saving
@login_required
def autosave(assessment_id: int, key: str):
    """Save one answer. htmx gets its status fragment plus out-of-band progress updates."""
    target = answer_target_or_404(assessment_id)
    instrument = instrument_of_target(target)
    indicator = instrument.indicator(key)
    context = dict(assessment=target, instrument=instrument, language=_language())
    if indicator is None:
        return render_template("walk/_answer_status.html", indicator_key=key,
                               state="error", message=_("This indicator does not exist in "
                                                        "the assessment's instrument."),
                               **context), 404
    try:
        item = answer_store.parse_answer(instrument, key, request.form)
        saved = answer_store.save_answers(db.session, target.id, [item], current_user.id)
    except answer_store.AnswerInputError as error:
        return _autosave_reply(indicator, "error", error.message, 422, field=error.field,
                               **context)
    except answer_store.AssessmentLocked:
        return _autosave_reply(indicator, "error", _locked_message(), 409, **context)
    except answer_store.EditConflict as conflict:
        current = conflict.conflicts[0].current
        return _autosave_reply(indicator, "conflict", _conflict_message(current), 409,
                               answer=current, **context)
    if not request.headers.get("HX-Request"):
        flash(_("Your answer is saved."), "success")
        return redirect(url_for("walk.principle_page", assessment_id=target.id,
                                key=indicator.principle_key, _anchor=f"ind-{key}"), 303)
    return _autosave_reply(indicator, "saved", None, 200, answer=saved.answers[0],
                           saved_by=current_user.display_name, states=saved.states,
                           answered_before=target.answered_count, **context)


def _autosave_reply(indicator: Indicator, state: str, message: str | None, status: int,
                    answer: Answer | answer_store.StoredAnswer | None = None,
                    field: str | None = None, answered_before: int | None = None,
                    saved_by: str | None = None,
                    states: dict[str, answer_store.AnswerState] | None = None, **context):
    """The status, and out of band the version and the principle's progress; the stepper
    too when the number of answered indicators changed (most saves are typing, which
    cannot change it, and the stepper is the largest part of the reply)."""
    if not request.headers.get("HX-Request") and state != "saved":
        flash(message, "error")
        return redirect(url_for("walk.principle_page", assessment_id=context["assessment"].id,
                                key=indicator.principle_key, _anchor=f"ind-{indicator.key}"),
                        303)
    progress = edits = None
    if states is not None:  # as the save left them: no need to read them again
        progress, edits = scoring.progress(context["instrument"], states), edit_count(states)
    stepper = progress is not None and progress.answered != answered_before
    return render_template(
        "walk/_autosave.html", indicator=indicator, indicator_key=indicator.key, state=state,
        message=message, answer=answer, saved_by=saved_by, field=field, scores=progress,
        edits=edits, stepper=stepper,
        principle=context["instrument"].principle(indicator.principle_key), **context,
    ), status, {"X-Field-Error": field} if field else {}  # app.js sets aria-invalid on it


@bp.get("/assessments/<int:assessment_id>/answers/<key>/history")
@login_required
def history(assessment_id: int, key: str):
    """Every change to one answer: who, when, before and after, a page at a time (an answer
    saved for hours has thousands of versions)."""
    assessment, instrument, indicator = _indicator_or_404(assessment_id, key)
    pagination = db.paginate(
        select(AnswerRevision).options(joinedload(AnswerRevision.changed_by))
        .where(AnswerRevision.assessment_id == assessment.id,
               AnswerRevision.indicator_key == key)
        .order_by(AnswerRevision.id.desc()),
        page=page_number(), per_page=current_app.config["HISTORY_PAGE_SIZE"],
        error_out=True)  # 404 past the last page
    return render_template("walk/history.html", assessment=assessment, instrument=instrument,
                           indicator=indicator, pagination=pagination, language=_language(),
                           files=every_file(db.session, assessment.id, key))


@bp.post("/assessments/<int:assessment_id>/submit")
@login_required
def submit(assessment_id: int):
    """Submit for review when complete; otherwise name the unanswered indicators."""
    assessment = assessment_or_404(assessment_id, write=True)
    if not can_submit(current_user, assessment):
        abort(403)  # the team's coordinator submits
    instrument = instrument_of(assessment)
    try:
        missing = answer_store.submit(db.session, assessment, instrument, current_user.id)
    except answer_store.AssessmentLocked:
        flash(_locked_message(), "error")
        return _overview_with(assessment, instrument, None), 409
    if missing:
        flash(_("The assessment cannot be submitted yet: %(n)d indicators are unanswered.",
                n=len(missing)), "error")
        return _overview_with(assessment, instrument, missing), 422
    flash(_("Submitted for review. The assessment is now read-only."), "success")
    return redirect(url_for("walk.overview", assessment_id=assessment.id), 303)


STATUS_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted for review"),
    Status.RETURNED: _l("Returned for changes"),
    Status.VALIDATED: _l("Validated"),
}


@bp.app_template_filter("status_label")
def status_label(status: str) -> str:
    """The status as a person reads it."""
    return str(STATUS_LABELS.get(Status(status), status))
