"""Turn an assessment's answers into scores that can be explained in one sentence each.

Each rule is stated in the docstring of the function that applies it, and the report's
methodology page repeats them, so every figure a minister sees can be traced to the levels
chosen.  This module imports nothing from Flask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from statistics import fmean

from .instrument import Instrument, Scale

HIGHLIGHTS = 3


@dataclass(frozen=True)
class AnswerValue:
    """What scoring needs of an answer: a level, or "not applicable", or neither yet; whether
    the level is a claim without the evidence it needs (claims.is_unsupported) and the
    respondents' confidence, when the instrument asks for it."""

    level: int | None = None
    not_applicable: bool = False
    unsupported: bool = False
    confidence: str | None = None

    @property
    def answered(self) -> bool:
        return self.not_applicable or self.level is not None

    @classmethod
    def of(cls, answer) -> AnswerValue:
        """What an answer counts for: nothing while it is carried over from the previous
        round and nobody has confirmed or changed it (cbassess.rounds), else its level."""
        if answer is None or getattr(answer, "carried_over", False):
            return cls()
        return cls(answer.level, bool(answer.not_applicable))


@dataclass(frozen=True)
class IndicatorScore:
    key: str
    principle_key: str
    level: int | None
    not_applicable: bool
    score: float | None = None  # what the level counts for (the scale's score of it)
    unsupported: bool = False
    confidence: str | None = None

    @property
    def rank(self) -> float:
        """What orders indicators from weakest to strongest: the score, else the level."""
        return self.score if self.score is not None else self.level  # type: ignore[return-value]


@dataclass(frozen=True)
class PrincipleScore:
    key: str
    total: int
    answered: int
    rated: int
    average: float | None
    weakest: float | None
    weakest_plus: bool
    percent: float | None
    unsupported: int = 0  # rated claims that lack the evidence they need
    confidence: tuple[tuple[str, int], ...] = ()  # (high|medium|low, answers), when asked

    @property
    def confidence_counts(self) -> dict[str, int]:
        return dict(self.confidence)

    @property
    def complete(self) -> bool:
        return self.answered == self.total

    @property
    def weakest_label(self) -> str:
        """The weakest-link figure as printed: "2+" when other indicators stand higher."""
        if self.weakest is None:
            return "–"
        return f"{number(self.weakest)}{'+' if self.weakest_plus else ''}"


def number(value: float | None) -> str:
    """A score as printed: as few decimals as it needs, at most three (2, 0.25, 0.667)."""
    if value is None:
        return "–"
    return f"{round(value, 3):g}"


@dataclass(frozen=True)
class Scores:
    principles: tuple[PrincipleScore, ...]
    indicators: tuple[IndicatorScore, ...]
    total: int
    answered: int
    average: float | None
    weakest: float | None
    percent: float | None
    strongest: tuple[IndicatorScore, ...]
    weakest_indicators: tuple[IndicatorScore, ...]
    unsupported: tuple[IndicatorScore, ...] = ()

    @property
    def unsupported_keys(self) -> frozenset[str]:
        return frozenset(i.key for i in self.unsupported)

    @property
    def completeness(self) -> float:
        """Share of indicators answered (a level or a justified "not applicable"), 0–1."""
        return self.answered / self.total if self.total else 0.0

    def principle(self, key: str) -> PrincipleScore:
        return next(p for p in self.principles if p.key == key)


def percent_of_scale(value: float | None, scale: Scale) -> float | None:
    """Where a score sits between the scale's lowest (0 %) and highest (100 %) level's."""
    if value is None:
        return None
    return (value - scale.minimum_score) / (scale.maximum_score - scale.minimum_score) * 100


def score_principle(
    key: str, levels: list[int | None], not_applicable: int, scale: Scale
) -> PrincipleScore:
    """Score one principle two ways, on the levels' scores.

    A level counts for its score: its value, unless the instrument gives the levels scores
    of their own (0, 0.25, 0.5, 1, say). Average: the mean of the scores of its rated
    indicators. Weakest link: the lowest of them, marked "+" when at least one other rated
    indicator stands higher (as in PEFA's M1 method). "Not applicable" and unanswered
    indicators are left out of both; a principle with no rated indicator has no score
    rather than a score of zero.
    """
    rated = [scale.score_of(level) for level in levels if level is not None]
    weakest = min(rated) if rated else None
    average = fmean(rated) if rated else None
    return PrincipleScore(
        key=key,
        total=len(levels) + not_applicable,
        answered=len(rated) + not_applicable,
        rated=len(rated),
        average=average,
        weakest=weakest,
        weakest_plus=weakest is not None and any(level > weakest for level in rated),
        percent=percent_of_scale(average, scale),
    )


@dataclass(frozen=True)
class Progress:
    """How far an assessment has got: each principle's score and the counts answered."""

    principles: tuple[PrincipleScore, ...]
    total: int
    answered: int

    def principle(self, key: str) -> PrincipleScore:
        return next(p for p in self.principles if p.key == key)


def progress(instrument: Instrument, answers: Mapping[str, AnswerValue]) -> Progress:
    """Each principle scored as in `score`, without the overall figures and highlights.

    What the walk shows after every save; a results page needs `score`. Any mapping of
    objects with `level` and `not_applicable` will do for the answers.
    """
    principles = []
    for principle in instrument.principles:
        levels: list[int | None] = []
        not_applicable = 0
        for indicator in principle.indicators:
            answer = answers.get(indicator.key)
            if answer is not None and answer.not_applicable:
                not_applicable += 1
            else:
                levels.append(answer.level if answer is not None else None)
        principles.append(score_principle(principle.key, levels, not_applicable,
                                          instrument.scale))
    return Progress(tuple(principles), sum(p.total for p in principles),
                    sum(p.answered for p in principles))


def score(instrument: Instrument, answers: Mapping[str, AnswerValue]) -> Scores:
    """Score an assessment.

    Overall average: the mean of the principle averages, so each principle weighs the same
    whatever its number of indicators. Overall weakest link: the lowest principle weakest
    link. Answers to indicators the instrument does not have are ignored. An unsupported
    claim (a level that needs evidence and has none) still counts in the scores, as
    the self-assessment it is, but is counted per principle, listed, and never a strength.
    Confidence, when the instrument asks for it, is counted per principle.
    """
    so_far = progress(instrument, answers)
    indicator_scores = []
    for principle in instrument.principles:
        for indicator in principle.indicators:
            answer = answers.get(indicator.key, AnswerValue())
            level = None if answer.not_applicable else answer.level
            indicator_scores.append(IndicatorScore(
                indicator.key, principle.key, level, answer.not_applicable,
                None if level is None else instrument.scale.score_of(level),
                answer.unsupported and level is not None, answer.confidence,
            ))
    principle_scores = tuple(
        replace(p, unsupported=sum(i.unsupported for i in indicator_scores
                                   if i.principle_key == p.key),
                confidence=_confidence(indicator_scores, p.key))
        for p in so_far.principles
    )
    averages = [p.average for p in principle_scores if p.average is not None]
    weakest = [p.weakest for p in principle_scores if p.weakest is not None]
    overall = fmean(averages) if averages else None
    strongest, weakest_indicators = highlights(indicator_scores)
    return Scores(
        principles=tuple(principle_scores),
        indicators=tuple(indicator_scores),
        total=so_far.total,
        answered=so_far.answered,
        average=overall,
        weakest=min(weakest) if weakest else None,
        percent=percent_of_scale(overall, instrument.scale),
        strongest=strongest,
        weakest_indicators=weakest_indicators,
        unsupported=tuple(i for i in indicator_scores if i.unsupported),
    )


CONFIDENCE_ORDER = ("high", "medium", "low")


def _confidence(indicators: list[IndicatorScore], principle_key: str) \
        -> tuple[tuple[str, int], ...]:
    """How many of a principle's answers were given with each confidence (none: left out)."""
    counted = Counter(i.confidence for i in indicators
                      if i.principle_key == principle_key and i.confidence)
    return tuple((value, counted[value]) for value in CONFIDENCE_ORDER if counted[value])


def headline_average(answers: Mapping[str, AnswerValue], scale: Scale) -> float | None:
    """The overall average of `score`, from the answers and the scale alone.

    The same rule: each principle's average is the mean of its rated indicators' level
    scores, and the overall average the mean of the principles that have one. An
    indicator's principle is the part of its key before the first dot (the instrument
    format requires keys of the form `<principle key>.<code>`), so every answer given must
    belong to the assessment's instrument, as stored answers do. What the dashboard sorts
    on, kept on the assessment by each save (headline.py).
    """
    by_principle: dict[str, list[float]] = {}
    for key, answer in answers.items():
        if answer.level is not None and not answer.not_applicable:
            by_principle.setdefault(key.split(".", 1)[0], []).append(
                scale.score_of(answer.level))
    averages = [fmean(levels) for levels in by_principle.values()]
    return fmean(averages) if averages else None


def highlights(
    indicators: list[IndicatorScore], count: int = HIGHLIGHTS
) -> tuple[tuple[IndicatorScore, ...], tuple[IndicatorScore, ...]]:
    """The strongest and weakest rated indicators.

    Up to `count` of each, never more than half of the rated indicators each, so that no
    indicator is called both a strength and a gap. Ties keep the instrument's order. An
    unsupported claim is never a strength: it may only appear among the weakest.
    """
    rated = [i for i in indicators if i.level is not None]
    take = min(count, len(rated) // 2)
    if not take:
        return (), ()
    strongest = sorted((i for i in rated if not i.unsupported), key=lambda i: -i.rank)[:take]
    # With ties, both orders would start with the same indicators: leave the strongest out.
    rest = [i for i in rated if all(i.key != s.key for s in strongest)]
    weakest = sorted(rest, key=lambda i: i.rank)[:take]
    return tuple(strongest), tuple(weakest)


def weakest_areas(indicators: tuple[IndicatorScore, ...] | list[IndicatorScore],
                  count: int = HIGHLIGHTS) -> tuple[IndicatorScore, ...]:
    """The weakest rated indicators, never cut in the middle of a tie.

    The weakest indicators of `highlights`, plus every other rated indicator whose score
    (`rank`: what its level counts for) is no higher than that of the last of them (the
    cut-off): four indicators sharing the third-lowest score are all listed, not the first
    three. Indicators listed as strongest stay out, as there; the order is by score, then
    the instrument's.
    """
    strongest, weakest = highlights(list(indicators), count)
    if not weakest:
        return ()
    cutoff = weakest[-1].rank
    strong = {item.key for item in strongest}
    tied = [i for i in indicators if i.level is not None and i.rank <= cutoff
            and i.key not in strong]
    return tuple(sorted(tied, key=lambda i: i.rank))
