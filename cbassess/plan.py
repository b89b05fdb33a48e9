"""The action plan pages: the plan grouped by principle, saving one action in place,
facilitators' comments, and an action's history.

Thin: each view parses, authorises (cbassess.permissions), calls cbassess.action_plan and
cbassess.action_store, and renders. Each action is its own <form>; with htmx it posts
itself and the reply replaces exactly it (templates/plan/_action.html), and without
JavaScript the same form posts and the page comes back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from . import action_store, i18n, round_store
from .action_plan import (
    COMMENT_LIMIT,
    DESCRIPTION_LIMIT,
    OWNER_LIMIT,
    PROGRESS_NOTE_LIMIT,
    ActionInputError,
    ActionStatus,
    Plan,
    Priority,
    SortOrder,
    build_plan,
    carried_action,
    parse_action,
    parse_comment,
    sorted_plan,
)
from .extensions import db
from .models import Assessment
from .permissions import assessment_or_404, can_comment_plan, can_edit_plan, instrument_of
from .security import BodyBudget, accepts

bp = Blueprint("plan", __name__)

# One action's fields at their limits, each character a 4-byte UTF-8 character
# percent-encoded (12 bytes), plus the short fields, the CSRF token and the names.
ONE_ACTION = BodyBudget(
    bytes=(DESCRIPTION_LIMIT + PROGRESS_NOTE_LIMIT + OWNER_LIMIT) * 12 + 4 * 1024, fields=12)
ONE_COMMENT = BodyBudget(bytes=COMMENT_LIMIT * 12 + 4 * 1024, fields=4)

PRIORITY_LABELS, STATUS_LABELS = i18n.PRIORITY_LABELS, i18n.ACTION_STATUS_LABELS
SORT_LABELS = {SortOrder.INSTRUMENT: _l("Instrument order"), SortOrder.DUE: _l("Due date"),
               SortOrder.PRIORITY: _l("Priority")}
ERRORS = {
    "unknown_indicator": _l("This indicator does not exist in the assessment's instrument."),
    "not_rated": _l("Rate this indicator before planning an action for it."),
    "target_off_scale": _l("The target must be a level of the scale (%(minimum)s to "
                           "%(maximum)s)."),
    "target_not_above": _l("The target must be above the current level (%(level)s). To plan "
                           "nothing, set the status to “Dropped”."),
    "description_required": _l("Say what will be done."),
    "control_characters": _l("This text contains characters that cannot be stored."),
    "too_long": _l("This text is %(length)s characters long; the limit is %(limit)s."),
    "bad_date": _l("Give the due date as a date (YYYY-MM-DD)."),
    "date_out_of_range": _l("The due date must fall between 2000 and 2100."),
    "bad_choice": _l("Choose one of the options offered."),
    "bad_version": _l("The form's version is invalid; reload the page."),
    "comment_required": _l("Write a comment before posting it."),
}


def error_message(error: ActionInputError) -> str:
    """The refusal in the reader's language, its numbers written in it too."""
    params = {name: i18n.number(value) if isinstance(value, int) else value
              for name, value in error.params.items()}
    return str(ERRORS[error.code]) % params if params else str(ERRORS[error.code])


@bp.app_template_filter("priority_label")
def priority_label(priority: str) -> str:
    return str(PRIORITY_LABELS[Priority(priority)])


@bp.app_template_filter("action_status_label")
def action_status_label(status: str) -> str:
    return str(STATUS_LABELS[ActionStatus(status)])


def _language() -> str:
    return i18n.tag()


def _today():
    return datetime.now(UTC).date()


def current_plan(assessment: Assessment) -> Plan:
    """The assessment's plan as of today, in the reader's language."""
    instrument = instrument_of(assessment)
    return build_plan(instrument,
                      action_store.answer_levels(db.session, assessment.id, instrument),
                      action_store.load_actions(db.session, assessment.id), _today(),
                      _language(), action_store.load_comments(db.session, assessment.id))


def _context(assessment: Assessment, **extra) -> dict:
    context = dict(assessment=assessment, instrument=instrument_of(assessment),
                   language=_language(), editable=can_edit_plan(current_user, assessment),
                   commentable=can_comment_plan(current_user, assessment),
                   priorities=list(Priority), statuses=list(ActionStatus),
                   errors={}, posted={}, conflicts={})
    context.update(extra)
    return context


def _sort_order() -> SortOrder:
    try:
        return SortOrder(request.args.get("sort", SortOrder.INSTRUMENT))
    except ValueError:
        return SortOrder.INSTRUMENT


@bp.get("/assessments/<int:assessment_id>/actions")
@login_required
def plan_page(assessment_id: int):
    """The plan, grouped by principle, sorted as asked; editable in place by respondents."""
    assessment = assessment_or_404(assessment_id)
    order = _sort_order()
    return render_template("plan/plan.html", plan=sorted_plan(current_plan(assessment), order),
                           order=order, sort_labels=SORT_LABELS,
                           previous_plan=_previous_plan(assessment),
                           **_context(assessment)), 200, {"Vary": "HX-Request"}


def _previous_plan(assessment: Assessment) -> dict | None:
    """The previous round's actions with their status, each saying where it stands in this
    round's plan (already there, can be carried, closed, or its indicator removed); None
    when the round was not started from a previous one."""
    previous = round_store.previous_of(db.session, assessment.id)
    if previous is None:
        return None
    instrument = instrument_of(assessment)
    here = action_store.load_actions(db.session, assessment.id)
    rated = action_store.answer_levels(db.session, assessment.id, instrument)
    rows = []
    for action in current_plan(previous).actions:
        if action.key in here:
            state = "in_plan" if action.key in rated else "waiting"
        elif instrument.indicator(action.key) is None:
            state = "removed"
        elif not action.status.open:
            state = "closed"
        else:
            state = "open"
        rows.append((action, state))
    return dict(round=previous, rows=rows,
                open_count=sum(1 for _, state in rows if state == "open"))


@bp.post("/assessments/<int:assessment_id>/actions/<key>/carry")
@login_required
def carry(assessment_id: int, key: str):
    """Carry one open action of the previous round into this round's plan."""
    return _carry(assessment_id, key)


@bp.post("/assessments/<int:assessment_id>/actions/carry-open")
@login_required
def carry_open(assessment_id: int):
    """Carry every open action of the previous round that this plan does not have yet."""
    return _carry(assessment_id, None)


def _carry(assessment_id: int, key: str | None):
    """Carry one action (`key`) or all open ones (None); back to the plan with what was
    done, or why nothing was (409), and nothing half-written."""
    assessment = assessment_or_404(assessment_id)
    if not can_edit_plan(current_user, assessment):
        abort(403)
    previous_plan = _previous_plan(assessment)
    back = redirect(url_for("plan.plan_page", assessment_id=assessment.id,
                            _anchor="previous-actions"), 303)
    if previous_plan is None:
        flash(_("This round was not started from a previous round: there are no earlier "
                "actions to carry over."), "error")
        return _plan_page_again(assessment, 409)
    states = {action.key: (action, state) for action, state in previous_plan["rows"]}
    if key is not None:
        if key not in states:
            abort(404)
        action, state = states[key]
        if state != "open":
            flash({"in_plan": _("This plan already has an action for %(key)s.", key=key),
                   "waiting": _("This plan already has an action for %(key)s.", key=key),
                   "removed": _("%(key)s is not in this round's version of the instrument.",
                                key=key),
                   "closed": _("The action for %(key)s is done or dropped: only open actions "
                               "are carried over.", key=key)}[state], "error")
            return _plan_page_again(assessment, 409)
        chosen = [action]
    else:
        chosen = [action for action, state in previous_plan["rows"] if state == "open"]
        if not chosen:
            flash(_("No open action of the previous round is left to carry over."), "error")
            return _plan_page_again(assessment, 409)
    instrument = instrument_of(assessment)
    try:
        carried = action_store.carry_actions(
            db.session, assessment.id, [carried_action(a, instrument) for a in chosen],
            current_user.id)
    except action_store.AssessmentGone:
        abort(404)
    flash(ngettext("%(num)d action carried over from “%(round)s”.",
                   "%(num)d actions carried over from “%(round)s”.", len(carried),
                   round=previous_plan["round"].round_name), "success")
    return back


def _plan_page_again(assessment: Assessment, status: int):
    """The plan page with the message just flashed, answering `status`."""
    return render_template("plan/plan.html", plan=current_plan(assessment),
                           order=SortOrder.INSTRUMENT, sort_labels=SORT_LABELS,
                           previous_plan=_previous_plan(assessment),
                           **_context(assessment)), status


def _planned_or_404(assessment: Assessment, key: str):
    plan = current_plan(assessment)
    action = plan.action(key)
    if action is None:
        abort(404)
    return plan, action


@bp.post("/assessments/<int:assessment_id>/actions/<key>")
@accepts(ONE_ACTION)
@login_required
def save(assessment_id: int, key: str):
    """Save one action. htmx gets the action back (saved, or with the error or the
    conflict); without JavaScript, a redirect to it, or the page with the error."""
    assessment = assessment_or_404(assessment_id)
    if not can_edit_plan(current_user, assessment):
        abort(403)
    instrument = instrument_of(assessment)
    levels = action_store.answer_levels(db.session, assessment.id, instrument)
    answer = levels.get(key)
    if instrument.indicator(key) is None:
        abort(404)
    status, error, conflict = 200, None, None
    try:
        item = parse_action(instrument, key, answer.level if answer else None, request.form)
        action_store.save_action(db.session, assessment.id, item, current_user.id)
    except ActionInputError as failure:
        status, error = 422, (failure.field, error_message(failure))
    except action_store.ActionConflict as refused:
        conflict = refused.current
        status, error = 409, ("version", _(
            "%(who)s saved this action after you opened the page. Their version is shown "
            "below; your text is still in the form: save again to replace theirs.",
            who=conflict.updated_by or _("someone")))
    except action_store.AssessmentGone:
        abort(404)
    if status == 200 and not request.headers.get("HX-Request"):
        flash(_("The action for %(key)s is saved.", key=key), "success")
        return redirect(url_for("plan.plan_page", assessment_id=assessment.id,
                                _anchor=f"action-{key}"), 303)
    plan = current_plan(assessment)
    action = plan.action(key)  # None: the indicator is not rated (any more)
    if status != 200 and not request.headers.get("HX-Request"):
        flash(_("Nothing was saved: correct the action marked below.") if action else error[1],
              "error")
    extra = {}
    if status != 200:
        extra = dict(errors={key: error}, posted={key: request.form},
                     conflicts={key: conflict} if conflict else {})
    context = _context(assessment, **extra)
    if request.headers.get("HX-Request"):
        if action is None:
            return render_template("plan/_action_gone.html", message=error[1]), status
        return render_template("plan/_action.html", action=action, saved_now=status == 200,
                               **context), status
    return render_template("plan/plan.html", plan=plan, order=SortOrder.INSTRUMENT,
                           sort_labels=SORT_LABELS, previous_plan=_previous_plan(assessment),
                           **context), status


@bp.post("/assessments/<int:assessment_id>/actions/<key>/comments")
@accepts(ONE_COMMENT)
@login_required
def comment(assessment_id: int, key: str):
    """A facilitator's comment on one action; htmx gets the action's comments back."""
    assessment = assessment_or_404(assessment_id)
    if not can_comment_plan(current_user, assessment):
        abort(403)
    _, action = _planned_or_404(assessment, key)
    try:
        body = parse_comment(request.form)
    except ActionInputError as failure:
        message = error_message(failure)
        if request.headers.get("HX-Request"):
            return render_template("plan/_comments.html", action=action, comment_error=message,
                                   **_context(assessment)), 422
        flash(message, "error")
        return redirect(url_for("plan.plan_page", assessment_id=assessment.id,
                                _anchor=f"action-{key}"), 303)
    action_store.add_comment(db.session, assessment.id, key, current_user.id, body)
    if request.headers.get("HX-Request"):
        _, action = _planned_or_404(assessment, key)
        return render_template("plan/_comments.html", action=action, **_context(assessment))
    flash(_("Your comment is posted."), "success")
    return redirect(url_for("plan.plan_page", assessment_id=assessment.id,
                            _anchor=f"action-{key}"), 303)


@bp.get("/assessments/<int:assessment_id>/actions/<key>/history")
@login_required
def history(assessment_id: int, key: str):
    """Every save of one action: who, when, before and after (refused saves included)."""
    assessment = assessment_or_404(assessment_id)
    instrument = instrument_of(assessment)
    indicator = instrument.indicator(key)
    if indicator is None:
        abort(404)
    return render_template("plan/history.html", indicator=indicator,
                           revisions=action_store.load_history(db.session, assessment.id, key),
                           **_context(assessment))
