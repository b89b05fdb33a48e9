"""The admin audit log: who did what to which record, and when.

Every administrative change (users, roles, assignments, administrations, instruments,
assessments started for an administration, reopenings) calls `record` before its commit,
so the entry is written in the same transaction as the change: both are kept, or neither.
No Flask here: the command line and the pages write the same entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .models import AuditEntry

# What the command line is recorded as (it has no signed-in user).
COMMAND_LINE = "command line"


class Actor(Protocol):
    """Whoever acts: a User row or the request's SignedInUser."""

    id: int
    email: str


# The actions written to the log, grouped by the kind of record they change. Other areas
# record theirs through `record` too: transitions.py an admin's change of an assessment's
# status (a reopening; a return or a validation made by an admin).
ACTIONS: Mapping[str, tuple[str, ...]] = {
    "user": ("user.create", "user.update", "user.deactivate", "user.reactivate",
             "user.assign", "user.unassign", "user.password_link", "user.password_set"),
    "organisation": ("organisation.create", "organisation.update"),
    "instrument": ("instrument.import", "instrument.retire", "instrument.restore"),
    "assessment": ("assessment.create", "assessment.assign_principle", "assessment.reopen",
                   "assessment.import", "assessment.start_round", "assessment.return",
                   "assessment.validate"),
}


def record(session: Session, actor: Actor | None, action: str, target_type: str,
           target_id: int | None, target_label: str, **details: Any) -> AuditEntry:
    """Add one entry to the session; the caller's commit writes it with the change itself.

    `details` hold what changed (before and after values, the administration assigned…),
    as JSON-ready values.
    """
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else COMMAND_LINE,
        action=action, target_type=target_type, target_id=target_id,
        target_label=target_label[:300], details=dict(details),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page narrows the log to; empty fields filter nothing."""

    actor: str = ""
    action: str = ""
    target_type: str = ""
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None


def entries(wanted: AuditFilter) -> Select:
    """The entries matching `wanted`, newest first (a query, for pagination)."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if wanted.actor:
        query = query.where(AuditEntry.actor_email.icontains(wanted.actor, autoescape=True))
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.target_type:
        query = query.where(AuditEntry.target_type == wanted.target_type)
    if wanted.target:
        query = query.where(AuditEntry.target_label.icontains(wanted.target, autoescape=True))
    if wanted.since is not None:
        query = query.where(AuditEntry.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.created_at < wanted.until)
    return query
