"""Assessment lists, a new round, the overview, submitting for review and withdrawing.

Each view parses, authorises, calls a domain module, and renders.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import round_store, signoff, text_policy, transitions
from .answers import AnswerInputError, unanswered
from .extensions import db
from .instrument import Instrument as InstrumentSpec
from .models import Assessment, Instrument, Role, Status, User, facilitator_assignments
from .pages import (
    ONE_MESSAGE,
    editable,
    files_of,
    first_unanswered,
    input_error,
    language,
    load_answers,
    refusal_text,
    scores_of,
)
from .permissions import (
    assessment_or_404,
    can_start_round,
    can_submit,
    instrument_of,
    parse_instrument_row,
    visible_assessments,
)
from .rounds import carry_over
from .scoring import AnswerValue
from .security import accepts
from .url_params import database_id, page_number
from .workflow import UNANSWERED, Action, Facts, Refusal, allowed_actions, decide

bp = Blueprint("assessments", __name__)

ROUND_NAME_LIMIT = 100


@bp.get("/")
def home():
    return redirect(url_for("assessments.index"))


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
    instruments = _instrument_choices() if current_user.role == Role.RESPONDENT else []
    shown = {row.id: parse_instrument_row(row)
             for row in {a.instrument_row for a in pagination.items} | set(instruments)}
    reader = language()
    return render_template(
        "walk/index.html", pagination=pagination,
        open_queries=transitions.open_query_counts(db.session,
                                                   [a.id for a in pagination.items]),
        instruments=instruments, language=reader,
        # The number of indicators (the progress column) and the title in the reader's
        # language of each instrument shown: the table row holds the English title only.
        totals={key: len(spec.indicators) for key, spec in shown.items()},
        instrument_titles={key: spec.title.get(reader) for key, spec in shown.items()},
        carry_from=round_store.carry_from(db.session, current_user.organisation_id)
        if current_user.role == Role.RESPONDENT and current_user.organisation_id else None,
    )


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
            return redirect(url_for("assessments.overview", assessment_id=assessment.id), 303)
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
    """Each principle with its progress and current score, the way in, and the steps so far."""
    assessment = assessment_or_404(assessment_id)
    return _overview_with(assessment, instrument_of(assessment), None)


def _overview_with(assessment: Assessment, instrument: InstrumentSpec,
                   missing: list[str] | None) -> str:
    answers = load_answers(assessment.id)
    role = Role(current_user.role)
    # Withdraw and reopen, the overview's actions, are checked on the assessment alone (has
    # the review started; the reason is written in the form): no reads for them here.
    facts = Facts(review_started=assessment.review_started_at is not None,
                  message="(written in the form)")
    actions = {}  # action -> None when it applies now, else why not
    for action in (Action.WITHDRAW, Action.REOPEN):
        if action in allowed_actions(assessment.status_enum, role):
            outcome = decide(assessment.status_enum, action, role, facts)
            actions[action] = refusal_text(outcome) if isinstance(outcome, Refusal) else None
    return render_template(
        "walk/overview.html", assessment=assessment, instrument=instrument,
        rounds=_rounds_context(assessment, instrument, answers),
        scores=scores_of(instrument, answers, files_of(assessment.id, instrument, answers)),
        language=language(),
        editable=editable(assessment), missing=missing,
        next_unanswered=first_unanswered(instrument, answers),
        events=transitions.events_of(db.session, assessment.id),
        open_queries=transitions.open_query_counts(db.session, [assessment.id])
        .get(assessment.id, 0),
        # assessment_or_404 has checked that the user sees it: a reviewer role reviews it.
        reviewer=current_user.role in (Role.FACILITATOR, Role.ADMIN), actions=actions,
        snapshot=signoff.latest(db.session, assessment.id)
        if assessment.status_enum == Status.VALIDATED else None,
    )


def _rounds_context(assessment: Assessment, instrument: InstrumentSpec,
                    answers: dict) -> dict:
    """The overview's rounds panel: where this round came from (and what is still to
    confirm, what the newer version removed), where the next one went, whether the reader
    may start it."""
    link, following = round_store.around(db.session, assessment.id)
    removed: list = []
    if link is not None:
        previous_spec = parse_instrument_row(link.previous.instrument_row)
        removed = [previous_spec.indicator(key) for key in carry_over(
            previous_spec, instrument, {}).removed]
    carried = [i for i in instrument.indicators
               if i.key in answers and answers[i.key].carried_over]
    may_start = (following is None and assessment.status_enum in round_store.SOURCE_STATUSES
                 and can_start_round(current_user, assessment))
    return dict(link=link, removed=removed, carried=carried, following=following,
                may_start=may_start,
                start_refusal=round_store.refusal(db.session, assessment) if may_start
                else None)


def _reviewers_of(assessment: Assessment) -> list[User]:
    """The facilitators assigned to the assessment's administration."""
    return list(db.session.scalars(
        select(User).join(facilitator_assignments,
                          facilitator_assignments.c.user_id == User.id)
        .where(facilitator_assignments.c.organisation_id == assessment.organisation_id,
               User.active.is_(True), User.role == Role.FACILITATOR)
        .order_by(User.name)))


@bp.route("/assessments/<int:assessment_id>/submit", methods=["GET", "POST"])
@accepts(ONE_MESSAGE)
@login_required
def submit(assessment_id: int):
    """GET: what is about to be submitted (unanswered, claimed without evidence, who will
    review it). POST: submit for review, or say why not (422 unanswered, 409 otherwise)."""
    assessment = assessment_or_404(assessment_id, write=True)
    if not can_submit(current_user, assessment):
        abort(403)  # the team's coordinator submits
    instrument = instrument_of(assessment)
    if request.method != "POST":
        answers = load_answers(assessment.id)
        scores = scores_of(instrument, answers, files_of(assessment.id, instrument, answers))
        return render_template(
            "walk/submit.html", assessment=assessment, instrument=instrument,
            language=language(), editable=editable(assessment), scores=scores,
            missing=unanswered(instrument, answers),
            reviewers=_reviewers_of(assessment), answers=answers,
            open_queries=transitions.open_query_counts(db.session, [assessment.id])
            .get(assessment.id, 0))
    try:
        transitions.perform(db.session, assessment, instrument, Action.SUBMIT,
                            _actor(), request.form.get("message", ""))
    except AnswerInputError as error:
        flash(_("Not submitted: %(why)s", why=input_error(error)), "error")
        return _overview_with(assessment, instrument, None), 422
    except transitions.TransitionRefused as refused:
        if refused.refusal.reason == UNANSWERED:
            missing = unanswered(instrument, load_answers(assessment.id))
            flash(ngettext("The assessment cannot be submitted yet: %(num)d indicator is "
                           "unanswered.",
                           "The assessment cannot be submitted yet: %(num)d indicators are "
                           "unanswered.", len(missing)), "error")
            return _overview_with(assessment, instrument, missing), 422
        flash(refusal_text(refused.refusal), "error")
        return _overview_with(assessment, instrument, None), 409
    flash(_("Submitted for review. The assessment is now read-only until it is validated or "
            "returned; you can withdraw it until a facilitator starts the review."), "success")
    return redirect(url_for("assessments.overview", assessment_id=assessment.id), 303)


@bp.post("/assessments/<int:assessment_id>/withdraw")
@accepts(ONE_MESSAGE)
@login_required
def withdraw(assessment_id: int):
    """Take a submission back for more changes, until a facilitator starts the review."""
    assessment = assessment_or_404(assessment_id, write=True)
    instrument = instrument_of(assessment)
    try:
        transitions.perform(db.session, assessment, instrument, Action.WITHDRAW, _actor(),
                            request.form.get("message", ""))
    except AnswerInputError as error:
        flash(_("Not withdrawn: %(why)s", why=input_error(error)), "error")
        return _overview_with(assessment, instrument, None), 422
    except transitions.TransitionRefused as refused:
        flash(refusal_text(refused.refusal), "error")
        return _overview_with(assessment, instrument, None), 409
    flash(_("The submission is withdrawn: you can change the answers again."), "success")
    return redirect(url_for("assessments.overview", assessment_id=assessment.id), 303)


@bp.route("/assessments/<int:assessment_id>/next-round", methods=["GET", "POST"])
@login_required
def next_round(assessment_id: int):
    """GET: what starting the next round from this assessment will do (answers carried
    over, indicators new and removed in a newer version), with its form. POST: start it;
    a refusal (409: not the last submitted round, a round in progress; 422: the name or
    the version) shows the page again with the reason, and nothing is created."""
    source = assessment_or_404(assessment_id)
    if not can_start_round(current_user, source):
        abort(403)
    choices = round_store.instrument_choices(db.session, source)
    posted = {"round_name": request.form.get("round_name", ""),
              "instrument_id": database_id(request.form.get("instrument_id"))}
    if request.method == "POST":
        try:
            started = round_store.start_round(
                db.session, current_user, source, instrument_of(source),
                posted["round_name"], posted["instrument_id"], parse_instrument_row)
        except round_store.RoundRefused as refused:
            return _next_round_page(source, choices, posted, refused,
                                    409 if not refused.field else 422)
        flash(ngettext(
            "Round “%(name)s” started from “%(previous)s”: %(num)d answer is carried over. "
            "Confirm it or change it: until then it counts as unanswered.",
            "Round “%(name)s” started from “%(previous)s”: %(num)d answers are carried over. "
            "Confirm or change each one: until then they count as unanswered.",
            started.answers, name=started.assessment.round_name,
            previous=source.round_name), "success")
        return redirect(url_for("assessments.overview",
                                assessment_id=started.assessment.id), 303)
    why_not = round_store.refusal(db.session, source)
    return _next_round_page(source, choices, posted,
                            round_store.RoundRefused("", why_not) if why_not else None,
                            409 if why_not else 200)


def _next_round_page(source: Assessment, choices: list[Instrument], posted: dict,
                     refused: round_store.RoundRefused | None, status: int):
    """The next-round page: per version offered, what would carry over."""
    source_spec = instrument_of(source)
    answers = {a.indicator_key: AnswerValue.of(a) for a in load_answers(source.id).values()}
    previews = []
    for row in choices:
        spec = parse_instrument_row(row)
        previews.append((row, spec, carry_over(source_spec, spec, answers)))
    return render_template(
        "walk/next_round.html", assessment=source, instrument=source_spec,
        previews=previews, posted=posted, refused=refused, language=language(),
        files=len(round_store.carried_files(db.session, source.id))), status


def _actor() -> transitions.Actor:
    return transitions.Actor(current_user.id, Role(current_user.role), current_user.email)
