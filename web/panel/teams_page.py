"""Teams and routing: teams with their members and default line, and the routing rules
that send new conversations to a team (as ``smsgw team`` and ``smsgw route`` do).

Managers see them; administrators change them, as only the command line (the box's
administrator) can today: the API has no way for a manager to.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from gateway import teams
from gateway.errors import GatewayError
from gateway.models import Line, Team, User
from web import gateway_of
from web.panel import blueprint
from web.panel.access import MANAGERS, signed_in
from web.panel.people import field, page_number, paging, status_of

PER_PAGE = 25
DONE = {
    "team": "Team added.",
    "member": "Member added.",
    "left": "Member removed.",
    "line": "Default line saved.",
    "rule": "Routing rule added.",
    "unrule": "Routing rule removed.",
}


def _page(error: str | None = None, status: int = 200, form: object = None) -> Response:
    team_page, rule_page = page_number("page"), page_number("rules")
    with gateway_of(current_app).sessions() as session:
        every = teams.list_teams(session)
        start = (team_page - 1) * PER_PAGE
        shown = every[start : start + PER_PAGE]
        rules = teams.list_rules(session)
        rule_start = (rule_page - 1) * PER_PAGE
        rules_shown = rules[rule_start : rule_start + PER_PAGE]
        lines = {line.id: line.name for line in session.scalars(select(Line).order_by(Line.name))}
        team_names = {team.id: team.name for team in session.scalars(select(Team))}
        people = [
            u
            for u in session.scalars(select(User).order_by(User.name))
            if u.role != "auditor" and not u.disabled
        ]
        html = render_template(
            "panel/people/teams.html",
            teams=shown,
            rules=rules_shown,
            lines=lines,
            team_names=team_names,
            people=people,
            pages=paging(
                "panel.users_teams", team_page, len(every) > start + PER_PAGE, rules=rule_page
            ),
            rule_pages=paging(
                "panel.users_teams",
                rule_page,
                len(rules) > rule_start + PER_PAGE,
                argument="rules",
                page=team_page,
            ),
            error=error,
            done=DONE.get(request.args.get("done", "")),
            form=form or {},
        )
    return current_app.make_response((html, status))


@blueprint.get("/users/teams")
@signed_in(*MANAGERS)
def users_teams() -> Response:
    return _page()


def _write(change: Callable[[Session], object], done: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            change(session)
        except GatewayError as exc:
            session.rollback()
            return _page(f"{exc}.", status_of(exc), request.form)
        session.commit()
    return redirect(url_for("panel.users_teams", done=done))


def _team_id(team_id: str) -> str:
    """The team's name for ``gateway.teams`` (which finds teams by name); 404 if none."""
    with gateway_of(current_app).sessions() as session:
        team = session.get(Team, team_id[:40])
        if team is None:
            abort(404)
        return team.name


@blueprint.post("/users/teams/add")
@signed_in("admin")
def users_team_add() -> Response:
    name, line = field("name", 256), field("line", 256)
    return _write(lambda s: teams.add_team(s, name, line or None), "team")


@blueprint.post("/users/teams/<team_id>/members")
@signed_in("admin")
def users_team_member_add(team_id: str) -> Response:
    team, user = _team_id(team_id), field("user", 256)
    if not user:
        return _page("Choose a person to add.", 422)
    return _write(lambda s: teams.add_member(s, team, user), "member")


@blueprint.post("/users/teams/<team_id>/members/<user_id>/remove")
@signed_in("admin")
def users_team_member_remove(team_id: str, user_id: str) -> Response:
    team = _team_id(team_id)
    with gateway_of(current_app).sessions() as session:
        person = session.get(User, user_id[:40])
        if person is None:
            abort(404)
        name = person.name
    return _write(lambda s: teams.remove_member(s, team, name), "left")


@blueprint.post("/users/teams/<team_id>/line")
@signed_in("admin")
def users_team_line(team_id: str) -> Response:
    team, line = _team_id(team_id), field("line", 256)
    return _write(lambda s: teams.set_team_line(s, team, line or None), "line")


@blueprint.post("/users/rules/add")
@signed_in("admin")
def users_rule_add() -> Response:
    team, keyword, line = field("team", 64), field("keyword", 256), field("line", 256)
    if not team:
        return _page("Choose the team the rule sends conversations to.", 422)
    return _write(
        lambda s: teams.add_rule(s, team, keyword=keyword or None, line=line or None), "rule"
    )


@blueprint.post("/users/rules/<rule_id>/remove")
@signed_in("admin")
def users_rule_remove(rule_id: str) -> Response:
    return _write(lambda s: teams.remove_rule(s, rule_id[:40]), "unrule")
