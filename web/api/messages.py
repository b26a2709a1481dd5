"""Messages: send (one or a batch), list, show, cancel."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from gateway.archive import MessageView, list_messages, message_detail, view_of
from gateway.consent import ConsentChange, check_change
from gateway.errors import GatewayError, InvalidNumber
from gateway.models import Line, Message
from gateway.numbers import to_e164
from gateway.outbound import PURPOSES, SendRequest, cancel, enqueue
from web import gateway_of
from web.api import blueprint
from web.api.auth import caller, requires
from web.api.idempotent import idempotent
from web.api.inputs import callback_url, check_fields, count, cursor_time, json_object, timestamp
from web.problems import Problem, from_gateway_error

MAX_BATCH = 1000
STATUSES = (
    "pending_approval",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "unknown",
    "canceled",
    "blocked",
    "received",
)
_SEND_FIELDS: dict[str, tuple[type, ...]] = {
    "to": (str,),
    "body": (str,),
    "line": (str, type(None)),
    "purpose": (str, type(None)),
    "send_at": (str, type(None)),
    "expires_at": (str, type(None)),
    "status_callback": (str, type(None)),
    "consent": (dict, type(None)),
    "override_sensitive": (bool, type(None)),
}
# Consent the customer gave, recorded with the send: how they gave their number.
_CONSENT_FIELDS: dict[str, tuple[type, ...]] = {"source": (str,), "evidence": (str, type(None))}


def message_json(view: MessageView) -> dict[str, Any]:
    """The API's message object: ``to``/``from`` by direction, times in RFC 3339."""
    outbound = view.direction == "out"
    data: dict[str, Any] = {
        "id": view.id,
        "direction": view.direction,
        "status": view.status,
        "to": view.number if outbound else view.line_number,
        "from": view.line_number if outbound else view.number,
        "body": view.body,
        "line": view.line,
        "segments": view.segments,
        "encoding": view.encoding,
        "purpose": view.purpose,
        "attempts": view.attempts,
        "error_code": view.error_code,
        "incomplete": view.incomplete,
        "created_by": view.created_by,
    }
    for name in (
        "created_at",
        "updated_at",
        "send_at",
        "expires_at",
        "sent_at",
        "delivered_at",
        "received_at",
    ):
        value = getattr(view, name)
        data[name] = value.isoformat() if value else None
    if view.parts:
        data["parts"] = view.parts
    if view.events:
        data["events"] = view.events
    return data


def _send_request(data: dict[str, Any], at: str = "") -> SendRequest:
    check_fields(data, _SEND_FIELDS, ("to", "body"), at)
    purpose = data.get("purpose")
    purpose = "transactional" if purpose is None else purpose
    if purpose not in PURPOSES:
        raise Problem(422, "invalid_purpose", f"{at}purpose is transactional or marketing")
    who = caller()
    return SendRequest(
        to=data["to"],
        body=data["body"],
        line=data.get("line"),
        purpose=purpose,
        consent=_consent(data.get("consent"), at),
        role=who.role,
        send_at=timestamp(data.get("send_at"), f"{at}send_at"),
        expires_at=timestamp(data.get("expires_at"), f"{at}expires_at"),
        status_callback=callback_url(data.get("status_callback"), f"{at}status_callback"),
        created_by=who.user_id,
        priority=0,
        hold_for_approval=who.supervised,
        override_sensitive=bool(data.get("override_sensitive")),
    )


def _consent(data: dict[str, Any] | None, at: str) -> ConsentChange | None:
    if data is None:
        return None
    check_fields(data, _CONSENT_FIELDS, ("source",), f"{at}consent.")
    change = ConsentChange("transactional", "opted_in", data["source"], data.get("evidence"))
    try:
        check_change(change)
    except GatewayError as exc:
        raise from_gateway_error(exc) from None
    return change


def _accepted(session: Session, message: Message, number: str) -> dict[str, Any]:
    line = session.get(Line, message.line_id) if message.line_id else None
    # The body as stored: the rules may have added the opt-out notice.
    body = gateway_of(current_app).vault.decrypt(message.body_enc, "messages", "body", message.id)
    return message_json(view_of(message, number, body, line))


@blueprint.post("/messages")
@requires("messages:send")
def send_message() -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    send = _send_request(data)

    def work(session: Session) -> tuple[dict[str, Any], int]:
        try:
            message = enqueue(session, gateway.vault, gateway.config, send)
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        number = to_e164(send.to, gateway.config.numbers.default_region)
        return _accepted(session, message, number), 202

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.post("/messages/batch")
@requires("messages:send")
def send_batch() -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"messages": (list,)}, ("messages",))
    items = data["messages"]
    if not 1 <= len(items) <= MAX_BATCH:
        raise Problem(422, "invalid_batch", f"messages holds 1 to {MAX_BATCH} messages")

    def work(session: Session) -> tuple[dict[str, Any], int]:
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise Problem(422, "invalid_type", "each message must be a JSON object")
                message = enqueue(session, gateway.vault, gateway.config, _send_request(item))
            except Problem as exc:
                rejected.append({"index": index, "code": exc.code, "detail": exc.detail})
                continue
            except GatewayError as exc:
                rejected.append({"index": index, "code": exc.code, "detail": str(exc)})
                continue
            accepted.append(
                {
                    "index": index,
                    "id": message.id,
                    "status": message.status,
                    "segments": message.segments,
                    "encoding": message.encoding,
                }
            )
        body = {"accepted": accepted, "rejected": rejected}
        return body, 202 if accepted else 422

    with gateway.sessions() as session:
        return idempotent(session, work)


def _cursor(view: MessageView) -> str:
    raw = f"{view.created_at.isoformat()}|{view.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(value: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, message_id = raw.split("|")
        when = cursor_time(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        when = None
    if when is None:
        raise Problem(422, "invalid_cursor", "cursor is not one this API gave out")
    return when, message_id


@blueprint.get("/messages")
@requires("messages:read")
def get_messages() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    args = request.args
    allowed = {"status", "direction", "number", "line", "since", "until", "limit", "cursor"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise Problem(422, "unknown_parameter", "unknown query parameter")
    status = args.get("status")
    if status is not None and status not in STATUSES:
        raise Problem(422, "invalid_status", "status is one of " + ", ".join(STATUSES))
    direction = args.get("direction")
    if direction is not None and direction not in ("in", "out"):
        raise Problem(422, "invalid_direction", "direction is in or out")
    number = args.get("number")
    if number is not None:
        try:
            number = to_e164(number, gateway.config.numbers.default_region)
        except InvalidNumber as exc:
            raise from_gateway_error(exc) from None
    limit = count(args.get("limit", "50"), "limit", 1, 1000)
    cursor = args.get("cursor")
    with gateway.sessions() as session:
        views = list_messages(
            session,
            gateway.vault,
            direction=direction,
            status=status,
            number=number,
            line=args.get("line"),
            since=timestamp(args.get("since"), "since"),
            until=timestamp(args.get("until"), "until"),
            before=_parse_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
    page, more = views[:limit], len(views) > limit
    return {
        "data": [message_json(view) for view in page],
        "next_cursor": _cursor(page[-1]) if more and page else None,
    }


@blueprint.get("/messages/<message_id>")
@requires("messages:read")
def get_message(message_id: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            return message_json(message_detail(session, gateway.vault, message_id[:64]))
        except GatewayError as exc:
            raise from_gateway_error(exc) from None


@blueprint.delete("/messages/<message_id>")
@requires("messages:send")
def cancel_message(message_id: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            cancel(session, message_id[:64], caller().user_id)
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        session.commit()
        return message_json(message_detail(session, gateway.vault, message_id))
