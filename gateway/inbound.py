"""Received messages: stored (committed) before the modem deletes them, long ones put back
together from their parts whatever the order, each one stored exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway import sensitive
from gateway.contacts import find_or_create_contact, rekey_if_erased
from gateway.errors import InvalidNumber
from gateway.lifecycle import record
from gateway.models import Contact, InboundPart, InboundSeen, Message, new_id, utcnow
from gateway.numbers import to_e164
from gateway.vault import Vault
from modem.pdu import Deliver

ACTOR = "worker"


def sender_key(deliver: Deliver, default_region: str) -> str:
    """The sender as the contact is known: E.164 when it is a number, else as sent."""
    value = deliver.sender.value
    if deliver.sender.kind == "alphanumeric":
        return value
    try:
        return to_e164(value, default_region)
    except InvalidNumber:
        return value  # a short code such as 3200


def receive(
    session: Session,
    vault: Vault,
    line_id: str,
    deliver: Deliver,
    default_region: str,
    *,
    now: datetime | None = None,
    mask_cards: bool = False,
) -> Message | None:
    """Store one received SMS; return the message once it is complete, else None.

    The same PDU read twice (the worker stopped between commit and delete) is dropped by
    its fingerprint, so nothing is received twice. With ``mask_cards`` a card number in the
    text is stored masked; it is masked once the message is whole, since a long message
    can split a number across two parts.
    """
    now = now or utcnow()
    sender = sender_key(deliver, default_region)
    concat = deliver.concat
    fingerprint = vault.fingerprint(
        "pdu",
        "\0".join(
            str(v)
            for v in (
                line_id,
                sender,
                deliver.timestamp.isoformat(),
                deliver.text,
                concat and (concat.reference, concat.total, concat.sequence),
            )
        ),
    )
    if session.get(InboundSeen, fingerprint) is not None:
        return None
    session.add(InboundSeen(fingerprint=fingerprint, seen_at=now))
    contact = rekey_if_erased(
        session, vault, find_or_create_contact(session, vault, sender), sender
    )
    if concat is None or concat.total <= 1:
        return _store(
            session,
            vault,
            line_id,
            contact.id,
            contact.key_id,
            deliver.text,
            deliver.timestamp,
            1,
            now,
            encoding=deliver.encoding,
            mask_cards=mask_cards,
        )
    group = f"{line_id}:{contact.id}:{concat.bits}:{concat.reference}:{concat.total}"
    part_id = new_id("ip")
    session.add(
        InboundPart(
            id=part_id,
            line_id=line_id,
            contact_id=contact.id,
            group_key=group,
            sequence=concat.sequence,
            total=concat.total,
            text_enc=vault.encrypt(contact.key_id, deliver.text, "inbound_parts", "text", part_id),
            sent_at=deliver.timestamp,
            received_at=now,
        )
    )
    session.flush()
    have = session.scalar(
        select(func.count(func.distinct(InboundPart.sequence))).where(
            InboundPart.group_key == group
        )
    )
    if have < concat.total:
        return None
    return _assemble(
        session, vault, group, contact.key_id, now, complete=True, mask_cards=mask_cards
    )


def flush_stale_parts(
    session: Session,
    vault: Vault,
    timeout: float,
    now: datetime | None = None,
    *,
    mask_cards: bool = False,
) -> list[Message]:
    """Parts whose message never completed are stored as they are, flagged incomplete."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=timeout)
    groups = session.execute(
        select(InboundPart.group_key, func.min(InboundPart.received_at))
        .group_by(InboundPart.group_key)
        .having(func.min(InboundPart.received_at) <= cutoff)
    ).all()
    out = []
    for group, _first in groups:
        part = session.scalar(select(InboundPart).where(InboundPart.group_key == group).limit(1))
        key_id = _key_of(session, part.contact_id)
        out.append(
            _assemble(session, vault, group, key_id, now, complete=False, mask_cards=mask_cards)
        )
    return out


def _key_of(session: Session, contact_id: str) -> int:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise LookupError("inbound part without its contact")
    return contact.key_id


def _assemble(
    session: Session,
    vault: Vault,
    group: str,
    key_id: int,
    now: datetime,
    *,
    complete: bool,
    mask_cards: bool,
) -> Message:
    parts = list(
        session.scalars(
            select(InboundPart).where(InboundPart.group_key == group).order_by(InboundPart.sequence)
        )
    )
    texts: dict[int, str] = {}
    for part in parts:
        texts.setdefault(
            part.sequence, vault.decrypt(part.text_enc, "inbound_parts", "text", part.id)
        )
    first = parts[0]
    message = _store(
        session,
        vault,
        first.line_id,
        first.contact_id,
        key_id,
        "".join(texts[i] for i in sorted(texts)),
        first.sent_at,
        first.total,
        now,
        incomplete=not complete,
        mask_cards=mask_cards,
    )
    session.execute(delete(InboundPart).where(InboundPart.group_key == group))
    return message


def _store(
    session: Session,
    vault: Vault,
    line_id: str,
    contact_id: str,
    key_id: int,
    text: str,
    sent_at: datetime,
    parts: int,
    now: datetime,
    *,
    incomplete: bool = False,
    encoding: str = "",
    mask_cards: bool = False,
) -> Message:
    if mask_cards:
        text = sensitive.mask_cards(text)
    message_id = new_id("msg")
    message = Message(
        id=message_id,
        direction="in",
        contact_id=contact_id,
        line_id=line_id,
        via_line_id=line_id,
        status="",
        body_enc=vault.encrypt(key_id, text, "messages", "body", message_id),
        encoding=encoding,
        segments=parts,
        incomplete=incomplete,
        received_at=now,
        sent_at=sent_at,
        created_at=now,
    )
    session.add(message)
    record(session, message, "received", ACTOR, "incomplete: parts missing" if incomplete else None)
    return message
