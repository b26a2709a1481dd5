"""The audit log: who looked at, handed over, approved, exported or erased what, newest
first, filtered by action, actor, subject and dates; the filtered log exported as CSV.

For the roles that read it through the API (``gateway.audit.READERS``); an export is
itself audited as ``audit.exported``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from gateway.app import Gateway
from gateway.audit import ACTIONS, READERS, Actor, audit_events
from gateway.audit import audit as record_audit
from gateway.models import AuditEvent
from gateway.records import AUDIT_COLUMNS, audit_row, csv_lines
from gateway.users import list_users
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in
from web.panel.contacts_inputs import (
    FormError,
    check_range,
    choice,
    csv_download,
    day,
    field,
    number_cursor,
)

PAGE = 50
EXPORT_LIMIT = 50_000
EXPORT_BATCH = 1000
FILTERS = ("action", "actor", "subject", "since", "until")
# Who acts besides people: the box's own processes.
SYSTEM_ACTORS = ("worker", "cli")


@dataclass(frozen=True)
class Filter:
    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def criteria(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def described(self) -> str:
        parts = [f"{name}={value}" for name, value in self.criteria().items() if value]
        return "; ".join(parts) or "everything"


def read_filter(form: MultiDict[str, str]) -> Filter:
    since = day(form, "since", "From")
    until = day(form, "until", "To", end=True)
    check_range(since, until)
    return Filter(
        action=choice(form, "action", "Action", ACTIONS),
        actor=field(form, "actor", "The actor", 64).strip() or None,
        subject=field(form, "subject", "The subject", 64).strip() or None,
        since=since,
        until=until,
    )


def _page(
    events: list[AuditEvent],
    kept: dict[str, str],
    pager: dict[str, str | None],
    error: str | None,
    status: int,
) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        users = {user.id: user.name for user in list_users(session)}
    page = render_template(
        "panel/audit/list.html",
        events=events,
        kept=kept,
        pager=pager,
        error=error,
        actions=ACTIONS,
        users=users,
        system_actors=SYSTEM_ACTORS,
        export_limit=EXPORT_LIMIT,
    )
    return current_app.make_response((page, status))


@blueprint.get("/audit")
@signed_in(*READERS)
def audit() -> Response:
    gateway = gateway_of(current_app)
    kept = {name: request.args.get(name, "")[:64] for name in FILTERS}
    pager: dict[str, str | None] = {"next_url": None, "prev_url": None}
    events: list[AuditEvent] = []
    try:
        wanted = read_filter(request.args)
        before = number_cursor(request.args.get("cursor"))
        with gateway.sessions() as session:
            events = audit_events(session, **wanted.criteria(), before_id=before, limit=PAGE + 1)
            session.expunge_all()
    except FormError as exc:
        return _page([], kept, pager, exc.text, exc.status)
    args = {name: value for name, value in kept.items() if value}
    if len(events) > PAGE:
        events = events[:PAGE]
        pager["next_url"] = url_for("panel.audit", **args, cursor=events[-1].id)
    if before is not None:
        pager["prev_url"] = url_for("panel.audit", **args)
    return _page(events, kept, pager, None, 200)


def _export_rows(gateway: Gateway, wanted: Filter) -> Iterator[list[object]]:
    """Read while the response streams, after the view returned: the gateway is passed in."""
    before = None
    left = EXPORT_LIMIT
    while left > 0:
        size = min(EXPORT_BATCH, left)
        with gateway.sessions() as session:
            events = audit_events(session, **wanted.criteria(), before_id=before, limit=size)
            rows = [audit_row(event) for event in events]
        yield from rows
        if len(events) < size:
            return
        left -= len(events)
        before = events[-1].id


@blueprint.post("/audit/export")
@signed_in(*READERS)
def audit_export() -> Response:
    gateway = gateway_of(current_app)
    try:
        wanted = read_filter(request.form)
    except FormError as exc:
        kept = {name: request.form.get(name, "")[:64] for name in FILTERS}
        return _page([], kept, {}, exc.text, exc.status)
    held = current()
    with gateway.sessions() as session, gateway.writing():
        detail = f"csv; {wanted.described()}"
        record_audit(session, Actor(held.user_id, held.role), "audit.exported", None, detail[:500])
        session.commit()
    return csv_download(csv_lines(AUDIT_COLUMNS, _export_rows(gateway, wanted)), "audit-log.csv")
