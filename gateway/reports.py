"""Delivery reports: find the part a report is about and settle its message's outcome.

A report names only (modem, TP-MR, recipient); TP-MR is one octet and wraps after 255, so
the match also needs the recipient and a time window, newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import InvalidNumber
from gateway.lifecycle import record
from gateway.models import Contact, Message, MessagePart, utcnow
from gateway.numbers import to_e164
from gateway.vault import Vault
from modem.pdu import StatusReport

ACTOR = "worker"


def apply_report(
    session: Session,
    vault: Vault,
    line_id: str,
    report: StatusReport,
    *,
    default_region: str,
    window_hours: float,
    now: datetime | None = None,
) -> Message | None:
    """Record a status report; return the message it settled (or touched), if any."""
    now = now or utcnow()
    candidates = session.execute(
        select(MessagePart, Message, Contact)
        .join(Message, Message.id == MessagePart.message_id)
        .join(Contact, Contact.id == Message.contact_id)
        .where(
            MessagePart.line_id == line_id,
            MessagePart.reference == report.reference,
            MessagePart.sent_at >= now - timedelta(hours=window_hours),
            MessagePart.status.in_(("sent", "pending_report")),
        )
        .order_by(MessagePart.sent_at.desc())
    ).all()
    wanted = _recipient_index(vault, report, default_region)
    match = next(
        (row for row in candidates if wanted is None or row[2].number_index == wanted), None
    )
    if match is None:
        return None
    part, message, _contact = match
    part.report_status = report.status
    part.reported_at = now
    outcome = report.outcome
    if outcome == "pending":
        return message  # the service centre is still trying; a final report follows
    part.status = "delivered" if outcome == "delivered" else "undelivered"
    _settle(session, message, part, now)
    return message


def _recipient_index(vault: Vault, report: StatusReport, default_region: str) -> bytes | None:
    try:
        return vault.index(to_e164(report.recipient.value, default_region))
    except InvalidNumber:
        return None  # an odd recipient format: fall back to modem, reference and time


def _settle(session: Session, message: Message, reported: MessagePart, now: datetime) -> None:
    """A message is delivered when every part is; undelivered as soon as one is not."""
    if message.status != "sent":
        return
    parts = [reported]
    if message.segments > 1:
        parts = list(
            session.scalars(select(MessagePart).where(MessagePart.message_id == message.id))
        )
    statuses = {part.sequence: part.status for part in parts}
    if "undelivered" in statuses.values():
        record(session, message, "undelivered", ACTOR, "delivery report: failed", at=now)
    elif len(statuses) >= message.segments and set(statuses.values()) == {"delivered"}:
        message.delivered_at = now
        record(session, message, "delivered", ACTOR, at=now)
