"""A contact's records for a person: the ledger page by page, and the whole history for a
records request (consent ledger, every message in and out with its status history).

The export carries what the API's consent export carries (``gateway.evidence``) plus the
messages; internal notes are staff's words about the contact and stay out of it, as they
do in the API. CSV cells are neutralised against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.archive import ERASED, MessageView, with_history
from gateway.contact_search import contact_field
from gateway.crypto import CryptoError
from gateway.evidence import contact_history, neutralise
from gateway.models import AuditEvent, ConsentEvent, Contact, Line, Message
from gateway.vault import Vault

LEDGER_PAGE = 50


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    recorded_at: datetime
    purpose: str
    action: str
    source: str
    evidence: str | None
    recorded_by: str
    line: str | None
    message_id: str | None


def ledger_page(
    session: Session,
    vault: Vault,
    contact: Contact,
    *,
    before: tuple[datetime, str] | None = None,
    limit: int = LEDGER_PAGE,
) -> list[LedgerEntry]:
    """The contact's ledger newest first; ``before`` is the (time, id) of the last one seen."""
    query = (
        select(ConsentEvent, Line.name)
        .outerjoin(Line, Line.id == ConsentEvent.line_id)
        .where(ConsentEvent.contact_id == contact.id)
        .order_by(ConsentEvent.recorded_at.desc(), ConsentEvent.id.desc())
        .limit(limit)
    )
    if before is not None:
        at, event_id = before
        query = query.where(
            or_(
                ConsentEvent.recorded_at < at,
                and_(ConsentEvent.recorded_at == at, ConsentEvent.id < event_id),
            )
        )
    entries = []
    for event, line in session.execute(query).all():
        evidence = None
        if event.evidence_enc is not None:
            try:
                evidence = vault.decrypt(event.evidence_enc, "consent_events", "evidence", event.id)
            except CryptoError:
                evidence = ERASED
        entries.append(
            LedgerEntry(
                event.id,
                event.recorded_at,
                event.purpose,
                event.action,
                event.source,
                evidence,
                event.recorded_by,
                line,
                event.message_id,
            )
        )
    return entries


def contacts_of(session: Session, message_ids: list[str]) -> dict[str, str]:
    """The contact id of each message of a page (views carry the number, not the id)."""
    if not message_ids:
        return {}
    rows = session.execute(
        select(Message.id, Message.contact_id).where(Message.id.in_(message_ids))
    ).all()
    return {message_id: contact_id for message_id, contact_id in rows}


def contact_record(session: Session, vault: Vault, contact: Contact) -> dict[str, Any]:
    """Everything kept about the contact, for a records request (JSON-ready)."""
    history = contact_history(session, vault, contact)
    history["contact"]["name"] = (
        None if contact.erased_at else contact_field(vault, contact.name_enc, "name", contact.id)
    )
    history["contact"]["created_at"] = contact.created_at.isoformat()
    messages = with_history(session, vault, Message.contact_id == contact.id)
    return {**history, "messages": [_message(view) for view in messages]}


def _message(view: MessageView) -> dict[str, Any]:
    data = view.as_dict()
    data.pop("parts", None)
    data["events"] = view.events
    return data


RECORD_COLUMNS = (
    "section",
    "at",
    "id",
    "direction_or_purpose",
    "status_or_action",
    "source",
    "line",
    "by",
    "message_id",
    "text",
    "detail",
)


def record_rows(record: dict[str, Any]) -> Iterator[list[str]]:
    """One row for the contact, one per ledger event, one per message and per status change."""
    contact = record["contact"]
    yield [
        "contact",
        contact["created_at"],
        contact["id"],
        "",
        "erased" if contact["erased_at"] else "",
        "",
        "",
        "",
        "",
        contact["number"],
        contact["name"] or "",
    ]
    for event in record["events"]:
        message = event["message"] or {}
        yield [
            "consent",
            event["recorded_at"],
            event["id"],
            event["purpose"],
            event["action"],
            event["source"],
            event["line"] or "",
            event["recorded_by"],
            message.get("id", ""),
            event["evidence"] or "",
            message.get("text", ""),
        ]
    for message in record["messages"]:
        yield [
            "message",
            message["created_at"],
            message["id"],
            message["direction"],
            message["status"],
            message["purpose"],
            message["line"] or "",
            message["created_by"] or "",
            message["id"],
            message["body"],
            message["error_code"] or "",
        ]
        for event in message["events"]:
            yield [
                "status",
                event["at"],
                "",
                message["direction"],
                event["status"],
                "",
                "",
                event["actor"],
                message["id"],
                "",
                event["detail"] or "",
            ]


def csv_lines(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """CSV text a row at a time, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()


MESSAGE_COLUMNS = (
    "id",
    "created_at",
    "direction",
    "status",
    "number",
    "line",
    "created_by",
    "purpose",
    "segments",
    "error_code",
    "body",
)


def message_row(view: MessageView) -> list[object]:
    return [
        view.id,
        view.created_at.isoformat(),
        view.direction,
        view.status,
        view.number,
        view.line or "",
        view.created_by or "",
        view.purpose,
        view.segments,
        view.error_code or "",
        view.body,
    ]


AUDIT_COLUMNS = ("id", "at", "actor", "actor_role", "action", "subject", "detail")


def audit_row(event: AuditEvent) -> list[object]:
    return [
        event.id,
        event.at.isoformat(),
        event.actor,
        event.actor_role or "",
        event.action,
        event.subject or "",
        event.detail or "",
    ]
