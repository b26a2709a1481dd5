"""Periodic and start-up chores of the worker: scheduled sends, expiry, crash recovery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from gateway.lifecycle import record
from gateway.models import Message, UtcDateTime, utcnow

ACTOR = "worker"


@dataclass(frozen=True)
class Recovered:
    unknown: int  # were in ``sending``: handed to a modem, outcome never recorded
    requeued: int  # were claimed but never reached AT+CMGS


def recover_after_crash(session: Session, *, resend_unknown: bool = False) -> Recovered:
    """At start-up: nothing accepted is lost, and nothing is sent twice behind anyone's back.

    A message left in ``sending`` may or may not have gone out, so it becomes ``unknown``
    for a person to look at (or, if the config says so, is queued again).
    """
    unknown = 0
    for message in session.scalars(select(Message).where(Message.status == "sending")):
        message.claimed_by = None
        if resend_unknown:
            record(session, message, "queued", ACTOR, "resent after a crash (config)")
        else:
            record(session, message, "unknown", ACTOR, "worker stopped during AT+CMGS")
        unknown += 1
    requeued = 0
    claimed = select(Message).where(Message.status == "queued", Message.claimed_by.is_not(None))
    for message in session.scalars(claimed):
        message.claimed_by = None
        message.claimed_at = None
        requeued += 1
    return Recovered(unknown, requeued)


_ANY_DUE = (
    select(Message.__table__.c.id)
    .where(
        Message.__table__.c.status == "scheduled",
        Message.__table__.c.send_at <= bindparam("now", type_=UtcDateTime()),
    )
    .limit(1)
)


def any_scheduled_due(connection: Connection, now: datetime | None = None) -> bool:
    """A cheap look, every second, before the ORM work of ``promote_scheduled``."""
    return connection.execute(_ANY_DUE, {"now": now or utcnow()}).first() is not None


def promote_scheduled(session: Session, now: datetime | None = None) -> int:
    now = now or utcnow()
    # Several boxes run this at once on PostgreSQL: each locks the rows it moves and skips
    # those another box holds, and a row another box changed meanwhile is read again and
    # dropped if it no longer matches (SQLite has one writer and ignores the clause).
    due = (
        select(Message)
        .where(Message.status == "scheduled", Message.send_at <= now)
        .with_for_update(skip_locked=True)
    )
    count = 0
    for message in session.scalars(due):
        message.next_attempt_at = now
        record(session, message, "queued", ACTOR, "send time reached")
        count += 1
    return count


def expire_queued(session: Session, now: datetime | None = None) -> int:
    """A message past its expiry fails rather than arriving stale."""
    now = now or utcnow()
    # Locked as in promote_scheduled: a message a modem claims (and sends) meanwhile on
    # another box is read again, no longer matches, and is left alone.
    stale = (
        select(Message)
        .where(
            Message.status.in_(("queued", "scheduled")),
            Message.claimed_by.is_(None),
            Message.expires_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    count = 0
    for message in session.scalars(stale):
        message.error_code = "expired"
        record(session, message, "failed", ACTOR, "expired before it could be sent")
        count += 1
    return count
