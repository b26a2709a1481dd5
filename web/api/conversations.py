"""The team inbox over the API: conversations (list, show, reply, assign, transfer, close,
reopen, snooze, read, notes). Every route finds the conversation through the caller's view
of the inbox, so one they may not see answers 404."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy.orm import Session

from gateway import conversations, replies
from gateway.archive import message_detail
from gateway.errors import GatewayError
from gateway.inbox_access import Viewer, load_viewer, may_see
from gateway.inbox_views import (
    ConversationView,
    Filters,
    conversation_detail,
    list_conversations,
    summary,
)
from gateway.models import Contact, Conversation
from gateway.numbers import to_e164
from web import gateway_of
from web.api import blueprint
from web.api.auth import caller, requires
from web.api.idempotent import idempotent
from web.api.inputs import check_fields, count, cursor_time, json_object, timestamp
from web.api.messages import message_json
from web.problems import Problem, from_gateway_error

T = TypeVar("T")
MAX_LIMIT = 200


def viewer_in(session: Session) -> Viewer:
    try:
        return load_viewer(session, caller().user_id)
    except GatewayError as exc:
        raise from_gateway_error(exc) from None


def domain(call: Callable[[], T]) -> T:
    """Run a gateway call, its errors as problems."""
    try:
        return call()
    except GatewayError as exc:
        raise from_gateway_error(exc) from None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def conversation_json(view: ConversationView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": view.id,
        "status": view.status,
        "contact": {"id": view.contact_id, "number": view.number, "name": view.name},
        "line": view.line,
        "assignee_id": view.assignee_id,
        "team_id": view.team_id,
        "unread": view.unread,
        "last_activity_at": _time(view.last_activity_at),
        "last_inbound_at": _time(view.last_inbound_at),
        "snoozed_until": _time(view.snoozed_until),
        "created_at": _time(view.created_at),
    }
    return data


def _cursor(view: ConversationView) -> str:
    raw = f"{view.last_activity_at.isoformat()}|{view.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(value: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, conversation_id = raw.split("|")
        when = cursor_time(at)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        when = None
    if when is None:
        raise Problem(422, "invalid_cursor", "cursor is not one this API gave out")
    return when, conversation_id


def _limit(default: str = "50") -> int:
    return count(request.args.get("limit", default), "limit", 1, MAX_LIMIT)


def _filters(viewer: Viewer) -> Filters:
    args = request.args
    allowed = {"status", "assignee", "team", "line", "unread", "contact", "limit", "cursor"}
    if set(args) - allowed:
        raise Problem(422, "unknown_parameter", "unknown query parameter")
    status = args.get("status")
    if status is not None and status not in conversations.STATUSES:
        raise Problem(422, "invalid_status", "status is open, snoozed or closed")
    unread = args.get("unread")
    if unread is not None and unread not in ("true", "false"):
        raise Problem(422, "invalid_unread", "unread is true or false")
    assignee = args.get("assignee")
    if assignee == "me":
        assignee = viewer.id
    for name in ("assignee", "team", "line", "contact"):
        if len(args.get(name, "")) > 64:
            raise Problem(422, "invalid_parameter", f"{name} is at most 64 characters")
    return Filters(
        status=status,
        assignee=assignee,
        team=args.get("team"),
        line=args.get("line"),
        unread=None if unread is None else unread == "true",
        contact_id=args.get("contact"),
    )


@blueprint.get("/conversations")
@requires("messages:read")
def get_conversations() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    limit = _limit()
    cursor = request.args.get("cursor")
    with gateway.sessions() as session:
        viewer = viewer_in(session)
        views = list_conversations(
            session,
            gateway.vault,
            viewer,
            _filters(viewer),
            before=_parse_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
    page, more = views[:limit], len(views) > limit
    return {
        "data": [conversation_json(v) for v in page],
        "next_cursor": _cursor(page[-1]) if more and page else None,
    }


@blueprint.post("/conversations")
@requires("messages:send")
def start_conversation() -> tuple[dict[str, Any], int]:
    """Text a customer first: the conversation with that number on that line."""
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"to": (str,), "line": (str,)}, ("to", "line"))

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        e164 = domain(lambda: to_e164(data["to"], gateway.config.numbers.default_region))
        conversation = domain(
            lambda: conversations.start_conversation(
                session, gateway.vault, viewer, e164, data["line"]
            )
        )
        session.flush()
        return conversation_json(summary(session, gateway.vault, conversation)), 201

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.get("/conversations/<conversation_id>")
@requires("messages:read")
def get_conversation(conversation_id: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    if set(request.args) - {"limit"}:
        raise Problem(422, "unknown_parameter", "unknown query parameter")
    limit = _limit("200")
    with gateway.sessions() as session, gateway.writing():
        viewer = viewer_in(session)
        view = domain(
            lambda: conversation_detail(
                session, gateway.vault, viewer, conversation_id, limit=limit
            )
        )
        session.commit()  # the audit row of a supervisor's look
    data = conversation_json(view)
    data["messages"] = [message_json(m) for m in view.messages]
    data["notes"] = [
        {"id": n.id, "author_id": n.author_id, "body": n.body, "created_at": _time(n.created_at)}
        for n in view.notes
    ]
    return data


def _act(
    conversation_id: str,
    fields: dict[str, tuple[type, ...]],
    required: tuple[str, ...],
    act: Callable[[Session, Viewer, dict[str, Any]], Conversation],
) -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object() if request.get_data(cache=True) else {}
    check_fields(data, fields, required)

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        conversation = domain(lambda: act(session, viewer, data))
        session.flush()
        if not may_see(viewer, conversation):
            return {"id": conversation.id}, 200  # handed out of the caller's sight
        return conversation_json(summary(session, gateway.vault, conversation)), 200

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.post("/conversations/<conversation_id>/assign")
@requires("messages:send")
def assign_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    return _act(
        conversation_id,
        {"user": (str, type(None))},
        (),
        lambda s, v, d: conversations.assign(s, v, conversation_id[:64], d.get("user")),
    )


def _key_of(session: Session, conversation_id: str) -> int:
    conversation = session.get(Conversation, conversation_id[:64])
    contact = session.get(Contact, conversation.contact_id) if conversation else None
    if contact is None:
        raise Problem(404, "not_found", "no conversation with that id")
    return contact.key_id


@blueprint.post("/conversations/<conversation_id>/transfer")
@requires("messages:send")
def transfer_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    vault = gateway_of(current_app).vault
    return _act(
        conversation_id,
        {"user": (str, type(None)), "team": (str, type(None)), "note": (str, type(None))},
        (),
        lambda s, v, d: conversations.transfer(
            s,
            vault,
            v,
            conversation_id[:64],
            to_user=d.get("user"),
            to_team=d.get("team"),
            note=d.get("note"),
            key_id=_key_of(s, conversation_id),
        ),
    )


@blueprint.post("/conversations/<conversation_id>/close")
@requires("messages:send")
def close_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    return _act(
        conversation_id, {}, (), lambda s, v, d: conversations.close(s, v, conversation_id[:64])
    )


@blueprint.post("/conversations/<conversation_id>/reopen")
@requires("messages:send")
def reopen_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    return _act(
        conversation_id, {}, (), lambda s, v, d: conversations.reopen(s, v, conversation_id[:64])
    )


@blueprint.post("/conversations/<conversation_id>/read")
@requires("messages:read")
def read_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    return _act(
        conversation_id, {}, (), lambda s, v, d: conversations.mark_read(s, v, conversation_id[:64])
    )


@blueprint.post("/conversations/<conversation_id>/snooze")
@requires("messages:send")
def snooze_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    days = gateway_of(current_app).config.inbox.snooze_max_days

    def act(session: Session, viewer: Viewer, data: dict[str, Any]) -> Conversation:
        until = timestamp(data["until"], "until")
        assert until is not None
        return conversations.snooze(session, viewer, conversation_id[:64], until, max_days=days)

    return _act(conversation_id, {"until": (str,)}, ("until",), act)


@blueprint.post("/conversations/<conversation_id>/notes")
@requires("messages:send")
def add_note(conversation_id: str) -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"body": (str,)}, ("body",))

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        note = domain(
            lambda: conversations.add_note(
                session,
                gateway.vault,
                viewer,
                conversation_id[:64],
                data["body"],
                key_id=_key_of(session, conversation_id),
            )
        )
        body = {
            "id": note.id,
            "author_id": note.author_id,
            "body": data["body"],
            "created_at": _time(note.created_at),
        }
        return body, 201

    with gateway.sessions() as session:
        return idempotent(session, work)


_REPLY_FIELDS: dict[str, tuple[type, ...]] = {
    "body": (str, type(None)),
    "template": (str, type(None)),
    "sign": (bool, type(None)),
    "override_sensitive": (bool, type(None)),
}


@blueprint.post("/conversations/<conversation_id>/messages")
@requires("messages:send")
def reply_to_conversation(conversation_id: str) -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, _REPLY_FIELDS, ())
    if data.get("body") is None and data.get("template") is None:
        raise Problem(422, "missing_field", "body or template is required")

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        message = domain(
            lambda: replies.reply(
                session,
                gateway.vault,
                gateway.config,
                viewer,
                conversation_id[:64],
                data.get("body"),
                template_id=data.get("template"),
                sign=data.get("sign") is not False,
                override_sensitive=bool(data.get("override_sensitive")),
            )
        )
        session.flush()
        view = message_detail(session, gateway.vault, message.id, history=False)
        return message_json(view), 202

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.post("/conversations/<conversation_id>/preview")
@requires("messages:read")
def preview_reply(conversation_id: str) -> dict[str, Any]:
    """The text a reply would send (template filled, signature added), sending nothing."""
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {k: v for k, v in _REPLY_FIELDS.items() if k != "override_sensitive"}, ())
    with gateway.sessions() as session:
        viewer = viewer_in(session)
        text = domain(
            lambda: replies.compose(
                session,
                gateway.vault,
                gateway.config,
                viewer,
                conversation_id[:64],
                data.get("body"),
                template_id=data.get("template"),
                sign=data.get("sign") is not False,
            )
        )
    return {"body": text}
