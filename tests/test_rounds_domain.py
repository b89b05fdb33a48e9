"""What carries over from one round to the next, and how two rounds compare: the rules of
cbassess.rounds on two small instrument versions, every figure worked by hand."""

from __future__ import annotations

import pytest

from cbassess.instrument import load_text
from cbassess.rounds import NotComparable, carried_value, carry_over, compare
from cbassess.scoring import AnswerValue

pytestmark = pytest.mark.database_independent  # no database at all: run once

LEVELS_0_3 = """
scale:
  not_applicable: {allowed: true}
  levels:
    - {value: 0, label: None, summary: Nothing}
    - {value: 1, label: Some, summary: Some}
    - {value: 2, label: Most, summary: Most}
    - {value: 3, label: All, summary: All}
"""
LEVELS_1_4 = """
scale:
  levels:
    - {value: 1, label: Some, summary: Some}
    - {value: 2, label: Most, summary: Most}
    - {value: 3, label: All, summary: All}
    - {value: 4, label: Leading, summary: Leading}
"""


def indicator(key: str, question: str, values: range) -> str:
    descriptors = "".join(f"\n          {v}: Descriptor {v} of {key}" for v in values)
    return (f"\n      - key: {key}\n        question: {question}\n        guidance: Show it."
            f"\n        descriptors:{descriptors}")


def instrument(version: str, principles: dict[str, list[tuple[str, str]]],
               scale: str = LEVELS_0_3):
    values = range(0, 4) if scale is LEVELS_0_3 else range(1, 5)
    body = "".join(
        f"\n  - key: {key}\n    title: Principle {key}\n    indicators:"
        + "".join(indicator(k, q, values) for k, q in items)
        for key, items in principles.items())
    return load_text(f"key: rounds-test\nversion: '{version}'\ntitle: Rounds test\n{scale}"
                     f"principles:{body}\n")


V1 = instrument("1", {"PA": [("PA.1", "Q1?"), ("PA.2", "Q2?"), ("PA.3", "Q3?")],
                      "PB": [("PB.1", "Q4?"), ("PB.2", "Q5?")],
                      "PC": [("PC.1", "Q6?")]})
# Version 2: PA.2 reworded, PA.3 removed, PA.4 new; PC removed, PD new.
V2 = instrument("2", {"PA": [("PA.1", "Q1?"), ("PA.2", "Q2, reworded?"), ("PA.4", "Q7?")],
                      "PB": [("PB.1", "Q4?"), ("PB.2", "Q5?")],
                      "PD": [("PD.1", "Q8?")]})
ON_1_4 = instrument("3", {"PA": [("PA.1", "Q1?"), ("PA.2", "Q2?"), ("PA.3", "Q3?")],
                          "PB": [("PB.1", "Q4?"), ("PB.2", "Q5?")],
                          "PC": [("PC.1", "Q6?")]}, LEVELS_1_4)

NA = AnswerValue(None, True)
BEFORE = {"PA.1": AnswerValue(1), "PA.2": AnswerValue(2), "PA.3": AnswerValue(3),
          "PB.1": AnswerValue(0), "PB.2": NA, "PC.1": AnswerValue(2)}
# PB.1 is carried over and not confirmed yet: it has no level.
AFTER = {"PA.1": AnswerValue(3), "PA.2": AnswerValue(1), "PA.4": AnswerValue(2),
         "PB.1": AnswerValue(), "PB.2": AnswerValue(2), "PD.1": AnswerValue(1)}


def test_the_same_version_carries_every_indicator_and_drops_nothing():
    carry = carry_over(V1, V1, BEFORE)
    assert carry.carried == ("PA.1", "PA.2", "PA.3", "PB.1", "PB.2", "PC.1")
    assert carry.new == carry.removed == carry.level_dropped == ()


def test_a_newer_version_carries_the_same_keys_lists_removed_ones_and_starts_new_ones_empty():
    carry = carry_over(V1, V2, BEFORE)
    assert carry.carried == ("PA.1", "PA.2", "PB.1", "PB.2")  # PA.2 reworded: same key
    assert carry.new == ("PA.4", "PD.1")
    assert carry.removed == ("PA.3", "PC.1")


def test_a_level_or_not_applicable_the_new_scale_lacks_is_not_carried():
    assert carried_value(AnswerValue(0), ON_1_4) == AnswerValue()  # no level 0 any more
    assert carried_value(AnswerValue(3), ON_1_4) == AnswerValue(3)
    assert carried_value(NA, ON_1_4) == AnswerValue()  # "not applicable" not allowed
    assert carried_value(NA, V2) == NA
    assert carry_over(V1, ON_1_4, BEFORE).level_dropped == ("PB.1", "PB.2")


def test_indicator_changes_worked_by_hand():
    c = compare(V1, BEFORE, V2, AFTER)
    rows = {row.key: row for row in c.indicators}
    assert [row.key for row in c.indicators] == [
        "PA.1", "PA.2", "PA.4", "PB.1", "PB.2", "PD.1", "PA.3", "PC.1"]
    assert (rows["PA.1"].change, rows["PA.1"].why_not) == (2, None)  # 1 → 3
    assert (rows["PA.2"].change, rows["PA.2"].reworded) == (-1, True)  # 2 → 1, reworded
    assert rows["PA.1"].reworded is False
    assert rows["PA.4"].why_not == NotComparable.NEW and rows["PA.4"].previous is None
    assert rows["PB.1"].why_not == NotComparable.UNANSWERED  # carried, not confirmed
    assert rows["PB.2"].why_not == NotComparable.NOT_APPLICABLE  # N/A → 2
    assert rows["PD.1"].why_not == NotComparable.NEW
    assert rows["PA.3"].why_not == NotComparable.REMOVED and rows["PA.3"].current is None
    assert rows["PA.3"].previous == AnswerValue(3)
    assert [r.key for r in c.removed] == ["PA.3", "PC.1"]
    assert (c.improved, c.declined, c.unchanged, c.not_comparable) == (1, 1, 0, 6)


def test_principle_changes_worked_by_hand():
    c = compare(V1, BEFORE, V2, AFTER)
    pa, pb, pd, pc = (c.principle(key) for key in ("PA", "PB", "PD", "PC"))
    # PA: before (1 + 2 + 3) / 3 = 2.0, weakest 1; now (3 + 1 + 2) / 3 = 2.0, weakest 1.
    assert (pa.previous.average, pa.current.average, pa.average_change) == (2.0, 2.0, 0.0)
    assert (pa.previous.weakest, pa.current.weakest, pa.weakest_change) == (1, 1, 0)
    assert pa.indicators_changed  # PA.3 went, PA.4 came
    # PB: before only PB.1 = 0 is rated (PB.2 N/A); now only PB.2 = 2 (PB.1 unconfirmed).
    assert (pb.previous.average, pb.current.average, pb.average_change) == (0.0, 2.0, 2.0)
    assert (pb.weakest_change, pb.indicators_changed) == (2, False)
    # PD is new: nothing to compare; PC was removed: listed with its previous score only.
    assert (pd.previous, pd.average_change, pd.weakest_change) == (None, None, None)
    assert pc.current is None and pc.previous.average == 2.0
    assert [p.key for p in c.principles] == ["PA", "PB", "PD", "PC"]
    # Overall: the mean of principle averages, (2 + 0 + 2) / 3 before, (2 + 2 + 1) / 3 now.
    assert c.previous_scores.average == pytest.approx(4 / 3)
    assert c.current_scores.average == pytest.approx(5 / 3)
    assert c.overall_average_change == pytest.approx(1 / 3)


def test_levels_on_another_scale_are_shown_but_never_compared():
    after = {"PA.1": AnswerValue(3), "PA.2": AnswerValue(2), "PA.3": AnswerValue(4),
             "PB.1": AnswerValue(1), "PB.2": AnswerValue(1), "PC.1": AnswerValue(2)}
    c = compare(V1, BEFORE, ON_1_4, after)
    assert not c.same_scale
    assert {row.why_not for row in c.indicators} == {NotComparable.SCALE}
    assert all(p.average_change is None and p.weakest_change is None for p in c.principles)
    assert c.overall_average_change is None
    assert c.principle("PA").previous.average == 2.0  # both figures are still shown


def test_unchanged_levels_count_as_unchanged():
    c = compare(V1, BEFORE, V1, BEFORE)
    assert (c.improved, c.declined, c.unchanged, c.not_comparable) == (0, 0, 5, 1)  # PB.2 N/A
    assert all(p.average_change == 0 for p in c.principles)
