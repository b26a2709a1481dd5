"""A conversation's actions as forms: assign, transfer, close, reopen, snooze, add a note.

Each calls the same gateway function as the API's route, after the same checks: the
messages:send scope (auditors: 403), then the conversation in the viewer's sight (404)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway import conversations
from gateway.errors import GatewayError, InvalidInput
from gateway.inbox_access import Viewer, may_see, worked_conversation
from gateway.models import Contact
from web import gateway_of
from web.panel import blueprint
from web.panel.access import signed_in
from web.panel.clock import from_local
from web.panel.inbox_common import (
    commit_and_wake,
    load_inbox_viewer,
    require_sending,
    sentence,
    status_of,
    write_turn,
)
from web.panel.inbox_conversation import conversation_page

Act = Callable[[Session, Viewer], object]


def _act(conversation_id: str, act: Act, done: str) -> Response | tuple[str, int]:
    require_sending()
    conversation_id = conversation_id[:64]
    failed: GatewayError | None = None
    with write_turn() as session:
        viewer = load_inbox_viewer(session)
        try:
            conversation = worked_conversation(session, viewer, conversation_id)
            act(session, viewer)
            still_seen = may_see(viewer, conversation)
            commit_and_wake(session)
        except GatewayError as exc:
            session.rollback()
            failed = exc
    if failed is not None:  # rendered after the write turn is given back
        form = {k: v[:4000] for k, v in request.form.items() if k != "csrf_token"}
        return conversation_page(
            conversation_id, error=sentence(failed), status=status_of(failed), form=form
        )
    if not still_seen:  # handed out of the viewer's sight
        return redirect(url_for("panel.inbox", done=done))
    return redirect(url_for("panel.inbox_conversation", conversation_id=conversation_id, done=done))


def _key_of(session: Session, viewer: Viewer, conversation_id: str) -> int:
    """The contact's data key: a note is about the contact and goes with an erasure."""
    conversation = worked_conversation(session, viewer, conversation_id)
    contact = session.get(Contact, conversation.contact_id)
    assert contact is not None  # a foreign key keeps it
    return contact.key_id


@blueprint.post("/inbox/<conversation_id>/assign")
@signed_in()
def inbox_assign(conversation_id: str) -> Response | tuple[str, int]:
    """``user``: a user id, "me", or empty for the team's queue."""
    chosen = request.form.get("user", "")[:64]

    def act(session: Session, viewer: Viewer) -> object:
        user = viewer.id if chosen == "me" else chosen or None
        return conversations.assign(session, viewer, conversation_id[:64], user)

    return _act(conversation_id, act, "assigned")


@blueprint.post("/inbox/<conversation_id>/transfer")
@signed_in()
def inbox_transfer(conversation_id: str) -> Response | tuple[str, int]:
    """``to``: "team:<id>" or "user:<id>"; ``note`` for whoever takes it."""
    to = request.form.get("to", "")[:80]
    note = request.form.get("note", "")
    vault = gateway_of(current_app).vault

    def act(session: Session, viewer: Viewer) -> object:
        kind, _, target = to.partition(":")
        if kind not in ("team", "user") or not target:
            raise InvalidInput("choose a team or a person to transfer to")
        return conversations.transfer(
            session,
            vault,
            viewer,
            conversation_id[:64],
            to_user=target if kind == "user" else None,
            to_team=target if kind == "team" else None,
            note=note if note.strip() else None,
            key_id=_key_of(session, viewer, conversation_id[:64]),
        )

    return _act(conversation_id, act, "transferred")


@blueprint.post("/inbox/<conversation_id>/close")
@signed_in()
def inbox_close(conversation_id: str) -> Response | tuple[str, int]:
    return _act(
        conversation_id,
        lambda s, v: conversations.close(s, v, conversation_id[:64]),
        "closed",
    )


@blueprint.post("/inbox/<conversation_id>/reopen")
@signed_in()
def inbox_reopen(conversation_id: str) -> Response | tuple[str, int]:
    return _act(
        conversation_id,
        lambda s, v: conversations.reopen(s, v, conversation_id[:64]),
        "reopened",
    )


def snooze_time(value: str) -> datetime:
    """A date and time from the form's picker, in the box's zone (the times the panel shows)."""
    try:
        if not 10 <= len(value) <= 32:
            raise ValueError(value)
        until = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("the snooze time is not a date and time (YYYY-MM-DD HH:MM)") from None
    return from_local(until)


@blueprint.post("/inbox/<conversation_id>/snooze")
@signed_in()
def inbox_snooze(conversation_id: str) -> Response | tuple[str, int]:
    days = gateway_of(current_app).config.inbox.snooze_max_days
    value = request.form.get("until", "")

    def act(session: Session, viewer: Viewer) -> object:
        until = snooze_time(value)
        return conversations.snooze(session, viewer, conversation_id[:64], until, max_days=days)

    return _act(conversation_id, act, "snoozed")


@blueprint.post("/inbox/<conversation_id>/note")
@signed_in()
def inbox_note(conversation_id: str) -> Response | tuple[str, int]:
    vault = gateway_of(current_app).vault
    body = request.form.get("body", "")

    def act(session: Session, viewer: Viewer) -> object:
        return conversations.add_note(
            session,
            vault,
            viewer,
            conversation_id[:64],
            body,
            key_id=_key_of(session, viewer, conversation_id[:64]),
        )

    return _act(conversation_id, act, "noted")
