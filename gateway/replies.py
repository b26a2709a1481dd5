"""Staff answering a conversation: the template filled, the signature added, the reply
sent from the conversation's line, and an unassigned conversation claimed by replying."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, object_session

from gateway.config import Config
from gateway.contacts import contact_name, contact_number
from gateway.conversations import touch
from gateway.errors import NotFound, RecipientErased
from gateway.inbox_access import Viewer, worked_conversation
from gateway.models import Contact, Conversation, Line, Message, User, utcnow
from gateway.outbound import SendRequest, enqueue
from gateway.settings import current
from gateway.templates import check_text, get_template, name_values, render
from gateway.vault import Vault


def signature_of(user: User, config: Config, line: Line) -> str:
    """The user's own signature, else the box's; "" when either is set to none."""
    session = object_session(user)
    if session is not None:
        config = current(session, config)  # the signature set in the panel
    text = config.inbox.signature if user.signature is None else user.signature
    if not text:
        return ""
    return render(text, _values(user, config, line, None))


def _values(user: User, config: Config, line: Line, name: str | None) -> dict[str, str]:
    return {
        **name_values(name),
        "agent": user.display_name or user.name,
        "business": config.consent.business_name,
        "line": line.name,
    }


def compose(
    session: Session,
    vault: Vault,
    config: Config,
    viewer: Viewer,
    conversation_id: str,
    body: str | None = None,
    *,
    template_id: str | None = None,
    sign: bool = True,
) -> str:
    """The text a reply would send: what was typed (or the template), filled and signed."""
    return _draft(session, vault, config, viewer, conversation_id, body, template_id, sign)[0]


def _draft(
    session: Session,
    vault: Vault,
    config: Config,
    viewer: Viewer,
    conversation_id: str,
    body: str | None,
    template_id: str | None,
    sign: bool,
) -> tuple[str, Conversation, User, Line, Contact]:
    config = current(session, config)  # the business name and signature set in the panel
    conversation = worked_conversation(session, viewer, conversation_id)
    user, line, contact = _parts(session, viewer, conversation)
    if template_id is not None and body is None:
        body = get_template(session, viewer, template_id).body
    text = check_text(body or "", "the reply")
    filled = render(text, _values(user, config, line, contact_name(vault, contact)))
    signature = signature_of(user, config, line) if sign else ""
    text = f"{filled}\n{signature}" if signature else filled
    return text, conversation, user, line, contact


def _parts(
    session: Session, viewer: Viewer, conversation: Conversation
) -> tuple[User, Line, Contact]:
    user = session.get(User, viewer.id)
    line = session.get(Line, conversation.line_id)
    contact = session.get(Contact, conversation.contact_id)
    if user is None or line is None or contact is None:
        raise NotFound("the conversation's user, line or contact is gone")
    if contact.erased_at is not None:
        raise RecipientErased("the contact was erased and is never texted again")
    return user, line, contact


def reply(
    session: Session,
    vault: Vault,
    config: Config,
    viewer: Viewer,
    conversation_id: str,
    body: str | None = None,
    *,
    template_id: str | None = None,
    sign: bool = True,
    override_sensitive: bool = False,
    now: datetime | None = None,
) -> Message:
    """Queue a reply from the conversation's line (the caller commits).

    A supervised person's reply waits for approval; the sensitive-content guard and the
    consent rules apply as to any send.
    """
    now = now or utcnow()
    text, conversation, user, line, contact = _draft(
        session, vault, config, viewer, conversation_id, body, template_id, sign
    )
    request = SendRequest(
        to=contact_number(vault, contact),
        body=text,
        line=line.name,
        priority=0,
        created_by=viewer.id,
        role=viewer.role,
        hold_for_approval=bool(user.supervised),
        override_sensitive=override_sensitive,
    )
    message = enqueue(session, vault, config, request, now=now)
    if conversation.assignee_id is None:
        conversation.assignee_id = viewer.id  # claimed by replying
    conversation.last_human_reply_at = now
    conversation.unread = False
    conversation.status, conversation.snoozed_until = "open", None
    touch(conversation, now)
    return message
