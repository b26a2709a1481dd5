"""Conversations: a contact's thread on one line, who works it, and where it stands.

Every function takes the caller's session and leaves the commit to the caller. The
``viewer`` arguments come from ``gateway.inbox_access``: a conversation the viewer may not
see raises NotFound, one they may see but not change raises Forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from gateway.archive import ERASED, MessageView, thread_messages
from gateway.audit import Actor, audit
from gateway.contacts import find_or_create_contact
from gateway.crypto import CryptoError
from gateway.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RecipientErased,
    UnknownLine,
)
from gateway.inbox_access import Viewer, may_see, seen_conversation, worked_conversation
from gateway.models import (
    Conversation,
    ConversationNote,
    Line,
    Message,
    Team,
    TeamMember,
    User,
    new_id,
    utcnow,
)
from gateway.vault import Vault

STATUSES = ("open", "snoozed", "closed")
MAX_NOTE = 4000


def thread_clause(conversation: Conversation) -> ColumnElement[bool]:
    """The messages of a conversation: the contact's, on its line (a message the API sent
    without naming a line belongs to the line whose modem sent it)."""
    return and_(
        Message.contact_id == conversation.contact_id,
        or_(
            Message.line_id == conversation.line_id,
            and_(Message.line_id.is_(None), Message.via_line_id == conversation.line_id),
        ),
    )


def find_conversation(session: Session, contact_id: str, line_id: str) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(
            Conversation.contact_id == contact_id, Conversation.line_id == line_id
        )
    )


def open_conversation(
    session: Session, contact_id: str, line_id: str, now: datetime | None = None
) -> Conversation:
    """The (contact, line) conversation, created if new. Two writers creating the same one
    at once (two boxes, or the worker and a reply) end up with one row: the unique index
    decides and the loser reads the winner's."""
    found = find_conversation(session, contact_id, line_id)
    if found is not None:
        return found
    now = now or utcnow()
    values = {
        "id": new_id("cv"),
        "contact_id": contact_id,
        "line_id": line_id,
        "status": "open",
        "unread": False,
        "last_activity_at": now,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
    session.flush()
    session.connection().execute(
        insert(Conversation.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["contact_id", "line_id"])
    )
    made = find_conversation(session, contact_id, line_id)
    if made is None:  # pragma: no cover - the insert or the other writer made it
        raise LookupError("conversation vanished")
    return made


def start_conversation(
    session: Session,
    vault: Vault,
    viewer: Viewer,
    e164: str,
    line_name: str,
    now: datetime | None = None,
) -> Conversation:
    """Staff texting a customer first: the (contact, line) conversation, theirs if nobody
    has it. One that exists in a team the viewer does not see is refused (409): the
    number is being answered elsewhere, and this does not show by whom or what was said."""
    if viewer.read_only:
        raise Forbidden("auditors read conversations; they do not start them")
    now = now or utcnow()
    line_id = session.scalar(select(Line.id).where(Line.name == line_name))
    if line_id is None:
        raise UnknownLine("no line has that name")
    contact = find_or_create_contact(session, vault, e164)
    if contact.erased_at is not None:
        raise RecipientErased("the contact was erased and is never texted again")
    conversation = open_conversation(session, contact.id, line_id, now)
    if not may_see(viewer, conversation):
        raise Conflict("another team has the conversation with this number on that line")
    if conversation.assignee_id is None:
        conversation.assignee_id = viewer.id
    if conversation.status != "open":
        conversation.status, conversation.snoozed_until = "open", None
    touch(conversation, now)
    return conversation


def touch(conversation: Conversation, now: datetime) -> None:
    conversation.last_activity_at = now
    conversation.updated_at = now


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise NotFound("no active user with that id")
    return user


def _team(session: Session, team_id: str) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("no team with that id")
    return team


def assign(
    session: Session,
    viewer: Viewer,
    conversation_id: str,
    user_id: str | None,
    now: datetime | None = None,
) -> Conversation:
    """Give the conversation to ``user_id`` (None: back to its team's queue).

    Agents may take a conversation for themselves or let it go; handing it to someone else
    is a transfer (with its note) or a manager's assignment.
    """
    now = now or utcnow()
    conversation = worked_conversation(session, viewer, conversation_id)
    if not viewer.supervises and user_id not in (viewer.id, None):
        raise Forbidden("agents take conversations for themselves; use a transfer to hand over")
    if user_id is not None:
        user = _user(session, user_id)
        if user.role == "auditor":
            raise InvalidInput("auditors do not answer conversations")
    conversation.assignee_id = user_id
    touch(conversation, now)
    if user_id != viewer.id:
        audit(
            session,
            Actor(viewer.id, viewer.role),
            "conversation.assigned",
            conversation.id,
            f"to {user_id or 'the queue'}",
            now=now,
        )
    return conversation


def transfer(
    session: Session,
    vault: Vault,
    viewer: Viewer,
    conversation_id: str,
    *,
    to_user: str | None = None,
    to_team: str | None = None,
    note: str | None = None,
    key_id: int,
    now: datetime | None = None,
) -> Conversation:
    """Hand the conversation to a person or a team, with a note for whoever takes it."""
    now = now or utcnow()
    # Visibility first: a conversation the viewer may not see answers "not found" whatever
    # else is wrong with the request, so its existence does not show.
    conversation = worked_conversation(session, viewer, conversation_id)
    if (to_user is None) == (to_team is None):
        raise InvalidInput("transfer to a user or to a team (one of them)")
    if note:
        _checked_note(note)
    if to_user is not None:
        user = _user(session, to_user)
        if user.role == "auditor":
            raise InvalidInput("auditors do not answer conversations")
        conversation.assignee_id = user.id
        target = f"user {user.id}"
    else:
        team = _team(session, str(to_team))
        conversation.team_id = team.id
        conversation.assignee_id = None
        target = f"team {team.id}"
    if conversation.status != "open":
        conversation.status, conversation.snoozed_until = "open", None
    conversation.unread = True
    touch(conversation, now)
    if note:
        # Written as the viewer hands over, so a transfer out of their own sight still
        # leaves its note for whoever takes it.
        _write_note(session, vault, conversation, viewer.id, _checked_note(note), key_id, now)
    audit(
        session,
        Actor(viewer.id, viewer.role),
        "conversation.transferred",
        conversation.id,
        f"to {target}" + (" with a note" if note else ""),
        now=now,
    )
    return conversation


def close(
    session: Session, viewer: Viewer, conversation_id: str, now: datetime | None = None
) -> Conversation:
    conversation = worked_conversation(session, viewer, conversation_id)
    conversation.status, conversation.snoozed_until = "closed", None
    conversation.unread = False
    touch(conversation, now or utcnow())
    return conversation


def reopen(
    session: Session, viewer: Viewer, conversation_id: str, now: datetime | None = None
) -> Conversation:
    conversation = worked_conversation(session, viewer, conversation_id)
    conversation.status, conversation.snoozed_until = "open", None
    touch(conversation, now or utcnow())
    return conversation


def snooze(
    session: Session,
    viewer: Viewer,
    conversation_id: str,
    until: datetime,
    *,
    max_days: int = 90,
    now: datetime | None = None,
) -> Conversation:
    """Out of the open lists until ``until``, or until the customer writes again."""
    now = now or utcnow()
    conversation = worked_conversation(session, viewer, conversation_id)
    if until.tzinfo is None:
        raise InvalidInput("until needs a time zone (RFC 3339)")
    if until <= now:
        raise InvalidInput("until is in the past")
    if until > now + timedelta(days=max_days):
        raise InvalidInput(f"a conversation is snoozed for at most {max_days} days")
    conversation.status, conversation.snoozed_until = "snoozed", until
    touch(conversation, now)
    return conversation


def wake_snoozed(session: Session, now: datetime | None = None) -> int:
    """Snoozed conversations whose time has come are open again (housekeeping)."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Conversation)
            .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
            .with_for_update(skip_locked=True)  # several boxes may look at once
        )
    )
    for conversation in due:
        conversation.status, conversation.snoozed_until = "open", None
        conversation.unread = True
        touch(conversation, now)
    return len(due)


def mark_read(session: Session, viewer: Viewer, conversation_id: str) -> Conversation:
    conversation = seen_conversation(session, viewer, conversation_id)
    if not viewer.read_only:  # an auditor's look leaves the staff's unread mark alone
        conversation.unread = False
    return conversation


def add_note(
    session: Session,
    vault: Vault,
    viewer: Viewer,
    conversation_id: str,
    body: str,
    *,
    key_id: int,
    now: datetime | None = None,
) -> ConversationNote:
    """An internal note: never sent; encrypted under the contact's key, since it is about
    them (an erasure takes it along)."""
    conversation = worked_conversation(session, viewer, conversation_id)
    body = _checked_note(body)
    return _write_note(session, vault, conversation, viewer.id, body, key_id, now or utcnow())


def _checked_note(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("the note is empty")
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters")
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in body):
        raise InvalidInput("the note holds control characters")
    return body


def _write_note(
    session: Session,
    vault: Vault,
    conversation: Conversation,
    author_id: str,
    body: str,
    key_id: int,
    now: datetime,
) -> ConversationNote:
    note_id = new_id("nt")
    note = ConversationNote(
        id=note_id,
        conversation_id=conversation.id,
        author_id=author_id,
        body_enc=vault.encrypt(key_id, body, "conversation_notes", "body", note_id),
        created_at=now,
    )
    session.add(note)
    touch(conversation, now)
    return note


def team_ids_of(session: Session, user_id: str) -> frozenset[str]:
    return frozenset(
        session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    )


@dataclass(frozen=True)
class NoteView:
    id: str
    author_id: str
    body: str
    created_at: datetime


def notes_of(session: Session, vault: Vault, conversation: Conversation) -> list[NoteView]:
    notes = session.scalars(
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conversation.id)
        .order_by(ConversationNote.created_at, ConversationNote.id)
    )
    return [NoteView(n.id, n.author_id, _note_text(vault, n), n.created_at) for n in notes]


def _note_text(vault: Vault, note: ConversationNote) -> str:
    try:
        return vault.decrypt(note.body_enc, "conversation_notes", "body", note.id)
    except CryptoError:
        return ERASED  # the contact was erased: their key is gone


def thread(
    session: Session, vault: Vault, conversation: Conversation, limit: int = 200
) -> list[MessageView]:
    """The latest ``limit`` messages of the conversation, oldest first."""
    newest = thread_messages(session, vault, thread_clause(conversation), limit)
    return list(reversed(newest))
