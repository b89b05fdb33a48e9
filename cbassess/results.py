"""Results, the PDF report and the CSV/JSON exports of one assessment.

All four read the same things (the instrument the assessment was taken on, its answers and
their scores), assembled once by `_report_data`, so the page, the PDF and the files can
never disagree.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .charts import RadarAxis, radar_svg
from .extensions import db
from .models import AnswerRevision, Assessment, Status
from .permissions import assessment_or_404, instrument_of
from .report import render_pdf
from .walk import load_answers, scores_of

bp = Blueprint("results", __name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    data = _report_data(assessment)
    html = render_template("report/report.html", generated=datetime.now(UTC).date(), **data)
    pdf = render_pdf(html, current_app.static_folder)
    filename = _filename(assessment, "pdf")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"'})


def _filename(assessment: Assessment, extension: str) -> str:
    """An ASCII file name from the administration and round, safe in any header."""
    stem = f"cbassess-{assessment.organisation.country_code}-{assessment.round_name}"
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in stem)
    return f"{safe.strip('-')[:80]}.{extension}"


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
    """Every answer, the scores and the full revision history, as JSON."""
    assessment = assessment_or_404(assessment_id)
    data = _report_data(assessment)
    instrument, scores = data["instrument"], data["scores"]
    revisions = db.session.scalars(
        select(AnswerRevision).options(joinedload(AnswerRevision.changed_by))
        .where(AnswerRevision.assessment_id == assessment.id).order_by(AnswerRevision.id)
    )
    body = {
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
        "revisions": [{
            "indicator_key": r.indicator_key, "version": r.version, "kind": r.kind,
            "changed_by": r.changed_by.email if r.changed_by else None,
            "changed_at": r.changed_at.isoformat(), "before": r.before, "after": r.after,
        } for r in revisions],
    }
    response = jsonify(body)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_filename(assessment, "json")}"')
    return response


def _csv_cell(value) -> str:
    """Neutralise text a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@bp.get("/assessments/<int:assessment_id>/export.csv")
@login_required
def export_csv(assessment_id: int):
    """One row per indicator: key, level, evidence, note, who saved it and when."""
    assessment = assessment_or_404(assessment_id)
    rows = _answer_rows(_report_data(assessment))
    buffer = io.StringIO()
    columns = ["principle_key", "indicator_key", "question", "level", "level_label",
               "not_applicable", "evidence", "note", "saved_by", "saved_at"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row[k]) for k in columns})
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(assessment, "csv")}"'})
