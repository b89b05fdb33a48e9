"""Files people download: spreadsheet cells made safe, CSV text, XLSX workbooks, JSON
streamed, file names, and the rows they hold (answers, actions, the portfolio).

No Flask. Every export that spreadsheet programs open (CSV, XLSX, the portfolio) writes each
text cell through `spreadsheet_cell`, so the rule lives here once. Rows are built from the
same data as the report (cbassess.results gathers it), so the files and the PDF agree.

The rule (OWASP's CSV-injection guidance, applied to every position a cell can start at):
a spreadsheet runs a cell as a formula when it starts with = + - @ (or their full-width
forms), and some treat a text's leading tab or line end the same way. A cell starts at the
beginning of the text, but also after any character a spreadsheet may take as a separator
when it opens the file with other settings than it was written with: a comma, a semicolon
(the default separator in French and most continental locales), a tab, a vertical bar, a
line end or a quote. Wherever such a start is followed (after spaces) by a formula
character, an apostrophe is put in front of it, which spreadsheets show as text and never
run. Numbers are written as numbers. Every CSV cell is quoted, so no separator inside a
text is read as one by a program that honours quotes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .action_plan import Plan
from .claims import is_unsupported
from .instrument import Instrument
from .scoring import Scores

FORMULA_START = "=+-@\uff1d\uff0b\uff0d\uff20"
CELL_SEPARATORS = ",;\t|\r\n\"'"
_SPACES = "[ \u00a0\t\r\n]*"  # some programs trim these before looking at the cell
# The text's beginning or a separator, then blanks, then a formula start.
_FORMULA_AT_CELL_START = re.compile(
    f"(^|[{re.escape(CELL_SEPARATORS)}])({_SPACES})(?=[{re.escape(FORMULA_START)}])")


def spreadsheet_cell(value: object) -> object:
    """A value as a spreadsheet may safely show it: numbers as they are, None as "", and
    text with an apostrophe before every formula start that could begin a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = _FORMULA_AT_CELL_START.sub(r"\1\2'", str(value))
    return "'" + text if text.startswith(("\t", "\r", "\n")) else text


def csv_text(columns: list[str], rows: Iterable[Mapping[str, object]],
             headers: list[str] | None = None, delimiter: str = ",") -> str:
    """CSV with a header row (`headers`, the columns' names by default), every cell quoted
    and made safe, UTF-8 BOM first (so that spreadsheet programs read accents right), lines
    ended with CRLF (RFC 4180); `delimiter` ";" for languages that write decimals with a
    comma, as their spreadsheets expect."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n",
                        delimiter=delimiter)
    writer.writerow([spreadsheet_cell(c) for c in headers or columns])
    for row in rows:
        writer.writerow([spreadsheet_cell(row.get(c)) for c in columns])
    return "\ufeff" + buffer.getvalue()


def json_stream(head: Mapping[str, object], items_key: str,
                items: Iterable[object]) -> Iterator[str]:
    """A JSON object written piece by piece: `head`'s keys, then `items_key` holding the
    items as an array, one item encoded at a time. A reply of any length is sent without
    being held whole in memory."""
    opening = json.dumps(dict(head), ensure_ascii=False)
    yield opening[:-1] + ("," if head else "") + json.dumps(items_key) + ":["
    first = True
    for item in items:
        yield ("" if first else ",") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "]}"


_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f/\\\"'`*?:<>|\u2028\u2029]")
# RFC 5987 attr-char: what may stand unescaped in filename*=UTF-8''…
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(disposition: str, stem: str, extension: str) -> str:
    """A Content-Disposition header value naming the file (RFC 6266).

    `filename*` carries the name in UTF-8 (RFC 5987), so "Évaluation 2026" stays
    "Évaluation 2026"; `filename` carries an ASCII stand-in for older clients. Characters
    that are not allowed in file names, controls and invisible format characters (such
    as direction overrides) are left out of both.
    """
    name = "".join(c for c in _UNSAFE_IN_NAME.sub("-", stem)
                   if unicodedata.category(c) != "Cf")
    name = re.sub(r"\s+", " ", name).strip(" .-")[:120] or "download"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-")[:120] or "download"
    return (f'{disposition}; filename="{ascii_name}.{extension}"; '
            f"filename*=UTF-8''{quote(f'{name}.{extension}', safe=_ATTR_CHARS)}")


ANSWER_COLUMNS = ("principle_key", "indicator_key", "question", "level", "level_label",
                  "score", "not_applicable", "unsupported", "evidence", "evidence_kind",
                  "confidence", "note", "saved_by", "saved_at")
# A facilitator's review of each indicator, beside the answer (review_rows).
REVIEW_COLUMNS = ("validated_level", "validated_not_applicable", "review_state", "finding")
ACTION_COLUMNS = ("principle_key", "indicator_key", "question", "level", "target",
                  "description", "owner", "due_date", "priority", "priority_suggested",
                  "status", "overdue", "progress_note")
WRAPPED = {"question", "evidence", "note", "description", "progress_note"}


def answer_rows(instrument: Instrument, answers: Mapping, language: str,
                with_files: Collection[str] = (),
                saved_by: Callable[[object], str | None] | None = None) -> list[dict]:
    """One row per indicator in the instrument's order: the level, its label and the score
    it counts for, whether it is an unsupported claim (`with_files`: the indicators whose
    answers have files, which count as evidence), evidence with its kind, confidence, note,
    who saved it and when. `answers` maps keys to objects read like an Answer; `saved_by`
    names who saved one (by default its `updated_by` account's e-mail)."""
    rows = []
    for principle in instrument.principles:
        for indicator in principle.indicators:
            answer = answers.get(indicator.key)
            level = answer.level if answer and not answer.not_applicable else None
            rows.append({
                "principle_key": principle.key,
                "principle": principle.title.get(language),
                "indicator_key": indicator.key,
                "question": indicator.question.get(language),
                "level": level,
                "level_label": (instrument.scale.level(level).label.get(language)
                                if level is not None else None),
                "descriptor": (indicator.descriptors[level].get(language)
                               if level is not None and level in indicator.descriptors
                               else None),
                "score": instrument.scale.score_of(level) if level is not None else None,
                "not_applicable": bool(answer and answer.not_applicable),
                "unsupported": is_unsupported(indicator, answer, indicator.key in with_files),
                # Copied from the previous round, not yet confirmed: counts as unanswered.
                "carried_over": bool(answer and getattr(answer, "carried_over", False)),
                "evidence": answer.evidence if answer else "",
                "evidence_kind": answer.evidence_kind if answer else None,
                "confidence": answer.confidence if answer else None,
                "note": answer.note if answer else "",
                "version": answer.version if answer else 0,
                "saved_by": (None if answer is None else saved_by(answer) if saved_by
                             else answer.updated_by.email if answer.updated_by else None),
                "saved_at": (answer.updated_at.isoformat()
                             if answer and answer.updated_at else None),
            })
    return rows


def action_rows(plan: Plan, language: str) -> list[dict]:
    """One row per planned action, grouped by principle, with every default applied."""
    return [{
        "principle_key": group.principle.key,
        "principle": group.principle.title.get(language),
        "indicator_key": action.key,
        "question": action.indicator.question.get(language),
        "level": action.level,
        "target": action.target,
        "unsupported": action.unsupported,
        "description": action.description,
        "owner": action.owner,
        "due_date": action.due_date.isoformat() if action.due_date else None,
        "priority": str(action.priority),
        "priority_suggested": str(action.suggested_priority),
        "status": str(action.status),
        "overdue": action.overdue,
        "progress_note": action.progress_note,
        "saved": action.saved,
        "version": action.version,
        "comments": [{"author": c.author, "body": c.body,
                      "created_at": c.created_at.isoformat()} for c in action.comments],
    } for group in plan.groups for action in group.actions]


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title, the column keys with their headings, and the rows."""

    title: str
    columns: Sequence[str]
    headings: Mapping[str, str]
    rows: Sequence[Mapping]


_HEADER_FILL = PatternFill("solid", fgColor="0B3A5D")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def _xlsx_value(value):
    """A cell value openpyxl can store: neutralised, dates as dates, no illegal characters."""
    if isinstance(value, date | datetime):
        return value
    value = spreadsheet_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def xlsx_bytes(summary: Sequence[tuple[str, object]], sheets: Sequence[Sheet],
               summary_title: str) -> bytes:
    """A workbook: a summary sheet of label/value pairs, then one sheet per table, each
    with a bold frozen header row, wrapped long text and sensible column widths."""
    workbook = Workbook()
    first = workbook.active
    first.title = summary_title[:31]
    for label, value in summary:
        first.append([_xlsx_value(label), _xlsx_value(value)])
        first.cell(first.max_row, 1).font = Font(bold=True)
        first.cell(first.max_row, 2).alignment = _WRAP
    first.column_dimensions["A"].width = 34
    first.column_dimensions["B"].width = 90
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.title[:31])
        worksheet.append([sheet.headings.get(c, c) for c in sheet.columns])
        for cell in worksheet[1]:
            cell.fill, cell.font, cell.alignment = _HEADER_FILL, _HEADER_FONT, _WRAP
        for row in sheet.rows:
            worksheet.append([_xlsx_value(row.get(c)) for c in sheet.columns])
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            worksheet.column_dimensions[letter].width = 60 if column in WRAPPED else 16
            alignment = _WRAP if column in WRAPPED else _TOP
            for (cell,) in worksheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = alignment
        worksheet.freeze_panes = "A2"
        worksheet.auto_filter.ref = worksheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def scores_summary(scores: Scores) -> dict:
    """The scores as JSON-ready data, with the unsupported claims and, per principle, their
    count and the answers given with each confidence."""
    return {
        "average": scores.average, "weakest_link": scores.weakest,
        "completeness": scores.completeness,
        "unsupported_claims": [i.key for i in scores.unsupported],
        "principles": [{"key": p.key, "average": p.average, "weakest_link": p.weakest,
                        "weakest_link_label": p.weakest_label, "answered": p.answered,
                        "total": p.total, "unsupported_claims": p.unsupported,
                        "confidence": p.confidence_counts} for p in scores.principles],
    }


def scale_rows(instrument: Instrument, language: str) -> list[dict]:
    """The scale as JSON-ready data: each level's value (what answers store), its label and
    the score it counts for."""
    return [{"value": level.value, "label": level.label.get(language), "score": level.score}
            for level in instrument.scale.levels]


@dataclass(frozen=True)
class PortfolioEntry:
    """One assessment of a portfolio, with its scores."""

    administration: str
    country_code: str
    region: str
    round_name: str
    instrument_key: str
    instrument_version: str
    status: str
    created_at: datetime
    instrument: Instrument
    scores: Scores


def portfolio_table(entries: Sequence[PortfolioEntry], language: str) \
        -> tuple[list[str], dict[str, str], list[dict]]:
    """Columns, headings and one row per assessment, the principle averages as columns.

    Principles are matched by key across instruments (a column per key, in the order they
    are first met, headed by its title); an assessment whose instrument lacks a principle
    leaves its column empty.
    """
    columns = ["administration", "country_code", "region", "round", "instrument",
               "instrument_version", "status", "created_at", "answered", "total",
               "completeness_percent", "overall_average", "overall_weakest_link"]
    headings: dict[str, str] = {}
    principle_columns: list[str] = []
    rows = []
    for entry in entries:
        row = {
            "administration": entry.administration, "country_code": entry.country_code,
            "region": entry.region, "round": entry.round_name,
            "instrument": entry.instrument_key, "instrument_version": entry.instrument_version,
            "status": entry.status, "created_at": entry.created_at.date().isoformat(),
            "answered": entry.scores.answered, "total": entry.scores.total,
            "completeness_percent": round(entry.scores.completeness * 100, 1),
            "overall_average": (round(entry.scores.average, 2)
                                if entry.scores.average is not None else None),
            "overall_weakest_link": entry.scores.weakest,
        }
        for principle in entry.instrument.principles:
            column = f"{principle.key}_average"
            if column not in principle_columns:
                principle_columns.append(column)
                headings[column] = f"{principle.key} {principle.title.get(language)}"
            average = entry.scores.principle(principle.key).average
            row[column] = round(average, 2) if average is not None else None
        rows.append(row)
    return columns + principle_columns, headings, rows


def review_rows(rows: list[dict], reviews: Mapping) -> list[dict]:
    """The answer rows with each indicator's review (REVIEW_COLUMNS) added; `reviews` maps
    keys to objects read like a Review."""
    for row in rows:
        review = reviews.get(row["indicator_key"])
        row.update(validated_level=review.level if review else None,
                   validated_not_applicable=bool(review and review.not_applicable),
                   review_state=review.state if review else None,
                   finding=review.finding if review else "")
    return rows
