"""The facilitator's dashboard and the regional picture, as queries: no Flask.

The dashboard is one filtered, sorted page of the assessments a user may see, read in a
fixed number of statements whatever the number of rows: the count, the page (with its
open queries as a correlated count and the headline averages each assessment keeps, so
that every column sorts in SQL), and the page's instruments. Filters and sort arrive as a
`View`, parsed from the URL, so a view can be bookmarked.

The regional picture summarises validated scores (each principle's average, with the
validated levels) across administrations: median, quartiles, min and max. An
administration compares itself only with a group of at least `threshold` administrations,
so that no other administration's answers can be worked out.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, case, cast, func, select
from sqlalchemy.orm import Session

from .instrument import Instrument as InstrumentSpec
from .models import (
    Answer,
    Assessment,
    Instrument,
    Organisation,
    QueryThread,
    Review,
    Status,
)
from .scoring import AnswerValue, score

PAGE_SIZE = 25
SEARCH_LIMIT = 100

_open_queries = (select(func.count(QueryThread.id))
                 .where(QueryThread.assessment_id == Assessment.id,
                        QueryThread.closed_at.is_(None))
                 .correlate(Assessment).scalar_subquery().label("open_queries"))

# Each sortable column, as SQL: the database sorts and pages, whatever the number of rows.
# Rows without a value (no score yet, not waiting) come last in either direction, and ties
# keep the assessments' order (their ids, in the same direction), so a page never shuffles.
SORTS: dict[str, ColumnElement] = {
    "administration": Organisation.name,
    "round": Assessment.round_name,
    "status": Assessment.status,
    "completeness": Assessment.answered_count,  # as a share: see _order
    "activity": Assessment.updated_at,
    # The headline averages kept on the assessment with each save (headline.py).
    "claimed": Assessment.claimed_average,
    "validated": Assessment.validated_average,
    "queries": _open_queries,
    # Days waiting count only while an assessment is submitted, as the column shows them.
    "waiting": case((Assessment.status == Status.SUBMITTED, Assessment.submitted_at)),
}
# The direction each column sorts in first: what a reviewer wants at the top.
FIRST_DIRECTION = {"activity": "desc", "claimed": "desc", "validated": "desc",
                   "queries": "desc", "waiting": "asc"}


@dataclass(frozen=True)
class View:
    """One view of the dashboard: filters, sort and page, exactly as in the URL."""

    status: str = ""
    region: str = ""
    instrument: int | None = None
    round: str = ""
    waiting: bool = False
    q: str = ""
    sort: str = "activity"
    direction: str = "desc"
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> View:
        """Read a view from query parameters; anything unknown falls back to the default."""
        status = args.get("status", "")
        sort = args.get("sort", "activity")
        direction = args.get("dir", "")
        try:
            instrument = int(args.get("instrument") or 0) or None
        except ValueError:
            instrument = None
        try:
            page = max(1, min(int(args.get("page") or 1), 100_000))
        except ValueError:
            page = 1
        sort = sort if sort in SORTS else "activity"
        if direction not in ("asc", "desc"):
            direction = FIRST_DIRECTION.get(sort, "asc")
        return cls(
            status=status if status in {s.value for s in Status} else "",
            region=args.get("region", "")[:100], instrument=instrument,
            round=args.get("round", "")[:100], waiting=args.get("waiting") == "1",
            q=" ".join(args.get("q", "").split())[:SEARCH_LIMIT], sort=sort,
            direction=direction, page=page)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query parameters of this view with `changes` (page back to 1 unless given)."""
        view = replace(self, **({"page": 1} | changes))
        values = {"status": view.status, "region": view.region,
                  "instrument": view.instrument or "", "round": view.round,
                  "waiting": "1" if view.waiting else "", "q": view.q, "sort": view.sort,
                  "dir": view.direction, "page": view.page if view.page > 1 else ""}
        if (view.sort, view.direction) == ("activity", "desc"):  # the default order
            del values["sort"], values["dir"]
        return {k: v for k, v in values.items() if v not in ("", None)}

    def sorted_by(self, column: str) -> dict[str, Any]:
        """The parameters of a click on a column heading: sort by it, or flip its direction."""
        if column == self.sort:
            return self.args(direction="asc" if self.direction == "desc" else "desc")
        return self.args(sort=column, direction=FIRST_DIRECTION.get(column, "asc"))


@dataclass
class Row:
    id: int
    administration: str
    region: str
    round: str
    status: str
    answered: int
    total: int
    updated_at: datetime
    submitted_at: datetime | None
    instrument: str
    open_queries: int
    claimed: float | None = None  # the headline averages (headline.py)
    validated: float | None = None

    @property
    def days_waiting(self) -> int | None:
        """Whole days since submission, while it waits for review."""
        if self.status != Status.SUBMITTED or self.submitted_at is None:
            return None
        submitted = self.submitted_at
        if submitted.tzinfo is None:  # SQLite gives naive UTC back
            submitted = submitted.replace(tzinfo=UTC)
        return (datetime.now(UTC) - submitted).days


@dataclass
class Page:
    rows: list[Row]
    total: int
    view: View
    regions: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)
    instruments: list[tuple[int, str]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _filtered(visible: Select, view: View) -> Select:
    query = (select(Assessment.id).join(Organisation, Organisation.id == Assessment.organisation_id)
             .where(Assessment.id.in_(visible)))
    if view.status:
        query = query.where(Assessment.status == view.status)
    if view.waiting:
        query = query.where(Assessment.status == Status.SUBMITTED)
    if view.region:
        query = query.where(Organisation.region == view.region)
    if view.instrument:
        query = query.where(Assessment.instrument_id == view.instrument)
    if view.round:
        query = query.where(Assessment.round_name == view.round)
    if view.q:
        escaped = view.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Organisation.name).like(f"%{escaped.lower()}%",
                                                               escape="\\"))
    return query


def dashboard(session: Session, visible: Select, view: View,
              parse: callable, language: str = "en") -> Page:
    """One page of the dashboard. `visible` selects the ids of the assessments the user may
    see; `parse` turns an instrument row into its parsed instrument (cached by the caller);
    instruments are named in `language` where their text has it. Three statements: the
    count, the instruments, the page (scores and open queries included)."""
    filtered = _filtered(visible, view)
    total = session.scalar(select(func.count()).select_from(filtered.subquery()))
    # Every instrument version (a few rows; the text is deferred and parsed once per
    # process): the page's titles, and each one's number of indicators for completeness.
    instruments = {i.id: i for i in session.scalars(select(Instrument))}
    specs = {key: parse(row) for key, row in instruments.items()}
    order = _order(view.sort, {key: len(spec.indicators) for key, spec in specs.items()})
    order = order.desc() if view.direction == "desc" else order.asc()
    tie = Assessment.id.desc() if view.direction == "desc" else Assessment.id.asc()
    rows = session.execute(
        filtered.with_only_columns(
            Assessment.id, Organisation.name, Organisation.region, Assessment.round_name,
            Assessment.status, Assessment.answered_count, Assessment.updated_at,
            Assessment.submitted_at, Assessment.instrument_id, Assessment.claimed_average,
            Assessment.validated_average, _open_queries)
        .order_by(order.nulls_last(), tie)
        .limit(PAGE_SIZE).offset((view.page - 1) * PAGE_SIZE)).all()
    page_rows = []
    for r in rows:
        spec = specs[r.instrument_id]
        page_rows.append(Row(
            r.id, r.name, r.region, r.round_name, r.status, r.answered_count,
            len(spec.indicators), r.updated_at, r.submitted_at,
            f"{spec.title.get(language)} · {instruments[r.instrument_id].version}",
            r.open_queries, r.claimed_average, r.validated_average))
    return Page(page_rows, total, view)


def _order(sort: str, totals: dict[int, int]) -> ColumnElement:
    """The column to sort on. Completeness is the share answered, as the column reads ("20
    of 28"), so that assessments on instruments of different sizes compare."""
    if sort == "completeness" and totals:
        return cast(Assessment.answered_count, Float) / case(
            totals, value=Assessment.instrument_id, else_=1)
    return SORTS[sort]


def _values(session: Session, table, ids: list[int]) -> dict[int, dict[str, AnswerValue]]:
    """Levels by assessment and indicator, for the given assessments, in one query."""
    values: dict[int, dict[str, AnswerValue]] = {}
    query = select(table.assessment_id, table.indicator_key, table.level,
                   table.not_applicable).where(table.assessment_id.in_(ids))
    if hasattr(table, "carried_over"):  # answers carried over count once confirmed
        query = query.where(table.carried_over.is_(False))
    for row in session.execute(query):
        values.setdefault(row.assessment_id, {})[row.indicator_key] = AnswerValue(
            row.level, row.not_applicable)
    return values


def choices(session: Session, visible: Select, parse: callable | None = None,
            language: str = "en") -> tuple[list[str], list[str], list]:
    """The regions, round names and instruments found among the visible assessments (named
    in `language` when `parse` reads their text, else by their English title)."""
    regions = list(session.scalars(
        select(Organisation.region).join(Assessment, Assessment.organisation_id
                                         == Organisation.id)
        .where(Assessment.id.in_(visible), Organisation.region != "")
        .distinct().order_by(Organisation.region)))
    rounds = list(session.scalars(select(Assessment.round_name)
                                  .where(Assessment.id.in_(visible))
                                  .distinct().order_by(Assessment.round_name)))
    instruments = session.scalars(
        select(Instrument)
        .where(Instrument.id.in_(select(Assessment.instrument_id)
                                 .where(Assessment.id.in_(visible))))
        .order_by(Instrument.title, Instrument.version)).all()
    return regions, rounds, [
        (i.id, f"{parse(i).title.get(language) if parse else i.title} · {i.version}")
        for i in instruments]


# The regional picture -----------------------------------------------------------------------

@dataclass(frozen=True)
class Spread:
    """How one principle's validated averages spread across administrations."""

    count: int
    minimum: float
    lower_quartile: float
    median: float
    upper_quartile: float
    maximum: float


def spread(values: list[float]) -> Spread | None:
    """Median, quartiles (inclusive method: they lie within the data) and range."""
    values = sorted(values)
    if not values:
        return None
    if len(values) == 1:
        v = values[0]
        return Spread(1, v, v, v, v, v)
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(len(values), values[0], q1, q2, q3, values[-1])


@dataclass(frozen=True)
class Validated:
    """One validated assessment's per-principle averages (validated levels)."""

    assessment_id: int
    organisation_id: int
    region: str
    round: str
    averages: dict[str, float | None]


def validated_scores(session: Session, visible: Select | None, spec: InstrumentSpec,
                     instrument_key: str, region: str = "", round_name: str = "") \
        -> list[Validated]:
    """The validated assessments on one instrument (any of its versions with the same
    principles) and their per-principle averages with the validated levels. With
    `visible`, only those; the latest validated assessment per administration counts."""
    query = (select(Assessment.id, Assessment.organisation_id, Organisation.region,
                    Assessment.round_name, Assessment.validated_at)
             .join(Organisation, Organisation.id == Assessment.organisation_id)
             .join(Instrument, Instrument.id == Assessment.instrument_id)
             .where(Assessment.status == Status.VALIDATED, Instrument.key == instrument_key))
    if visible is not None:
        query = query.where(Assessment.id.in_(visible))
    if region:
        query = query.where(Organisation.region == region)
    if round_name:
        query = query.where(Assessment.round_name == round_name)
    latest: dict[int, Any] = {}
    for row in session.execute(query.order_by(Assessment.validated_at, Assessment.id)):
        latest[row.organisation_id] = row  # later rows replace earlier ones
    ids = [row.id for row in latest.values()]
    claimed, reviewed = _values(session, Answer, ids), _values(session, Review, ids)
    result = []
    for row in latest.values():
        scores = score(spec, claimed.get(row.id, {}) | reviewed.get(row.id, {}))
        result.append(Validated(row.id, row.organisation_id, row.region, row.round_name,
                                {p.key: p.average for p in scores.principles}))
    return result


def spreads(spec: InstrumentSpec, validated: list[Validated]) -> dict[str, Spread | None]:
    return {p.key: spread([v.averages[p.key] for v in validated
                           if v.averages.get(p.key) is not None])
            for p in spec.principles}
