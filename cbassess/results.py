"""Results, the report (options, browser preview, PDF) and the exports of one assessment,
and the portfolio export.

All of them read the same things (the instrument the assessment was taken on, its answers,
their scores and the action plan), assembled once by `_report_data`, so the page, the
PDF and the files can never disagree. The files themselves are built by cbassess.exports
and the PDF by cbassess.report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import wraps

from babel.numbers import get_decimal_symbol
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from . import (
    action_store,
    evidence,
    exchange,
    exports,
    i18n,
    interchange,
    reviews,
    round_store,
    rounds,
    signoff,
    transitions,
)
from .action_plan import Plan, build_plan, top_actions
from .charts import Bar, RadarAxis, bar_svg, radar_layout, radar_svg, short_labels
from .claims import has_evidence
from .evidence import current_files, every_file, files_by_indicator
from .exports import content_disposition
from .extensions import db
from .models import Answer, Assessment, EvidenceFile, Role, Status
from .pages import claim_values, files_of, load_answers, scores_of, status_label
from .permissions import (
    assessment_or_404,
    instrument_of,
    parse_instrument_row,
    visible_assessments,
)
from .report import ReportOptions, render_pdf, text_direction
from .scoring import AnswerValue, score, weakest_areas

bp = Blueprint("results", __name__)
log = logging.getLogger(__name__)



@bp.app_template_filter("text_direction")
def _text_direction(text: str) -> str:
    return text_direction(text or "")


def _language() -> str:
    return i18n.code()


def _plan(assessment: Assessment, instrument, answers: dict, language: str,
          with_files: frozenset[str]) -> Plan:
    levels = claim_values(instrument, answers, with_files)
    return build_plan(instrument, levels, action_store.load_actions(db.session, assessment.id),
                      datetime.now(UTC).date(), language,
                      action_store.load_comments(db.session, assessment.id))


def _report_data(assessment: Assessment, language: str | None = None,
                 with_plan: bool = True) -> dict:
    """Everything the results page, the report and the exports show, in one language (the
    results page shows no action plan and reads none)."""
    language = language or _language()
    instrument = instrument_of(assessment)
    answers = load_answers(assessment.id)
    with_files = files_of(assessment.id, instrument, answers)
    claimed = scores_of(instrument, answers, with_files)
    review = reviews.reviews_of(db.session, assessment.id)
    validated = assessment.status == Status.VALIDATED
    # Reviewed levels where a facilitator has set one, the claim elsewhere; a reviewed
    # level that needs evidence the answer does not have is flagged as the claim would be.
    reviewed = score(instrument, {
        **claim_values(instrument, answers, with_files),
        **{k: AnswerValue(r.level, r.not_applicable, _unsupported_review(
            instrument, k, r, answers.get(k), k in with_files)) for k, r in review.items()}})
    scores = reviewed if validated else claimed  # validated levels count once validated
    # The other figures, beside them: as claimed once validated, the levels validated so
    # far while a review is under way.
    other = (claimed if validated else reviewed) if review else None
    averages = [(p, scores.principle(p.key).average) for p in instrument.principles]
    figures = "; ".join(
        _("%(title)s %(value)s", title=p.title.get(language),
          value=i18n.score(average) if average is not None else _("no score yet"))
        for p, average in averages)
    scale = _("scale %(min)s–%(max)s", min=i18n.level_score(instrument.scale.minimum_score),
              max=i18n.level_score(instrument.scale.maximum_score))
    axes = [RadarAxis(_axis_label(p.title.get(language), average), average, p.key)
            for p, average in averages]
    radar_title = _("Radar chart of the average score per principle (%(scale)s): "
                    "%(figures)s", scale=scale, figures=figures)
    comparison = ([other.principle(p.key).average for p in instrument.principles]
                  if other else None)
    # Full titles where they fit (wide screens, the PDF); short labels with a key on
    # phones, and everywhere once there are too many axes for full titles.
    full = radar_layout(axes)
    chart = radar_svg(axes, instrument.scale.scores, title=radar_title, comparison=comparison,
                      tick_text=i18n.level_score)
    compact = (None if full.abbreviated else
               radar_svg(axes, instrument.scale.scores, title=radar_title,
                         comparison=comparison, abbreviate=True, tick_text=i18n.level_score))
    shorts = dict(zip((p.key for p in instrument.principles), short_labels(axes),
                      strict=True))
    bars = bar_svg([Bar(p.title.get(language), average,
                        other.principle(p.key).average if other else None)
                    for p, average in averages],
                   instrument.scale.scores,
                   title=_("Bar chart of the average score per principle (%(scale)s): "
                           "%(figures)s", scale=scale, figures=figures),
                   value_text=i18n.score, tick_text=i18n.level_score)
    plan = _plan(assessment, instrument, answers, language, with_files) if with_plan else None
    files = _in_instrument_order(instrument, current_files(db.session, assessment.id))
    snapshot = signoff.latest(db.session, assessment.id) if validated else None
    return dict(assessment=assessment, instrument=instrument, answers=answers, scores=scores,
                chart=chart, compact_chart=compact, chart_abbreviated=full.abbreviated,
                short_labels=shorts, bars=bars, language=language, plan=plan,
                top_actions=top_actions(plan) if plan else [],
                weakest_areas=weakest_areas(scores.indicators),
                worked_example=_worked_example(instrument, scores),
                validated=validated, reviews=review,
                comparison=_comparison(instrument, answers, review, claimed, reviewed)
                if review else None,
                snapshot=snapshot, signoff=json.loads(snapshot.payload) if snapshot else None,
                files=files, files_by_key=files_by_indicator(files), with_files=with_files,
                claimed_unsupported=claimed.unsupported_keys)


def _unsupported_review(instrument, key: str, review, answer, has_files: bool) -> bool:
    """Whether a reviewed level needs evidence that the answer does not give."""
    indicator = instrument.indicator(key)
    return (indicator is not None and not review.not_applicable
            and indicator.needs_evidence(review.level) and not has_evidence(answer, has_files))


def reported_levels(assessment: Assessment) -> dict[str, AnswerValue]:
    """The levels a round reports: the validated ones once it is validated (where a
    facilitator set one), the claimed ones before; a carried-over answer not yet confirmed
    has none. The same rule as the results page's scores."""
    levels = {k: AnswerValue.of(a) for k, a in load_answers(assessment.id).items()}
    if assessment.status == Status.VALIDATED:
        levels.update({k: AnswerValue(r.level, r.not_applicable)
                       for k, r in reviews.reviews_of(db.session, assessment.id).items()})
    return levels


def _round_comparison(assessment: Assessment, instrument, language: str) -> dict | None:
    """This round beside the one it was started from (cbassess.rounds.compare), with its
    chart; None when it was not started from a previous round."""
    previous = round_store.previous_of(db.session, assessment.id)
    if previous is None:
        return None
    previous_instrument = parse_instrument_row(previous.instrument_row)
    comparison = rounds.compare(previous_instrument, reported_levels(previous),
                                instrument, reported_levels(assessment))
    changes = [comparison.principle(p.key) for p in instrument.principles]
    figures = "; ".join(
        _("%(title)s %(value)s (previously %(previous)s)", title=p.title.get(language),
          value=i18n.score(c.current.average),
          previous=i18n.score(c.previous.average) if c.previous else _("not assessed"))
        for p, c in zip(instrument.principles, changes, strict=True))
    title = _("Average level per principle in “%(round)s” (solid) and in “%(previous)s” "
              "(dashed), scale %(min)d–%(max)d: %(figures)s", round=assessment.round_name,
              previous=previous.round_name, min=instrument.scale.minimum,
              max=instrument.scale.maximum, figures=figures)
    now = [c.current.average for c in changes]
    then = [c.previous.average if c.previous else None for c in changes]
    # An instrument has 3 to 15 principles (instrument.py), as many as a radar's spokes.
    chart = radar_svg([RadarAxis(_axis_label(p.title.get(language), value), value, p.key)
                       for p, value in zip(instrument.principles, now, strict=True)],
                      instrument.scale.scores, title=title, comparison=then,
                      tick_text=i18n.level_score, chart_id="rounds-radar")
    return dict(previous=previous, previous_instrument=previous_instrument,
                comparison=comparison, chart=chart)


def _in_instrument_order(instrument, files: list[EvidenceFile]) -> list[EvidenceFile]:
    """Files in the order their indicators come in the instrument, then as attached."""
    order = {indicator.key: n for n, indicator in enumerate(instrument.indicators)}
    return sorted(files, key=lambda f: (order.get(f.indicator_key, len(order)), f.id))


def _comparison(instrument, answers, review, claimed, reviewed) -> list[dict]:
    """Per principle: claimed and validated average and weakest link, levels changed."""
    rows = []
    for principle in instrument.principles:
        changed = 0
        for indicator in principle.indicators:
            answer, checked = answers.get(indicator.key), review.get(indicator.key)
            if checked and answer and (checked.level, checked.not_applicable) != (
                    answer.level, answer.not_applicable):
                changed += 1
        rows.append({"principle": principle, "claimed": claimed.principle(principle.key),
                     "validated": reviewed.principle(principle.key), "changed": changed})
    return rows


def _worked_example(instrument, scores) -> dict:
    """The methodology annex's example: the first principle with at least two rated
    indicators (the scores their levels count for), else a made-up principle rated at the
    scale's second, fourth, third and third levels (1, 3, 2, 2 on a 0–4 scale)."""
    for principle in instrument.principles:
        values = [i.score for i in scores.indicators
                  if i.principle_key == principle.key and i.score is not None]
        if len(values) >= 2:
            return dict(title=principle.title, values=values, real=True)
    levels = instrument.scale.levels
    made_up = [levels[min(n, len(levels) - 1)].score for n in (1, 3, 2, 2)]
    return dict(title=None, values=made_up, real=False)


def _axis_label(title: str, average: float | None) -> str:
    """A principle's spoke label; one with no score says so, as its point sits at the centre."""
    return title if average is not None else _("%(title)s (no score yet)", title=title)


@bp.get("/assessments/<int:assessment_id>/results")
@login_required
def results(assessment_id: int):
    """Scores two ways, the charts with their table, strengths and gaps, the downloads."""
    assessment = assessment_or_404(assessment_id)
    return render_template("results/results.html", **_report_data(assessment, with_plan=False),
                           previous_round=round_store.previous_of(db.session, assessment.id))


@bp.get("/assessments/<int:assessment_id>/comparison")
@login_required
def comparison(assessment_id: int):
    """This round beside the previous one: each indicator's levels and change, each
    principle's average and weakest link and their change, a chart; what cannot be
    compared says why. An assessment with no previous round says so."""
    assessment = assessment_or_404(assessment_id)
    instrument = instrument_of(assessment)
    language = _language()
    return render_template("results/comparison.html", assessment=assessment,
                           instrument=instrument, language=language,
                           rounds=_round_comparison(assessment, instrument, language))


def _options() -> ReportOptions:
    return ReportOptions.from_query(request.args, current_app.config["LANGUAGES"], _language())


def _report_html(assessment: Assessment, options: ReportOptions, preview: bool = False) -> str:
    """The report's HTML in the language chosen: the PDF's source and the preview alike."""
    with force_locale(options.language):
        data = _report_data(assessment, options.language)
        rounds_data = _round_comparison(assessment, data["instrument"], options.language)
        stylesheet = url_for("static", filename="report.css") if preview else "report.css"
        return render_template("report/report.html", options=options, preview=preview,
                               stylesheet=stylesheet,
                               sections=options.sections_with(comparison=bool(rounds_data)),
                               rounds=rounds_data, generated=datetime.now(UTC).date(), **data)


@bp.get("/assessments/<int:assessment_id>/report")
@login_required
def report_options(assessment_id: int):
    """The options form: full or summary, evidence, notes, language; preview or download."""
    assessment = assessment_or_404(assessment_id)
    return render_template("results/report_options.html", assessment=assessment,
                           options=_options(), languages=current_app.config["LANGUAGES"],
                           language=_language())


@bp.get("/assessments/<int:assessment_id>/report/preview")
@login_required
def report_preview(assessment_id: int):
    """The report's very HTML in the browser, with the print layout simulated on screen."""
    assessment = assessment_or_404(assessment_id)
    return _report_html(assessment, _options(), preview=True)


@bp.get("/assessments/<int:assessment_id>/report/prepare")
@login_required
def report_prepare(assessment_id: int):
    """Render the PDF into the cache and answer with its download link (htmx); the page
    shows an indicator meanwhile, and a failure comes back as a sentence, not a file."""
    assessment = assessment_or_404(assessment_id)
    if request.method == "HEAD":  # never render a PDF for a HEAD
        return Response(mimetype="text/html")
    options = _options()
    try:
        pdf = render_pdf(_report_html(assessment, options), current_app.static_folder)
    except Exception:
        log.exception("PDF report of assessment %s failed", assessment.id)
        return render_template("results/_report_ready.html", failed=True,
                               assessment=assessment, options=options), 500
    return render_template("results/_report_ready.html", failed=False, size=len(pdf),
                           assessment=assessment, options=options)


def in_requested_language(view):
    """Answer in the language of the `language` (or `lang`) argument, whatever the
    interface's: a report or a file can be sent to a ministry that reads the other
    language. An unknown language is refused with the ones there are."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        language = i18n.requested_language()
        if language is None:
            return view(*args, **kwargs)
        with force_locale(language):
            return view(*args, **kwargs)
    return wrapper


@bp.get("/assessments/<int:assessment_id>/report.pdf")
@login_required
@in_requested_language
def report_pdf(assessment_id: int):
    """The PDF report with the options asked for (from the cache when nothing changed)."""
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("inline", assessment, "pdf")}
    if request.method == "HEAD":  # what a GET would send, without rendering the PDF
        return Response(mimetype="application/pdf", headers=headers)
    options = _options()
    html = _report_html(assessment, options)
    try:
        pdf = render_pdf(html, current_app.static_folder)
    except Exception:
        log.exception("PDF report of assessment %s failed", assessment.id)
        return render_template(
            "error.html", code=500, title=_("The PDF report could not be made"),
            message=_("Something went wrong while laying out the report. Nothing was "
                      "downloaded. Try again, or try the summary report; if it keeps "
                      "failing, tell your administrator.")), 500
    return Response(pdf, mimetype="application/pdf", headers=headers)


def _disposition(disposition: str, assessment: Assessment, extension: str) -> str:
    """The download's name from the administration and round, in any script (filename*);
    one asked for in a given language ends with it, so both can sit side by side."""
    language = f"-{i18n.tag()}" if i18n.requested_language() else ""
    return content_disposition(
        disposition,
        f"cbassess-{assessment.organisation.country_code}-{assessment.round_name}{language}",
        extension)


@bp.get("/assessments/<int:assessment_id>/export.json")
@login_required
@in_requested_language
def export_json(assessment_id: int):
    """Every answer, the scores, the action plan and the full histories, as JSON.

    Streamed: the answers' history is read and sent a batch of revisions at a time, so
    however long it has grown, the reply is never built whole in the server's memory.
    """
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("attachment", assessment, "json")}
    if request.method == "HEAD":
        return Response(mimetype="application/json", headers=headers)
    head, revisions = _export_parts(assessment)
    return Response(stream_with_context(exports.json_stream(head, "revisions", revisions)),
                    mimetype="application/json", headers=headers)


@bp.get("/assessments/<int:assessment_id>/export.zip")
@login_required
@in_requested_language
def export_zip(assessment_id: int):
    """export.json and every file it lists, for an archive or an import elsewhere (written
    to a temporary file, on disk past a few MB, as the files can be large)."""
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("attachment", assessment, "zip")}
    if request.method == "HEAD":
        return Response(mimetype="application/zip", headers=headers)
    head, revisions = _export_parts(assessment)
    archive = exchange.write_archive(
        exports.json_stream(head, "revisions", revisions), [f["sha256"] for f in head["files"]],
        evidence.store_for(current_app.config, current_app.instance_path))
    response = send_file(archive, mimetype="application/zip", max_age=0)
    response.headers.update(headers)
    return response


def _export_parts(assessment: Assessment) -> tuple[dict, Iterator[dict]]:
    """What export.json holds: everything but the answers' history, and that history as it
    is read (a batch of revisions at a time).

    `format`, `people`, `records` and `revisions` are what an import reads back
    (cbassess.interchange); the rest (scores, answers and actions as the report shows them,
    events, queries, files) is there for people and other programs to read."""
    data = _report_data(assessment)
    instrument, scores = data["instrument"], data["scores"]
    authors = interchange.Authors(db.session, assessment.id)
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
        "language": i18n.tag(),
        "instrument": {"key": instrument.key, "version": instrument.version,
                       "content_hash": instrument.content_hash},
        "scores": exports.scores_summary(scores),
        "scale": exports.scale_rows(instrument, data["language"]),
        "answers": exports.answer_rows(instrument, data["answers"], data["language"],
                                       data["with_files"], _saved_by(authors)),
        "reviews": {key: {"level": r.level, "not_applicable": r.not_applicable,
                          "state": r.state, "finding": r.finding, "version": r.version}
                    for key, r in data["reviews"].items()},
        "events": [{"action": e.action, "from": e.from_status, "to": e.to_status,
                    "by": authors.email(e, "actor"), "at": e.at.isoformat(),
                    "message": e.message}
                   for e in transitions.events_of(db.session, assessment.id)],
        "queries": [{
            "indicator_key": t.indicator_key, "opened_at": t.opened_at.isoformat(),
            "opened_by": authors.email(t, "opened_by"),
            "closed_at": t.closed_at.isoformat() if t.closed_at else None,
            "closed_by": authors.email(t, "closed_by"),
            "messages": [{"by": authors.email(m, "author"),
                          "at": m.at.isoformat(), "body": m.body} for m in t.messages],
        } for threads in reviews.threads_of(db.session, assessment.id).values()
            for t in threads],
        "signoff": {"digest": data["snapshot"].digest, "snapshot": data["signoff"]}
        if data["snapshot"] else None,
        "actions": exports.action_rows(data["plan"], data["language"]),
        "action_revisions": [{
            "indicator_key": r.indicator_key, "version": r.version, "kind": r.kind,
            "changed_by": authors.name(r, "changed_by"),
            "changed_at": r.changed_at.isoformat(), "before": r.before, "after": r.after,
        } for key in sorted({a.key for a in data["plan"].actions})
            for r in reversed(action_store.load_history(db.session, assessment.id, key))],
        # Every file ever attached (removed ones say so): bounded by the assessment's limit.
        "files": [exchange.file_entry(f, authors) for f in
                  _in_instrument_order(instrument, every_file(db.session, assessment.id))],
    }
    records, people = interchange.export_records(db.session, assessment)
    head.update(format=interchange.format_header(), people=people.names(), records=records)
    return head, interchange.revision_records(db.session, assessment.id, people)


def _saved_by(authors: interchange.Authors):
    """Who saved an answer, by e-mail: its author's account, or an imported author."""
    return lambda answer: authors.email(answer, "updated_by")


# One charset parameter: `mimetype` would have Werkzeug add a second one.
CSV = "text/csv; charset=utf-8"


@bp.get("/assessments/<int:assessment_id>/export.csv")
@login_required
@in_requested_language
def export_csv(assessment_id: int):
    """One row per indicator: key, level, evidence, note, who saved it and when."""
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("attachment", assessment, "csv")}
    if request.method == "HEAD":
        return Response(content_type=CSV, headers=headers)
    data = _report_data(assessment)
    rows = _in_words(exports.review_rows(
        exports.answer_rows(data["instrument"], data["answers"], data["language"],
                            data["with_files"],
                            _saved_by(interchange.Authors(db.session, assessment.id))),
        data["reviews"]))
    for row in rows:  # a score written as the language writes decimals ("0,25" in French)
        row["score"] = i18n.level_score(row["score"]) if row["score"] is not None else ""
    columns = [*exports.ANSWER_COLUMNS, *exports.REVIEW_COLUMNS]
    headings = _headings()
    return Response(exports.csv_text(columns, rows, [headings[c] for c in columns],
                                     _csv_separator()), content_type=CSV, headers=headers)


def _csv_separator() -> str:
    """A semicolon where the language writes decimals with a comma (its spreadsheets expect
    one), else a comma."""
    return ";" if get_decimal_symbol(i18n.code()) == "," else ","


def _in_words(rows: list[dict]) -> list[dict]:
    """Codes as people read them in the download's language: yes/no columns as "yes" (and
    nothing for no), an action's priority and status, and a review's state, by their names."""
    yes = _("yes")
    labels = {"priority": i18n.PRIORITY_LABELS, "priority_suggested": i18n.PRIORITY_LABELS,
              "status": i18n.ACTION_STATUS_LABELS, "review_state": i18n.REVIEW_STATE_LABELS,
              **{name: field["values"] for name, field in i18n.ANSWER_FIELD_LABELS.items()}}
    worded = []
    for row in rows:
        row = {**row, **{name: yes if row[name] else "" for name in
                         ("not_applicable", "validated_not_applicable", "overdue",
                          "unsupported") if name in row}}
        for name, names in labels.items():
            if row.get(name) in names:
                row[name] = str(names[row[name]])
        worded.append(row)
    return worded


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _headings() -> dict[str, str]:
    return {"principle_key": _("Principle"), "indicator_key": _("Indicator"),
            "question": _("Question"), "level": _("Level"), "level_label": _("Level name"),
            "score": _("Score"), "not_applicable": _("Not applicable"),
            "unsupported": _("Unsupported claim"), "evidence": _("Evidence"),
            "evidence_kind": _("Kind of evidence"), "confidence": _("Confidence"),
            "note": _("Note"), "saved_by": _("Saved by"), "saved_at": _("Saved at (UTC)"),
            "target": _("Target"), "description": _("Action"), "owner": _("Owner"),
            "due_date": _("Due date"), "priority": _("Priority"),
            "priority_suggested": _("Suggested priority"), "status": _("Status"),
            "overdue": _("Overdue"), "progress_note": _("Progress note"),
            "validated_level": _("Validated level"),
            "validated_not_applicable": _("Validated as not applicable"),
            "review_state": _("Review"), "finding": _("Finding")}


@bp.get("/assessments/<int:assessment_id>/export.xlsx")
@login_required
@in_requested_language
def export_xlsx(assessment_id: int):
    """A workbook: the summary, every answer, the action plan."""
    assessment = assessment_or_404(assessment_id)
    headers = {"Content-Disposition": _disposition("attachment", assessment, "xlsx")}
    if request.method == "HEAD":
        return Response(mimetype=XLSX, headers=headers)
    data = _report_data(assessment)
    instrument, scores, language = data["instrument"], data["scores"], data["language"]
    summary: list[tuple[str, object]] = [
        (_("Administration"), assessment.organisation.name),
        (_("Round"), assessment.round_name),
        (_("Instrument"), f"{instrument.title.get(language)} ({instrument.version})"),
        (_("Instrument fingerprint (SHA-256)"), instrument.content_hash),
        (_("Status"), status_label(assessment.status)),
        (_("Answered"), f"{scores.answered}/{scores.total}"),
        (_("Overall average"), round(scores.average, 2) if scores.average is not None
         else None),
        (_("Overall weakest link"), scores.weakest),
        (_("Unsupported claims"), len(scores.unsupported)),
    ] + [(p.title.get(language), round(scores.principle(p.key).average, 2)
          if scores.principle(p.key).average is not None else None)
         for p in instrument.principles]
    headings = _headings()
    body = exports.xlsx_bytes(summary, [
        exports.Sheet(_("Answers"), exports.ANSWER_COLUMNS, headings,
                      _in_words(exports.answer_rows(
                          instrument, data["answers"], language, data["with_files"],
                          _saved_by(interchange.Authors(db.session, assessment.id))))),
        exports.Sheet(_("Action plan"), exports.ACTION_COLUMNS, headings,
                      _in_words(exports.action_rows(data["plan"], language))),
    ], _("Summary"))
    return Response(body, mimetype=XLSX, headers=headers)


def _portfolio_headings() -> dict[str, str]:
    return {"administration": _("Administration"), "country_code": _("Country code"),
            "region": _("Region"), "round": _("Round"), "instrument": _("Instrument"),
            "instrument_version": _("Instrument version"), "status": _("Status"),
            "created_at": _("Started on"), "answered": _("Answered"), "total": _("Indicators"),
            "completeness_percent": _("Completeness (%)"),
            "overall_average": _("Overall average"),
            "overall_weakest_link": _("Overall weakest link")}


@bp.get("/portfolio/export.xlsx")
@login_required
def portfolio_xlsx():
    """The portfolio as a workbook (see `_portfolio`)."""
    return _portfolio("xlsx")


@bp.get("/portfolio/export.csv")
@login_required
def portfolio_csv():
    """The portfolio as CSV (see `_portfolio`)."""
    return _portfolio("csv")


def _portfolio(extension: str) -> Response:
    """A row per assessment the facilitator or admin can see, principle averages as columns."""
    if current_user.role not in (Role.FACILITATOR, Role.ADMIN):
        abort(403)
    stamp = datetime.now(UTC).date().isoformat()
    headers = {"Content-Disposition": content_disposition(
        "attachment", f"cbassess-portfolio-{stamp}", extension)}
    if request.method == "HEAD":
        return Response(content_type=CSV if extension == "csv" else XLSX, headers=headers)
    language = _language()
    assessments = list(db.session.scalars(
        visible_assessments(current_user)
        .options(joinedload(Assessment.organisation), joinedload(Assessment.instrument_row))
        .order_by(Assessment.created_at, Assessment.id)))
    levels: dict[int, dict[str, AnswerValue]] = {a.id: {} for a in assessments}
    if assessments:
        for assessment_id, key, level, na in db.session.execute(
                select(Answer.assessment_id, Answer.indicator_key, Answer.level,
                       Answer.not_applicable)
                .where(Answer.assessment_id.in_(list(levels)),
                       Answer.carried_over.is_(False))):
            levels[assessment_id][key] = AnswerValue(level, bool(na))
    entries = []
    for assessment in assessments:
        instrument = parse_instrument_row(assessment.instrument_row)
        entries.append(exports.PortfolioEntry(
            assessment.organisation.name, assessment.organisation.country_code,
            assessment.organisation.region, assessment.round_name, instrument.key,
            instrument.version, assessment.status, assessment.created_at, instrument,
            score(instrument, levels[assessment.id])))
    columns, headings, rows = exports.portfolio_table(entries, language)
    headings = {**_portfolio_headings(), **headings}
    rows = [{**row, "status": status_label(row["status"])} for row in rows]
    if extension == "csv":
        return Response(exports.csv_text(columns, rows, [headings[c] for c in columns],
                                         _csv_separator()), content_type=CSV, headers=headers)
    body = exports.xlsx_bytes([(_("Assessments"), len(rows)), (_("Exported"), stamp)],
                              [exports.Sheet(_("Portfolio"), columns, headings, rows)],
                              _("Summary"))
    return Response(body, mimetype=XLSX, headers=headers)
