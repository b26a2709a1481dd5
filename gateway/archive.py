"""Reading messages back: decrypted views for the people allowed to see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from gateway.contacts import contact_number
from gateway.crypto import CryptoError
from gateway.errors import NotFound
from gateway.models import Contact, Line, Message, MessageEvent, MessagePart
from gateway.vault import Vault

ERASED = "(erased)"
PURGED = "(removed by retention)"
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
    purpose: str = "transactional"
    line_number: str | None = None
    updated_at: datetime | None = None
    send_at: datetime | None = None
    expires_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    received_at: datetime | None = None
    created_by: str | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
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
    number: str | None = None,
    line: str | None = None,
    created_by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[MessageView]:
    """Newest first. ``number`` is E.164 (found by blind index); ``created_by`` is who
    sent (a user id, or "worker"); ``before`` is the (created_at, id) of the last message of
    the previous page."""
    query = _joined()
    if direction:
        query = query.where(Message.direction == direction)
    if status:
        query = query.where(Message.status == status)
    if number is not None:
        query = query.where(Contact.number_index == vault.index(number))
    if line is not None:
        query = query.where(Line.name == line)
    if created_by is not None:
        query = query.where(Message.created_by == created_by)
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    if before is not None:
        at, message_id = before
        # The first condition alone is what an index can range over; the OR then only
        # settles ties within one timestamp. Without it, page 1,000 scans pages 1 to 999.
        query = query.where(
            Message.created_at <= at,
            or_(Message.created_at < at, and_(Message.created_at == at, Message.id < message_id)),
        )
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(
        max(1, min(limit, MAX_LIMIT))
    )
    return [_view(vault, m, c, line) for m, c, line in session.execute(query).all()]


def thread_messages(
    session: Session, vault: Vault, condition: ColumnElement[bool], limit: int
) -> list[MessageView]:
    """The newest ``limit`` messages matching ``condition``, newest first."""
    query = (
        _joined()
        .where(condition)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [_view(vault, m, c, line) for m, c, line in session.execute(query).all()]


def with_history(
    session: Session, vault: Vault, condition: ColumnElement[bool]
) -> list[MessageView]:
    """Every message matching ``condition``, oldest first, each with its status history
    (two queries whatever their number: a records export of a long-standing contact)."""
    rows = session.execute(
        _joined().where(condition).order_by(Message.created_at, Message.id)
    ).all()
    views = [_view(vault, m, c, line) for m, c, line in rows]
    by_id = {view.id: view for view in views}
    events = session.scalars(
        select(MessageEvent)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(condition)
        .order_by(MessageEvent.id)
    )
    for e in events:
        by_id[e.message_id].events.append(
            {"at": e.at.isoformat(), "status": e.status, "actor": e.actor, "detail": e.detail}
        )
    return views


def message_detail(
    session: Session, vault: Vault, message_id: str, *, history: bool = True
) -> MessageView:
    row = session.execute(_joined().where(Message.id == message_id)).first()
    if row is None:
        raise NotFound("no message with that id")
    if not history:
        return _view(vault, *row)
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


def _joined() -> Select[tuple[Message, Contact, Line]]:
    # The line a message went out on (or came in on); else the line it is bound to.
    line_id = func.coalesce(Message.via_line_id, Message.line_id)
    return (
        select(Message, Contact, Line)
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(Line, Line.id == line_id)
    )


def _view(vault: Vault, message: Message, contact: Contact, line: Line | None) -> MessageView:
    try:
        number = contact_number(vault, contact)
    except CryptoError:
        number = ERASED  # the contact's key was destroyed (erasure)
    if message.body_purged_at is not None:
        body = PURGED
    else:
        try:
            body = vault.decrypt(message.body_enc, "messages", "body", message.id)
        except CryptoError:
            body = ERASED
    return view_of(message, number, body, line)


def view_of(message: Message, number: str, body: str, line: Line | None) -> MessageView:
    """A view from values already at hand (a message just accepted): nothing to decrypt."""
    return MessageView(
        id=message.id,
        direction=message.direction,
        status=message.status,
        number=number,
        body=body,
        line=line.name if line else None,
        segments=message.segments,
        encoding=message.encoding,
        created_at=message.created_at,
        attempts=message.attempts,
        error_code=message.error_code,
        incomplete=message.incomplete,
        purpose=message.purpose,
        line_number=line.number if line else None,
        updated_at=message.updated_at,
        send_at=message.send_at,
        expires_at=message.expires_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        received_at=message.received_at,
        created_by=message.created_by,
    )
