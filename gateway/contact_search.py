"""Finding contacts for people: by number (the blind index, exact) or by name (a scan).

A name is encrypted under its contact's own key, so no index can find it: a name search
decrypts names a batch of rows at a time, in id order, and stops after ``SCAN_LIMIT`` rows
with the id it stopped at, so the person can search on from there. Its cost grows with the
number of contacts, not of matches. Measured on 5,000 named contacts (SQLite, laptop): about
1 s when no key is cached yet (each contact's data key is read and unwrapped once per
process, some 0.2 ms each), 40 ms once they are.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.archive import ERASED
from gateway.consent import ConsentState, EventFacts, derive
from gateway.contacts import find_contact
from gateway.crypto import CryptoError
from gateway.models import ConsentEvent, Contact
from gateway.vault import Vault

SCAN_LIMIT = 5000  # rows decrypted by one name search before it hands back a resume point
BATCH = 500
MAX_QUERY = 128


@dataclass(frozen=True)
class ContactSummary:
    id: str
    number: str
    name: str | None
    created_at: datetime
    erased_at: datetime | None
    state: ConsentState


@dataclass(frozen=True)
class NameSearch:
    found: list[ContactSummary]
    scanned: int
    resume_after: str | None  # the last id looked at, when the search stopped early


def states_of(session: Session, contact_ids: Sequence[str]) -> dict[str, ConsentState]:
    """The consent state of each contact of a page, from one read of their ledgers."""
    if not contact_ids:
        return {}
    c = ConsentEvent.__table__.c
    rows = session.execute(
        select(
            c.contact_id,
            c.purpose,
            c.action,
            c.source,
            c.recorded_at,
            (c.evidence_enc.is_not(None) | c.message_id.is_not(None)).label("evidence"),
        )
        .where(c.contact_id.in_(list(contact_ids)))
        .order_by(c.contact_id, c.recorded_at, c.id)
    ).all()
    facts: dict[str, list[EventFacts]] = defaultdict(list)
    for contact_id, *rest in rows:
        facts[contact_id].append(EventFacts(*rest))
    return {contact_id: derive(facts.get(contact_id, ())) for contact_id in contact_ids}


def contact_field(vault: Vault, blob: bytes | None, column: str, contact_id: str) -> str | None:
    if blob is None:
        return None
    try:
        return vault.decrypt(blob, "contacts", column, contact_id)
    except CryptoError:
        return ERASED


def summaries(session: Session, vault: Vault, contacts: Iterable[Contact]) -> list[ContactSummary]:
    listed = list(contacts)
    states = states_of(session, [contact.id for contact in listed])
    return [
        ContactSummary(
            id=contact.id,
            number=ERASED
            if contact.erased_at
            else contact_field(vault, contact.number_enc, "number", contact.id) or "",
            name=None
            if contact.erased_at
            else contact_field(vault, contact.name_enc, "name", contact.id),
            created_at=contact.created_at,
            erased_at=contact.erased_at,
            state=states[contact.id],
        )
        for contact in listed
    ]


def by_number(session: Session, vault: Vault, e164: str) -> list[ContactSummary]:
    contact = find_contact(session, vault, e164)
    return [] if contact is None else summaries(session, vault, [contact])


def newest(
    session: Session, vault: Vault, *, before: str | None = None, limit: int = 25
) -> list[ContactSummary]:
    """Contacts newest first (ids sort by creation time); ``before`` is the last id seen."""
    query = select(Contact).order_by(Contact.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Contact.id < before)
    return summaries(session, vault, session.scalars(query))


def folded(text: str) -> str:
    """What a name is compared as: compatibility forms and case folded away."""
    return unicodedata.normalize("NFKC", text).casefold()


def search_names(
    session: Session,
    vault: Vault,
    text: str,
    *,
    after: str | None = None,
    limit: int = 25,
    scan_limit: int = SCAN_LIMIT,
    batch: int = BATCH,
) -> NameSearch:
    """Contacts whose name contains ``text`` (case-insensitive), in id order.

    Stops at ``limit`` matches or after ``scan_limit`` rows, whichever comes first, and says
    where it stopped (``resume_after``); None when every contact was looked at.
    """
    needle = folded(text.strip())
    found: list[Contact] = []
    scanned = 0
    last = after
    while scanned < scan_limit:
        query = (
            select(Contact.id, Contact.name_enc, Contact.key_id)
            .where(Contact.name_enc.is_not(None), Contact.erased_at.is_(None))
            .order_by(Contact.id)
            .limit(min(batch, scan_limit - scanned))
        )
        if last is not None:
            query = query.where(Contact.id > last)
        rows = session.execute(query).all()
        if not rows:
            return NameSearch(summaries(session, vault, found), scanned, None)
        vault.preload(session, (key_id for _, _, key_id in rows))
        for contact_id, name_enc, _ in rows:
            scanned += 1
            last = contact_id
            name = contact_field(vault, name_enc, "name", contact_id)
            if name and name != ERASED and needle in folded(name):
                contact = session.get(Contact, contact_id)
                if contact is not None:
                    found.append(contact)
                if len(found) >= limit:
                    return NameSearch(summaries(session, vault, found), scanned, last)
    return NameSearch(summaries(session, vault, found), scanned, last)
