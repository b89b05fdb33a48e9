"""The respondent's walk: principle pages, autosave, an answer's history.

Each view parses, authorises, calls answers.py or scoring.py, and renders. A principle page
is one plain <form> (it works with JavaScript off); with htmx each indicator saves itself and
the reply swaps only its status, plus its version, the principle's progress and the stepper
out of band.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import answers as answer_store
from . import claims, reviews, round_store, scoring
from .evidence import current_files, every_file, files_by_indicator, indicators_with_files
from .extensions import db, limiter
from .instrument import Indicator, Principle
from .instrument import Instrument as InstrumentSpec
from .models import Answer, AnswerRevision, Assessment
from .pages import (
    edit_count,
    editable,
    files_of,
    input_error,
    language,
    load_answers,
    locked_message,
    scores_of,
)
from .permissions import (
    AnswerTarget,
    answer_target_or_404,
    assessment_or_404,
    instrument_of,
    instrument_of_target,
)
from .security import ONE_ANSWER, ONE_PRINCIPLE, BodyBudget, accepts
from .url_params import page_number

bp = Blueprint("answering", __name__)


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
    """Field limits shown as maxlength, the same numbers the server enforces."""
    return {"evidence_limit": answer_store.EVIDENCE_LIMIT, "note_limit": answer_store.NOTE_LIMIT}




def _principle_context(assessment: Assessment, instrument: InstrumentSpec, principle: Principle,
                       answers: dict[str, Answer], views: dict[str, AnswerView]) -> dict:
    previous, following = _neighbours(instrument, principle)
    return dict(
        assessment=assessment, instrument=instrument, principle=principle, views=views,
        scores=scores_of(instrument, answers, files_of(assessment.id, instrument, answers)),
        previous=previous, following=following, language=language(), editable=editable(assessment),
        edits=edit_count(answers),
        evidence_files=files_by_indicator(current_files(
            db.session, assessment.id, [i.key for i in principle.indicators])),
        threads=reviews.threads_of(db.session, assessment.id), reviewer=False, detached=True,
        reviewing=False, previous_round=round_store.previous_of(db.session, assessment.id),
        carried=[i.key for i in principle.indicators
                 if i.key in answers and answers[i.key].carried_over],
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
    action = request.form.get("action", "")
    if status == 303 and (action == "confirm_all" or action.startswith("confirm:")):
        return _confirm_after_save(assessment, principle, action)
    if status == 303:
        flash(_("Your answers are saved."), "success")
        following = _neighbours(instrument, principle)[1]
        if request.form.get("action") == "next" and following:
            target = url_for("answering.principle_page", assessment_id=assessment.id,
                             key=following.key)
        elif request.form.get("action") == "next":
            target = url_for("assessments.overview", assessment_id=assessment.id)
        else:
            target = url_for("answering.principle_page", assessment_id=assessment.id, key=key)
        return redirect(target, 303)
    answers = load_answers(assessment.id)
    return render_template("walk/principle.html",
                           **_principle_context(assessment, instrument, principle, answers,
                                                views)), status


def _confirm_after_save(assessment: Assessment, principle: Principle, action: str):
    """The page's confirm buttons without JavaScript: the answers posted are saved first (a
    changed one is no longer carried over), then the one named, or every answer of the
    principle still carried over ("confirm all unchanged"), is confirmed."""
    keys = [i.key for i in principle.indicators]
    if action != "confirm_all":
        keys = [key for key in keys if key == action.removeprefix("confirm:")]
    try:
        confirmed = answer_store.confirm_answers(db.session, assessment.id, keys,
                                                 current_user.id).uncarried
    except answer_store.AssessmentLocked:
        flash(locked_message(), "error")
        return redirect(url_for("answering.principle_page", assessment_id=assessment.id,
                                key=principle.key), 303)
    flash(ngettext("Your answers are saved; %(num)d carried-over answer is confirmed.",
                   "Your answers are saved; %(num)d carried-over answers are confirmed.",
                   len(confirmed)), "success")
    anchor = f"ind-{keys[0].replace('.', '-')}" if action != "confirm_all" and keys else None
    return redirect(url_for("answering.principle_page", assessment_id=assessment.id,
                            key=principle.key, _anchor=anchor), 303)


def _save_principle(assessment, instrument, principle, views: dict[str, AnswerView]) -> int:
    """Validate every indicator posted; save all of them, or none and mark what failed."""
    inputs = []
    for indicator in principle.indicators:
        try:
            inputs.append(answer_store.parse_answer(instrument, indicator.key, request.form))
        except answer_store.AnswerInputError as error:
            views[indicator.key].error_field = error.field
            views[indicator.key].error = input_error(error)
    if any(v.error for v in views.values()):
        flash(_("Nothing was saved: correct the answers marked below."), "error")
        return 422
    try:
        answer_store.save_answers(db.session, assessment.id, inputs, current_user.id,
                                  scale=instrument.scale)
    except answer_store.AssessmentLocked:
        flash(locked_message(), "error")
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
        return redirect(url_for("answering.principle_page", assessment_id=assessment.id,
                                key=indicator.principle_key, _anchor=f"ind-{key}"))
    has_files = key in indicators_with_files(db.session, assessment.id, [key])
    return render_template("walk/_indicator.html", assessment=assessment, instrument=instrument,
                           indicator=indicator, view=AnswerView.of(answer),
                           unsupported=claims.is_unsupported(indicator, answer, has_files),
                           editable=editable(assessment), language=language())


def _answer_to_save(assessment_id: int, key: str) -> tuple[AnswerTarget, Indicator, dict]:
    """What a save or a confirmation of one answer needs: the assessment (a few columns, the
    autosave's authorisation), the indicator, and the reply's context. An indicator the
    instrument does not have ends the request with a 404 status fragment."""
    target = answer_target_or_404(assessment_id)
    instrument = instrument_of_target(target)
    context = dict(assessment=target, instrument=instrument, language=language())
    indicator = instrument.indicator(key)
    if indicator is None:
        abort(make_response(render_template(
            "walk/_answer_status.html", indicator_key=key, state="error",
            message=_("This indicator does not exist in the assessment's instrument."),
            **context), 404))
    return target, indicator, context


@bp.post("/assessments/<int:assessment_id>/answers/<key>")
@accepts(ONE_ANSWER)
@_per_person_saving
@login_required
def autosave(assessment_id: int, key: str):
    """Save one answer. htmx gets its status fragment plus out-of-band progress updates."""
    target, indicator, context = _answer_to_save(assessment_id, key)
    try:
        instrument = context["instrument"]
        item = answer_store.parse_answer(instrument, key, request.form)
        saved = answer_store.save_answers(db.session, target.id, [item], current_user.id,
                                          scale=instrument.scale)
    except answer_store.AnswerInputError as error:
        return _autosave_reply(indicator, "error", input_error(error), 422, field=error.field,
                               **context)
    except answer_store.AssessmentLocked:
        return _autosave_reply(indicator, "error", locked_message(), 409, **context)
    except answer_store.EditConflict as conflict:
        current = conflict.conflicts[0].current
        return _autosave_reply(indicator, "conflict", _conflict_message(current), 409,
                               answer=current, **context)
    if not request.headers.get("HX-Request"):
        flash(_("Your answer is saved."), "success")
        return redirect(url_for("answering.principle_page", assessment_id=target.id,
                                key=indicator.principle_key, _anchor=f"ind-{key}"), 303)
    return _autosave_reply(indicator, "saved", None, 200, answer=saved.answers[0],
                           saved_by=current_user.display_name, states=saved.states,
                           answered_before=target.answered_count,
                           uncarried=saved.uncarried, **context)


# A confirmation carries nothing but the CSRF token (in a header with htmx, else a field).
ONE_CONFIRMATION = BodyBudget(bytes=4 * 1024, fields=4)


@bp.post("/assessments/<int:assessment_id>/answers/<key>/confirm")
@accepts(ONE_CONFIRMATION)
@_per_person_saving
@login_required
def confirm(assessment_id: int, key: str):
    """Confirm an answer carried over from the previous round as it stands: it counts as
    answered from now on (a versioned save with its revision, like any other). Confirming
    one that is no longer carried over changes nothing and says so."""
    target, indicator, context = _answer_to_save(assessment_id, key)
    try:
        saved = answer_store.confirm_answers(db.session, target.id, [key], current_user.id)
    except answer_store.AssessmentLocked:
        return _autosave_reply(indicator, "error", locked_message(), 409, **context)
    if not request.headers.get("HX-Request"):
        flash(_("The carried-over answer to %(key)s is confirmed.", key=key) if saved.uncarried
              else _("The answer to %(key)s was already confirmed or changed.", key=key),
              "success")
        return redirect(url_for("answering.principle_page", assessment_id=target.id,
                                key=indicator.principle_key, _anchor=f"ind-{key}"), 303)
    answer = saved.answers[0] if saved.answers else None
    return _autosave_reply(indicator, "confirmed" if saved.uncarried else "saved", None, 200,
                           answer=answer, saved_by=current_user.display_name
                           if saved.uncarried else None, states=saved.states,
                           answered_before=target.answered_count,
                           uncarried=saved.uncarried, **context)


def _autosave_reply(indicator: Indicator, state: str, message: str | None, status: int,
                    answer: Answer | answer_store.StoredAnswer | None = None,
                    field: str | None = None, answered_before: int | None = None,
                    saved_by: str | None = None,
                    states: dict[str, answer_store.AnswerState] | None = None,
                    uncarried: tuple[str, ...] = (), **context):
    """The status, and out of band the version and the principle's progress; the stepper
    too when the number of answered indicators changed (most saves are typing, which
    cannot change it, and the stepper is the largest part of the reply)."""
    if not request.headers.get("HX-Request") and state not in ("saved", "confirmed"):
        flash(message, "error")
        return redirect(url_for("answering.principle_page", assessment_id=context["assessment"].id,
                                key=indicator.principle_key, _anchor=f"ind-{indicator.key}"),
                        303)
    progress = edits = None
    # Files are looked for only when the text alone leaves the claim unsupported (most
    # saves are typing evidence, which needs no more reads).
    unsupported = state in ("saved", "confirmed") and answer is not None and claims.is_unsupported(
        indicator, answer) and not indicators_with_files(
            db.session, context["assessment"].id, [indicator.key])
    if states is not None:  # as the save left them: no need to read them again
        progress, edits = scoring.progress(context["instrument"], states), edit_count(states)
    stepper = progress is not None and progress.answered != answered_before
    return render_template(
        "walk/_autosave.html", indicator=indicator, indicator_key=indicator.key, state=state,
        message=message, answer=answer, saved_by=saved_by, field=field, scores=progress,
        edits=edits, stepper=stepper, unsupported=unsupported,
        uncarried=indicator.key in uncarried,
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
                           indicator=indicator, pagination=pagination, language=language(),
                           files=every_file(db.session, assessment.id, key),
                           previous_round=round_store.previous_of(db.session, assessment.id))


