"""The inbox's other resources: templates, people and teams (read), messages awaiting
approval with the decisions, and the audit log (admins and auditors)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import approvals, templates
from gateway.archive import message_detail
from gateway.audit import ACTIONS, READERS, audit_events
from gateway.models import TeamMember, Template, User
from gateway.teams import list_teams
from web import gateway_of
from web.api import blueprint
from web.api.auth import requires
from web.api.conversations import domain, viewer_in
from web.api.idempotent import idempotent
from web.api.inputs import check_fields, count, json_object, timestamp
from web.api.messages import message_json
from web.problems import Problem


def template_json(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "body": template.body,
        "shared": template.owner_id is None,
        "owner_id": template.owner_id,
        "updated_at": template.updated_at.isoformat(),
    }


@blueprint.get("/templates")
@requires("messages:read")
def get_templates() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer = viewer_in(session)
        return {"data": [template_json(t) for t in templates.visible_templates(session, viewer)]}


_TEMPLATE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "body": (str,),
    "shared": (bool, type(None)),
}


@blueprint.post("/templates")
@requires("messages:send")
def create_template() -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, _TEMPLATE_FIELDS, ("name", "body"))

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        made = domain(
            lambda: templates.create_template(
                session, viewer, data["name"], data["body"], shared=bool(data.get("shared"))
            )
        )
        return template_json(made), 201

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.patch("/templates/<template_id>")
@requires("messages:send")
def update_template(template_id: str) -> dict[str, Any]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(data, {"name": (str, type(None)), "body": (str, type(None))}, ())
    with gateway.sessions() as session, gateway.writing():
        viewer = viewer_in(session)
        changed = domain(
            lambda: templates.update_template(
                session, viewer, template_id, name=data.get("name"), body=data.get("body")
            )
        )
        session.commit()
        return template_json(changed)


@blueprint.delete("/templates/<template_id>")
@requires("messages:send")
def delete_template(template_id: str) -> tuple[str, int]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        viewer = viewer_in(session)
        domain(lambda: templates.delete_template(session, viewer, template_id))
        session.commit()
    return "", 204


def _team_ids(session: Session) -> dict[str, list[str]]:
    teams: dict[str, list[str]] = {}
    for team_id, user_id in session.execute(select(TeamMember.team_id, TeamMember.user_id)):
        teams.setdefault(user_id, []).append(team_id)
    return teams


def user_json(user: User, teams: list[str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": bool(user.disabled),
        "away": bool(user.away),
        "away_until": user.away_until.isoformat() if user.away_until else None,
        "delegate_id": user.delegate_id,
        "supervised": bool(user.supervised),
        "working_hours": user.working_hours,
        "teams": sorted(teams),
    }


@blueprint.get("/users")
@requires("messages:read")
def get_users() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer_in(session)
        teams = _team_ids(session)
        users = session.scalars(select(User).order_by(User.name))
        return {"data": [user_json(u, teams.get(u.id, [])) for u in users]}


@blueprint.get("/teams")
@requires("messages:read")
def get_teams() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer_in(session)
        return {
            "data": [
                {
                    "id": info.team.id,
                    "name": info.team.name,
                    "default_line": info.line,
                    "members": [m.id for m in info.members],
                }
                for info in list_teams(session)
            ]
        }


@blueprint.get("/approvals")
@requires("messages:read")
def get_approvals() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer = viewer_in(session)
        waiting = domain(lambda: approvals.pending(session, viewer))
        return {
            "data": [
                message_json(message_detail(session, gateway.vault, m.id, history=False))
                for m in waiting
            ]
        }


def _decide(message_id: str, approve: bool) -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    if request.get_data(cache=True):
        check_fields(json_object(), {}, ())

    def work(session: Session) -> tuple[dict[str, Any], int]:
        viewer = viewer_in(session)
        if approve:
            message = domain(lambda: approvals.approve(session, gateway.config, viewer, message_id))
        else:
            message = domain(lambda: approvals.reject(session, viewer, message_id))
        session.flush()
        return message_json(message_detail(session, gateway.vault, message.id)), 200

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.post("/messages/<message_id>/approve")
@requires("messages:send")
def approve_message(message_id: str) -> tuple[dict[str, Any], int]:
    return _decide(message_id, True)


@blueprint.post("/messages/<message_id>/reject")
@requires("messages:send")
def reject_message(message_id: str) -> tuple[dict[str, Any], int]:
    return _decide(message_id, False)


@blueprint.get("/audit")
@requires("messages:read")
def get_audit() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    args = request.args
    allowed = {"action", "actor", "subject", "since", "until", "limit", "cursor"}
    if set(args) - allowed:
        raise Problem(422, "unknown_parameter", "unknown query parameter")
    action = args.get("action")
    if action is not None and action not in ACTIONS:
        raise Problem(422, "invalid_action", "action is one of " + ", ".join(ACTIONS))
    limit = count(args.get("limit", "100"), "limit", 1, 1000)
    cursor = args.get("cursor")
    before = None
    if cursor is not None:
        before = count(cursor, "cursor", 1, 10**18 - 1, "invalid_cursor")
    for name in ("actor", "subject"):
        if len(args.get(name, "")) > 64:
            raise Problem(422, "invalid_parameter", f"{name} is at most 64 characters")
    with gateway.sessions() as session:
        viewer = viewer_in(session)
        if viewer.role not in READERS:
            raise Problem(403, "forbidden", "the audit log is for admins and auditors")
        events = audit_events(
            session,
            action=action,
            actor=args.get("actor"),
            subject=args.get("subject"),
            since=timestamp(args.get("since"), "since"),
            until=timestamp(args.get("until"), "until"),
            before_id=before,
            limit=limit + 1,
        )
    page, more = events[:limit], len(events) > limit
    return {
        "data": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "actor_role": e.actor_role,
                "action": e.action,
                "subject": e.subject,
                "detail": e.detail,
            }
            for e in page
        ],
        "next_cursor": str(page[-1].id) if more and page else None,
    }
