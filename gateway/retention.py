"""Retention: the daily job that purges what is kept no longer, and records what it purged.

Message bodies go after ``retention.body_days`` (the rest of the record stays: who, when,
status). Consent evidence stays at least ``retention.consent_years`` (five at the least);
opt-outs and revocations are never purged, and neither is any event the current state
rests on — an event goes only when the ledger without it derives the same state. A body
that is the evidence of a consent event is kept as long as that event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.consent import OUT, EventFacts, derive
from gateway.models import (
    ConsentEvent,
    ConversationNote,
    InboundPart,
    Message,
    RetentionRun,
    WebhookDelivery,
    utcnow,
)
from gateway.settings import current

RUN_EVERY = timedelta(hours=24)
FINAL = (
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
    "blocked",
    "unknown",
    "received",
)


def years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def due(session: Session, now: datetime | None = None) -> bool:
    now = now or utcnow()
    last = session.scalar(select(RetentionRun.at).order_by(RetentionRun.at.desc()).limit(1))
    return last is None or now - last >= RUN_EVERY


def purge(session: Session, config: Config, now: datetime | None = None) -> RetentionRun:
    """Purge what retention allows (the caller commits) and record the run."""
    now = now or utcnow()
    config = current(session, config)  # periods changed in the panel
    bodies_before = None
    bodies = 0
    if config.retention.body_days:
        bodies_before = now - timedelta(days=config.retention.body_days)
        bodies = _purge_bodies(session, bodies_before, now)
    consent_before = years_before(now, config.retention.consent_years)
    events = _purge_consent(session, consent_before)
    run = RetentionRun(
        at=now,
        bodies_before=bodies_before,
        bodies_purged=bodies,
        consent_before=consent_before,
        consent_events_purged=events,
    )
    session.add(run)
    return run


def _purge_bodies(session: Session, before: datetime, now: datetime) -> int:
    is_evidence = exists().where(ConsentEvent.message_id == Message.id)
    purged = session.execute(
        update(Message)
        .where(
            Message.body_purged_at.is_(None),
            Message.created_at < before,
            Message.status.in_(FINAL),
            ~is_evidence,
        )
        .values(body_enc=b"", body_purged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(delete(InboundPart).where(InboundPart.received_at < before))
    # Internal notes are about the customer as much as the bodies are: same period.
    session.execute(delete(ConversationNote).where(ConversationNote.created_at < before))
    session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status != "pending", WebhookDelivery.created_at < before
        )
    )
    return purged


def _purge_consent(session: Session, before: datetime) -> int:
    contacts = session.scalars(
        select(ConsentEvent.contact_id)
        .where(ConsentEvent.recorded_at < before, ConsentEvent.action.not_in(OUT))
        .distinct()
    ).all()
    purged = 0
    for contact_id in contacts:
        events = list(
            session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.contact_id == contact_id)
                .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
            )
        )
        kept = list(events)
        state = derive(map(_facts, kept))
        for event in events:
            if event.recorded_at >= before or event.action in OUT:
                continue
            without = [other for other in kept if other is not event]
            if derive(map(_facts, without)) == state:
                kept = without
        for event in events:
            if event not in kept:
                session.delete(event)
                purged += 1
    session.flush()
    return purged


def _facts(event: ConsentEvent) -> EventFacts:
    return EventFacts(
        event.purpose,
        event.action,
        event.source,
        event.recorded_at,
        event.evidence_enc is not None or event.message_id is not None,
    )
