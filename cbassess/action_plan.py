"""The action plan's rules: which indicators need an action, its defaults, its priority,
when it is overdue, how the plan is ordered, and how an edited action is checked.

Every rule is stated in the docstring of the function that applies it, so the page, the
PDF and the exports say the same thing. Imports nothing from Flask or SQLAlchemy: the
write path is cbassess.action_store, the pages cbassess.plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from .instrument import Indicator, Instrument, Principle, Scale
from .scoring import AnswerValue
from .text_policy import TextRefused, clean, clean_line, is_blank

DESCRIPTION_LIMIT = 2_000
OWNER_LIMIT = 200
PROGRESS_NOTE_LIMIT = 4_000
COMMENT_LIMIT = 2_000
TOP_ACTIONS = 5
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LEVEL = re.compile(r"-?[0-9]{1,3}")
_VERSION = re.compile(r"[0-9]{1,9}")


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 1 for medium, 2 for low: the order of a plan sorted by priority."""
        return list(Priority).index(self)


class ActionStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def open(self) -> bool:
        """Not started or in progress: still work to do (and so possibly overdue)."""
        return self in (ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS)


class SortOrder(StrEnum):
    INSTRUMENT = "instrument"
    DUE = "due"
    PRIORITY = "priority"


@dataclass(frozen=True)
class StoredAction:
    """An action as saved (a row of `actions`), as plain values."""

    indicator_key: str
    target_level: int | None = None
    description: str = ""
    owner: str = ""
    due_date: date | None = None
    priority: str | None = None
    status: str = ActionStatus.NOT_STARTED
    progress_note: str = ""
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str | None = None

    def values(self) -> dict:
        """What the action says, as compared between saves and kept in its history."""
        return action_values(self)


@dataclass(frozen=True)
class ActionInput:
    """A validated action as posted, with the version the person was editing."""

    indicator_key: str
    target_level: int | None
    description: str
    owner: str
    due_date: date | None
    priority: str | None
    status: str
    progress_note: str
    expected_version: int | None

    def values(self) -> dict:
        return action_values(self)


def action_values(action: StoredAction | ActionInput) -> dict:
    """The editable values of an action as JSON-ready data (the date as ISO text)."""
    return {"target_level": action.target_level, "description": action.description,
            "owner": action.owner,
            "due_date": action.due_date.isoformat() if action.due_date else None,
            "priority": action.priority, "status": str(action.status),
            "progress_note": action.progress_note}


@dataclass(frozen=True)
class Comment:
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class PlannedAction:
    """One line of the plan: the indicator, where it stands, where it should go, and the
    action with every default applied."""

    indicator: Indicator
    principle_key: str
    level: int
    target: int
    weakest_link: bool
    suggested_priority: Priority
    priority: Priority
    description: str
    owner: str
    due_date: date | None
    status: ActionStatus
    progress_note: str
    version: int
    saved: bool
    overdue: bool
    updated_at: datetime | None = None
    updated_by: str | None = None
    comments: tuple[Comment, ...] = ()
    target_set: bool = False  # a target was chosen (False: the default, one level up)
    unsupported: bool = False  # the current level is claimed without the evidence it needs
    priority_set: bool = False  # a priority was chosen (False: the suggested one)

    @property
    def key(self) -> str:
        return self.indicator.key

    @property
    def gap(self) -> int:
        """Steps up the scale from the level to the target: positions, whatever the levels'
        scores (from 0.25 to 1 on a 0 / 0.25 / 0.5 / 1 scale is two steps)."""
        return max(self.target - self.level, 0)

    @property
    def target_reached(self) -> bool:
        return self.level >= self.target

    @property
    def priority_is_suggested(self) -> bool:
        return self.priority == self.suggested_priority


@dataclass(frozen=True)
class PrincipleActions:
    principle: Principle
    actions: tuple[PlannedAction, ...]


@dataclass(frozen=True)
class Plan:
    groups: tuple[PrincipleActions, ...]
    not_rated: tuple[str, ...] = field(default=())  # indicator keys with no level yet

    @property
    def actions(self) -> tuple[PlannedAction, ...]:
        return tuple(a for g in self.groups for a in g.actions)

    def action(self, key: str) -> PlannedAction | None:
        return next((a for a in self.actions if a.key == key), None)

    @property
    def overdue_count(self) -> int:
        return sum(1 for a in self.actions if a.overdue)


def default_target(level: int, scale: Scale) -> int | None:
    """The default target: the next level up the scale; None at the top (nothing to plan)."""
    higher = [value for value in scale.values if value > level]
    return higher[0] if higher else None


def weakest_links(instrument: Instrument, levels: Mapping[str, AnswerValue]) -> frozenset[str]:
    """The indicators that hold their principle's weakest-link score down.

    An indicator is its principle's weakest link when its level's score is the lowest of
    the principle's rated indicators and at least one other rated indicator scores higher
    (the "+" case of the weakest-link method): raising it raises the principle's score.
    When all rated indicators of a principle score the same, none is singled out.
    """
    keys: set[str] = set()
    for principle in instrument.principles:
        rated = {i.key: instrument.scale.score_of(levels[i.key].level)  # type: ignore[arg-type]
                 for i in principle.indicators
                 if i.key in levels and not levels[i.key].not_applicable
                 and levels[i.key].level is not None}
        if not rated:
            continue
        lowest = min(rated.values())
        if any(score > lowest for score in rated.values()):
            keys.update(key for key, score in rated.items() if score == lowest)
    return frozenset(keys)


def suggested_priority(gap: int, weakest_link: bool, unsupported: bool = False) -> Priority:
    """The priority suggested for an action, from the gap, the weakest link and the evidence.

    High: the indicator is its principle's weakest link, or the target is three levels or
    more above the current level. Medium: a gap of two levels, or a current level claimed
    without the evidence it needs (the level is not shown yet, so the real gap may be
    larger). Low: a gap of one level. Gaps count steps up the scale, not scores. Anyone
    editing the plan may set another priority; the suggestion stays visible.
    """
    if weakest_link or gap >= 3:
        return Priority.HIGH
    if gap == 2 or unsupported:
        return Priority.MEDIUM
    return Priority.LOW


def is_overdue(due_date: date | None, status: str, today: date) -> bool:
    """Overdue: a due date before today on an action still open (not started or in
    progress). A done or dropped action is never overdue; one due today is not yet."""
    return due_date is not None and due_date < today and ActionStatus(status).open


def prefilled_description(indicator: Indicator, level: int, scale: Scale,
                          language: str | None) -> str:
    """The action proposed before anyone writes one: the descriptor of the next level up,
    i.e. what the administration would have to show to climb one level."""
    target = default_target(level, scale)
    if target is None or target not in indicator.descriptors:
        return ""
    return indicator.descriptors[target].get(language)


def build_plan(instrument: Instrument, levels: Mapping[str, AnswerValue],
               stored: Mapping[str, StoredAction], today: date, language: str | None = None,
               comments: Mapping[str, Sequence[Comment]] | None = None) -> Plan:
    """The plan of an assessment, grouped by principle in the instrument's order.

    An indicator appears when it is rated (a level, not "not applicable") and either is
    below the top of the scale (the default target is one level up) or has a saved action
    (shown even once its target is reached, so finished work stays on the record).
    Unanswered and "not applicable" indicators have no action; the plan counts the
    unanswered ones so the page can say so. A saved target replaces the default one. An
    action whose current level is an unsupported claim says so (and its suggested priority
    is at least medium); targets stay levels of the scale, whatever their scores.
    """
    weak = weakest_links(instrument, levels)
    comments = comments or {}
    groups, not_rated = [], []
    for principle in instrument.principles:
        planned = []
        for indicator in principle.indicators:
            answer = levels.get(indicator.key)
            if answer is None or (answer.level is None and not answer.not_applicable):
                not_rated.append(indicator.key)
                continue
            if answer.not_applicable or answer.level is None:
                continue
            level = answer.level
            saved = stored.get(indicator.key)
            target = (saved.target_level if saved and saved.target_level is not None
                      else default_target(level, instrument.scale))
            if target is None:
                continue
            if saved is None and target <= level:
                continue
            gap = max(target - level, 0)
            suggestion = suggested_priority(gap, indicator.key in weak, answer.unsupported)
            status = ActionStatus(saved.status) if saved else ActionStatus.NOT_STARTED
            due = saved.due_date if saved else None
            planned.append(PlannedAction(
                indicator=indicator, principle_key=principle.key, level=level, target=target,
                weakest_link=indicator.key in weak, suggested_priority=suggestion,
                priority=Priority(saved.priority) if saved and saved.priority else suggestion,
                description=(saved.description if saved and saved.description else
                             prefilled_description(indicator, level, instrument.scale,
                                                   language)),
                owner=saved.owner if saved else "", due_date=due, status=status,
                progress_note=saved.progress_note if saved else "",
                version=saved.version if saved else 0, saved=saved is not None,
                overdue=is_overdue(due, status, today),
                updated_at=saved.updated_at if saved else None,
                updated_by=saved.updated_by if saved else None,
                comments=tuple(comments.get(indicator.key, ())),
                target_set=bool(saved and saved.target_level is not None),
                unsupported=answer.unsupported,
                priority_set=bool(saved and saved.priority),
            ))
        groups.append(PrincipleActions(principle, tuple(planned)))
    return Plan(tuple(groups), tuple(not_rated))


def carried_action(action: PlannedAction, instrument: Instrument) -> StoredAction:
    """A previous round's action as it comes into the next round's plan: as it stood, but
    a target the new version's scale lacks, or the default target (one level up), is left
    to the new round's default; a suggested priority is suggested afresh there."""
    target = (action.target if action.target_set and action.target in instrument.scale.values
              else None)
    return StoredAction(
        indicator_key=action.key, target_level=target, description=action.description,
        owner=action.owner, due_date=action.due_date,
        priority=str(action.priority) if action.priority_set else None,
        status=action.status, progress_note=action.progress_note)


def sort_actions(actions: Sequence[PlannedAction], order: SortOrder) -> list[PlannedAction]:
    """Order a principle's actions.

    By due date: earliest first, undated last. By priority: high, medium, low. Ties (and the
    instrument order) keep the instrument's order, so the list never shuffles between
    visits.
    """
    indexed = list(enumerate(actions))
    if order == SortOrder.DUE:
        indexed.sort(key=lambda pair: (pair[1].due_date is None,
                                       pair[1].due_date or date.max, pair[0]))
    elif order == SortOrder.PRIORITY:
        indexed.sort(key=lambda pair: (pair[1].priority.rank, pair[0]))
    return [action for _, action in indexed]


def sorted_plan(plan: Plan, order: SortOrder) -> Plan:
    """The plan with each principle's actions in `order` (the grouping never changes)."""
    return Plan(tuple(PrincipleActions(g.principle, tuple(sort_actions(g.actions, order)))
                      for g in plan.groups), plan.not_rated)


def top_actions(plan: Plan, count: int = TOP_ACTIONS) -> list[PlannedAction]:
    """The actions an executive summary leads with: open ones only, by priority, then
    overdue first, then earliest due date (undated last), then the instrument's order."""
    open_actions = [(i, a) for i, a in enumerate(plan.actions) if a.status.open]
    open_actions.sort(key=lambda pair: (pair[1].priority.rank, not pair[1].overdue,
                                        pair[1].due_date is None,
                                        pair[1].due_date or date.max, pair[0]))
    return [a for _, a in open_actions[:count]]


class ActionInputError(ValueError):
    """A posted action breaks a rule: `field` names the part, `code` the rule (the page
    turns it into a sentence in the reader's language), `params` the figures in it."""

    def __init__(self, field: str, code: str, **params) -> None:
        self.field, self.code, self.params = field, code, params
        super().__init__(f"{field}: {code} {params}")


def clean_text(field: str, value: str, limit: int, single_line: bool = False) -> str:
    """The text as stored under the one text policy (cbassess.text_policy: refused
    characters, NFC, the limit), trimmed at both ends; one-line fields are one line."""
    try:
        cleaned = (clean_line if single_line else clean)(value, limit)
    except TextRefused as refused:
        if refused.reason == "length":
            raise ActionInputError(field, "too_long", length=refused.length,
                                   limit=refused.limit) from None
        raise ActionInputError(field, "control_characters") from None
    return "" if is_blank(cleaned) else cleaned.strip()


def parse_action(instrument: Instrument, indicator_key: str, level: int | None,
                 form: Mapping[str, str]) -> ActionInput:
    """Check one posted action against the assessment's instrument and current level.

    The indicator must be rated (the plan starts from a level). A target, when given, must
    be on the scale and above the current level (to plan nothing, mark the action
    dropped). The action's text is required; the due date is a real date (YYYY-MM-DD);
    priority and status come from their fixed lists (an empty priority means "use the
    suggested one").
    """
    if instrument.indicator(indicator_key) is None:
        raise ActionInputError("indicator", "unknown_indicator", key=indicator_key)
    if level is None:
        raise ActionInputError("indicator", "not_rated", key=indicator_key)
    raw_target = (form.get("target_level") or "").strip()
    target: int | None = None
    if raw_target:
        if not _LEVEL.fullmatch(raw_target) or int(raw_target) not in instrument.scale.values:
            raise ActionInputError("target_level", "target_off_scale",
                                   minimum=instrument.scale.minimum,
                                   maximum=instrument.scale.maximum)
        target = int(raw_target)
        if target <= level:
            raise ActionInputError("target_level", "target_not_above", level=level)
    description = clean_text("description", form.get("description", ""), DESCRIPTION_LIMIT)
    if not description:
        raise ActionInputError("description", "description_required")
    owner = clean_text("owner", form.get("owner", ""), OWNER_LIMIT, single_line=True)
    raw_due = (form.get("due_date") or "").strip()
    due: date | None = None
    if raw_due:
        try:
            if not _ISO_DATE.fullmatch(raw_due):
                raise ValueError(raw_due)
            due = date.fromisoformat(raw_due)
        except ValueError:
            raise ActionInputError("due_date", "bad_date") from None
        if not 2000 <= due.year <= 2100:
            raise ActionInputError("due_date", "date_out_of_range")
    raw_priority = (form.get("priority") or "").strip()
    if raw_priority and raw_priority not in set(Priority):
        raise ActionInputError("priority", "bad_choice")
    raw_status = (form.get("status") or ActionStatus.NOT_STARTED).strip()
    if raw_status not in set(ActionStatus):
        raise ActionInputError("status", "bad_choice")
    note = clean_text("progress_note", form.get("progress_note", ""), PROGRESS_NOTE_LIMIT)
    raw_version = (form.get("version") or "").strip()
    expected_version: int | None = None
    if raw_version:
        if not _VERSION.fullmatch(raw_version):
            raise ActionInputError("version", "bad_version")
        expected_version = int(raw_version)
    return ActionInput(indicator_key, target, description, owner, due, raw_priority or None,
                       raw_status, note, expected_version)


def parse_comment(form: Mapping[str, str]) -> str:
    """A comment's text: required, at most COMMENT_LIMIT characters, no control characters."""
    body = clean_text("comment", form.get("comment", ""), COMMENT_LIMIT)
    if not body:
        raise ActionInputError("comment", "comment_required")
    return body
