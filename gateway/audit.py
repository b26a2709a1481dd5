"""The audit log: who looked at, handed over, approved, overrode, exported or erased what,
and who changed which setting.

Rows are only ever added (the database refuses updates and deletes, migration 0005), in the
transaction of the thing they record, so an action and its trace commit together. ``detail``
is written by the code, never from customer data: no body, name or number goes in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import AuditEvent, utcnow

ACTIONS = (
    "conversation.viewed",
    "conversation.assigned",
    "conversation.transferred",
    "message.approved",
    "message.rejected",
    "message.sensitive_override",
    "contact.exported",
    "contact.erased",
    "consent.exported",
    "audit.exported",
    "messages.exported",
    "user.added",
    "user.role_changed",
    "user.disabled",
    "user.enabled",
    "user.password_reset",
    "user.two_factor_off",
    "key.created",
    "key.revoked",
    "webhook.added",
    "webhook.deleted",
    "webhook.tested",
    "line.enabled",
    "line.disabled",
    "line.test_sent",
    "settings.changed",
    "settings.reset",
)
READERS = ("admin", "auditor")


@dataclass(frozen=True)
class Actor:
    """Who did it: a user id with their role, or "worker"/"cli" for the box itself."""

    id: str
    role: str | None = None


def audit(
    session: Session,
    actor: Actor,
    action: str,
    subject: str | None = None,
    detail: str | None = None,
    *,
    now: datetime | None = None,
) -> AuditEvent:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        at=now or utcnow(),
        actor=actor.id,
        actor_role=actor.role,
        action=action,
        subject=subject,
        detail=detail,
    )
    session.add(event)
    return event


def audit_events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first; ``before_id`` pages backwards."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))
