"""The assessment's life as data: which action each role may take in each status, what it
leads to, and what must be true first. Plain Python, no Flask and no database.

    draft ──submit──▶ submitted ──validate──▶ validated
      ▲                 │  │  ▲                   │
      └───withdraw──────┘  │  └──reopen (admin)───┘
    returned ◀──return─────┘
      └──submit──▶ submitted        (withdraw goes back to the status it was submitted from)

`decide` answers a request with the new status or the reason it is refused; the caller
(transitions.py) gathers the `Facts` under the assessment's lock and records the step.
Reasons are English source strings marked with N_ for the translation catalogue; the pages
translate them with their parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Who a user is; the models store it, the table below decides with it."""

    RESPONDENT = "respondent"
    FACILITATOR = "facilitator"
    ADMIN = "admin"


class Status(StrEnum):
    """Where an assessment stands in the state machine below."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    VALIDATED = "validated"

    @property
    def editable_by_respondent(self) -> bool:
        return self in (Status.DRAFT, Status.RETURNED)


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


class Action(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    RETURN = "return"
    VALIDATE = "validate"
    REOPEN = "reopen"


# Withdrawing goes back to whichever status the assessment was submitted from.
PREVIOUS = "previous"


@dataclass(frozen=True)
class Facts:
    """What the checks need to know about the assessment, read under its lock."""

    unanswered: int = 0
    review_started: bool = False
    open_queries: int = 0
    not_accepted: int = 0
    message: str = ""
    submitted_from: Status = Status.DRAFT


@dataclass(frozen=True)
class Refusal:
    """Why an action does not apply; `reason` is a catalogue string with %(name)s params."""

    reason: str
    params: dict = field(default_factory=dict)


Check = Callable[[Facts], Refusal | None]


UNANSWERED = N_("%(n)d indicators are still unanswered.")


def complete(facts: Facts) -> Refusal | None:
    """Every indicator has a level or a justified "not applicable"."""
    if facts.unanswered:
        return Refusal(UNANSWERED, {"n": facts.unanswered})
    return None


def review_not_started(facts: Facts) -> Refusal | None:
    """A submission can be taken back only until a facilitator has started reviewing it."""
    if facts.review_started:
        return Refusal(N_("A facilitator has started the review: the submission can no "
                          "longer be withdrawn."))
    return None


def query_or_message(facts: Facts) -> Refusal | None:
    """Returning tells the administration what to change: an open query or a message."""
    if not facts.open_queries and not facts.message.strip():
        return Refusal(N_("Open a query on an indicator or write a message to the "
                          "administration before returning the assessment."))
    return None


def all_accepted(facts: Facts) -> Refusal | None:
    """Validating needs every indicator accepted and no question left open."""
    if facts.not_accepted:
        return Refusal(N_("%(n)d indicators are not accepted yet."), {"n": facts.not_accepted})
    if facts.open_queries:
        return Refusal(N_("%(n)d queries are still open: close them first."),
                       {"n": facts.open_queries})
    return None


def reason_given(facts: Facts) -> Refusal | None:
    """Reopening a validated assessment is exceptional and needs a written reason."""
    if not facts.message.strip():
        return Refusal(N_("Write the reason for reopening the assessment."))
    return None


@dataclass(frozen=True)
class Transition:
    target: Status | str
    checks: tuple[Check, ...] = ()


REVIEWERS = (Role.FACILITATOR, Role.ADMIN)

# (status, action, role) -> the new status and the checks that must pass.
TABLE: dict[tuple[Status, Action, Role], Transition] = {
    (Status.DRAFT, Action.SUBMIT, Role.RESPONDENT): Transition(Status.SUBMITTED, (complete,)),
    (Status.RETURNED, Action.SUBMIT, Role.RESPONDENT): Transition(Status.SUBMITTED, (complete,)),
    (Status.SUBMITTED, Action.WITHDRAW, Role.RESPONDENT):
        Transition(PREVIOUS, (review_not_started,)),
    **{(Status.SUBMITTED, Action.RETURN, role): Transition(Status.RETURNED, (query_or_message,))
       for role in REVIEWERS},
    **{(Status.SUBMITTED, Action.VALIDATE, role): Transition(Status.VALIDATED, (all_accepted,))
       for role in REVIEWERS},
    (Status.VALIDATED, Action.REOPEN, Role.ADMIN): Transition(Status.SUBMITTED, (reason_given,)),
}

_NOT_NOW = {
    Action.SUBMIT: N_("Only a draft or a returned assessment can be submitted; this one is "
                      "%(status)s."),
    Action.WITHDRAW: N_("Only a submitted assessment can be withdrawn; this one is "
                        "%(status)s."),
    Action.RETURN: N_("Only a submitted assessment can be returned; this one is %(status)s."),
    Action.VALIDATE: N_("Only a submitted assessment can be validated; this one is "
                        "%(status)s."),
    Action.REOPEN: N_("Only a validated assessment can be reopened; this one is %(status)s."),
}
_NOT_YOURS = {
    Action.SUBMIT: N_("Only the administration's respondents submit its assessment."),
    Action.WITHDRAW: N_("Only the administration's respondents withdraw its submission."),
    Action.RETURN: N_("Only a facilitator reviewing this assessment can return it."),
    Action.VALIDATE: N_("Only a facilitator reviewing this assessment can validate it."),
    Action.REOPEN: N_("Only an administrator can reopen a validated assessment."),
}


def allowed_actions(status: Status, role: Role) -> list[Action]:
    """The actions the table offers this role in this status (before the checks)."""
    return [action for (s, action, r) in TABLE if s == status and r == role]


def decide(status: Status, action: Action, role: Role, facts: Facts) -> Status | Refusal:
    """The new status, or why the action does not apply (wrong status, role or facts)."""
    transition = TABLE.get((status, action, role))
    if transition is None:
        if any(a == action and r == role for (_, a, r) in TABLE):
            return Refusal(_NOT_NOW[action], {"status": status.value})
        return Refusal(_NOT_YOURS[action])
    for check in transition.checks:
        refusal = check(facts)
        if refusal is not None:
            return refusal
    if transition.target == PREVIOUS:
        return facts.submitted_from
    return Status(transition.target)
