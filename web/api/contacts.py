"""Contacts and their consent: find or add, the ledger, evidence, erasure, reviews."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from gateway.audit import Actor, audit
from gateway.consent import ConsentChange, event_summary, record_consent
from gateway.contacts import describe_contact, find_contact, find_or_create_contact, get_contact
from gateway.erasure import erase_contact
from gateway.errors import GatewayError
from gateway.evidence import contact_history
from gateway.numbers import to_e164
from gateway.reviews import describe_review, list_reviews, resolve_review
from web import gateway_of
from web.api import blueprint
from web.api.auth import caller, requires
from web.api.idempotent import idempotent
from web.api.inputs import check_fields, json_object
from web.problems import Problem, from_gateway_error

_CONSENT_FIELDS: dict[str, tuple[type, ...]] = {
    "purpose": (str,),
    "action": (str,),
    "source": (str,),
    "evidence": (str, type(None)),
    "message_id": (str, type(None)),
}


def _number(value: str) -> str:
    gateway = gateway_of(current_app)
    try:
        return to_e164(value, gateway.config.numbers.default_region)
    except GatewayError as exc:
        raise from_gateway_error(exc) from None


@blueprint.post("/contacts")
@requires("contacts:write")
def add_contact() -> tuple[dict[str, Any], int]:
    """Find or add the contact of a number: its id is what consent calls need."""
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"number": (str,)}, ("number",))
    e164 = _number(data["number"])

    def work(session: Session) -> tuple[dict[str, Any], int]:
        known = find_contact(session, gateway.vault, e164)
        contact = known or find_or_create_contact(session, gateway.vault, e164)
        session.flush()
        contact = get_contact(session, contact.id)
        return describe_contact(gateway.vault, contact), 200 if known else 201

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.get("/contacts")
@requires("contacts:read")
def find_contacts() -> dict[str, Any]:
    number = request.args.get("number")
    if not number:
        raise Problem(422, "missing_field", "number is required (?number=+15555550123)")
    gateway = gateway_of(current_app)
    e164 = _number(number[:64])
    with gateway.sessions() as session:
        contact = find_contact(session, gateway.vault, e164)
        found = [] if contact is None else [describe_contact(gateway.vault, contact)]
    return {"data": found}


@blueprint.get("/contacts/<contact_id>")
@requires("contacts:read")
def show_contact(contact_id: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            return describe_contact(gateway.vault, get_contact(session, contact_id))
        except GatewayError as exc:
            raise from_gateway_error(exc) from None


@blueprint.delete("/contacts/<contact_id>")
@requires("admin")
def erase(contact_id: str) -> dict[str, Any]:
    """Erase a contact: their data key is destroyed; the opt-out and dates remain."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
            erased = erase_contact(
                session, gateway.vault, contact, caller().user_id, role=caller().role
            )
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        session.commit()
    return {
        "id": erased.contact_id,
        "erased_at": erased.erased_at.isoformat(),
        "blocked_messages": erased.blocked,
    }


@blueprint.get("/contacts/<contact_id>/consent")
@requires("contacts:read")
def consent_history(contact_id: str) -> dict[str, Any]:
    """The whole ledger of a contact, with the messages that triggered its events."""
    gateway = gateway_of(current_app)
    who = caller()
    with gateway.sessions() as session, gateway.writing():
        try:
            contact = get_contact(session, contact_id)
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        history = contact_history(session, gateway.vault, contact)
        # The evidence leaves the box here (a records request, a CRM's copy): audited.
        audit(session, Actor(who.user_id, who.role), "consent.exported", contact.id)
        session.commit()
        return history


@blueprint.post("/contacts/<contact_id>/consent")
@requires("contacts:write")
def add_consent_event(contact_id: str) -> tuple[dict[str, Any], int]:
    """Record an event. Nothing in the ledger is edited: a correction is a new event."""
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, _CONSENT_FIELDS, ("purpose", "action", "source"))
    change = ConsentChange(
        data["purpose"],
        data["action"],
        data["source"],
        data.get("evidence"),
        data.get("message_id"),
    )
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        try:
            contact = get_contact(session, contact_id)
            event = record_consent(
                session, gateway.vault, contact, change, recorded_by=who.user_id, role=who.role
            )
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        return event_summary(event), 201

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.get("/consent/reviews")
@requires("contacts:read")
def get_reviews() -> dict[str, Any]:
    status = request.args.get("status", "open")
    if status not in ("open", "revoked", "dismissed", "all"):
        raise Problem(422, "invalid_status", "status is open, revoked, dismissed or all")
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        reviews = list_reviews(session, None if status == "all" else status)
        return {"data": [describe_review(review) for review in reviews]}


@blueprint.post("/consent/reviews/<review_id>")
@requires("contacts:write")
def decide_review(review_id: str) -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"outcome": (str,)}, ("outcome",))
    who = caller()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        try:
            review = resolve_review(
                session,
                gateway.vault,
                review_id,
                data["outcome"],
                resolved_by=who.user_id,
                role=who.role,
            )
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        return describe_review(review), 200

    with gateway.sessions() as session:
        return idempotent(session, work)
