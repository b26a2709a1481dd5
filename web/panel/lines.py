"""Lines: each modem's line, its details, switching its sending off and on (admins), and a
test message through it (admins and managers).

Everyone may look (the API's ``GET /lines`` needs only ``messages:read``); switching a
line is the API's ``admin`` scope; a test send is an ordinary transactional send whose
consent the sender attests, as the API's ``consent`` field does.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import or_
from werkzeug.wrappers import Response

from gateway.archive import message_detail
from gateway.audit import Actor, audit
from gateway.consent import ConsentChange
from gateway.dashboard import signal_word
from gateway.errors import Forbidden, GatewayError, NotFound
from gateway.lines import (
    TEST_EVIDENCE,
    find_line,
    line_statuses,
    mask_identity,
    set_enabled,
    test_text,
)
from gateway.models import Line, Message
from gateway.outbound import SendRequest, enqueue
from gateway.wake import notify_workers, nudge
from web import gateway_of
from web.panel import blueprint
from web.panel.access import caller, signed_in

MAX_NUMBER = 32  # "+1 (201) 555-0123 ext" and then some: longer is not a number
MAX_TEXT = 480  # three parts of GSM-7 text: a test needs no more


@blueprint.get("/lines")
@signed_in()
def lines() -> str:
    with gateway_of(current_app).sessions() as session:
        statuses, unbound = line_statuses(session)
        return render_template(
            "panel/lines/list.html", statuses=statuses, unbound=unbound, signal_word=signal_word
        )


def _detail(
    line_id: str, *, status: int = 200, error: str | None = None, form: str = "test"
) -> tuple[str, int]:
    """The line's page; after a refused POST, with the error by its form and what was typed."""
    with gateway_of(current_app).sessions() as session:
        statuses, _ = line_statuses(session)
        found = next((s for s in statuses if s.line.id == line_id), None)
        if found is None:
            abort(404)
        page = render_template(
            "panel/lines/detail.html",
            status=found,
            line=found.line,
            imei=mask_identity(found.line.imei),
            imsi=mask_identity(found.line.imsi),
            signal_word=signal_word,
            default_text=test_text(found.line),
            max_number=MAX_NUMBER,
            max_text=MAX_TEXT,
            form=request.form if request.method == "POST" else {},
            error=error,
            error_for=form,
            done=request.args.get("done") if request.method == "GET" else None,
        )
        return page, status


@blueprint.get("/lines/<line_id>")
@signed_in()
def lines_detail(line_id: str) -> tuple[str, int]:
    return _detail(line_id)


@blueprint.post("/lines/<line_id>/enabled")
@signed_in("admin")
def lines_enable(line_id: str) -> Response | tuple[str, int]:
    choice = request.form.get("enabled")
    if choice not in ("yes", "no"):
        return _detail(
            line_id, status=400, error="Choose to enable or to disable the line.", form="enabled"
        )
    gateway = gateway_of(current_app)
    who = caller()
    with gateway.sessions() as session, gateway.writing():
        try:
            set_enabled(session, line_id, choice == "yes", Actor(who.user_id, who.role))
        except NotFound:
            abort(404)
        notify_workers(session)
        session.commit()
    nudge(gateway.config.wake_socket_path)  # an enabled line's modem looks at its queue now
    done = "enabled" if choice == "yes" else "disabled"
    return redirect(url_for("panel.lines_detail", line_id=line_id, done=done), 303)


@blueprint.post("/lines/<line_id>/test")
@signed_in("admin", "manager")
def lines_test_send(line_id: str) -> Response | tuple[str, int]:
    gateway = gateway_of(current_app)
    number = request.form.get("to", "").strip()
    text = request.form.get("text", "")
    if not number:
        return _detail(line_id, status=422, error="Enter the number to send the test message to.")
    if len(number) > MAX_NUMBER:
        return _detail(line_id, status=422, error="That is too long to be a phone number.")
    if len(text) > MAX_TEXT:
        return _detail(
            line_id,
            status=422,
            error=f"The test text is {len(text)} characters long; at most {MAX_TEXT} are allowed.",
        )
    who = caller()
    with gateway.sessions() as session, gateway.writing():
        try:
            line = find_line(session, line_id)
        except NotFound:
            abort(404)
        if not line.enabled:
            session.rollback()
            return _detail(
                line_id,
                status=409,
                error="This line is disabled: enable it before sending a test through it.",
            )
        send = SendRequest(
            to=number,
            body=text if text.strip() else test_text(line),
            line=line.name,
            purpose="transactional",
            consent=ConsentChange("transactional", "opted_in", "on_send", TEST_EVIDENCE),
            role=who.role,
            created_by=who.user_id,
            priority=0,
            hold_for_approval=who.supervised,
        )
        try:
            message = enqueue(session, gateway.vault, gateway.config, send)
        except Forbidden:
            session.rollback()
            abort(403)
        except GatewayError as exc:
            session.rollback()
            # The gateway's texts name the problem, never the number or the body.
            return _detail(line_id, status=422, error=f"Not sent: {exc}.")
        audit(session, Actor(who.user_id, who.role), "line.test_sent", message.id)
        message_id = message.id
        notify_workers(session)
        session.commit()
    nudge(gateway.config.wake_socket_path)
    return redirect(
        url_for("panel.lines_message", line_id=line_id, message_id=message_id, done="sent"), 303
    )


@blueprint.get("/lines/<line_id>/messages/<message_id>")
@signed_in()
def lines_message(line_id: str, message_id: str) -> str:
    """An outbound message bound to the line (a test send): its status and history."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        line = session.get(Line, line_id[:40])
        bound = session.scalar(
            Message.__table__.select()
            .with_only_columns(Message.id)
            .where(
                Message.id == message_id[:64],
                Message.direction == "out",
                or_(Message.line_id == line_id[:40], Message.via_line_id == line_id[:40]),
            )
        )
        if line is None or bound is None:
            abort(404)
        view = message_detail(session, gateway.vault, bound)
        return render_template(
            "panel/lines/message.html",
            line=line,
            message=view,
            sent=request.args.get("done") == "sent",
        )
