"""Erasure: a contact's data key is destroyed, so their data is unreadable everywhere.

Bodies, names, notes and consent evidence were encrypted under that one key, in the
database and in every backup, so destroying it erases them all at once. What stays is
what proves the business behaved: the blind-indexed number, the dates and sources of the
consent ledger and any opt-out. The contact stays marked erased, so the number is never
texted again by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.audit import Actor, audit
from gateway.consent import block_waiting
from gateway.models import Contact, InboundPart, utcnow
from gateway.vault import Vault


@dataclass(frozen=True)
class Erased:
    contact_id: str
    erased_at: datetime
    blocked: int  # waiting messages that will now never leave
    already: bool = False


def erase_contact(
    session: Session,
    vault: Vault,
    contact: Contact,
    actor: str,
    *,
    role: str | None = None,
    now: datetime | None = None,
) -> Erased:
    """Erase ``contact`` (the caller commits). Erasing again destroys whatever the contact
    sent since (kept under a new key); the first erasure's date stays."""
    already = contact.erased_at is not None
    now = now or utcnow()
    blocked = block_waiting(session, contact.id, "recipient_erased", "contact erased", actor=actor)
    session.execute(delete(InboundPart).where(InboundPart.contact_id == contact.id))
    vault.destroy(session, contact.key_id)
    contact.erased_at = contact.erased_at or now
    contact.name_enc = None
    audit(session, Actor(actor, role), "contact.erased", contact.id, now=now)
    return Erased(contact.id, contact.erased_at, blocked, already=already)
