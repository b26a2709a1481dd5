"""Messages awaiting approval (a supervised person wrote them), for managers and admins to
approve into the queue or reject, as ``/api/v1/approvals`` and its decisions."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway import approvals
from gateway.archive import message_detail
from gateway.conversations import find_conversation
from gateway.errors import GatewayError
from gateway.inbox_rows import people_names
from web import gateway_of
from web.panel import blueprint
from web.panel.access import MANAGERS, signed_in
from web.panel.inbox_common import (
    commit_and_wake,
    done_text,
    load_inbox_viewer,
    sentence,
    status_of,
    write_turn,
)


def approvals_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer = load_inbox_viewer(session)
        waiting: list[dict[str, Any]] = []
        for message in approvals.pending(session, viewer):
            line_id = message.line_id or message.via_line_id
            conversation = find_conversation(session, message.contact_id, line_id or "")
            waiting.append(
                {
                    "message": message_detail(session, gateway.vault, message.id, history=False),
                    "conversation_id": conversation.id if conversation else None,
                }
            )
        people = people_names(session)
    page = render_template(
        "panel/inbox/approvals.html",
        waiting=waiting,
        people=people,
        problem=error,
        done=done_text(request.args.get("done")) if not error else None,
    )
    return page, status


@blueprint.get("/inbox/approvals")
@signed_in(*MANAGERS)
def inbox_approvals() -> tuple[str, int]:
    return approvals_page()


def _decide(message_id: str, approve: bool) -> Response | tuple[str, int]:
    gateway = gateway_of(current_app)
    failed: GatewayError | None = None
    with write_turn() as session:
        viewer = load_inbox_viewer(session)
        try:
            if approve:
                approvals.approve(session, gateway.config, viewer, message_id[:64])
            else:
                approvals.reject(session, viewer, message_id[:64])
            commit_and_wake(session)
        except GatewayError as exc:
            session.rollback()
            failed = exc
    if failed is not None:
        if failed.code == "not_found":
            abort(404)
        return approvals_page(sentence(failed), status_of(failed))
    return redirect(url_for("panel.inbox_approvals", done="approved" if approve else "rejected"))


@blueprint.post("/inbox/approvals/<message_id>/approve")
@signed_in(*MANAGERS)
def inbox_approvals_approve(message_id: str) -> Response | tuple[str, int]:
    return _decide(message_id, True)


@blueprint.post("/inbox/approvals/<message_id>/reject")
@signed_in(*MANAGERS)
def inbox_approvals_reject(message_id: str) -> Response | tuple[str, int]:
    return _decide(message_id, False)
