"""The facilitator's review: a summary with the actions (return, validate), one principle at
a time with the claimed answer beside the review fields, query threads, an admin's reopen,
and the public digest check at /verify.

Each view parses, authorises, calls reviews.py or transitions.py, and renders. Review fields
save themselves like the walk's answers (same app.js behaviour, same conflict handling);
every form also works as a plain post with JavaScript off.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from . import reviews as review_store
from . import signoff, transitions
from .answers import AnswerInputError, field_name
from .extensions import db
from .i18n import REVIEW_STATE_LABELS
from .instrument import Instrument as InstrumentSpec
from .instrument import Principle
from .models import Assessment, QueryThread, Role, Status
from .pages import (
    ONE_MESSAGE,
    files_of,
    input_error,
    language,
    load_answers,
    refusal_text,
    scores_of,
    status_label,
)
from .permissions import assessment_or_404, can_answer, can_review, instrument_of
from .security import accepts
from .workflow import Action, Refusal

bp = Blueprint("review", __name__)


def _reviewable_or_404(assessment_id: int) -> Assessment:
    """The assessment if the current user reviews it: 404 unseen, 403 seen but not theirs."""
    assessment = assessment_or_404(assessment_id)
    if not can_review(current_user, assessment):
        abort(403)
    return assessment


def _actor() -> transitions.Actor:
    return transitions.Actor(current_user.id, Role(current_user.role), current_user.email)


def _principle_or_404(instrument: InstrumentSpec, key: str) -> Principle:
    principle = instrument.principle(key)
    if principle is None:
        abort(404)
    return principle


def _review_counts(instrument: InstrumentSpec, reviews: dict, answers: dict) -> dict:
    """Per principle: accepted, queried, pending, and levels changed from the claim."""
    counts = {}
    for principle in instrument.principles:
        row = {"accepted": 0, "queried": 0, "pending": 0, "changed": 0,
               "total": len(principle.indicators)}
        for indicator in principle.indicators:
            view = review_store.ReviewView.of(reviews.get(indicator.key),
                                              answers.get(indicator.key))
            row[view.state] += 1
            answer = answers.get(indicator.key)
            if view.review and answer and (view.level, view.not_applicable) != (
                    answer.level, answer.not_applicable):
                row["changed"] += 1
        counts[principle.key] = row
    return counts


@bp.get("/assessments/<int:assessment_id>/review")
@login_required
def summary(assessment_id: int):
    """Where the review stands, principle by principle, with return and validate."""
    assessment = _reviewable_or_404(assessment_id)
    return _summary_with(assessment, instrument_of(assessment))


def _summary_with(assessment: Assessment, instrument: InstrumentSpec, message: str = ""):
    answers = load_answers(assessment.id)
    reviews = review_store.reviews_of(db.session, assessment.id)
    role = Role(current_user.role)
    checks = {}
    for action in (Action.RETURN, Action.VALIDATE):
        outcome = transitions.check(db.session, assessment, instrument, action, role,
                                    message="(written in the form)"
                                    if action == Action.RETURN else "")
        checks[action] = refusal_text(outcome) if isinstance(outcome, Refusal) else None
    # Returning without an open query needs a message: say so unless a query is open.
    open_queries = transitions.open_query_counts(db.session, [assessment.id]) \
        .get(assessment.id, 0)
    return render_template(
        "review/summary.html", assessment=assessment, instrument=instrument,
        language=language(), counts=_review_counts(instrument, reviews, answers),
        checks=checks, open_queries=open_queries, message=message,
        events=transitions.events_of(db.session, assessment.id),
        snapshot=signoff.latest(db.session, assessment.id))


def _principle_context(assessment: Assessment, instrument: InstrumentSpec,
                       principle: Principle) -> dict:
    answers = load_answers(assessment.id)
    reviews = review_store.reviews_of(db.session, assessment.id)
    keys = [p.key for p in instrument.principles]
    index = keys.index(principle.key)
    return dict(
        assessment=assessment, instrument=instrument, principle=principle,
        language=language(), answers=answers,
        unsupported_claims=scores_of(
            instrument, answers, files_of(assessment.id, instrument, answers)).unsupported_keys,
        views={i.key: review_store.ReviewView.of(reviews.get(i.key), answers.get(i.key))
               for i in principle.indicators},
        threads=review_store.threads_of(db.session, assessment.id),
        reviewing=assessment.status_enum == Status.SUBMITTED,
        previous=instrument.principles[index - 1] if index > 0 else None,
        following=instrument.principles[index + 1] if index + 1 < len(keys) else None,
        counts=_review_counts(instrument, reviews, answers),
    )


@bp.get("/assessments/<int:assessment_id>/review/<key>")
@login_required
def principle_page(assessment_id: int, key: str):
    """One principle: each claimed answer beside the facilitator's review of it."""
    assessment = _reviewable_or_404(assessment_id)
    instrument = instrument_of(assessment)
    principle = _principle_or_404(instrument, key)
    return render_template("review/principle.html",
                           **_principle_context(assessment, instrument, principle))


def _indicator_or_404(assessment: Assessment, key: str):
    instrument = instrument_of(assessment)
    indicator = instrument.indicator(key)
    if indicator is None:
        abort(404)
    return instrument, indicator


def _back_to(assessment: Assessment, indicator_key: str, principle_key: str,
             to_review: bool) -> str:
    anchor = "ind-" + indicator_key.replace(".", "-")
    if to_review:
        return url_for("review.principle_page", assessment_id=assessment.id,
                       key=principle_key, _anchor=anchor)
    return url_for("answering.principle_page", assessment_id=assessment.id, key=principle_key,
                   _anchor=anchor)


@bp.post("/assessments/<int:assessment_id>/reviews/<key>")
@accepts(ONE_MESSAGE)
@login_required
def save(assessment_id: int, key: str):
    """Save one indicator's review (htmx: its status; plain post: back to the page)."""
    assessment = _reviewable_or_404(assessment_id)
    instrument, indicator = _indicator_or_404(assessment, key)
    htmx = bool(request.headers.get("HX-Request"))
    context = dict(assessment=assessment, instrument=instrument, indicator=indicator,
                   language=language())
    try:
        item = review_store.parse_review(instrument, key, request.form)
        review = review_store.save_review(db.session, assessment.id, item, current_user.id)
    except AnswerInputError as error:
        return _save_reply(context, "error", _("Not saved: %(why)s", why=input_error(error)), 422,
                           field=error.field)
    except review_store.ReviewLocked:
        return _save_reply(context, "error", _review_locked(assessment), 409)
    except review_store.ReviewConflict as conflict:
        who = conflict.current.updated_by.display_name if conflict.current.updated_by \
            else _("someone")
        return _save_reply(context, "conflict", _(
            "%(who)s changed this review after you opened the page. Their version is shown "
            "below: keep yours or take theirs.", who=who), 409, review=conflict.current)
    if not htmx:
        flash(_("The review of %(key)s is saved.", key=key), "success")
        return redirect(_back_to(assessment, key, indicator.principle_key, True), 303)
    return _save_reply(context, "saved", None, 200, review=review)


def _review_locked(assessment: Assessment) -> str:
    return _("The review can change only while the assessment is submitted; it is %(status)s.",
             status=_status_text(assessment))


def _status_text(assessment: Assessment) -> str:
    db.session.refresh(assessment)
    return status_label(assessment.status).lower()


def _save_reply(context: dict, state: str, message: str | None, status: int,
                review=None, field: str | None = None):
    """htmx: the status region. Without JavaScript a refusal is a page that says why, shows
    what was sent and, after a conflict, theirs with a button that keeps yours."""
    indicator = context["indicator"]
    if not request.headers.get("HX-Request"):
        form = request.form
        names = {part: field_name(indicator.key, part)
                 for part in ("review-level", "state", "finding")}
        resend = None
        if state == "conflict":
            resend = {"action": url_for("review.save", assessment_id=context["assessment"].id,
                                        key=indicator.key),
                      "fields": {**{n: form.get(n, "") for n in names.values()},
                                 field_name(indicator.key, "review-version"): review.version}}
        return render_template(
            "review/refused.html", title=_("The review of %(key)s was not saved",
                                           key=indicator.key),
            message=message, theirs=review if state == "conflict" else None, resend=resend,
            sent=[(_("Validated level"), form.get(names["review-level"], "")),
                  (_("State"), str(REVIEW_STATE_LABELS.get(form.get(names["state"], ""),
                                                       form.get(names["state"], "")))),
                  (_("Finding"), form.get(names["finding"], ""))],
            back=_back_to(context["assessment"], indicator.key, indicator.principle_key, True),
            **context), status
    return render_template("review/_review_status.html", state=state, message=message,
                           review=review, indicator_key=indicator.key,
                           **context), status, {"X-Field-Error": field} if field else {}


@bp.get("/assessments/<int:assessment_id>/reviews/<key>")
@login_required
def review_fragment(assessment_id: int, key: str):
    """One indicator's review as stored now (used by "take theirs" after a conflict)."""
    assessment = _reviewable_or_404(assessment_id)
    instrument, indicator = _indicator_or_404(assessment, key)
    if not request.headers.get("HX-Request"):
        return redirect(_back_to(assessment, key, indicator.principle_key, True))
    context = _principle_context(assessment, instrument,
                                 instrument.principle(indicator.principle_key))
    return render_template("review/_indicator.html", indicator=indicator,
                           view=context["views"][key], **context)


@bp.get("/assessments/<int:assessment_id>/reviews/<key>/history")
@login_required
def history(assessment_id: int, key: str):
    """Every change to one indicator's review: who, when, before and after."""
    assessment = _reviewable_or_404(assessment_id)
    instrument, indicator = _indicator_or_404(assessment, key)
    return render_template("review/history.html", assessment=assessment, instrument=instrument,
                           indicator=indicator, language=language(),
                           revisions=review_store.revisions_of(db.session, assessment.id, key))


def _thread_reply(assessment: Assessment, instrument: InstrumentSpec, indicator_key: str,
                  status: int = 200, error: str | None = None, to_review: bool = True,
                  thread_id: int | None = None):
    """htmx: the indicator's thread region again. Without JavaScript: back to the page, or
    on a refusal a page that says why and shows the text sent (nothing typed is lost)."""
    indicator = instrument.indicator(indicator_key)
    back = _back_to(assessment, indicator_key, indicator.principle_key, to_review)
    if not request.headers.get("HX-Request"):
        if error:
            return render_template(
                "review/refused.html", title=_("Not sent"), message=error, back=back,
                sent=[(_("Message"), request.form.get("message", ""))], assessment=assessment,
                instrument=instrument, language=language()), status
        return redirect(back, 303)
    return render_template(
        "review/_threads.html", assessment=assessment, instrument=instrument,
        indicator=indicator, language=language(), error=error,
        # A refused text goes back into its field, so nothing typed is lost.
        kept={thread_id or "new": request.form.get("message", "")} if error else {},
        threads=review_store.threads_of(db.session, assessment.id),
        reviewer=can_review(current_user, assessment), detached=not to_review,
        reviewing=assessment.status_enum == Status.SUBMITTED), status


@bp.post("/assessments/<int:assessment_id>/queries")
@accepts(ONE_MESSAGE)
@login_required
def open_query(assessment_id: int):
    """Ask the administration a question on one indicator (it becomes "queried")."""
    assessment = _reviewable_or_404(assessment_id)
    key = request.form.get("indicator_key", "")
    instrument, _indicator = _indicator_or_404(assessment, key)
    try:
        review_store.open_query(db.session, assessment.id, key,
                                request.form.get("message", ""), current_user.id)
    except AnswerInputError as error:
        return _thread_reply(assessment, instrument, key, 422,
                             _("The query was not sent: %(why)s", why=input_error(error)))
    except review_store.ReviewLocked:
        return _thread_reply(assessment, instrument, key, 409, _review_locked(assessment))
    if not request.headers.get("HX-Request"):
        flash(_("Query sent on %(key)s.", key=key), "success")
    return _thread_reply(assessment, instrument, key)


def _thread_or_404(assessment_id: int, thread_id: int) -> tuple[Assessment, QueryThread]:
    assessment = assessment_or_404(assessment_id)
    thread = db.session.scalar(select(QueryThread).where(
        QueryThread.id == thread_id, QueryThread.assessment_id == assessment.id))
    if thread is None:
        abort(404)
    return assessment, thread


@bp.post("/assessments/<int:assessment_id>/queries/<int:thread_id>/replies")
@accepts(ONE_MESSAGE)
@login_required
def reply(assessment_id: int, thread_id: int):
    """Reply in a thread: the administration's respondents and its reviewers."""
    assessment, thread = _thread_or_404(assessment_id, thread_id)
    reviewer = can_review(current_user, assessment)
    if not (reviewer or can_answer(current_user, assessment)):
        abort(403)
    instrument = instrument_of(assessment)
    try:
        review_store.reply(db.session, thread, request.form.get("message", ""),
                           current_user.id)
    except AnswerInputError as error:
        return _thread_reply(assessment, instrument, thread.indicator_key, 422,
                             _("The reply was not sent: %(why)s", why=input_error(error)),
                             to_review=reviewer, thread_id=thread.id)
    except review_store.ThreadClosed:
        return _thread_reply(assessment, instrument, thread.indicator_key, 409,
                             _("This query is closed (or the assessment validated): the "
                               "conversation is kept but takes no more replies."),
                             to_review=reviewer, thread_id=thread.id)
    if not request.headers.get("HX-Request"):
        flash(_("Reply sent."), "success")
    return _thread_reply(assessment, instrument, thread.indicator_key, to_review=reviewer)


@bp.post("/assessments/<int:assessment_id>/queries/<int:thread_id>/close")
@login_required
def close_query(assessment_id: int, thread_id: int):
    """A reviewer closes a query once answered; the conversation is kept."""
    assessment, thread = _thread_or_404(assessment_id, thread_id)
    if not can_review(current_user, assessment):
        abort(403)
    instrument = instrument_of(assessment)
    try:
        review_store.close(db.session, thread, current_user.id)
    except review_store.ThreadClosed:
        return _thread_reply(assessment, instrument, thread.indicator_key, 409,
                             _("This query is already closed."))
    if not request.headers.get("HX-Request"):
        flash(_("Query closed."), "success")
    return _thread_reply(assessment, instrument, thread.indicator_key)


def _transition(assessment_id: int, action: Action, done: str, admin_only: bool = False):
    assessment = _reviewable_or_404(assessment_id)
    if admin_only and current_user.role != Role.ADMIN:
        abort(403)
    instrument = instrument_of(assessment)
    message = request.form.get("message", "")
    try:
        transitions.perform(db.session, assessment, instrument, action, _actor(), message)
    except AnswerInputError as error:
        flash(_("Nothing was done: %(why)s", why=input_error(error)), "error")
        return _summary_with(assessment, instrument, message), 422
    except transitions.TransitionRefused as refused:
        flash(refusal_text(refused.refusal), "error")
        return _summary_with(assessment, instrument, message), 409
    flash(done, "success")
    return redirect(url_for("assessments.overview", assessment_id=assessment.id), 303)


@bp.post("/assessments/<int:assessment_id>/return")
@accepts(ONE_MESSAGE)
@login_required
def return_(assessment_id: int):
    """Send the assessment back to the administration with the open queries and a message."""
    return _transition(assessment_id, Action.RETURN,
                       _("Returned to the administration: its respondents can change the "
                         "answers and reply to the queries."))


@bp.post("/assessments/<int:assessment_id>/validate")
@login_required
def validate(assessment_id: int):
    """Validate: every indicator accepted; the assessment is locked and a snapshot frozen."""
    return _transition(assessment_id, Action.VALIDATE,
                       _("Validated. The assessment is locked and its sign-off snapshot "
                         "is kept."))


@bp.post("/assessments/<int:assessment_id>/reopen")
@accepts(ONE_MESSAGE)
@login_required
def reopen(assessment_id: int):
    """An admin reopens a validated assessment for review, with a written reason."""
    return _transition(assessment_id, Action.REOPEN,
                       _("Reopened: the assessment is under review again."), admin_only=True)


@bp.get("/verify")
def verify():
    """Does a report's digest match a sign-off snapshot held here? Public: a digest is
    unguessable, and the answer shows only what the report itself prints."""
    query = (request.args.get("digest") or "").strip()[:200]
    snapshot = signoff.find(db.session, query) if query else None
    return render_template("review/verify.html", query=query, snapshot=snapshot,
                           payload=json.loads(snapshot.payload) if snapshot else None,
                           intact=snapshot is not None and signoff.matches_payload(snapshot),
                           searched=bool(query))
