"""Contacts: one per phone number, each with its own data key (erasable on its own)."""

from __future__ import annotations

from importlib import import_module

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.consent import load_state
from gateway.errors import InvalidInput, NotFound
from gateway.models import Contact, DataKeyRow, new_id, utcnow
from gateway.vault import Vault

_BY_INDEX = select(Contact).where(Contact.number_index == bindparam("number_index"))


def find_contact(session: Session, vault: Vault, e164: str) -> Contact | None:
    # No autoflush: rows waiting in this transaction are written in one batch at commit.
    with session.no_autoflush:
        return session.scalar(_BY_INDEX, {"number_index": vault.index(e164)})


def find_or_create_contact(session: Session, vault: Vault, e164: str) -> Contact:
    """The contact for a normalised number, created (with a new data key) if new."""
    contact = find_contact(session, vault, e164)
    if contact is not None:
        return contact
    contact_id = new_id("ct")
    key_id = vault.new_key(session)
    values = {
        "id": contact_id,
        "key_id": key_id,
        "number_index": vault.index(e164),
        "number_enc": vault.encrypt(key_id, e164, "contacts", "number", contact_id),
        "created_at": utcnow(),
    }
    # Another process may add the same number meanwhile: the unique blind index decides,
    # and the loser uses the winner's row.
    # The dialect's own INSERT (for ON CONFLICT), imported only for the database in use: the
    # PostgreSQL dialect alone is some 3 MB of memory that a SQLite box need not carry.
    dialect = session.get_bind().dialect.name
    insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
    table = Contact.__table__
    made = (
        session.connection()
        .execute(
            insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["number_index"])
            .returning(table.c.id)
        )
        .scalar()
    )
    if made == contact_id:
        return Contact(**values)  # ours: no need to read it back
    contact = find_contact(session, vault, e164)
    if contact is None:  # pragma: no cover - the insert or the other process made it
        raise LookupError("contact vanished")
    return contact


def contact_number(vault: Vault, contact: Contact) -> str:
    return vault.decrypt(contact.number_enc, "contacts", "number", contact.id)


def rekey_if_erased(session: Session, vault: Vault, contact: Contact, e164: str) -> Contact:
    """An erased contact who writes again: what they send now is kept under a new key.

    Everything from before stays unreadable (its key is gone for good); the contact stays
    marked erased, so the business still never texts them.
    """
    if contact.erased_at is None:
        return contact
    wrapped = session.scalar(select(DataKeyRow.wrapped).where(DataKeyRow.id == contact.key_id))
    if wrapped is not None:
        return contact
    key_id = vault.new_key(session)
    contact.key_id = key_id
    contact.number_enc = vault.encrypt(key_id, e164, "contacts", "number", contact.id)
    return contact


def get_contact(session: Session, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id[:64])
    if contact is None:
        raise NotFound("no contact with that id")
    return contact


def describe_contact(vault: Vault, contact: Contact) -> dict[str, object]:
    """A contact for the API: an erased one shows no number."""
    session = Session.object_session(contact)
    number = None if contact.erased_at else contact_number(vault, contact)
    state = load_state(session, contact.id) if session is not None else None
    return {
        "id": contact.id,
        "number": number,
        "erased_at": contact.erased_at.isoformat() if contact.erased_at else None,
        "created_at": contact.created_at.isoformat(),
        "consent": state.as_dict() if state is not None else None,
    }


def contact_name(vault: Vault, contact: Contact) -> str | None:
    """The contact's name, if one is on file (and the contact not erased)."""
    if contact.name_enc is None or contact.erased_at is not None:
        return None
    return vault.decrypt(contact.name_enc, "contacts", "name", contact.id)


def set_contact_name(vault: Vault, contact: Contact, name: str | None) -> None:
    if name is not None and (len(name) > 128 or not name.isprintable()):
        raise InvalidInput("a name is at most 128 printable characters on one line")
    contact.name_enc = (
        None if not name else vault.encrypt(contact.key_id, name, "contacts", "name", contact.id)
    )
