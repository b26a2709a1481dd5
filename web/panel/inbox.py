"""Inbox: the conversation lists (All / Mine / Unassigned / a team's queue), read in pages,
and starting a conversation by texting first. The conversation page, its actions, the
approvals and the live-update stream are in the ``inbox_*`` modules imported below."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from gateway import conversations, replies
from gateway.contacts import find_contact
from gateway.errors import GatewayError, InvalidInput, InvalidNumber
from gateway.inbox_access import Viewer
from gateway.inbox_rows import last_messages, people_names, team_names
from gateway.inbox_views import NONE, Filters, list_conversations
from gateway.models import Line
from gateway.numbers import to_e164
from web import gateway_of
from web.panel import blueprint
from web.panel.access import signed_in
from web.panel.inbox_common import (
    commit_and_wake,
    cursor_of,
    done_text,
    load_inbox_viewer,
    parse_cursor,
    require_sending,
    sentence,
    status_of,
    write_turn,
)

PAGE_SIZE = 50
STATUS_CHOICES = ("open", "snoozed", "closed", "any")
MAX_SEARCH = 40
EMPTY = {
    "all": "No {status}conversations you can see.",
    "mine": "No {status}conversations are assigned to you.",
    "unassigned": "No {status}conversations are waiting for someone to take them.",
    "team": "No {status}conversations in this team's queue.",
}


def _tabs(viewer: Viewer, teams: dict[str, str]) -> list[tuple[str, str]]:
    tabs = [("all", "All"), ("mine", "Mine"), ("unassigned", "Unassigned")]
    for team_id, name in teams.items():
        if viewer.sees_all or team_id in viewer.team_ids:
            tabs.append((f"team:{team_id}", name))
    return tabs


def _filters(viewer: Viewer, view: str, status: str, contact_id: str | None) -> Filters:
    return Filters(
        status=None if status == "any" else status,
        assignee=viewer.id if view == "mine" else NONE if view == "unassigned" else None,
        team=view.removeprefix("team:") if view.startswith("team:") else None,
        contact_id=contact_id,
    )


def list_page(
    *, start: dict[str, str] | None = None, start_error: str | None = None, status: int = 200
) -> tuple[str, int]:
    gateway = gateway_of(current_app)
    args = request.args
    view = args.get("view", "all")
    chosen = args.get("status", "open")
    search = args.get("q", "").strip()
    cursor = args.get("cursor", "")
    error = None
    with gateway.sessions() as session:
        viewer = load_inbox_viewer(session)
        teams = team_names(session)
        tabs = _tabs(viewer, teams)
        if view not in dict(tabs):
            abort(404)  # a team's queue the viewer does not see does not exist for them
        if chosen not in STATUS_CHOICES:
            error, chosen = "Choose a status: open, snoozed, closed or any.", "open"
        before = parse_cursor(cursor) if cursor else None
        if cursor and before is None:
            error = "That page link is not one the inbox gave out; showing the first page."
        rows: list[Any] = []
        contact_id = None
        if search:
            try:
                if len(search) > MAX_SEARCH:
                    raise InvalidNumber("a phone number is at most 40 characters")
                e164 = to_e164(search, gateway.config.numbers.default_region)
                found = find_contact(session, gateway.vault, e164)
                contact_id = found.id if found else None
            except GatewayError:
                error = "Search by phone number, e.g. +1 555 010 0123."
                search = ""
        if not (search and contact_id is None):
            rows = list_conversations(
                session,
                gateway.vault,
                viewer,
                _filters(viewer, view, chosen, contact_id),
                before=before,
                limit=PAGE_SIZE + 1,
            )
        page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
        previews = last_messages(session, gateway.vault, page)
        people = people_names(session)
        lines = list(session.scalars(select(Line.name).order_by(Line.name)))
    keep = {"view": view, "status": chosen, "q": search or None}
    pager = {
        "next_url": url_for("panel.inbox", **keep, cursor=cursor_of(page[-1])) if more else None,
        "prev_url": url_for("panel.inbox", **keep) if before else None,
    }
    words = "" if chosen == "any" else f"{chosen} "
    empty = EMPTY[view.split(":")[0]].format(status=words)
    if search:
        empty = f"No {words}conversations with that number in this list."
    context = {
        "tabs": tabs,
        "view": view,
        "chosen": chosen,
        "statuses": STATUS_CHOICES,
        "search": search,
        "rows": page,
        "previews": previews,
        "people": people,
        "teams": teams,
        "paging": pager,
        "empty_text": empty,
        "problem": error,
        "lines": lines,
        "start": start or {},
        "start_error": start_error,
        "done": done_text(args.get("done")),
        "fragment_url": url_for("panel.inbox", **keep, cursor=cursor or None, fragment=1),
    }
    if error and status == 200:
        status = 422
    name = "_list.html" if args.get("fragment") else "list.html"
    return render_template(f"panel/inbox/{name}", **context), status


@blueprint.get("/inbox")
@signed_in()
def inbox() -> tuple[str, int]:
    return list_page()


@blueprint.post("/inbox/new")
@signed_in()
def inbox_start() -> Response | tuple[str, int]:
    """Text a customer first: the conversation on that line, and its first message."""
    require_sending()
    gateway = gateway_of(current_app)
    form = {k: request.form.get(k, "") for k in ("number", "line", "body")}
    failed: GatewayError | None = None
    with write_turn() as session:
        viewer = load_inbox_viewer(session)
        try:
            if not form["number"].strip() or len(form["number"]) > MAX_SEARCH:
                raise InvalidNumber("enter the customer's phone number")
            if not form["line"]:
                raise InvalidInput("choose the line to text from")
            e164 = to_e164(form["number"], gateway.config.numbers.default_region)
            conversation = conversations.start_conversation(
                session, gateway.vault, viewer, e164, form["line"][:64]
            )
            session.flush()
            replies.reply(
                session, gateway.vault, gateway.config, viewer, conversation.id, form["body"]
            )
            conversation_id = conversation.id
            commit_and_wake(session)
        except GatewayError as exc:
            session.rollback()
            failed = exc
    if failed is not None:  # rendered after the write turn is given back
        return list_page(start=form, start_error=sentence(failed), status=status_of(failed))
    return redirect(
        url_for("panel.inbox_conversation", conversation_id=conversation_id, done="started")
    )


# The rest of the inbox registers its views on the blueprint.
from web.panel import (  # noqa: E402
    inbox_actions,  # noqa: F401
    inbox_approvals,  # noqa: F401
    inbox_conversation,  # noqa: F401
    inbox_events,  # noqa: F401
)
