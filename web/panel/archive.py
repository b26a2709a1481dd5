"""The archive: every message in and out, searched by contact, line, sender, direction,
status and dates, each with its status history; the search exported as CSV.

For administrators, managers and auditors (an agent works from the inbox). Exporting is
audited as ``messages.exported``, with the filters but never the number searched for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from gateway.app import Gateway
from gateway.archive import MessageView, list_messages, message_detail
from gateway.audit import Actor, audit
from gateway.errors import InvalidNumber, NotFound
from gateway.models import Line
from gateway.numbers import to_e164
from gateway.records import MESSAGE_COLUMNS, contacts_of, csv_lines, message_row
from gateway.users import list_users
from web import gateway_of
from web.api.messages import STATUSES
from web.panel import blueprint
from web.panel.access import current, signed_in
from web.panel.contacts_inputs import (
    FormError,
    check_range,
    choice,
    csv_download,
    day,
    field,
    read_time_cursor,
    time_cursor,
)

READERS = ("admin", "manager", "auditor")
PAGE = 50
EXPORT_LIMIT = 10_000
EXPORT_BATCH = 500
FILTERS = ("number", "line", "user", "direction", "status", "since", "until")


@dataclass(frozen=True)
class Search:
    number: str | None = None  # E.164
    line: str | None = None
    user: str | None = None
    direction: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def criteria(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "line": self.line,
            "created_by": self.user,
            "direction": self.direction,
            "status": self.status,
            "since": self.since,
            "until": self.until,
        }

    def described(self) -> str:
        """For the audit log: what was searched, the number only as "a number"."""
        parts = [f"{name}={value}" for name, value in self.criteria().items() if value]
        parts = ["number=(given)" if p.startswith("number=") else p for p in parts]
        return "; ".join(parts) or "everything"


def read_search(form: MultiDict[str, str]) -> Search:
    number = field(form, "number", "The number", 64).strip()
    e164 = None
    if number:
        try:
            e164 = to_e164(number, gateway_of(current_app).config.numbers.default_region)
        except InvalidNumber:
            raise FormError("The number is not a phone number we can read.") from None
    since = day(form, "since", "From")
    until = day(form, "until", "To", end=True)
    check_range(since, until)
    return Search(
        number=e164,
        line=field(form, "line", "The line", 64) or None,
        user=field(form, "user", "The user", 64) or None,
        direction=choice(form, "direction", "Direction", ("in", "out")),
        status=choice(form, "status", "Status", STATUSES),
        since=since,
        until=until,
    )


def _choices() -> tuple[list[str], dict[str, str]]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        lines = list(session.scalars(select(Line.name).order_by(Line.name)))
        users = {user.id: user.name for user in list_users(session)}
    return lines, users


@blueprint.get("/archive")
@signed_in(*READERS)
def archive() -> Response:
    gateway = gateway_of(current_app)
    kept = {name: request.args.get(name, "")[:64] for name in FILTERS}
    error, status, next_url = None, 200, None
    views: list[MessageView] = []
    contacts: dict[str, str] = {}
    try:
        search = read_search(request.args)
        cursor = request.args.get("cursor")
        before = read_time_cursor(cursor) if cursor else None
        with gateway.sessions() as session:
            views = list_messages(
                session, gateway.vault, **search.criteria(), before=before, limit=PAGE + 1
            )
            contacts = contacts_of(session, [view.id for view in views])
        if len(views) > PAGE:
            views = views[:PAGE]
            last = views[-1]
            args = {name: value for name, value in kept.items() if value}
            args["cursor"] = time_cursor(last.created_at, last.id)
            next_url = url_for("panel.archive", **args)
    except FormError as exc:
        error, status = exc.text, exc.status
    first_url = None
    if request.args.get("cursor"):
        first_url = url_for("panel.archive", **{k: v for k, v in kept.items() if v})
    pager = {"next_url": next_url, "prev_url": first_url}
    return _list_page(views, kept, pager, error, status, contacts)


def _list_page(
    views: list[MessageView],
    kept: dict[str, str],
    pager: dict[str, str | None],
    error: str | None,
    status: int,
    contacts: dict[str, str] | None = None,
) -> Response:
    lines, users = _choices()
    page = render_template(
        "panel/archive/list.html",
        views=views,
        contacts=contacts or {},
        kept=kept,
        error=error,
        pager=pager,
        lines=lines,
        users=users,
        statuses=STATUSES,
        export_limit=EXPORT_LIMIT,
    )
    return current_app.make_response((page, status))


def _export_lines(gateway: Gateway, search: Search) -> Iterator[list[object]]:
    """The search's messages newest first, a batch per short read, up to EXPORT_LIMIT (read
    while the response streams, after the view returned: the gateway is passed in)."""
    before = None
    left = EXPORT_LIMIT
    while left > 0:
        with gateway.sessions() as session:
            views = list_messages(
                session,
                gateway.vault,
                **search.criteria(),
                before=before,
                limit=min(EXPORT_BATCH, left),
            )
        for view in views:
            yield message_row(view)
        if len(views) < min(EXPORT_BATCH, left):
            return
        left -= len(views)
        before = (views[-1].created_at, views[-1].id)


@blueprint.post("/archive/export")
@signed_in(*READERS)
def archive_export() -> Response:
    gateway = gateway_of(current_app)
    try:
        search = read_search(request.form)
    except FormError as exc:
        kept = {name: request.form.get(name, "")[:64] for name in FILTERS}
        return _list_page([], kept, {}, exc.text, exc.status)
    held = current()
    with gateway.sessions() as session, gateway.writing():
        detail = f"csv; {search.described()}"
        audit(session, Actor(held.user_id, held.role), "messages.exported", None, detail[:500])
        session.commit()
    return csv_download(csv_lines(MESSAGE_COLUMNS, _export_lines(gateway, search)), "messages.csv")


@blueprint.get("/archive/<message_id>")
@signed_in(*READERS)
def archive_message(message_id: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            view = message_detail(session, gateway.vault, message_id[:64])
        except NotFound:
            abort(404)
        contact_id = contacts_of(session, [view.id]).get(view.id)
        users = {user.id: user.name for user in list_users(session)}
    page = render_template(
        "panel/archive/message.html", view=view, contact_id=contact_id, users=users
    )
    return current_app.make_response(page)
