"""Scoring: principle average and weakest link, overall figures, completeness, highlights."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbassess.instrument import load_path
from cbassess.scoring import (
    AnswerValue,
    IndicatorScore,
    headline_average,
    highlights,
    percent_of_scale,
    progress,
    score,
    score_principle,
)

HERE = Path(__file__).parent
SHIPPED = load_path(HERE.parent / "cbassess" / "instruments" / "wco-cb-core-principles.yaml")
OTHER = load_path(HERE / "data" / "other-framework.yaml")  # TF.1 TF.2 | RM.1 | BA.1, 1–4
NA = "n/a"


def answers(levels: dict[str, int | str | None]) -> dict[str, AnswerValue]:
    """{"PW.1": 2, "PW.2": NA, "PW.3": None} -> answers: a level, not applicable, unanswered."""
    return {
        key: AnswerValue(not_applicable=True) if value == NA else AnswerValue(level=value)
        for key, value in levels.items()
    }


def principle_answers(prefix: str, *values: int | str | None) -> dict[str, AnswerValue]:
    return answers({f"{prefix}.{n}": value for n, value in enumerate(values, start=1)})


def every(instrument, level: int) -> dict[str, AnswerValue]:
    return {i.key: AnswerValue(level=level) for i in instrument.indicators}


def keys(indicators) -> list[str]:
    return [i.key for i in indicators]


# --------------------------------------------------------------------------- one principle


def test_principle_average_is_the_mean_of_its_rated_levels():
    scores = score(SHIPPED, principle_answers("PW", 0, 1, 3, 4, 4))
    assert scores.principle("PW").average == pytest.approx(2.4)


def test_principle_weakest_link_is_its_lowest_rated_level():
    scores = score(SHIPPED, principle_answers("PW", 3, 1, 4, 2, 3))
    assert scores.principle("PW").weakest == 1


def test_weakest_label_is_marked_plus_when_another_rated_indicator_is_higher():
    principle = score(SHIPPED, principle_answers("PW", 2, 2, 3, 2, 2)).principle("PW")
    assert principle.weakest == 2
    assert principle.weakest_plus is True
    assert principle.weakest_label == "2+"


def test_weakest_label_has_no_plus_when_all_rated_indicators_are_equal():
    principle = score(SHIPPED, principle_answers("PW", 2, 2, 2, 2, 2)).principle("PW")
    assert principle.weakest_plus is False
    assert principle.weakest_label == "2"


def test_weakest_label_has_no_plus_for_a_single_rated_indicator():
    principle = score(SHIPPED, principle_answers("PW", 1, None, NA)).principle("PW")
    assert principle.weakest_label == "1"


def test_weakest_label_is_a_dash_without_a_score():
    assert score(SHIPPED, {}).principle("PW").weakest_label == "–"


def test_not_applicable_is_left_out_of_the_average():
    principle = score(SHIPPED, principle_answers("PW", NA, 2, 4, NA, 3)).principle("PW")
    assert principle.average == pytest.approx(3.0)


def test_not_applicable_is_left_out_of_the_weakest_link_and_its_plus():
    principle = score(SHIPPED, principle_answers("PW", NA, 3, 3, 3, 3)).principle("PW")
    assert principle.weakest == 3
    assert principle.weakest_label == "3"


def test_not_applicable_counts_as_answered_but_not_rated():
    principle = score(SHIPPED, principle_answers("PW", NA, 2, 4, NA, 3)).principle("PW")
    assert (principle.total, principle.answered, principle.rated) == (5, 5, 3)
    assert principle.complete


def test_not_applicable_counts_towards_completeness():
    scores = score(OTHER, answers({"TF.1": 2, "TF.2": NA}))
    assert scores.answered == 2
    assert scores.completeness == pytest.approx(0.5)


def test_not_applicable_with_a_level_is_scored_as_not_applicable():
    scores = score(OTHER, {"TF.1": AnswerValue(level=1, not_applicable=True),
                           "TF.2": AnswerValue(level=4)})
    assert scores.principle("TF").average == 4
    indicator = scores.indicators[0]
    assert (indicator.key, indicator.level, indicator.not_applicable) == ("TF.1", None, True)


def test_unanswered_indicator_is_neither_rated_nor_answered():
    principle = score(SHIPPED, principle_answers("PW", 4, None, 2)).principle("PW")
    assert (principle.total, principle.answered, principle.rated) == (5, 2, 2)
    assert principle.average == pytest.approx(3.0)
    assert principle.weakest == 2
    assert not principle.complete


def test_all_not_applicable_principle_has_no_score():
    principle = score(SHIPPED, principle_answers("PW", NA, NA, NA, NA, NA)).principle("PW")
    assert principle.average is None
    assert principle.weakest is None
    assert principle.percent is None
    assert principle.complete


def test_all_not_applicable_principle_is_left_out_of_the_overall_average():
    levels = every(SHIPPED, 3) | principle_answers("PW", NA, NA, NA, NA, NA)
    levels |= principle_answers("OC", 1, 1, 1, 1, 1)
    scores = score(SHIPPED, levels)
    assert scores.average == pytest.approx((1 + 3 + 3 + 3) / 4)
    assert scores.weakest == 1


def test_principle_percent_is_its_average_on_the_scale():
    principle = score(OTHER, answers({"TF.1": 2, "TF.2": 3})).principle("TF")
    assert principle.percent == pytest.approx(50.0)


def test_score_principle_counts_not_applicable_apart_from_levels():
    principle = score_principle("RM", [2, None, 4], 2, OTHER.scale)
    assert (principle.total, principle.answered, principle.rated) == (5, 4, 2)
    assert principle.average == pytest.approx(3.0)
    assert principle.weakest_label == "2+"


# --------------------------------------------------------------------------- whole assessment


def test_empty_assessment_has_no_scores():
    scores = score(SHIPPED, {})
    assert scores.average is None
    assert scores.weakest is None
    assert scores.percent is None
    for principle in scores.principles:
        assert (principle.average, principle.weakest, principle.percent) == (None, None, None)


def test_empty_assessment_has_completeness_zero():
    scores = score(SHIPPED, {})
    assert scores.total == len(SHIPPED.indicators) == 28
    assert scores.answered == 0
    assert scores.completeness == 0


def test_empty_assessment_has_no_highlights():
    scores = score(SHIPPED, {})
    assert scores.strongest == ()
    assert scores.weakest_indicators == ()


def test_fully_answered_assessment_has_completeness_one():
    scores = score(SHIPPED, every(SHIPPED, 2))
    assert scores.completeness == 1
    assert all(principle.complete for principle in scores.principles)


def test_completeness_is_the_share_of_indicators_answered():
    scores = score(OTHER, answers({"TF.1": 1, "RM.1": 4, "BA.1": None}))
    assert scores.completeness == pytest.approx(0.5)


def test_overall_average_is_the_mean_of_principle_averages_not_of_indicators():
    """TF has two indicators at 4, RM and BA one each at 1: principles 4, 1, 1 -> 2.0,
    whereas the mean of the four indicators would be 2.5."""
    scores = score(OTHER, answers({"TF.1": 4, "TF.2": 4, "RM.1": 1, "BA.1": 1}))
    assert [p.average for p in scores.principles] == [4, 1, 1]
    assert scores.average == pytest.approx(2.0)
    assert scores.average != pytest.approx((4 + 4 + 1 + 1) / 4)


def test_overall_average_ignores_principles_without_a_score():
    scores = score(OTHER, answers({"TF.1": 4, "TF.2": 2, "RM.1": 1}))
    assert scores.average == pytest.approx((3 + 1) / 2)


def test_overall_percent_is_the_overall_average_on_the_scale():
    scores = score(OTHER, answers({"TF.1": 4, "TF.2": 4, "RM.1": 1, "BA.1": 1}))
    assert scores.percent == pytest.approx(100 / 3)


def test_overall_weakest_link_is_the_lowest_principle_weakest_link():
    levels = every(SHIPPED, 4) | principle_answers("HD", 4, 3, 4, 4, 4, 4)
    levels |= principle_answers("PA", 4, 4, 2, 4, 4, 4)
    scores = score(SHIPPED, levels)
    assert [p.weakest for p in scores.principles] == [4, 4, 3, 4, 2]
    assert scores.weakest == 2


def test_principles_are_scored_in_instrument_order():
    scores = score(SHIPPED, {})
    assert [p.key for p in scores.principles] == ["PW", "OC", "HD", "DR", "PA"]
    assert keys(scores.indicators) == keys(SHIPPED.indicators)


def test_answers_for_unknown_indicator_keys_are_ignored():
    levels = answers({"TF.1": 1, "TF.9": 4, "XX.1": 4, "PW.1": NA})
    scores = score(OTHER, levels)
    assert scores.total == 4
    assert scores.answered == 1
    assert scores.average == 1
    assert keys(scores.indicators) == ["TF.1", "TF.2", "RM.1", "BA.1"]


# --------------------------------------------------------------------------- percent of scale


@pytest.mark.parametrize(("value", "percent"), [(0, 0), (1, 25), (2, 50), (3.5, 87.5), (4, 100)])
def test_percent_of_scale_starting_at_0(value, percent):
    assert percent_of_scale(value, SHIPPED.scale) == pytest.approx(percent)


@pytest.mark.parametrize(("value", "percent"), [(1, 0), (2, 100 / 3), (2.5, 50), (4, 100)])
def test_percent_of_scale_starting_at_1(value, percent):
    assert percent_of_scale(value, OTHER.scale) == pytest.approx(percent)


def test_percent_of_no_value_is_none():
    assert percent_of_scale(None, SHIPPED.scale) is None


# --------------------------------------------------------------------------- highlights


def test_highlights_take_three_strongest_and_three_weakest():
    levels = every(SHIPPED, 2) | answers({"PW.2": 4, "HD.3": 4, "PA.6": 3, "DR.1": 3,
                                          "OC.4": 0, "PA.1": 0, "HD.6": 1, "DR.5": 1})
    scores = score(SHIPPED, levels)
    assert keys(scores.strongest) == ["PW.2", "HD.3", "DR.1"]
    assert keys(scores.weakest_indicators) == ["OC.4", "PA.1", "HD.6"]


def test_highlights_are_ordered_strongest_first_and_weakest_first():
    scores = score(SHIPPED, answers({"PW.1": 1, "PW.2": 4, "PW.3": 0, "PW.4": 3, "PW.5": 2,
                                     "OC.1": 2}))
    assert [i.level for i in scores.strongest] == [4, 3, 2]
    assert [i.level for i in scores.weakest_indicators] == [0, 1, 2]


@pytest.mark.parametrize(("rated", "each"), [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2),
                                              (6, 3), (7, 3), (28, 3)])
def test_highlights_never_take_more_than_half_the_rated_indicators(rated, each):
    levels = {i.key: AnswerValue(level=n % 5) for n, i in enumerate(SHIPPED.indicators[:rated])}
    scores = score(SHIPPED, levels)
    assert len(scores.strongest) == each
    assert len(scores.weakest_indicators) == each


def test_highlights_leave_out_not_applicable_and_unanswered_indicators():
    levels = {i.key: AnswerValue(not_applicable=True) for i in SHIPPED.indicators}
    levels |= answers({"PW.1": 4, "OC.1": 0, "HD.1": None})
    scores = score(SHIPPED, levels)
    assert keys(scores.strongest) == ["PW.1"]
    assert keys(scores.weakest_indicators) == ["OC.1"]


def test_highlight_ties_keep_instrument_order():
    levels = every(SHIPPED, 2) | answers({"PA.6": 4, "PA.1": 4, "OC.2": 4, "PW.5": 4,
                                          "DR.6": 0, "HD.1": 0, "PW.3": 0, "OC.5": 0})
    scores = score(SHIPPED, levels)
    assert keys(scores.strongest) == ["PW.5", "OC.2", "PA.1"]
    assert keys(scores.weakest_indicators) == ["PW.3", "OC.5", "HD.1"]


def test_no_indicator_is_both_a_strength_and_a_gap_when_levels_tie():
    """TF.1 at 4 and three at 2: the strongest are TF.1 and TF.2 (first of the 2s), so the
    weakest must be the next 2s, RM.1 and BA.1, not TF.2 again."""
    scores = score(OTHER, answers({"TF.1": 4, "TF.2": 2, "RM.1": 2, "BA.1": 2}))
    assert keys(scores.strongest) == ["TF.1", "TF.2"]
    assert keys(scores.weakest_indicators) == ["RM.1", "BA.1"]


def test_no_indicator_is_both_a_strength_and_a_gap_when_all_levels_are_equal():
    scores = score(SHIPPED, every(SHIPPED, 2))
    assert len(scores.strongest) == len(scores.weakest_indicators) == 3
    assert not set(keys(scores.strongest)) & set(keys(scores.weakest_indicators))


@pytest.mark.parametrize("rated", range(2, 12))
def test_no_indicator_is_both_a_strength_and_a_gap_for_any_mix(rated):
    for pattern in ([2, 1], [1, 1, 3], [0, 4, 4, 0], [3]):
        levels = [pattern[n % len(pattern)] for n in range(rated)]
        indicators = [IndicatorScore(f"P.{n}", "P", level, False)
                      for n, level in enumerate(levels, start=1)]
        strongest, weakest = highlights(indicators)
        assert not set(keys(strongest)) & set(keys(weakest)), levels
        assert len(strongest) == len(weakest) == min(3, rated // 2)
        assert min(i.level for i in strongest) >= max(i.level for i in weakest), levels


def test_highlights_count_can_be_lowered():
    indicators = [IndicatorScore(f"P.{n}", "P", n, False) for n in range(1, 9)]
    strongest, weakest = highlights(indicators, count=1)
    assert keys(strongest) == ["P.8"]
    assert keys(weakest) == ["P.1"]


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("levels", [
    {},
    {"PW.1": 2, "PW.2": NA, "OC.3": 4},
    {"PW.1": 0, "PW.2": 0, "PW.3": 3, "PW.4": None, "HD.1": NA, "DD.2": 1, "PA.5": 4},
])
def test_progress_scores_each_principle_exactly_as_score_does(levels):
    full, quick = score(SHIPPED, answers(levels)), progress(SHIPPED, answers(levels))
    assert quick.principles == full.principles
    assert (quick.total, quick.answered) == (full.total, full.answered)


def test_progress_finds_a_principle_by_key():
    quick = progress(OTHER, answers({"RM.1": 3}))
    assert quick.principle("RM").answered == 1
    assert quick.principle("TF").answered == 0


def test_weakest_areas_list_every_indicator_tied_at_the_cut_off():
    from cbassess.scoring import IndicatorScore, weakest_areas
    levels = [("A.1", 0), ("A.2", 1), ("A.3", 2), ("A.4", 2), ("A.5", 2), ("A.6", 4),
              ("A.7", 4), ("A.8", 3), ("A.9", 4), ("A.10", 3)]
    indicators = [IndicatorScore(key, "A", level, False) for key, level in levels]
    weakest = weakest_areas(indicators, count=3)
    assert [i.key for i in weakest] == ["A.1", "A.2", "A.3", "A.4", "A.5"]
    assert weakest_areas(indicators[:1]) == ()


# --------------------------------------------------------------------------- level scores

MATURITY = load_path(HERE / "data" / "maturity-framework.yaml")  # levels 0–3 score 0–1


def test_averages_use_the_levels_scores_not_their_positions():
    levels = dict(zip((i.key for i in MATURITY.principle("G-SM").indicators),
                      (0, 1, 2, 3, 3, 1), strict=True))
    scores = score(MATURITY, {k: AnswerValue(level=v) for k, v in levels.items()})
    gsm = scores.principle("G-SM")
    # By hand: (0 + 0.25 + 0.5 + 1 + 1 + 0.25) / 6 = 3 / 6; on the positions it would be 10/6.
    assert gsm.average == pytest.approx(0.5)
    assert (gsm.weakest, gsm.weakest_label) == (0, "0+")
    assert gsm.percent == pytest.approx(50)
    assert scores.average == pytest.approx(0.5)  # the only principle with a score
    assert [i.score for i in scores.indicators[:6]] == [0, 0.25, 0.5, 1, 1, 0.25]


def test_weakest_link_is_printed_as_a_score():
    values = {i.key: AnswerValue(level=1) for i in MATURITY.principle("O-HR").indicators}
    values["O-HR.2"] = AnswerValue(level=2)
    principle = score(MATURITY, values).principle("O-HR")
    assert principle.weakest_label == "0.25+"
    assert principle.average == pytest.approx((0.25 * 5 + 0.5) / 6)


def test_confidence_is_counted_per_principle_in_a_fixed_order():
    keys = [i.key for i in MATURITY.principle("G-SM").indicators]
    values = {keys[0]: AnswerValue(level=1, confidence="low"),
              keys[1]: AnswerValue(level=1, confidence="high"),
              keys[2]: AnswerValue(level=1, confidence="low"),
              keys[3]: AnswerValue(level=1)}
    principle = score(MATURITY, values).principle("G-SM")
    assert principle.confidence == (("high", 1), ("low", 2))


def test_weakest_areas_compare_the_levels_scores_and_keep_ties_on_them():
    from cbassess.scoring import weakest_areas
    gsm = [i.key for i in MATURITY.principle("G-SM").indicators]
    gpp = [i.key for i in MATURITY.principle("G-PP").indicators]
    keys = gsm + gpp[:4]
    # Levels 0, 1, 1, 1, 1, 3, 3, 3, 2, 2 count for 0, .25 ×4, 1 ×3, .5 ×2.
    levels = dict(zip(keys, (0, 1, 1, 1, 1, 3, 3, 3, 2, 2), strict=True))
    # G-SM.5 (level 1) claimed with no evidence: flagged, but still a gap like the others.
    values = {k: AnswerValue(level=v, unsupported=(k == gsm[4])) for k, v in levels.items()}
    scores = score(MATURITY, values)
    weakest = weakest_areas(scores.indicators)
    # By hand: the three strongest are the three level-3 claims (score 1); the weakest
    # three run 0, .25, .25, and the cut-off at .25 brings in the other two at .25.
    assert [i.key for i in weakest] == gsm[:5]
    assert [i.score for i in weakest] == [0, 0.25, 0.25, 0.25, 0.25]
    assert [i.unsupported for i in weakest] == [False, False, False, False, True]
    assert all(i.key not in {s.key for s in scores.strongest} for i in weakest)


def test_weakest_areas_order_by_score_where_it_differs_from_the_level():
    from cbassess.scoring import weakest_areas
    # The rule is stated on scores: with scores out of the levels' order, the cut-off and
    # the order follow the scores (with the levels, A.2 would be left out).
    indicators = [IndicatorScore("A.1", "A", 1, False, 0.5),
                  IndicatorScore("A.2", "A", 2, False, 0.25),
                  IndicatorScore("A.3", "A", 3, False, 1.0),
                  IndicatorScore("A.4", "A", 3, False, 1.0)]
    assert [i.key for i in weakest_areas(indicators, count=2)] == ["A.2", "A.1"]


# ----------------------------------------------------------- the headline average, stored


@settings(max_examples=200, deadline=None)
@given(instrument=st.sampled_from([SHIPPED, OTHER, MATURITY]), data=st.data())
def test_the_stored_headline_average_is_the_overall_average_of_score(instrument, data):
    """What the dashboard sorts on (headline.py) is the average the results page shows,
    for any mix of levels, "n/a" and unanswered indicators."""
    choice = st.one_of(st.none(), st.just(NA), st.integers(instrument.scale.minimum,
                                                           instrument.scale.maximum))
    given_answers = answers({i.key: data.draw(choice, label=i.key)
                             for i in instrument.indicators
                             if data.draw(st.booleans(), label=f"{i.key} stored")})
    expected = score(instrument, given_answers).average
    if expected is None:
        assert headline_average(given_answers, instrument.scale) is None
    else:
        assert headline_average(given_answers, instrument.scale) == pytest.approx(expected)


def test_the_headline_average_weighs_each_principle_the_same():
    two_principles = answers({"PW.1": 4, "PW.2": 4, "PW.3": 4, "OC.1": 0, "OC.2": NA})
    assert headline_average(two_principles, SHIPPED.scale) == 2.0
    assert headline_average(answers({"PW.1": NA, "PW.2": None}), SHIPPED.scale) is None

