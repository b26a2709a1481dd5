"""Consent evidence on demand: a contact's whole ledger with the messages behind it.

``smsgw consent export`` and ``GET /api/v1/contacts/{id}/consent`` read it from here. An
erased contact's evidence shows what the ledger kept in the clear (dates, sources, actions)
and ``(erased)`` where their data was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.archive import ERASED, PURGED
from gateway.consent import EventFacts, derive
from gateway.crypto import CryptoError
from gateway.models import ConsentEvent, Contact, Line, Message
from gateway.vault import Vault

COLUMNS = (
    "contact_id",
    "number",
    "event_id",
    "recorded_at",
    "purpose",
    "action",
    "source",
    "evidence",
    "recorded_by",
    "line",
    "message_id",
    "message_received_at",
    "message_text",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character is escaped."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _decrypt(vault: Vault, blob: bytes | None, table: str, column: str, row_id: str) -> str:
    if blob is None:
        return ""
    try:
        return vault.decrypt(blob, table, column, row_id)
    except CryptoError:
        return ERASED


def contact_history(session: Session, vault: Vault, contact: Contact) -> dict[str, Any]:
    """The contact's current state and every ledger event, oldest first."""
    rows = session.execute(
        select(ConsentEvent, Message, Line)
        .outerjoin(Message, Message.id == ConsentEvent.message_id)
        .outerjoin(Line, Line.id == ConsentEvent.line_id)
        .where(ConsentEvent.contact_id == contact.id)
        .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
    ).all()
    events = []
    for event, message, line in rows:
        evidence = _decrypt(vault, event.evidence_enc, "consent_events", "evidence", event.id)
        item: dict[str, Any] = {
            "id": event.id,
            "recorded_at": event.recorded_at.isoformat(),
            "purpose": event.purpose,
            "action": event.action,
            "source": event.source,
            "evidence": evidence or None,
            "recorded_by": event.recorded_by,
            "line": line.name if line else None,
            "message": None,
        }
        if message is not None:
            text = (
                PURGED
                if message.body_purged_at
                else _decrypt(vault, message.body_enc, "messages", "body", message.id)
            )
            at = message.received_at or message.created_at
            item["message"] = {"id": message.id, "received_at": at.isoformat(), "text": text}
        events.append(item)
    state = derive(
        EventFacts(
            e.purpose,
            e.action,
            e.source,
            e.recorded_at,
            e.evidence_enc is not None or bool(e.message_id),
        )
        for e, _m, _l in rows
    )
    number = _decrypt(vault, contact.number_enc, "contacts", "number", contact.id)
    return {
        "contact": {
            "id": contact.id,
            "number": ERASED if contact.erased_at else number,
            "erased_at": contact.erased_at.isoformat() if contact.erased_at else None,
        },
        "state": state.as_dict(),
        "events": events,
    }


def export(session: Session, vault: Vault, contacts: Iterable[Contact]) -> Iterator[dict[str, Any]]:
    for contact in contacts:
        yield contact_history(session, vault, contact)


def flat_rows(histories: Iterable[dict[str, Any]]) -> Iterator[dict[str, str]]:
    """One row per event, for CSV."""
    for history in histories:
        contact = history["contact"]
        for event in history["events"]:
            message = event["message"] or {}
            yield {
                "contact_id": contact["id"],
                "number": contact["number"],
                "event_id": event["id"],
                "recorded_at": event["recorded_at"],
                "purpose": event["purpose"],
                "action": event["action"],
                "source": event["source"],
                "evidence": event["evidence"] or "",
                "recorded_by": event["recorded_by"],
                "line": event["line"] or "",
                "message_id": message.get("id", ""),
                "message_received_at": message.get("received_at", ""),
                "message_text": message.get("text", ""),
            }


def to_csv(rows: Iterable[dict[str, str]]) -> Iterator[str]:
    """CSV text, a line at a time, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row[column]) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
