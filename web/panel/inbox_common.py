"""What the inbox pages share: the signed-in person as an inbox viewer, writes committed as
the API commits them (the worker woken), gateway errors as page errors, list cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import abort, current_app
from sqlalchemy.orm import Session

from gateway.errors import GatewayError, NotFound
from gateway.inbox_access import Viewer, load_viewer
from gateway.inbox_views import ConversationView
from gateway.wake import notify_workers, nudge
from web import gateway_of
from web.panel.access import current, may
from web.problems import STATUS

# What a redirect after a successful action says: chosen by key, never echoed from the URL.
DONE = {
    "replied": "Reply queued.",
    "held": "Your reply waits for a manager's approval before it is sent.",
    "assigned": "Assignment changed.",
    "transferred": "Conversation transferred.",
    "closed": "Conversation closed.",
    "reopened": "Conversation reopened.",
    "snoozed": "Conversation snoozed.",
    "noted": "Internal note added.",
    "approved": "Message approved: it joins the queue.",
    "rejected": "Message rejected: it will not be sent.",
    "started": "Conversation started and first message queued.",
}


def done_text(key: str | None) -> str | None:
    return DONE.get(key or "")


def load_inbox_viewer(session: Session) -> Viewer:
    try:
        return load_viewer(session, current().user_id)
    except NotFound:
        abort(403)


def sentence(error: GatewayError) -> str:
    """A gateway error as a sentence: its text is written by our code, never from input."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def status_of(error: GatewayError) -> int:
    """The HTTP status the API answers the same error with."""
    return STATUS.get(error.code, 422)


def require_sending() -> None:
    """Changing a conversation takes the API's messages:send scope (auditors: 403)."""
    if not may("messages:send"):
        abort(403)


@contextmanager
def write_turn() -> Iterator[Session]:
    """One short write transaction, taken in turn with the other writers."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        yield session


def commit_and_wake(session: Session) -> None:
    """Commit a write the worker may act on, and wake it (every box's, on PostgreSQL)."""
    notify_workers(session)
    session.commit()
    nudge(gateway_of(current_app).config.wake_socket_path)


def cursor_of(view: ConversationView) -> str:
    raw = f"{view.last_activity_at.isoformat()}|{view.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, str] | None:
    """A cursor this panel gave out, else None."""
    if len(value) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, conversation_id = raw.split("|")
        when = datetime.fromisoformat(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if when.tzinfo is None or not conversation_id:
        return None
    return when.astimezone(UTC), conversation_id
