"""One conversation: the thread with its internal notes, the contact's consent, and the
reply box (template, signature, parts count). Opening it marks it read, as the API's read
endpoint does; a manager's, admin's or auditor's look is audited by ``conversation_detail``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway import conversations, replies
from gateway.consent import load_state
from gateway.errors import GatewayError, InvalidInput, NotFound
from gateway.inbox_access import worked_conversation
from gateway.inbox_rows import assignable, people_names, team_names
from gateway.inbox_views import ConversationView, conversation_detail
from gateway.models import Contact
from gateway.reply_preview import ReplyPreview, preview_reply, reply_refused, reply_signature
from gateway.templates import MAX_BODY, get_template, visible_templates
from web import gateway_of
from web.panel import blueprint
from web.panel.access import signed_in
from web.panel.inbox_common import (
    commit_and_wake,
    done_text,
    load_inbox_viewer,
    require_sending,
    sentence,
    status_of,
    write_turn,
)


@dataclass
class Draft:
    """The reply form as it was submitted, so nothing typed is lost to an error."""

    body: str = ""
    template: str = ""
    sign: bool = True
    override: bool = False
    preview: ReplyPreview | None = None


def thread_items(view: ConversationView) -> list[tuple[str, Any]]:
    """Messages and internal notes in one timeline, oldest first."""
    items = [("message", m.created_at, m) for m in view.messages]
    items += [("note", n.created_at, n) for n in view.notes]
    items.sort(key=lambda item: item[1])
    return [(kind, item) for kind, _, item in items]


def conversation_page(
    conversation_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    draft: Draft | None = None,
    form: dict[str, str] | None = None,
    fragment: bool = False,
) -> tuple[str, int]:
    gateway = gateway_of(current_app)
    with write_turn() as session:
        viewer = load_inbox_viewer(session)
        try:
            view = conversation_detail(
                session, gateway.vault, viewer, conversation_id, audited=not fragment
            )
        except NotFound:
            abort(404)
        conversations.mark_read(session, viewer, view.id)
        works = not viewer.read_only
        contact = session.get(Contact, view.contact_id)
        consent = load_state(session, view.contact_id)
        erased = contact is None or contact.erased_at is not None
        context: dict[str, Any] = {
            "conversation": view,
            "items": thread_items(view),
            "people": people_names(session),
            "teams": team_names(session),
            "works": works,
            "supervises": viewer.supervises,
            "me": viewer.id,
            "consent": consent,
            "refused": reply_refused(consent, gateway.config, erased=erased),
            "signature": reply_signature(session, gateway.config, viewer, view.id) if works else "",
            "templates": visible_templates(session, viewer) if works else [],
            "assignees": assignable(session) if works else [],
        }
        session.commit()  # the audit row of a supervisor's look, the read mark
    context.update(
        problem=error,
        draft=draft or Draft(),
        form=form or {},
        max_body=MAX_BODY,
        snooze_days=gateway.config.inbox.snooze_max_days,
        done=done_text(request.args.get("done")) if not error else None,
        fragment_url=url_for(
            "panel.inbox_conversation", conversation_id=view.id, fragment="thread"
        ),
    )
    name = "_thread.html" if fragment else "conversation.html"
    return render_template(f"panel/inbox/{name}", **context), status


@blueprint.get("/inbox/<conversation_id>")
@signed_in()
def inbox_conversation(conversation_id: str) -> tuple[str, int]:
    fragment = request.args.get("fragment") == "thread"
    return conversation_page(conversation_id[:64], fragment=fragment)


@blueprint.post("/inbox/<conversation_id>/reply")
@signed_in()
def inbox_reply(conversation_id: str) -> Response | tuple[str, int]:
    """Send, or (``action``) fill in a template or preview the text, sending nothing."""
    require_sending()
    conversation_id = conversation_id[:64]
    gateway = gateway_of(current_app)
    form = request.form
    draft = Draft(
        body=form.get("body", ""),
        template=form.get("template", "")[:64],
        sign=form.get("sign") == "1",
        override=form.get("override_sensitive") == "1",
    )
    action = form.get("action", "send")
    error: str | None = None
    status, held, sent = 200, False, False
    with write_turn() as session:
        viewer = load_inbox_viewer(session)
        try:
            worked_conversation(session, viewer, conversation_id)  # 404 / 403 first
            if action == "template":
                if not draft.template:
                    raise InvalidInput("choose a template first")
                draft.body = get_template(session, viewer, draft.template).body
            if action in ("template", "preview"):
                draft.preview = preview_reply(
                    session,
                    gateway.vault,
                    gateway.config,
                    viewer,
                    conversation_id,
                    draft.body,
                    sign=draft.sign,
                )
            else:
                message = replies.reply(
                    session,
                    gateway.vault,
                    gateway.config,
                    viewer,
                    conversation_id,
                    draft.body,
                    sign=draft.sign,
                    override_sensitive=draft.override,
                )
                held = message.status == "pending_approval"
                commit_and_wake(session)
                sent = True
        except GatewayError as exc:
            error, status = sentence(exc), status_of(exc)
        if error or action in ("template", "preview"):
            session.rollback()
    if not sent:  # rendered after the write turn is given back
        return conversation_page(conversation_id, error=error, status=status, draft=draft)
    done = "held" if held else "replied"
    return redirect(url_for("panel.inbox_conversation", conversation_id=conversation_id, done=done))
