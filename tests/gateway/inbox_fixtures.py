"""A small office for team-inbox tests, without modems: lines, inbound texts fed through the
worker's own intake (keyword rules, conversation, routing), and conversations placed exactly
where a test wants them (team, assignee, status, time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.app import Gateway
from gateway.contacts import set_contact_name
from gateway.conversations import find_conversation
from gateway.inbound import receive
from gateway.intake import take_in
from gateway.models import Contact, Conversation, Line
from modem.pdu.decode import decode
from modem.pdu.encode import encode_deliver

_UNSET = object()


def add_lines(gateway: Gateway, *lines: tuple[str, str]) -> None:
    """(id, name) lines, as if modems had registered them."""
    with gateway.sessions() as session:
        for line_id, name in lines:
            session.add(Line(id=line_id, name=name, device="/dev/null"))
        session.commit()


@dataclass(frozen=True)
class Received:
    conversation_id: str
    contact_id: str
    message_id: str


def inbound(gateway: Gateway, sender: str, text: str, line_id: str) -> Received:
    """``sender`` texts ``text`` to the line: stored, taken in and routed, committed."""
    with gateway.sessions() as session:
        pdu = encode_deliver(sender, text, timestamp=datetime.now(UTC))[0]
        message = receive(session, gateway.vault, line_id, decode(pdu), "US")
        assert message is not None, "a one-part text is complete at once"
        take_in(session, gateway.vault, gateway.config, gateway.office, message)
        conversation = find_conversation(session, message.contact_id, line_id)
        assert conversation is not None
        received = Received(conversation.id, message.contact_id, message.id)
        session.commit()
    gateway.office.invalidate()
    return received


def place(
    gateway: Gateway,
    conversation_id: str,
    *,
    team_id: str | object | None = _UNSET,
    assignee_id: str | object | None = _UNSET,
    status: str | object = _UNSET,
    snoozed_until: datetime | object | None = _UNSET,
    unread: bool | object = _UNSET,
    last_activity_at: datetime | object = _UNSET,
) -> None:
    """Put a conversation where the test wants it; only the arguments given change."""
    given = {
        "team_id": team_id,
        "assignee_id": assignee_id,
        "status": status,
        "snoozed_until": snoozed_until,
        "unread": unread,
        "last_activity_at": last_activity_at,
    }
    with gateway.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        for name, value in given.items():
            if value is not _UNSET:
                setattr(conversation, name, value)
        session.commit()


def name_contact(gateway: Gateway, contact_id: str, name: str) -> None:
    with gateway.sessions() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        set_contact_name(gateway.vault, contact, name)
        session.commit()
