"""Assessment lists, a new round, the overview, and submitting for review.

Each view parses, authorises, calls a domain module, and renders.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import answers as answer_store
from . import text_policy
from .extensions import db
from .instrument import Instrument as InstrumentSpec
from .models import Assessment, Instrument, Role
from .pages import editable, language, load_answers, locked_message, scores_of
from .permissions import (
    assessment_or_404,
    can_submit,
    instrument_of,
    parse_instrument_row,
    visible_assessments,
)
from .url_params import database_id, page_number

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
    totals = _indicator_totals({a.instrument_row for a in pagination.items})
    return render_template(
        "walk/index.html", pagination=pagination, totals=totals,
        instruments=_instrument_choices() if current_user.role == Role.RESPONDENT else [],
        language=language(),
    )


def _indicator_totals(rows: set[Instrument]) -> dict[int, int]:
    """Number of indicators of each instrument shown, for the progress column."""
    return {row.id: len(parse_instrument_row(row).indicators) for row in rows}


def _instrument_choices() -> list[Instrument]:
    """The newest version of each imported instrument that is not retired."""
    rows = db.session.scalars(select(Instrument).where(Instrument.retired_at.is_(None))
                              .order_by(Instrument.key, Instrument.imported_at.desc()))
    newest: dict[str, Instrument] = {}
    for row in rows:
        newest.setdefault(row.key, row)
    return list(newest.values())


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
    """Each principle with its progress and current score, and the way in."""
    assessment = assessment_or_404(assessment_id)
    return _overview_with(assessment, instrument_of(assessment), None)


def _overview_with(assessment: Assessment, instrument: InstrumentSpec,
                   missing: list[str] | None) -> str:
    answers = load_answers(assessment.id)
    return render_template(
        "walk/overview.html", assessment=assessment, instrument=instrument,
        scores=scores_of(instrument, answers), language=language(),
        editable=editable(assessment), missing=missing,
    )




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
        flash(locked_message(), "error")
        return _overview_with(assessment, instrument, None), 409
    if missing:
        flash(_("The assessment cannot be submitted yet: %(n)d indicators are unanswered.",
                n=len(missing)), "error")
        return _overview_with(assessment, instrument, missing), 422
    flash(_("Submitted for review. The assessment is now read-only."), "success")
    return redirect(url_for("assessments.overview", assessment_id=assessment.id), 303)


