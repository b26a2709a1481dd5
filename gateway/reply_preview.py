"""What a reply would be before it is sent: the text with its signature, how many SMS
parts it takes, and whether the contact's consent lets it go at all. Nothing is written."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.compliance import refusal
from gateway.config import Config
from gateway.consent import ConsentState
from gateway.inbox_access import Viewer, worked_conversation
from gateway.models import Line, User
from gateway.outbound import check_body
from gateway.replies import compose, signature_of
from gateway.vault import Vault


@dataclass(frozen=True)
class ReplyPreview:
    text: str  # as it will be sent: variables filled, signature added
    encoding: str  # gsm7 or ucs2: one character outside GSM-7 halves a part's size
    parts: int
    characters: int


def reply_signature(session: Session, config: Config, viewer: Viewer, conversation_id: str) -> str:
    """The signature a reply by ``viewer`` on this conversation ends with ("" for none)."""
    conversation = worked_conversation(session, viewer, conversation_id)
    user = session.get(User, viewer.id)
    line = session.get(Line, conversation.line_id)
    if user is None or line is None:
        return ""
    return signature_of(user, config, line)


def preview_reply(
    session: Session,
    vault: Vault,
    config: Config,
    viewer: Viewer,
    conversation_id: str,
    body: str,
    *,
    sign: bool = True,
) -> ReplyPreview:
    """The reply as ``replies.reply`` would queue it, with the same checks and errors."""
    text = compose(session, vault, config, viewer, conversation_id, body, sign=sign)
    segments = check_body(text, config.queue.max_segments)
    return ReplyPreview(text, segments.encoding, len(segments.parts), len(text))


def reply_refused(state: ConsentState, config: Config, *, erased: bool) -> str | None:
    """Why a reply to this contact would be refused now, else None. A contact who never
    said anything is texted when the box attests consent on sending (``on_send``)."""
    refused = refusal(state, "transactional", erased=erased)
    if refused is None:
        return None
    if state.transactional.status == "none" and config.consent.transactional == "on_send":
        return None
    return refused[1]
