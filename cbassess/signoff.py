"""Sign-off snapshots: what a facilitator validated, frozen as canonical JSON with its SHA-256.

The digest is printed on the results page and the PDF; `verify` finds the snapshot a digest
(or a report's text) belongs to, so anyone holding a report can check that it is what was
validated here. Canonical: keys sorted, no spaces, UTF-8, so the same content always gives
the same digest. SQLAlchemy, no Flask.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .instrument import Instrument
from .models import Answer, Assessment, Review, SignOffSnapshot, User

DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def freeze(session: Session, assessment: Assessment, instrument: Instrument,
           validator_id: int, at: datetime) -> SignOffSnapshot:
    """Write the snapshot of a validation (in the caller's transaction)."""
    answers = {a.indicator_key: a for a in session.scalars(
        select(Answer).where(Answer.assessment_id == assessment.id))}
    reviews = {r.indicator_key: r for r in session.scalars(
        select(Review).where(Review.assessment_id == assessment.id))}
    validator = session.get(User, validator_id)
    items = {}
    for indicator in instrument.indicators:
        answer, review = answers.get(indicator.key), reviews.get(indicator.key)
        items[indicator.key] = {
            "claimed": {"level": answer.level, "not_applicable": answer.not_applicable,
                        "evidence": answer.evidence, "note": answer.note} if answer else None,
            "validated": {"level": review.level, "not_applicable": review.not_applicable,
                          "finding": review.finding, "state": review.state}
            if review else None,
        }
    payload = {
        "assessment": {"id": assessment.id, "administration": assessment.organisation.name,
                       "round": assessment.round_name},
        "instrument": {"key": instrument.key, "version": instrument.version,
                       "content_hash": instrument.content_hash},
        "indicators": items,
        "validated_by": {"id": validator_id,
                         "name": validator.display_name if validator else ""},
        "validated_at": at.isoformat(),
    }
    body = canonical(payload)
    snapshot = SignOffSnapshot(assessment_id=assessment.id,
                               digest=hashlib.sha256(body).hexdigest(),
                               payload=body.decode("utf-8"), validated_by_id=validator_id,
                               created_at=at)
    session.add(snapshot)
    return snapshot


def latest(session: Session, assessment_id: int) -> SignOffSnapshot | None:
    return session.scalar(select(SignOffSnapshot)
                          .where(SignOffSnapshot.assessment_id == assessment_id)
                          .order_by(SignOffSnapshot.id.desc()).limit(1))


def digests_in(text: str) -> list[str]:
    """The SHA-256 digests written in a text (a report's, or one typed in); a digest a PDF
    broke over two lines counts too."""
    text = text.lower()
    return DIGEST.findall(text) + DIGEST.findall(text.replace("\n", ""))


def find(session: Session, text: str) -> SignOffSnapshot | None:
    """The snapshot whose digest appears in `text`, if one is held here."""
    digests = digests_in(text)
    if not digests:
        return None
    return session.scalar(select(SignOffSnapshot).where(SignOffSnapshot.digest.in_(digests))
                          .order_by(SignOffSnapshot.id.desc()).limit(1))


def matches_payload(snapshot: SignOffSnapshot) -> bool:
    """The stored payload still hashes to the stored digest (nobody edited it)."""
    return hashlib.sha256(snapshot.payload.encode("utf-8")).hexdigest() == snapshot.digest
