"""What changed in the inbox since a reader last looked, for the panel's live updates.

A ``Mark`` is where the inbox stood: the newest message event (every status change of a
message writes one, inbound messages included) and the newest conversation activity
(assign, transfer, close, snooze, notes and replies touch it). Taking a mark is one query of
index look-ups, cheap enough to repeat every second per open page; only when the mark moves
is the inbox asked which conversations the viewer may see have changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from gateway.conversations import STATUSES
from gateway.inbox_access import Viewer, visible_clause
from gateway.models import Conversation, Message, MessageEvent

_TOKEN = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})")


@dataclass(frozen=True)
class Mark:
    event_id: int
    activity: datetime | None

    @property
    def token(self) -> str:
        micros = int(self.activity.timestamp() * 1_000_000) if self.activity else 0
        return f"{self.event_id}.{micros}"

    @classmethod
    def parse(cls, token: str) -> Mark | None:
        """A token this module gave out (an EventSource's Last-Event-ID), else None."""
        found = _TOKEN.fullmatch(token or "")
        if found is None:
            return None
        micros = int(found.group(2))
        try:
            activity = datetime.fromtimestamp(micros / 1_000_000, UTC) if micros else None
        except (OverflowError, OSError, ValueError):
            return None
        return cls(int(found.group(1)), activity)


def mark(session: Session) -> Mark:
    """One query: the newest event id (primary key) and, per status, the newest activity
    (the status/last_activity_at index), so nothing is scanned however big the inbox."""
    newest = [
        select(Conversation.last_activity_at)
        .where(Conversation.status == status)
        .order_by(Conversation.last_activity_at.desc())
        .limit(1)
        .scalar_subquery()
        for status in STATUSES
    ]
    row = session.execute(
        select(select(func.max(MessageEvent.id)).scalar_subquery(), *newest)
    ).one()
    times = [t for t in row[1:] if t is not None]
    return Mark(int(row[0] or 0), max(times) if times else None)


def changed_since(session: Session, viewer: Viewer, since: Mark, limit: int = 50) -> list[str]:
    """The ids of conversations ``viewer`` may see that changed after ``since``."""
    found: set[str] = set()
    touched = select(Conversation.id).where(visible_clause(viewer)).limit(limit)
    if since.activity is not None:
        touched = touched.where(Conversation.last_activity_at > since.activity)
    found.update(session.scalars(touched))
    # A message's own line, else the line whose modem carried it (as a thread is read).
    on_line = or_(
        Message.line_id == Conversation.line_id,
        and_(Message.line_id.is_(None), Message.via_line_id == Conversation.line_id),
    )
    events = (
        select(Conversation.id)
        .select_from(MessageEvent)
        .join(Message, Message.id == MessageEvent.message_id)
        .join(Conversation, and_(Conversation.contact_id == Message.contact_id, on_line))
        .where(MessageEvent.id > since.event_id, visible_clause(viewer))
        .distinct()
        .limit(limit)
    )
    found.update(session.scalars(events))
    return sorted(found)[:limit]
