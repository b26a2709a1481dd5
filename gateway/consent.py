"""The consent ledger: append-only events per contact, and the state derived from them.

A contact's consent is kept per purpose — ``transactional`` (one-to-one service messages)
and ``marketing`` — as events: opted in, opted out, revoked, each with its source, its
evidence, who recorded it and when. Nothing is ever edited: a correction is a new event.
An opt-out by keyword covers every purpose (``purpose="all"``); the matching opt-in word
restores what the contact had before it, no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from gateway.errors import ConsentForbidden, InvalidInput, UnknownMessage
from gateway.lifecycle import record
from gateway.models import ConsentEvent, Contact, Message, new_id, utcnow
from gateway.vault import Vault
from gateway.webhooks import consent_changed

PURPOSES = ("transactional", "marketing")
ACTIONS = ("opted_in", "opted_out", "revoked")
SOURCES = (
    "web_form",  # a form the customer filled in (the disclosure shown is the evidence)
    "paper",  # a signed paper form (its reference is the evidence)
    "email",
    "verbal",
    "keyword",  # STOP / START by text message (the message is the evidence)
    "api",
    "import",
    "inbound",  # the customer texted the business first: they gave their number
    "on_send",  # the sender attested it when sending (config: transactional = "on_send")
)
# Sources the box records itself, each from a message it holds: a person recording one by
# hand would claim evidence the ledger does not have (a START nobody sent).
BY_THE_BOX = ("keyword", "inbound", "on_send")
# Written consent: what a manager needs to re-subscribe a contact who opted out.
WRITTEN = ("web_form", "paper", "email")
OUT = ("opted_out", "revoked")
MAX_EVIDENCE = 4000

# Messages still waiting that an opt-out stops at once (replies the rules require excepted).
WAITING = ("pending_approval", "scheduled", "queued")
COMPLIANCE = "compliance"  # the purpose of STOP confirmations and HELP replies


@dataclass(frozen=True)
class PurposeState:
    status: str = "none"  # none | granted | opted_out | revoked
    since: datetime | None = None
    source: str | None = None
    evidence: bool = False  # the granting event carried evidence (text or a message)

    @property
    def out(self) -> bool:
        return self.status in OUT


@dataclass(frozen=True)
class ConsentState:
    transactional: PurposeState = field(default_factory=PurposeState)
    marketing: PurposeState = field(default_factory=PurposeState)

    def of(self, purpose: str) -> PurposeState:
        return self.marketing if purpose == "marketing" else self.transactional

    @property
    def any_out(self) -> bool:
        return self.transactional.out or self.marketing.out

    @property
    def all_out(self) -> bool:
        return self.transactional.out and self.marketing.out

    def as_dict(self) -> dict[str, Any]:
        return {
            purpose: {
                "status": state.status,
                "since": state.since.isoformat() if state.since else None,
                "source": state.source,
            }
            for purpose, state in (
                ("transactional", self.transactional),
                ("marketing", self.marketing),
            )
        }


@dataclass(frozen=True)
class EventFacts:
    """What derivation needs of an event (no personal data)."""

    purpose: str
    action: str
    source: str
    recorded_at: datetime
    evidence: bool


def derive(events: Iterable[EventFacts]) -> ConsentState:
    """Fold the ledger, oldest first, into the current state per purpose."""
    state = {purpose: PurposeState() for purpose in PURPOSES}
    before: dict[str, PurposeState] = {}
    for event in events:
        purposes = PURPOSES if event.purpose == "all" else (event.purpose,)
        for purpose in purposes:
            current = state[purpose]
            if event.action in OUT:
                if not current.out:
                    before[purpose] = current
                state[purpose] = PurposeState(event.action, event.recorded_at, event.source)
            elif event.purpose == "all":
                # The contact's own opt-in word: back to what they had before, no more.
                if current.out:
                    state[purpose] = before.pop(purpose, PurposeState())
            else:
                state[purpose] = PurposeState(
                    "granted", event.recorded_at, event.source, event.evidence
                )
    return ConsentState(state["transactional"], state["marketing"])


_c = ConsentEvent.__table__.c
_FACTS = (
    select(
        _c.purpose,
        _c.action,
        _c.source,
        _c.recorded_at,
        (_c.evidence_enc.is_not(None) | _c.message_id.is_not(None)).label("evidence"),
    )
    .where(_c.contact_id == bindparam("contact_id"))
    .order_by(_c.recorded_at, _c.id)
)


def load_state(connection: Connection | Session, contact_id: str) -> ConsentState:
    """The contact's consent now: one indexed read of their (few) ledger rows.

    A session is not flushed for it: events are flushed as they are recorded, and a batch's
    messages waiting in the session are written together at commit.
    """
    if isinstance(connection, Session):
        with connection.no_autoflush:
            rows = connection.execute(_FACTS, {"contact_id": contact_id}).all()
    else:
        rows = connection.execute(_FACTS, {"contact_id": contact_id}).all()
    return derive(EventFacts(*row) for row in rows)


@dataclass(frozen=True)
class ConsentChange:
    """A request to add one event to the ledger."""

    purpose: str  # transactional | marketing | all
    action: str  # opted_in | opted_out | revoked
    source: str
    evidence: str | None = None  # the disclosure shown, a document reference, …
    message_id: str | None = None  # the inbound message that triggered it
    line_id: str | None = None


def check_change(change: ConsentChange) -> None:
    """The shape of an event: clear errors for a caller's mistakes."""
    if change.purpose not in (*PURPOSES, "all"):
        raise InvalidInput("purpose is transactional, marketing or all")
    if change.action not in ACTIONS:
        raise InvalidInput("action is opted_in, opted_out or revoked")
    if change.source not in SOURCES:
        raise InvalidInput(f"source is one of {', '.join(SOURCES)}")
    if change.evidence is not None:
        if not isinstance(change.evidence, str) or len(change.evidence) > MAX_EVIDENCE:
            raise InvalidInput(f"evidence is text of at most {MAX_EVIDENCE} characters")
        if not change.evidence.strip():
            raise InvalidInput("evidence is empty")
    if change.purpose == "all" and change.action == "opted_in" and change.source != "keyword":
        raise InvalidInput("an opt-in names its purpose (transactional or marketing)")
    if (
        change.action == "opted_in"
        and change.purpose == "marketing"
        and not (change.evidence or change.message_id)
    ):
        raise InvalidInput("a marketing opt-in needs its evidence (disclosure or document)")


def check_permission(state: ConsentState, change: ConsentChange, role: str) -> None:
    """Who may record what. An auditor records nothing; an agent cannot re-subscribe a
    contact who opted out: only the contact (their keyword) or a manager recording new
    written consent with its evidence can."""
    if role == "auditor":
        raise ConsentForbidden("auditors can read the ledger but not add to it")
    # Only the contact's own keyword (recorded by the box, as "contact") re-subscribes
    # without written consent: a person naming "keyword" as the source is not the contact.
    if change.action != "opted_in" or (change.source == "keyword" and role == "contact"):
        return
    purposes = PURPOSES if change.purpose == "all" else (change.purpose,)
    if not any(state.of(purpose).out for purpose in purposes):
        return
    if role not in ("manager", "admin", "contact"):
        raise ConsentForbidden(
            "this contact opted out: only the contact (START) or a manager recording new "
            "written consent can re-subscribe them"
        )
    if change.source not in WRITTEN or not change.evidence:
        raise ConsentForbidden(
            "re-subscribing a contact who opted out needs new written consent "
            f"({', '.join(WRITTEN)}) with its evidence"
        )


def record_consent(
    session: Session,
    vault: Vault,
    contact: Contact,
    change: ConsentChange,
    *,
    recorded_by: str,
    role: str = "agent",
    now: datetime | None = None,
) -> ConsentEvent:
    """Append an event after checking its shape and who records it (the caller commits).

    An opt-out or revocation stops the contact's waiting messages at once, in the same
    transaction. Subscribers of ``consent.changed`` hear of it.
    """
    check_change(change)
    if change.message_id is not None:
        message = session.get(Message, change.message_id[:64])
        if message is None or message.contact_id != contact.id:
            raise UnknownMessage("message_id is not a message of this contact")
    state = load_state(session, contact.id)
    check_permission(state, change, role)
    now = now or utcnow()
    event_id = new_id("ce")
    evidence_enc = None
    if change.evidence is not None and contact.erased_at is None:
        evidence_enc = vault.encrypt(
            contact.key_id, change.evidence, "consent_events", "evidence", event_id
        )
    event = ConsentEvent(
        id=event_id,
        contact_id=contact.id,
        purpose=change.purpose,
        action=change.action,
        source=change.source,
        evidence_enc=evidence_enc,
        message_id=change.message_id,
        line_id=change.line_id,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    after = load_state(session, contact.id)
    if change.action in OUT:
        purposes = None if change.purpose == "all" else (change.purpose,)
        block_waiting(session, contact.id, "recipient_opted_out", "opted out", purposes)
    if contact.erased_at is None:
        consent_changed(
            session,
            vault,
            contact,
            {
                "event": event_summary(event),
                "state": after.as_dict(),
            },
            now=now,
        )
    return event


def event_summary(event: ConsentEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "purpose": event.purpose,
        "action": event.action,
        "source": event.source,
        "message_id": event.message_id,
        "recorded_by": event.recorded_by,
        "recorded_at": event.recorded_at.isoformat(),
    }


def block_waiting(
    session: Session,
    contact_id: str,
    code: str,
    detail: str,
    purposes: Sequence[str] | None = None,
    actor: str = "consent",
) -> int:
    """Turn the contact's waiting messages ``blocked`` (replies the rules require excepted).

    Each update is guarded by the status last seen: a message a modem committed to
    ``sending`` meanwhile has left before this and is not touched.
    """
    query = select(Message).where(
        Message.contact_id == contact_id,
        Message.direction == "out",
        Message.status.in_(WAITING),
        Message.purpose != COMPLIANCE,
    )
    if purposes is not None:
        query = query.where(Message.purpose.in_(purposes))
    blocked = 0
    for message in session.scalars(query).all():
        guarded = session.execute(
            update(Message)
            .where(Message.id == message.id, Message.status == message.status)
            .values(claimed_by=None, error_code=code)
            .execution_options(synchronize_session=False)
        )
        if guarded.rowcount == 1:
            message.error_code = code
            record(session, message, "blocked", actor, detail)
            blocked += 1
    return blocked
