"""Contacts: one per phone number, each with its own data key (erasable on its own)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.models import Contact, new_id
from gateway.vault import Vault


def find_contact(session: Session, vault: Vault, e164: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.number_index == vault.index(e164)))


def find_or_create_contact(session: Session, vault: Vault, e164: str) -> Contact:
    """The contact for a normalised number, created (with a new data key) if new."""
    contact = find_contact(session, vault, e164)
    if contact is not None:
        return contact
    contact_id = new_id("ct")
    key_id = vault.new_key(session)
    contact = Contact(
        id=contact_id,
        key_id=key_id,
        number_index=vault.index(e164),
        number_enc=vault.encrypt(key_id, e164, "contacts", "number", contact_id),
    )
    try:
        with session.begin_nested():
            session.add(contact)
    except IntegrityError:
        # Another process added the same number meanwhile; use theirs.
        existing = find_contact(session, vault, e164)
        if existing is None:
            raise
        return existing
    return contact


def contact_number(vault: Vault, contact: Contact) -> str:
    return vault.decrypt(contact.number_enc, "contacts", "number", contact.id)
