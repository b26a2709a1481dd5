"""Users: the list, adding someone (their one-time password shown once), new passwords,
roles, disabling, and each person's inbox settings.

Administrators manage people; managers may look (the API shows them the same list) but
change nothing, as neither the API nor the command line lets them. The rules (no
administrator locks themselves out, the last one stays) live in ``gateway.user_admin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway.audit import Actor
from gateway.errors import Conflict, GatewayError, NotFound
from gateway.models import Team, TeamMember, User
from gateway.teams import set_user_inbox
from gateway.user_admin import (
    add_person,
    get_user_by_id,
    reset_password,
    set_disabled,
    set_role,
)
from gateway.users import ROLES
from web import gateway_of
from web.panel import blueprint
from web.panel.access import MANAGERS, current, signed_in

PER_PAGE = 50
FIELD_LIMIT = 2048
DONE = {
    "role": "The role is changed; it applies from their next page.",
    "disabled": "The user is disabled and signed out everywhere; their API keys stop working.",
    "enabled": "The user is enabled again.",
    "inbox": "Inbox settings saved.",
    "unchanged": "Nothing to change.",
}


# -- small helpers the other admin pages share -------------------------------------------


@dataclass(frozen=True)
class Paging:
    prev_url: str | None
    next_url: str | None


def page_number(argument: str = "page") -> int:
    """The page asked for (1 when none); a malformed one is a 400, never a 500."""
    raw = request.args.get(argument, "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(400)
    return int(raw)


def paging(endpoint: str, at: int, more: bool, /, argument: str = "page", **values: Any) -> Paging:
    """Links to the pages either side of page ``at`` of ``endpoint`` (``values``: its other
    query arguments)."""

    def link(number: int) -> str:
        return url_for(endpoint, **{**values, argument: number})

    return Paging(link(at - 1) if at > 1 else None, link(at + 1) if more else None)


def field(name: str, limit: int = FIELD_LIMIT) -> str:
    return request.form.get(name, "")[:limit]


def actor() -> Actor:
    return Actor(current().user_id, current().role)


def status_of(exc: GatewayError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 422


def done_message() -> str | None:
    return DONE.get(request.args.get("done", ""))


# -- the list ----------------------------------------------------------------------------


def _teams_of(session: Session, user_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rows = session.execute(
        select(TeamMember.user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id.in_(user_ids))
        .order_by(Team.name)
    )
    for user_id, name in rows:
        found.setdefault(user_id, []).append(name)
    return found


def _list_page(
    error: str | None = None, status: int = 200, form: dict[str, str] | None = None
) -> Response:
    page = page_number()
    with gateway_of(current_app).sessions() as session:
        rows = list(
            session.scalars(
                select(User).order_by(User.name).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)
            )
        )
        more, people = len(rows) > PER_PAGE, rows[:PER_PAGE]
        teams = _teams_of(session, [p.id for p in people])
        total = session.scalar(select(func.count()).select_from(User)) or 0
        html = render_template(
            "panel/people/list.html",
            people=people,
            teams=teams,
            total=total,
            roles=ROLES,
            pages=paging("panel.users", page, more),
            error=error,
            form=form or {},
        )
    return current_app.make_response((html, status))


@blueprint.get("/users")
@signed_in(*MANAGERS)
def users() -> Response:
    return _list_page()


@blueprint.post("/users/add")
@signed_in("admin")
def users_add() -> Response:
    name, role = field("name", 256), field("role", 32)
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            person, password = add_person(session, actor(), name, role)
        except GatewayError as exc:
            session.rollback()
            return _list_page(f"{exc}.", status_of(exc), {"name": name, "role": role})
        session.commit()
        html = render_template(
            "panel/people/password.html", person=person, password=password, added=True
        )
    return current_app.make_response((html, 201))


# -- one person --------------------------------------------------------------------------


def _person_page(
    user_id: str, error: str | None = None, status: int = 200, form: Any = None
) -> Response:
    with gateway_of(current_app).sessions() as session:
        try:
            person = get_user_by_id(session, user_id)
        except NotFound:
            abort(404)
        others = [
            u
            for u in session.scalars(select(User).order_by(User.name))
            if u.id != person.id and u.role != "auditor" and not u.disabled
        ]
        delegate = session.get(User, person.delegate_id) if person.delegate_id else None
        html = render_template(
            "panel/people/person.html",
            person=person,
            teams=_teams_of(session, [person.id]).get(person.id, []),
            delegate=delegate,
            others=others,
            roles=ROLES,
            error=error,
            done=done_message(),
            is_self=person.id == current().user_id,
            form=form,
        )
    return current_app.make_response((html, status))


@blueprint.get("/users/<user_id>")
@signed_in(*MANAGERS)
def users_person(user_id: str) -> Response:
    return _person_page(user_id)


def _change(user_id: str, change: Any, done: str) -> Response:
    """Run ``change(session, person)`` in one write transaction, back to the person's page."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            person = get_user_by_id(session, user_id)
        except NotFound:
            abort(404)
        try:
            changed = change(session, person)
        except GatewayError as exc:
            session.rollback()
            return _person_page(user_id, f"{exc}.", status_of(exc), request.form)
        session.commit()
    return redirect(
        url_for("panel.users_person", user_id=user_id, done=done if changed else "unchanged")
    )


@blueprint.post("/users/<user_id>/role")
@signed_in("admin")
def users_role(user_id: str) -> Response:
    role = field("role", 32)
    return _change(user_id, lambda s, p: set_role(s, actor(), p, role), "role")


@blueprint.post("/users/<user_id>/disable")
@signed_in("admin")
def users_disable(user_id: str) -> Response:
    return _change(user_id, lambda s, p: set_disabled(s, actor(), p, True), "disabled")


@blueprint.post("/users/<user_id>/enable")
@signed_in("admin")
def users_enable(user_id: str) -> Response:
    return _change(user_id, lambda s, p: set_disabled(s, actor(), p, False), "enabled")


@blueprint.post("/users/<user_id>/password")
@signed_in("admin")
def users_password(user_id: str) -> Response:
    two_factor = request.form.get("two_factor") == "1"
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            person = get_user_by_id(session, user_id)
        except NotFound:
            abort(404)
        password = reset_password(session, actor(), person, two_factor=two_factor)
        session.commit()
        html = render_template(
            "panel/people/password.html",
            person=person,
            password=password,
            added=False,
            two_factor=two_factor,
            is_self=person.id == current().user_id,
        )
    return current_app.make_response(html)


class _BadDate(GatewayError):
    code = "invalid_input"


def _away_until(text: str) -> date | None:
    if not text:
        return None
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise _BadDate("the away-until date is written YYYY-MM-DD") from None


@blueprint.post("/users/<user_id>/inbox")
@signed_in("admin")
def users_inbox(user_id: str) -> Response:
    def change(session: Session, person: User) -> bool:
        away = request.form.get("away") == "1"
        own_signature = request.form.get("signature_mode") == "own"
        set_user_inbox(
            session,
            person.name,
            display_name=field("display_name", 256) or None,
            signature=field("signature", 1024) if own_signature else None,
            working_hours=field("working_hours", 512),
            away=away,
            away_until=_away_until(field("away_until", 32)) if away else None,
            delegate=field("delegate", 256),
            supervised=request.form.get("supervised") == "1",
        )
        return True

    return _change(user_id, change, "inbox")


# Teams and routing are pages of this area too (they import the helpers above).
from web.panel import teams_page  # noqa: E402, F401
