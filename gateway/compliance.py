"""The consent rules applied to a send: when it is accepted, and again just before a modem.

Accepting checks the ledger (clear errors), applies quiet hours and the daily cap to
marketing, and appends the opt-out notice to a contact's first marketing message. Just
before ``AT+CMGS`` the ledger and the quiet hours are read again inside the claim's
transaction, so a STOP that arrived while the message waited blocks it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.consent import COMPLIANCE, ConsentChange, ConsentState, load_state, record_consent
from gateway.errors import (
    MarketingCapReached,
    NoAllowedHours,
    NoMarketingConsent,
    NoTransactionalConsent,
    RecipientErased,
    RecipientOptedOut,
)
from gateway.keywords import normalise
from gateway.models import Contact, Message, UtcDateTime
from gateway.quiet_hours import Window, local_day_bounds, next_allowed, zones_for
from gateway.settings import current
from gateway.vault import Vault

# Statuses of a marketing message that did not, and will not, reach the contact.
_NEVER_SENT = ("canceled", "blocked", "failed")


@dataclass(frozen=True)
class Accepted:
    """What the rules make of a send: its body (with the notice) and when it may leave."""

    body: str
    send_at: datetime | None


def refusal(state: ConsentState, purpose: str, erased: bool) -> tuple[str, str] | None:
    """Why the ledger forbids this send now (code, text), or None when it allows it."""
    if purpose == COMPLIANCE:
        return None  # a STOP confirmation or a HELP answer: the rules require it
    if erased:
        return RecipientErased.code, "the contact was erased and is never texted again"
    current = state.of(purpose)
    if current.out or (state.transactional.out and purpose == "marketing"):
        return RecipientOptedOut.code, "the recipient opted out"
    if purpose == "marketing" and not (current.status == "granted" and current.evidence):
        return NoMarketingConsent.code, "marketing needs the contact's opt-in with evidence"
    if purpose == "transactional" and current.status != "granted":
        return NoTransactionalConsent.code, (
            "no record that the customer gave this number: record their consent first"
        )
    return None


_ERRORS = {
    cls.code: cls
    for cls in (RecipientErased, RecipientOptedOut, NoMarketingConsent, NoTransactionalConsent)
}


def accept(
    session: Session,
    vault: Vault,
    config: Config,
    contact: Contact,
    e164: str,
    *,
    body: str,
    purpose: str,
    send_at: datetime | None,
    now: datetime,
    sender: str,
    role: str,
    consent: ConsentChange | None = None,
) -> Accepted:
    """Check a send against the ledger and the marketing rules; raise a clear error.

    ``consent`` records the customer's consent given with the send (a CRM that knows
    the customer filled in a form); with ``transactional = "on_send"`` in the config, the
    first transactional send records that the sender attests it.
    """
    if purpose == COMPLIANCE:
        return Accepted(body, send_at)
    if contact.erased_at is not None:
        raise RecipientErased("the contact was erased and is never texted again")
    state = load_state(session, contact.id)
    if consent is not None and not state.of(purpose).out:
        record_consent(session, vault, contact, consent, recorded_by=sender, role=role, now=now)
        state = load_state(session, contact.id)
    if (
        purpose == "transactional"
        and state.transactional.status == "none"
        and config.consent.transactional == "on_send"
    ):
        attested = ConsentChange("transactional", "opted_in", "on_send")
        record_consent(session, vault, contact, attested, recorded_by=sender, role=role, now=now)
        state = load_state(session, contact.id)
    refused = refusal(state, purpose, erased=False)
    if refused is not None:
        code, text = refused
        raise _ERRORS[code](text)
    if purpose != "marketing":
        return Accepted(body, send_at)
    config = current(session, config)  # quiet hours set in the panel
    zones = zones_of(e164, config)
    planned = max(send_at or now, now)
    allowed = next_allowed(planned, zones, window(config))
    if allowed is None:
        raise NoAllowedHours("the recipient's time zones share no allowed hours for marketing")
    _check_daily_cap(session, config, contact.id, allowed, zones[0])
    if _first_marketing(session, contact.id):
        body = with_notice(body, config.consent.opt_out_notice)
    return Accepted(body, allowed if allowed > now else send_at)


def with_notice(body: str, notice: str) -> str:
    """The body with the opt-out notice, unless it already tells how to opt out."""
    if normalise(notice) in normalise(body):
        return body
    return f"{body}\n{notice}"


_c = Message.__table__.c
_CONTACT = select(Contact.__table__.c.erased_at).where(
    Contact.__table__.c.id == bindparam("contact_id")
)


@dataclass(frozen=True)
class BeforeSend:
    """The verdict just before a modem: block (code, text), wait until, or go."""

    block: tuple[str, str] | None = None
    wait_until: datetime | None = None


def before_send(
    connection: Connection,
    config: Config,
    contact_id: str,
    e164: str,
    purpose: str,
    now: datetime,
) -> BeforeSend:
    """Read the ledger again inside the claim's transaction."""
    if purpose == COMPLIANCE:
        return BeforeSend()
    erased = connection.execute(_CONTACT, {"contact_id": contact_id}).scalar() is not None
    refused = refusal(load_state(connection, contact_id), purpose, erased)
    if refused is not None:
        return BeforeSend(block=refused)
    if purpose == "marketing":
        config = current(connection, config)  # quiet hours set in the panel
        allowed = next_allowed(now, zones_of(e164, config), window(config))
        if allowed is None:
            return BeforeSend(block=(NoAllowedHours.code, "no allowed hours for marketing"))
        if allowed > now:
            return BeforeSend(wait_until=allowed)
    return BeforeSend()


def window(config: Config) -> Window:
    return Window(_clock(config.consent.quiet_start), _clock(config.consent.quiet_end))


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def zones_of(e164: str, config: Config) -> tuple[str, ...]:
    """The recipient's zones from their number; else the configured or the box's own."""
    return _zones(e164) or (config.consent.fallback_zone or box_zone(),)


@lru_cache(maxsize=4096)
def _zones(e164: str) -> tuple[str, ...]:
    return zones_for(e164) if e164.startswith("+") else ()


@lru_cache(maxsize=1)
def box_zone() -> str:
    """The box's own time zone name (``/etc/localtime`` or ``$TZ``), UTC when unknown."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        return name
    try:
        target = Path("/etc/localtime").resolve()
    except OSError:
        return "UTC"
    parts = target.parts
    if "zoneinfo" in parts:
        return "/".join(parts[parts.index("zoneinfo") + 1 :]) or "UTC"
    return "UTC"


_MARKETING_THAT_DAY = (
    select(func.count())
    .select_from(Message.__table__)
    .where(
        _c.contact_id == bindparam("contact_id"),
        _c.direction == "out",
        _c.purpose == "marketing",
        _c.status.not_in(_NEVER_SENT),
        func.coalesce(_c.send_at, _c.created_at) >= bindparam("start", type_=UtcDateTime()),
        func.coalesce(_c.send_at, _c.created_at) < bindparam("end", type_=UtcDateTime()),
    )
)


def _check_daily_cap(
    session: Session, config: Config, contact_id: str, at: datetime, zone: str
) -> None:
    cap = config.consent.marketing_daily_cap
    if not cap:
        return
    start, end = local_day_bounds(at, zone)
    count = session.execute(
        _MARKETING_THAT_DAY, {"contact_id": contact_id, "start": start, "end": end}
    ).scalar_one()
    if count >= cap:
        raise MarketingCapReached(
            f"the contact already gets {count} marketing message(s) that day (cap {cap})"
        )


_ANY_MARKETING = (
    select(_c.id)
    .where(
        _c.contact_id == bindparam("contact_id"),
        _c.direction == "out",
        _c.purpose == "marketing",
        _c.status.not_in(_NEVER_SENT),
    )
    .limit(1)
)


def _first_marketing(session: Session, contact_id: str) -> bool:
    return session.execute(_ANY_MARKETING, {"contact_id": contact_id}).first() is None
