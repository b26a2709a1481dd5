"""Message status changes. Each is one row update plus an event row, in the caller's
transaction: the event history is the archive, and nothing changes without a trace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.errors import InvalidTransition
from gateway.models import Message, MessageEvent, utcnow
from gateway.webhooks import message_changed

# Which status may follow which (DESIGN.md, "Message lifecycle").
ALLOWED: dict[str | None, frozenset[str]] = {
    None: frozenset({"pending_approval", "scheduled", "queued", "received"}),
    "pending_approval": frozenset({"scheduled", "queued", "canceled", "blocked"}),
    "scheduled": frozenset({"queued", "canceled", "blocked", "failed"}),
    # queued -> scheduled: quiet hours, seen again just before a modem, put it off.
    "queued": frozenset({"sending", "scheduled", "canceled", "blocked", "failed"}),
    "sending": frozenset({"sent", "queued", "failed", "unknown", "blocked"}),
    "sent": frozenset({"delivered", "undelivered"}),
    "unknown": frozenset({"queued"}),  # a person may resend
    "delivered": frozenset(),
    "undelivered": frozenset(),
    "failed": frozenset({"queued"}),  # a person may retry
    "blocked": frozenset(),
    "canceled": frozenset(),
    "received": frozenset(),
}


def check_transition(previous: str | None, status: str) -> None:
    if status not in ALLOWED.get(previous, frozenset()):
        raise InvalidTransition(f"{previous} -> {status}")


def record(
    session: Session,
    message: Message,
    status: str,
    actor: str,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Move ``message`` to ``status`` and write the event, and the webhook deliveries it
    calls for (the caller commits)."""
    previous = message.status if message.status else None
    check_transition(previous, status)
    now = at or utcnow()
    message.status = status
    message.updated_at = now
    session.add(
        MessageEvent(
            message_id=message.id,
            at=now,
            status=status,
            previous=previous,
            actor=actor,
            detail=detail,
        )
    )
    message_changed(session, message, previous, now)
