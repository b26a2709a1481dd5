"""Supervised sending: what a supervised person writes waits as ``pending_approval`` until a
manager approves it (it joins the queue) or rejects it (it is canceled). The decision, who
made it and when are in the message's history and in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit import Actor, audit
from gateway.config import Config
from gateway.errors import NotCancelable, NotFound
from gateway.inbox_access import Viewer, require_supervisor
from gateway.lifecycle import record
from gateway.models import Message, utcnow


def pending(session: Session, viewer: Viewer, limit: int = 100) -> list[Message]:
    require_supervisor(viewer, "see messages awaiting approval")
    return list(
        session.scalars(
            select(Message)
            .where(Message.status == "pending_approval")
            .order_by(Message.created_at, Message.id)
            .limit(limit)
        )
    )


def _waiting(session: Session, viewer: Viewer, message_id: str, what: str) -> Message:
    require_supervisor(viewer, what)
    message = session.get(Message, message_id[:64])
    if message is None or message.direction != "out":
        raise NotFound("no outbound message with that id")
    if message.status != "pending_approval":
        raise NotCancelable(f"the message is {message.status}, not awaiting approval")
    return message


def approve(
    session: Session,
    config: Config,
    viewer: Viewer,
    message_id: str,
    now: datetime | None = None,
) -> Message:
    """Into the queue (or its scheduled time). Its expiry counts from the approval when the
    wait used it up, so an approval after lunch does not send a message that fails at once."""
    now = now or utcnow()
    message = _waiting(session, viewer, message_id, "approve messages")
    if message.expires_at is not None and message.expires_at <= now:
        message.expires_at = now + timedelta(hours=config.queue.expiry_hours)
    later = message.send_at is not None and message.send_at > now
    message.next_attempt_at = message.send_at if later else now
    record(session, message, "scheduled" if later else "queued", viewer.id, "approved", at=now)
    audit(session, Actor(viewer.id, viewer.role), "message.approved", message.id, now=now)
    return message


def reject(
    session: Session,
    viewer: Viewer,
    message_id: str,
    now: datetime | None = None,
) -> Message:
    """Canceled, with who rejected it; a word to the writer goes in a conversation note."""
    now = now or utcnow()
    message = _waiting(session, viewer, message_id, "reject messages")
    record(session, message, "canceled", viewer.id, "rejected", at=now)
    audit(session, Actor(viewer.id, viewer.role), "message.rejected", message.id, now=now)
    return message
