"""Rounds: what carries over from one assessment to the next, and how two rounds compare.

An administration assesses itself again every year or two. The next round starts from the
last submitted or validated one: every answer is copied in as a starting point and counts as
unanswered until someone confirms or changes it. The new round may use a newer version of
the instrument; an indicator carries over when its key is in both versions. The comparison
puts each indicator's previous and current level side by side and each principle's average
and weakest link, and says why a pair cannot be compared.

Plain Python: no Flask, no database (the write path is cbassess.round_store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .instrument import Instrument
from .scoring import AnswerValue, PrincipleScore, Scores, score


class NotComparable(StrEnum):
    """Why an indicator's two levels cannot be compared (the pages say it in words)."""

    NEW = "new"  # not in the previous round's instrument
    REMOVED = "removed"  # not in this round's instrument
    SCALE = "scale"  # the two versions rate on different scales
    NOT_APPLICABLE = "not_applicable"  # "not applicable" in one round or both
    UNANSWERED = "unanswered"  # no level (yet) in one round or both


@dataclass(frozen=True)
class CarryOver:
    """What starting a round on `current` from an assessment on `previous` does."""

    carried: tuple[str, ...]  # in both versions: the answer is copied in
    new: tuple[str, ...]  # only in the new version: starts empty
    removed: tuple[str, ...]  # only in the previous version: listed, not copied
    level_dropped: tuple[str, ...] = ()  # copied, but its level is not on the new scale


def carry_over(previous: Instrument, current: Instrument,
               answered: Mapping[str, AnswerValue]) -> CarryOver:
    """Which indicators carry over: those whose key is in both versions (whatever their
    wording: the key says it is the same question). An indicator of the new version that
    the previous one did not have starts empty; one the new version dropped is listed as
    removed. A carried level that is not on the new version's scale is left out (the
    evidence and note still come), and so is a "not applicable" the new scale no longer
    allows: someone has to choose again."""
    before = {i.key for i in previous.indicators}
    after = {i.key for i in current.indicators}
    dropped = []
    for key in (i.key for i in current.indicators if i.key in before and i.key in answered):
        value = carried_value(answered[key], current)
        if value != answered[key]:
            dropped.append(key)
    return CarryOver(
        carried=tuple(i.key for i in current.indicators if i.key in before),
        new=tuple(i.key for i in current.indicators if i.key not in before),
        removed=tuple(i.key for i in previous.indicators if i.key not in after),
        level_dropped=tuple(dropped))


def carried_value(value: AnswerValue, current: Instrument) -> AnswerValue:
    """The level and "not applicable" an answer brings into a round on `current`."""
    if value.not_applicable:
        return value if current.scale.not_applicable_allowed else AnswerValue()
    if value.level is not None and value.level not in current.scale.values:
        return AnswerValue()
    return value


def same_scale(previous: Instrument, current: Instrument) -> bool:
    """Levels compare only on the same scale: the same values, in the same order."""
    return previous.scale.values == current.scale.values


@dataclass(frozen=True)
class IndicatorChange:
    """One indicator across two rounds. `previous`/`current` are None where the indicator
    is not in that round's instrument; `change` is None when `why_not` says it cannot be
    compared."""

    key: str
    principle_key: str
    previous: AnswerValue | None
    current: AnswerValue | None
    change: int | None
    why_not: NotComparable | None
    reworded: bool = False  # same key, but the question or a descriptor was rewritten

    @property
    def comparable(self) -> bool:
        return self.why_not is None


@dataclass(frozen=True)
class PrincipleChange:
    """One principle across two rounds: both scores and the changes of average and of
    weakest link (None where either round has no score, or the scales differ)."""

    key: str
    previous: PrincipleScore | None
    current: PrincipleScore | None
    average_change: float | None
    weakest_change: int | None
    indicators_changed: bool  # the two versions do not hold the same indicators


@dataclass(frozen=True)
class Comparison:
    indicators: tuple[IndicatorChange, ...]  # this round's order, then those removed
    principles: tuple[PrincipleChange, ...]  # this round's order, then those removed
    previous_scores: Scores
    current_scores: Scores
    overall_average_change: float | None
    same_scale: bool

    @property
    def improved(self) -> int:
        return sum(1 for i in self.indicators if i.change is not None and i.change > 0)

    @property
    def declined(self) -> int:
        return sum(1 for i in self.indicators if i.change is not None and i.change < 0)

    @property
    def unchanged(self) -> int:
        return sum(1 for i in self.indicators if i.change == 0)

    @property
    def not_comparable(self) -> int:
        return sum(1 for i in self.indicators if i.change is None)

    @property
    def removed(self) -> tuple[IndicatorChange, ...]:
        return tuple(i for i in self.indicators if i.why_not == NotComparable.REMOVED)

    def principle(self, key: str) -> PrincipleChange | None:
        return next((p for p in self.principles if p.key == key), None)


def _difference(after, before):
    return None if after is None or before is None else after - before


def _why_not(previous: AnswerValue, current: AnswerValue, scales_match: bool) \
        -> NotComparable | None:
    if not scales_match:
        return NotComparable.SCALE
    if previous.not_applicable or current.not_applicable:
        return NotComparable.NOT_APPLICABLE
    if previous.level is None or current.level is None:
        return NotComparable.UNANSWERED
    return None


def compare(previous: Instrument, previous_levels: Mapping[str, AnswerValue],
            current: Instrument, current_levels: Mapping[str, AnswerValue]) -> Comparison:
    """Compare two rounds, each scored on its own instrument (scoring.score).

    Per indicator: the change is the current level minus the previous one, for an
    indicator rated in both rounds on the same scale; otherwise it says why not (new,
    removed, another scale, "not applicable", no level). Per principle (matched by key):
    the change of the average and of the weakest link, each the current figure minus the
    previous; a principle whose indicators differ between the versions is marked, as its
    figures rest on other questions. Overall: the change of the mean of principle averages.
    The levels passed in are those the caller reports for each round (validated ones once
    a round is validated, claimed ones before; a carried-over answer not yet confirmed has
    no level).
    """
    scales_match = same_scale(previous, current)
    before, after = score(previous, previous_levels), score(current, current_levels)
    rows = []
    for indicator in current.indicators:
        now = current_levels.get(indicator.key, AnswerValue())
        earlier_indicator = previous.indicator(indicator.key)
        if earlier_indicator is None:
            rows.append(IndicatorChange(indicator.key, indicator.principle_key, None, now,
                                        None, NotComparable.NEW))
            continue
        then = previous_levels.get(indicator.key, AnswerValue())
        why_not = _why_not(then, now, scales_match)
        rows.append(IndicatorChange(
            indicator.key, indicator.principle_key, then, now,
            None if why_not else now.level - then.level, why_not,
            reworded=(earlier_indicator.question != indicator.question
                      or earlier_indicator.descriptors != indicator.descriptors)))
    for indicator in previous.indicators:
        if current.indicator(indicator.key) is None:
            rows.append(IndicatorChange(
                indicator.key, indicator.principle_key,
                previous_levels.get(indicator.key, AnswerValue()), None, None,
                NotComparable.REMOVED))
    principles = []
    for principle in current.principles:
        now_score = after.principle(principle.key)
        earlier = previous.principle(principle.key)
        then_score = before.principle(principle.key) if earlier else None
        principles.append(PrincipleChange(
            principle.key, then_score, now_score,
            _difference(now_score.average, then_score.average if then_score else None)
            if scales_match else None,
            _difference(now_score.weakest, then_score.weakest if then_score else None)
            if scales_match else None,
            indicators_changed=earlier is None or (
                [i.key for i in earlier.indicators] != [i.key for i in principle.indicators])))
    for principle in previous.principles:
        if current.principle(principle.key) is None:
            principles.append(PrincipleChange(principle.key, before.principle(principle.key),
                                              None, None, None, True))
    return Comparison(tuple(rows), tuple(principles), before, after,
                      _difference(after.average, before.average) if scales_match else None,
                      scales_match)
