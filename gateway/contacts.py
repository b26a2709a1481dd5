"""Contacts: one per phone number, each with its own data key (erasable on its own)."""

from __future__ import annotations

from importlib import import_module

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.models import Contact, new_id, utcnow
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
