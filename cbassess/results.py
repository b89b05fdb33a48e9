"""Results, the PDF report and the CSV/JSON exports of one assessment.

All four read the same things (the instrument the assessment was taken on, its answers and
their scores), assembled once by `_report_data`, so the page, the PDF and the files can
never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .charts import RadarAxis, radar_svg
from .exports import content_disposition, csv_text, json_stream
from .extensions import db
from .models import AnswerRevision, Assessment, Status, User
from .permissions import assessment_or_404, instrument_of
from .report import render_pdf
from .walk import load_answers, scores_of

bp = Blueprint("results", __name__)

REVISIONS_PER_BATCH = 20  # a revision may hold two 20,000-character texts


def _report_data(assessment: Assessment) -> dict:
    instrument = instrument_of(assessment)
    answers = load_answers(assessment.id)
    scores = scores_of(instrument, answers)
    language = str(get_locale() or "en")
    axes = [RadarAxis(_axis_label(p.title.get(language), scores.principle(p.key).average),
                      scores.principle(p.key).average)
            for p in instrument.principles]
    chart = radar_svg(axes, instrument.scale.values,
                      title=f"{instrument.title.get(language)} — {assessment.round_name}")
    return dict(assessment=assessment, instrument=instrument, answers=answers, scores=scores,
                chart=chart, language=language,
                validated=assessment.status == Status.VALIDATED)


def _axis_label(title: str, average: float | None) -> str:
    """A principle's spoke label; one with no score says so, as its point sits at the centre."""
    return title if average is not None else _("%(title)s (no score yet)", title=title)


@bp.get("/assessments/<int:assessment_id>/results")
@login_required
def results(assessment_id: int):
    """Scores two ways, the radar chart with its table, strengths and gaps."""
    assessment = assessment_or_404(assessment_id)
    return render_template("results/results.html", **_report_data(assessment))


@bp.get("/assessments/<int:assessment_id>/report.pdf")
@login_required
def report_pdf(assessment_id: int):
    """The PDF report: cover, summary and chart, each principle's answers, methodology."""
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("inline", assessment, "pdf")}
    if request.method == "HEAD":  # what a GET would send, without rendering the PDF
        return Response(mimetype="application/pdf", headers=headers)
    data = _report_data(assessment)
    html = render_template("report/report.html", generated=datetime.now(UTC).date(), **data)
    return Response(render_pdf(html, current_app.static_folder), mimetype="application/pdf",
                    headers=headers)


def _disposition(disposition: str, assessment: Assessment, extension: str) -> str:
    """The download's name from the administration and round, in any script (filename*)."""
    return content_disposition(
        disposition, f"cbassess-{assessment.organisation.country_code}-{assessment.round_name}",
        extension)


def _answer_rows(data: dict) -> list[dict]:
    instrument, answers = data["instrument"], data["answers"]
    language = data["language"]
    rows = []
    for principle in instrument.principles:
        for indicator in principle.indicators:
            answer = answers.get(indicator.key)
            level = answer.level if answer else None
            rows.append({
                "principle_key": principle.key,
                "principle": principle.title.get(language),
                "indicator_key": indicator.key,
                "question": indicator.question.get(language),
                "level": level,
                "level_label": (instrument.scale.level(level).label.get(language)
                                if level is not None else None),
                "not_applicable": bool(answer and answer.not_applicable),
                "evidence": answer.evidence if answer else "",
                "note": answer.note if answer else "",
                "version": answer.version if answer else 0,
                "saved_by": (answer.updated_by.email
                             if answer and answer.updated_by else None),
                "saved_at": (answer.updated_at.isoformat()
                             if answer and answer.updated_at else None),
            })
    return rows


@bp.get("/assessments/<int:assessment_id>/export.json")
@login_required
def export_json(assessment_id: int):
    """Every answer, the scores and the full revision history, as JSON.

    Streamed: the history is read and sent a batch of revisions at a time, so however long
    it has grown, the reply is never built whole in the server's memory.
    """
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("attachment", assessment, "json")}
    if request.method == "HEAD":
        return Response(mimetype="application/json", headers=headers)
    data = _report_data(assessment)
    instrument, scores = data["instrument"], data["scores"]
    head = {
        "assessment": {
            "id": assessment.id,
            "administration": assessment.organisation.name,
            "country_code": assessment.organisation.country_code,
            "round": assessment.round_name,
            "status": assessment.status,
            "created_at": assessment.created_at.isoformat(),
            "submitted_at": (assessment.submitted_at.isoformat()
                             if assessment.submitted_at else None),
        },
        "instrument": {"key": instrument.key, "version": instrument.version,
                       "content_hash": instrument.content_hash},
        "scores": {
            "average": scores.average, "weakest_link": scores.weakest,
            "completeness": scores.completeness,
            "principles": [{"key": p.key, "average": p.average, "weakest_link": p.weakest,
                            "weakest_link_label": p.weakest_label, "answered": p.answered,
                            "total": p.total} for p in scores.principles],
        },
        "answers": _answer_rows(data),
    }
    revisions = ({
        "indicator_key": r.indicator_key, "version": r.version, "kind": r.kind,
        "changed_by": r.email, "changed_at": r.changed_at.isoformat(), "before": r.before,
        "after": r.after,
    } for r in _revisions_in_batches(assessment.id))
    return Response(stream_with_context(json_stream(head, "revisions", revisions)),
                    mimetype="application/json", headers=headers)


def _revisions_in_batches(assessment_id: int):
    """An assessment's revisions in id order, read REVISIONS_PER_BATCH at a time.

    Each batch is its own query after the last id seen (keyset), not one server-side cursor:
    a cursor does not outlive the transaction, and the reply is still being sent after the
    request's own work has ended.
    """
    last_id = 0
    while True:
        batch = db.session.execute(
            select(AnswerRevision.id, AnswerRevision.indicator_key, AnswerRevision.version,
                   AnswerRevision.kind, User.email, AnswerRevision.changed_at,
                   AnswerRevision.before, AnswerRevision.after)
            .outerjoin(User, User.id == AnswerRevision.changed_by_id)
            .where(AnswerRevision.assessment_id == assessment_id,
                   AnswerRevision.id > last_id)
            .order_by(AnswerRevision.id).limit(REVISIONS_PER_BATCH)).all()
        yield from batch
        if len(batch) < REVISIONS_PER_BATCH:
            return
        last_id = batch[-1].id


@bp.get("/assessments/<int:assessment_id>/export.csv")
@login_required
def export_csv(assessment_id: int):
    """One row per indicator: key, level, evidence, note, who saved it and when."""
    assessment = assessment_or_404(assessment_id)
    # One charset parameter: `mimetype` would have Werkzeug add a second one.
    content_type = "text/csv; charset=utf-8"
    headers = {"Content-Disposition": _disposition("attachment", assessment, "csv")}
    if request.method == "HEAD":
        return Response(content_type=content_type, headers=headers)
    columns = ["principle_key", "indicator_key", "question", "level", "level_label",
               "not_applicable", "evidence", "note", "saved_by", "saved_at"]
    return Response(csv_text(columns, _answer_rows(_report_data(assessment))),
                    content_type=content_type, headers=headers)
