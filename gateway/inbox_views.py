"""What the inbox shows: conversation lists (All / Mine / Unassigned / a team's queue) and
one conversation whole, with its messages and notes. A manager's, admin's or auditor's
look at a whole conversation is recorded in the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.archive import ERASED, MessageView
from gateway.audit import Actor, audit
from gateway.contacts import contact_name, contact_number
from gateway.conversations import NoteView, notes_of, thread
from gateway.crypto import CryptoError
from gateway.inbox_access import Viewer, seen_conversation, visible_clause
from gateway.models import Contact, Conversation, Line
from gateway.vault import Vault

NONE = "none"  # the filter value for "no assignee" / "no team"


@dataclass(frozen=True)
class ConversationView:
    id: str
    status: str
    contact_id: str
    number: str
    name: str | None
    line: str
    line_id: str
    assignee_id: str | None
    team_id: str | None
    unread: bool
    last_activity_at: datetime
    last_inbound_at: datetime | None
    snoozed_until: datetime | None
    created_at: datetime
    messages: list[MessageView] = field(default_factory=list)
    notes: list[NoteView] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    assignee: str | None = None  # a user id, or NONE
    team: str | None = None  # a team id, or NONE
    line: str | None = None  # a line's name
    unread: bool | None = None
    contact_id: str | None = None


def _view(
    vault: Vault, conversation: Conversation, contact: Contact, line: Line
) -> ConversationView:
    try:
        number = ERASED if contact.erased_at else contact_number(vault, contact)
        name = contact_name(vault, contact)
    except CryptoError:
        number, name = ERASED, None
    return ConversationView(
        id=conversation.id,
        status=conversation.status,
        contact_id=contact.id,
        number=number,
        name=name,
        line=line.name,
        line_id=line.id,
        assignee_id=conversation.assignee_id,
        team_id=conversation.team_id,
        unread=conversation.unread,
        last_activity_at=conversation.last_activity_at,
        last_inbound_at=conversation.last_inbound_at,
        snoozed_until=conversation.snoozed_until,
        created_at=conversation.created_at,
    )


def list_conversations(
    session: Session,
    vault: Vault,
    viewer: Viewer,
    filters: Filters,
    *,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ConversationView]:
    """Most recent activity first; ``before`` is the (last_activity_at, id) of the last row
    of the previous page."""
    query = (
        select(Conversation, Contact, Line)
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(Line, Line.id == Conversation.line_id)
        .where(visible_clause(viewer))
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if filters.status is not None:
        query = query.where(Conversation.status == filters.status)
    if filters.assignee == NONE:
        query = query.where(Conversation.assignee_id.is_(None))
    elif filters.assignee is not None:
        query = query.where(Conversation.assignee_id == filters.assignee)
    if filters.team == NONE:
        query = query.where(Conversation.team_id.is_(None))
    elif filters.team is not None:
        query = query.where(Conversation.team_id == filters.team)
    if filters.line is not None:
        query = query.where(Line.name == filters.line)
    if filters.unread is not None:
        query = query.where(Conversation.unread.is_(filters.unread))
    if filters.contact_id is not None:
        query = query.where(Conversation.contact_id == filters.contact_id)
    if before is not None:
        at, last_id = before
        query = query.where(
            or_(
                Conversation.last_activity_at < at,
                and_(Conversation.last_activity_at == at, Conversation.id < last_id),
            )
        )
    return [_view(vault, c, contact, line) for c, contact, line in session.execute(query).all()]


def summary(session: Session, vault: Vault, conversation: Conversation) -> ConversationView:
    """One conversation as the lists show it (no messages, no audit)."""
    contact = session.get(Contact, conversation.contact_id)
    line = session.get(Line, conversation.line_id)
    if contact is None or line is None:  # pragma: no cover - foreign keys keep them
        raise LookupError("conversation without its contact or line")
    return _view(vault, conversation, contact, line)


def conversation_detail(
    session: Session,
    vault: Vault,
    viewer: Viewer,
    conversation_id: str,
    *,
    limit: int = 200,
    now: datetime | None = None,
    audited: bool = True,
) -> ConversationView:
    """The conversation with its latest messages and its notes (the caller commits: a
    supervisor's look is audited, unless ``audited`` is False: an open page refreshing its
    thread is the same look)."""
    conversation = seen_conversation(session, viewer, conversation_id[:64])
    contact = session.get(Contact, conversation.contact_id)
    line = session.get(Line, conversation.line_id)
    if contact is None or line is None:  # pragma: no cover - foreign keys keep them
        raise LookupError("conversation without its contact or line")
    view = _view(vault, conversation, contact, line)
    view.messages.extend(thread(session, vault, conversation, limit))
    view.notes.extend(notes_of(session, vault, conversation))
    if viewer.sees_all and audited:
        audit(
            session, Actor(viewer.id, viewer.role), "conversation.viewed", conversation.id, now=now
        )
    return view
