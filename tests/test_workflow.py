"""The assessment's state machine, read as a table: every (status, action, role) either leads
to the status stated here or is refused with a reason, and each check refuses exactly when
its fact says so. No database, no Flask: cbassess.workflow is plain Python."""

from __future__ import annotations

from itertools import product

import pytest

from cbassess.models import Role, Status
from cbassess.workflow import TABLE, Action, Facts, Refusal, allowed_actions, decide

D, S, R, V = Status.DRAFT, Status.SUBMITTED, Status.RETURNED, Status.VALIDATED
RESP, FAC, ADMIN = Role.RESPONDENT, Role.FACILITATOR, Role.ADMIN
READY = Facts(unanswered=0, review_started=False, open_queries=0, not_accepted=0,
              message="A message")

# Every transition the product has, with facts under which it applies.
ALLOWED = {
    (D, Action.SUBMIT, RESP): S,
    (R, Action.SUBMIT, RESP): S,
    (S, Action.WITHDRAW, RESP): D,
    (S, Action.RETURN, FAC): R,
    (S, Action.RETURN, ADMIN): R,
    (S, Action.VALIDATE, FAC): V,
    (S, Action.VALIDATE, ADMIN): V,
    (V, Action.REOPEN, ADMIN): S,
}


def test_the_table_holds_exactly_the_transitions_of_the_product():
    assert set(TABLE) == set(ALLOWED)


@pytest.mark.parametrize(("status", "action", "role"), list(product(Status, Action, Role)))
def test_each_status_action_and_role(status, action, role):
    outcome = decide(status, action, role, READY)
    if (status, action, role) in ALLOWED:
        assert outcome == ALLOWED[status, action, role]
    else:
        assert isinstance(outcome, Refusal)
        assert outcome.reason  # a reason a person can read, never a bare refusal


def test_a_wrong_status_is_named_in_the_refusal_and_a_wrong_role_says_who_may():
    twice = decide(S, Action.SUBMIT, RESP, READY)
    assert "can be submitted" in twice.reason and twice.params == {"status": "submitted"}
    draft = decide(D, Action.VALIDATE, FAC, READY)
    assert "validated" in draft.reason and draft.params == {"status": "draft"}
    assert "facilitator" in decide(S, Action.VALIDATE, RESP, READY).reason
    assert "administrator" in decide(V, Action.REOPEN, FAC, READY).reason


def test_withdrawing_goes_back_to_the_status_it_was_submitted_from():
    assert decide(S, Action.WITHDRAW, RESP, Facts(submitted_from=R)) == R
    assert decide(S, Action.WITHDRAW, RESP, Facts(submitted_from=D)) == D


@pytest.mark.parametrize(("key", "facts", "refused"), [
    ((D, Action.SUBMIT, RESP), Facts(unanswered=1), True),
    ((D, Action.SUBMIT, RESP), Facts(unanswered=0), False),
    ((S, Action.WITHDRAW, RESP), Facts(review_started=True), True),
    ((S, Action.WITHDRAW, RESP), Facts(review_started=False), False),
    ((S, Action.RETURN, FAC), Facts(open_queries=0, message="  "), True),
    ((S, Action.RETURN, FAC), Facts(open_queries=1, message=""), False),
    ((S, Action.RETURN, FAC), Facts(open_queries=0, message="Please add the budget"), False),
    ((S, Action.VALIDATE, FAC), Facts(not_accepted=1), True),
    ((S, Action.VALIDATE, FAC), Facts(not_accepted=0, open_queries=1), True),
    ((S, Action.VALIDATE, FAC), Facts(not_accepted=0, open_queries=0), False),
    ((V, Action.REOPEN, ADMIN), Facts(message=""), True),
    ((V, Action.REOPEN, ADMIN), Facts(message="Figures were wrong"), False),
])
def test_each_check_refuses_exactly_when_its_fact_says_so(key, facts, refused):
    assert isinstance(decide(*key, facts), Refusal) is refused


def test_the_unanswered_count_is_in_the_reason():
    refusal = decide(D, Action.SUBMIT, RESP, Facts(unanswered=3))
    assert refusal.reason % refusal.params == "3 indicators are still unanswered."


def test_allowed_actions_lists_what_a_role_may_try_in_a_status():
    assert allowed_actions(S, RESP) == [Action.WITHDRAW]
    assert set(allowed_actions(S, FAC)) == {Action.RETURN, Action.VALIDATE}
    assert allowed_actions(V, ADMIN) == [Action.REOPEN]
    assert allowed_actions(V, FAC) == []
