"""Blueprint: the coordinator shares out an assessment's principles among the team.

The overview reads the team through `team_of` (given to templates here; one query, the
progress taken from the page's own scores) and includes team/_team.html, so the walk's
views need not know about teams.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import teams
from .accounts import AccountError
from .extensions import db
from .instrument import Instrument as InstrumentSpec
from .models import Assessment, User
from .permissions import assessment_or_404, can_coordinate, instrument_of
from .url_params import database_id

bp = Blueprint("team", __name__)


@bp.app_context_processor
def team_tools() -> dict:
    """`team_of(assessment, instrument, scores)` for the overview's team region."""
    def team_of(assessment: Assessment, instrument: InstrumentSpec, scores) -> teams.Team:
        return teams.team_of(db.session, assessment, instrument, scores)

    return {"team_of": team_of}


@bp.post("/assessments/<int:assessment_id>/principles/<key>/assignee")
@login_required
def assign(assessment_id: int, key: str):
    """Give a principle to a team member, or to nobody (an empty choice)."""
    assessment = assessment_or_404(assessment_id)
    if not can_coordinate(current_user, assessment):
        abort(403)
    if not assessment.status_enum.editable_by_respondent:
        abort(409)
    instrument = instrument_of(assessment)
    user_id = request.form.get("user_id", "").strip()
    try:
        person = teams.assign_principle(
            db.session, db.session.get(User, current_user.id), assessment, instrument, key,
            database_id(user_id) if user_id else None)
    except AccountError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        principle = instrument.principle(key).title.get(str(current_user.language or "en"))
        if person is None:
            flash(_("Nobody is assigned to “%(p)s” now.", p=principle), "success")
        else:
            flash(_("%(name)s answers “%(p)s”.", name=person.display_name, p=principle),
                  "success")
    return redirect(url_for("assessments.overview", assessment_id=assessment.id,
                            _anchor="team"), 303)
