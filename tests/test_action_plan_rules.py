"""The action plan's rules (cbassess.action_plan), checked directly: targets, suggested
priority, weakest links, overdue, ordering and the checks on a posted action."""

from __future__ import annotations

from datetime import date

import pytest

from cbassess.action_plan import (
    ActionInputError,
    ActionStatus,
    Priority,
    SortOrder,
    StoredAction,
    build_plan,
    default_target,
    is_overdue,
    parse_action,
    sort_actions,
    suggested_priority,
    top_actions,
    weakest_links,
)
from cbassess.instrument import load_path, shipped_paths
from cbassess.scoring import AnswerValue

TODAY = date(2027, 3, 1)


@pytest.fixture(scope="module")
def instrument():
    return load_path(shipped_paths()[0])


def levels_for(instrument, principle_levels: dict[str, list]) -> dict[str, AnswerValue]:
    """Answers by principle: a list of levels in indicator order ("na" for not applicable)."""
    answers = {}
    for principle in instrument.principles:
        for indicator, level in zip(principle.indicators, principle_levels.get(principle.key, []),
                                    strict=False):
            answers[indicator.key] = (AnswerValue(None, True) if level == "na"
                                      else AnswerValue(level))
    return answers


def test_the_default_target_is_one_level_up_and_none_at_the_top(instrument):
    scale = instrument.scale
    assert default_target(scale.minimum, scale) == scale.minimum + 1
    assert default_target(scale.maximum - 1, scale) == scale.maximum
    assert default_target(scale.maximum, scale) is None


@pytest.mark.parametrize(("gap", "weakest", "expected"), [
    (1, False, Priority.LOW), (2, False, Priority.MEDIUM), (3, False, Priority.HIGH),
    (4, False, Priority.HIGH), (1, True, Priority.HIGH), (2, True, Priority.HIGH),
])
def test_suggested_priority_follows_the_gap_and_the_weakest_link(gap, weakest, expected):
    assert suggested_priority(gap, weakest) == expected


def test_weakest_links_are_the_lowest_of_a_principle_only_when_another_stands_higher(instrument):
    pw, oc = instrument.principles[0], instrument.principles[1]
    answers = levels_for(instrument, {pw.key: [1, 3, 1, 2], oc.key: [2, 2, 2]})
    weak = weakest_links(instrument, answers)
    assert {pw.indicators[0].key, pw.indicators[2].key} <= weak
    assert pw.indicators[1].key not in weak
    assert not any(i.key in weak for i in oc.indicators)  # all level: no weakest link


@pytest.mark.parametrize(("due", "status", "overdue"), [
    (date(2027, 2, 28), "not_started", True), (date(2027, 2, 28), "in_progress", True),
    (date(2027, 2, 28), "done", False), (date(2027, 2, 28), "dropped", False),
    (TODAY, "not_started", False), (None, "not_started", False),
])
def test_overdue_means_past_due_and_still_open(due, status, overdue):
    assert is_overdue(due, status, TODAY) is overdue


def test_the_plan_lists_rated_indicators_below_target_with_defaults(instrument):
    pw = instrument.principles[0]
    top = instrument.scale.maximum
    answers = levels_for(instrument, {pw.key: [0, top, "na"]})
    plan = build_plan(instrument, answers, {}, TODAY, "en")
    keys = [a.key for a in plan.actions]
    assert keys == [pw.indicators[0].key]  # the top-level and "n/a" ones have no action
    action = plan.actions[0]
    assert (action.level, action.target, action.status) == (0, 1, ActionStatus.NOT_STARTED)
    assert action.description == pw.indicators[0].descriptors[1].get("en")
    assert action.priority == Priority.HIGH and action.weakest_link  # lowest, another higher
    assert len(plan.not_rated) == len(instrument.indicators) - 3


def test_a_saved_action_keeps_its_target_and_stays_when_the_target_is_reached(instrument):
    pw = instrument.principles[0]
    first, second = pw.indicators[0].key, pw.indicators[1].key
    answers = levels_for(instrument, {pw.key: [1, 3]})
    stored = {first: StoredAction(first, target_level=4, description="Draft the law",
                                  due_date=date(2027, 1, 1), status="in_progress", version=2),
              second: StoredAction(second, target_level=3, description="Keep it",
                                   status="done", version=1)}
    plan = build_plan(instrument, answers, stored, TODAY, "en")
    one, two = plan.action(first), plan.action(second)
    assert (one.target, one.gap, one.priority, one.overdue) == (4, 3, Priority.HIGH, True)
    assert one.description == "Draft the law"
    assert two.target_reached and not two.overdue
    assert plan.overdue_count == 1


def test_sorting_by_due_date_puts_undated_last_and_by_priority_high_first(instrument):
    pw = instrument.principles[0]
    keys = [i.key for i in pw.indicators[:4]]
    answers = levels_for(instrument, {pw.key: [1, 2, 0, 3]})
    stored = {keys[0]: StoredAction(keys[0], description="a", due_date=date(2027, 6, 1)),
              keys[1]: StoredAction(keys[1], description="b", due_date=date(2027, 4, 1),
                                    priority="low"),
              keys[3]: StoredAction(keys[3], description="d", priority="medium")}
    actions = build_plan(instrument, answers, stored, TODAY).actions
    by_due = [a.key for a in sort_actions(actions, SortOrder.DUE)]
    assert by_due == [keys[1], keys[0], keys[2], keys[3]]
    by_priority = [a.priority for a in sort_actions(actions, SortOrder.PRIORITY)]
    assert by_priority == sorted(by_priority, key=lambda p: p.rank)
    assert sort_actions(actions, SortOrder.INSTRUMENT) == list(actions)


def test_top_actions_are_open_ones_by_priority_then_due_date(instrument):
    pw = instrument.principles[0]
    keys = [i.key for i in pw.indicators[:3]]
    answers = levels_for(instrument, {pw.key: [0, 2, 2]})
    stored = {keys[0]: StoredAction(keys[0], description="x", status="done")}
    top = top_actions(build_plan(instrument, answers, stored, TODAY))
    assert keys[0] not in [a.key for a in top]
    assert [a.key for a in top] == keys[1:]


def form(**values):
    base = {"target_level": "", "description": "Adopt the plan", "owner": "Planning unit",
            "due_date": "2027-06-30", "priority": "", "status": "in_progress",
            "progress_note": "", "version": "0"}
    return {**base, **values}


def test_a_valid_action_is_parsed(instrument):
    key = instrument.indicators[0].key
    item = parse_action(instrument, key, 1, form(target_level="3", priority="high"))
    assert (item.target_level, item.due_date, item.priority, item.status) == (
        3, date(2027, 6, 30), "high", "in_progress")
    assert parse_action(instrument, key, 1, form()).priority is None  # "use the suggestion"
    assert parse_action(instrument, key, 1, form(owner=" Planning\n unit ")).owner == \
        "Planning unit"  # a name is one line


@pytest.mark.parametrize(("values", "field", "code"), [
    ({"target_level": "1"}, "target_level", "target_not_above"),
    ({"target_level": "9"}, "target_level", "target_off_scale"),
    ({"target_level": "two"}, "target_level", "target_off_scale"),
    ({"description": "   "}, "description", "description_required"),
    ({"description": "\u200b\u00ad"}, "description", "description_required"),  # invisible
    ({"description": "x" * 2001}, "description", "too_long"),
    ({"owner": "a\u202eb"}, "owner", "control_characters"),  # a direction override
    ({"due_date": "30/06/2027"}, "due_date", "bad_date"),
    ({"due_date": "2027-02-30"}, "due_date", "bad_date"),
    ({"due_date": "1999-12-31"}, "due_date", "date_out_of_range"),
    ({"priority": "urgent"}, "priority", "bad_choice"),
    ({"status": "finished"}, "status", "bad_choice"),
    ({"progress_note": "bell\x07"}, "progress_note", "control_characters"),
    ({"version": "²"}, "version", "bad_version"),
])
def test_a_bad_action_is_refused_naming_the_field(instrument, values, field, code):
    with pytest.raises(ActionInputError) as refused:
        parse_action(instrument, instrument.indicators[0].key, 1, form(**values))
    assert (refused.value.field, refused.value.code) == (field, code)


def test_an_unrated_indicator_cannot_have_an_action(instrument):
    with pytest.raises(ActionInputError) as refused:
        parse_action(instrument, instrument.indicators[0].key, None, form())
    assert refused.value.code == "not_rated"


# ------------------------------------------------- unequal level scores, unsupported claims

@pytest.fixture(scope="module")
def maturity():
    """Levels 0–3 that count for 0, 0.25, 0.5 and 1; evidence needed from level 2."""
    from pathlib import Path
    return load_path(Path(__file__).parent / "data" / "maturity-framework.yaml")


def test_on_unequal_level_scores_targets_and_gaps_count_steps_up_the_scale(maturity):
    gsm = maturity.principle("G-SM")
    answers = {gsm.indicators[0].key: AnswerValue(0), gsm.indicators[1].key: AnswerValue(1),
               gsm.indicators[2].key: AnswerValue(3), gsm.indicators[3].key: AnswerValue(2)}
    stored = {gsm.indicators[1].key: StoredAction(gsm.indicators[1].key, target_level=3,
                                                  description="Adopt the strategy")}
    plan = build_plan(maturity, answers, stored, TODAY, "en")
    by_key = {a.key: a for a in plan.actions}
    # Level 0 (score 0) is the principle's weakest link: its default target is level 1.
    first = by_key[gsm.indicators[0].key]
    assert (first.level, first.target, first.gap, first.weakest_link) == (0, 1, 1, True)
    assert first.priority == Priority.HIGH
    # Level 1 (score 0.25) to the chosen level 3 (score 1): two steps, not 0.75 or 3.
    second = by_key[gsm.indicators[1].key]
    assert (second.target, second.gap, second.suggested_priority) == (3, 2, Priority.MEDIUM)
    assert gsm.indicators[2].key not in by_key  # level 3 is the top: nothing to plan
    # A target must be a level of the scale, never a score.
    with pytest.raises(ActionInputError) as refused:
        parse_action(maturity, gsm.indicators[3].key, 2,
                     {"target_level": "0.75", "description": "x"})
    assert refused.value.code == "target_off_scale"


def test_weakest_links_compare_the_levels_scores(maturity):
    gpp = maturity.principle("G-PP")
    answers = {i.key: AnswerValue(level) for i, level in zip(gpp.indicators, (1, 1, 2),
                                                             strict=False)}
    assert weakest_links(maturity, answers) == {gpp.indicators[0].key, gpp.indicators[1].key}


def test_an_unsupported_claim_is_flagged_on_its_action_and_suggested_at_least_medium(maturity):
    gsm = maturity.principle("G-SM")
    claimed, backed = gsm.indicators[0].key, gsm.indicators[1].key
    answers = {claimed: AnswerValue(2, unsupported=True), backed: AnswerValue(2)}
    plan = build_plan(maturity, answers, {}, TODAY, "en")
    by_key = {a.key: a for a in plan.actions}
    assert by_key[claimed].unsupported and not by_key[backed].unsupported
    assert by_key[claimed].suggested_priority == Priority.MEDIUM  # one step, but unsupported
    assert by_key[backed].suggested_priority == Priority.LOW
    assert suggested_priority(1, True, unsupported=True) == Priority.HIGH
