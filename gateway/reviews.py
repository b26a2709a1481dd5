"""Messages that read like an opt-out in other words, waiting for a person's decision.

The person either records the revocation (the contact's message is its evidence) or
dismisses the flag; either way who decided and when is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.consent import ConsentChange, record_consent
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.models import ConsentReview, Contact, utcnow
from gateway.vault import Vault

OUTCOMES = ("revoked", "dismissed")


def list_reviews(
    session: Session, status: str | None = "open", *, contact_id: str | None = None
) -> list[ConsentReview]:
    query = select(ConsentReview).order_by(ConsentReview.due_on, ConsentReview.received_at)
    if status is not None:
        query = query.where(ConsentReview.status == status)
    if contact_id is not None:
        query = query.where(ConsentReview.contact_id == contact_id)
    return list(session.scalars(query.limit(1000)))


def describe_review(review: ConsentReview, today: datetime | None = None) -> dict[str, Any]:
    today_date = (today or utcnow()).date()
    return {
        "id": review.id,
        "contact_id": review.contact_id,
        "message_id": review.message_id,
        "received_at": review.received_at.isoformat(),
        "due_on": review.due_on.isoformat(),
        "overdue": review.status == "open" and today_date > review.due_on,
        "status": review.status,
        "resolved_by": review.resolved_by,
        "resolved_at": review.resolved_at.isoformat() if review.resolved_at else None,
    }


def resolve_review(
    session: Session,
    vault: Vault,
    review_id: str,
    outcome: str,
    *,
    resolved_by: str,
    role: str,
    now: datetime | None = None,
) -> ConsentReview:
    """Decide a flagged message (the caller commits)."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome is revoked or dismissed")
    review = session.get(ConsentReview, review_id[:64])
    if review is None:
        raise NotFound("no consent review with that id")
    if review.status != "open":
        raise Conflict(f"this review was already decided ({review.status})")
    now = now or utcnow()
    if outcome == "revoked":
        contact = session.get(Contact, review.contact_id)
        if contact is None:  # pragma: no cover - a foreign key holds it
            raise NotFound("the review's contact is gone")
        change = ConsentChange("all", "revoked", "inbound", message_id=review.message_id)
        record_consent(session, vault, contact, change, recorded_by=resolved_by, role=role, now=now)
    review.status = outcome
    review.resolved_by = resolved_by
    review.resolved_at = now
    return review
