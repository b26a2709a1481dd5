"""Reading messages back: decrypted views for the people allowed to see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.contacts import contact_number
from gateway.crypto import CryptoError
from gateway.errors import NotFound
from gateway.models import Contact, Line, Message, MessageEvent, MessagePart
from gateway.vault import Vault

ERASED = "(erased)"
MAX_LIMIT = 1000


@dataclass(frozen=True)
class MessageView:
    id: str
    direction: str
    status: str
    number: str
    body: str
    line: str | None
    segments: int
    encoding: str
    created_at: datetime
    attempts: int
    error_code: str | None
    incomplete: bool
    parts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["created_at"] = self.created_at.isoformat()
        if not self.parts:
            data.pop("parts")
        if not self.events:
            data.pop("events")
        return data


def list_messages(
    session: Session,
    vault: Vault,
    *,
    direction: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[MessageView]:
    query = select(Message, Contact, Line.name).join(Contact, Contact.id == Message.contact_id)
    query = query.outerjoin(Line, Line.id == Message.via_line_id)
    if direction:
        query = query.where(Message.direction == direction)
    if status:
        query = query.where(Message.status == status)
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(
        max(1, min(limit, MAX_LIMIT))
    )
    return [_view(vault, m, c, line) for m, c, line in session.execute(query).all()]


def message_detail(session: Session, vault: Vault, message_id: str) -> MessageView:
    row = session.execute(
        select(Message, Contact, Line.name)
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(Line, Line.id == Message.via_line_id)
        .where(Message.id == message_id)
    ).first()
    if row is None:
        raise NotFound("no message with that id")
    parts = session.scalars(
        select(MessagePart)
        .where(MessagePart.message_id == message_id)
        .order_by(MessagePart.sequence)
    )
    events = session.scalars(
        select(MessageEvent).where(MessageEvent.message_id == message_id).order_by(MessageEvent.id)
    )
    view = _view(vault, *row)
    view.parts.extend(
        {
            "sequence": p.sequence,
            "reference": p.reference,
            "status": p.status,
            "report_status": p.report_status,
            "sent_at": p.sent_at.isoformat() if p.sent_at else None,
        }
        for p in parts
    )
    view.events.extend(
        {"at": e.at.isoformat(), "status": e.status, "actor": e.actor, "detail": e.detail}
        for e in events
    )
    return view


def _view(vault: Vault, message: Message, contact: Contact, line: str | None) -> MessageView:
    try:
        number = contact_number(vault, contact)
        body = vault.decrypt(message.body_enc, "messages", "body", message.id)
    except CryptoError:
        number = body = ERASED  # the contact's key was destroyed (erasure)
    return MessageView(
        id=message.id,
        direction=message.direction,
        status=message.status,
        number=number,
        body=body,
        line=line,
        segments=message.segments,
        encoding=message.encoding,
        created_at=message.created_at,
        attempts=message.attempts,
        error_code=message.error_code,
        incomplete=message.incomplete,
    )
