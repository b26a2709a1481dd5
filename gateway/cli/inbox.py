"""``smsgw team``, ``smsgw route``, ``smsgw line`` and ``smsgw audit``: setting up the team
inbox from the shell (teams, routing rules, opening hours) and reading the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click
from sqlalchemy.orm import Session

from gateway import teams
from gateway.audit import ACTIONS, Actor, audit_events
from gateway.audit import audit as audit_action
from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, terminal_safe
from gateway.errors import GatewayError
from gateway.models import Line

T = TypeVar("T")


@contextmanager
def _session(ctx: click.Context) -> Iterator[Session]:
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session, gateway.writing():
        yield session
        session.commit()


def _do(call: Callable[[], T]) -> T:
    try:
        return call()
    except GatewayError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None


@click.group()
def team() -> None:
    """Teams share a queue of conversations, handed out round-robin."""


@team.command("add")
@click.argument("name")
@click.option("--line", help="The line the team's conversations start on.")
@click.pass_context
def team_add(ctx: click.Context, name: str, line: str | None) -> None:
    with _session(ctx) as session:
        made = _do(lambda: teams.add_team(session, name, line))
        click.echo(f"team {terminal_safe(made.name)} added: {made.id}")


@team.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def team_list(ctx: click.Context, as_json: bool) -> None:
    with _session(ctx) as session:
        for info in teams.list_teams(session):
            names = [m.name for m in info.members]
            if as_json:
                emit_json(
                    {
                        "id": info.team.id,
                        "name": info.team.name,
                        "line": info.line,
                        "members": names,
                    }
                )
            else:
                shown = ", ".join(terminal_safe(n) for n in names) or "(no members)"
                line = f" on {terminal_safe(info.line)}" if info.line else ""
                click.echo(f"{info.team.id}  {terminal_safe(info.team.name)}{line}: {shown}")


@team.command("join")
@click.argument("team_name")
@click.argument("user_name")
@click.pass_context
def team_join(ctx: click.Context, team_name: str, user_name: str) -> None:
    """Add a person to a team."""
    with _session(ctx) as session:
        _do(lambda: teams.add_member(session, team_name, user_name))
        click.echo("added")


@team.command("leave")
@click.argument("team_name")
@click.argument("user_name")
@click.pass_context
def team_leave(ctx: click.Context, team_name: str, user_name: str) -> None:
    """Take a person off a team."""
    with _session(ctx) as session:
        _do(lambda: teams.remove_member(session, team_name, user_name))
        click.echo("removed")


@team.command("line")
@click.argument("team_name")
@click.argument("line", required=False)
@click.pass_context
def team_line(ctx: click.Context, team_name: str, line: str | None) -> None:
    """Set (or, without LINE, clear) the team's default line."""
    with _session(ctx) as session:
        _do(lambda: teams.set_team_line(session, team_name, line))
        click.echo("set")


@click.group()
def route() -> None:
    """Routing rules: the first that matches a new message names its team."""


@route.command("add")
@click.option("--team", "team_name", required=True)
@click.option("--keyword", help="A word or phrase of the message (any case).")
@click.option("--line", help="The line the message came in on.")
@click.pass_context
def route_add(ctx: click.Context, team_name: str, keyword: str | None, line: str | None) -> None:
    with _session(ctx) as session:
        rule = _do(lambda: teams.add_rule(session, team_name, keyword=keyword, line=line))
        click.echo(f"rule {rule.id} added at position {rule.position}")


@route.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def route_list(ctx: click.Context, as_json: bool) -> None:
    with _session(ctx) as session:
        for rule in teams.list_rules(session):
            line = session.get(Line, rule.line_id) if rule.line_id else None
            row = {
                "id": rule.id,
                "position": rule.position,
                "keyword": rule.keyword,
                "line": line.name if line else None,
                "team_id": rule.team_id,
            }
            if as_json:
                emit_json(row)
            else:
                click.echo(
                    f"{rule.id}  {rule.position}: keyword={terminal_safe(str(rule.keyword))} "
                    f"line={terminal_safe(str(row['line']))} -> {rule.team_id}"
                )


@route.command("remove")
@click.argument("rule_id")
@click.pass_context
def route_remove(ctx: click.Context, rule_id: str) -> None:
    with _session(ctx) as session:
        _do(lambda: teams.remove_rule(session, rule_id))
        click.echo("removed")


@click.group()
def line() -> None:
    """Lines (business numbers): opening hours and holidays."""


@line.command("hours")
@click.argument("name")
@click.option("--hours", help='e.g. "mon-fri 09:00-17:00; sat 10:00-13:00"; "" for always.')
@click.option("--holidays", help='e.g. "2026-12-25, 2026-12-26"; "" for none.')
@click.pass_context
def line_hours(ctx: click.Context, name: str, hours: str | None, holidays: str | None) -> None:
    """Show or set a line's opening hours (the box's time zone) and holidays."""
    with _session(ctx) as session:
        found = _do(lambda: teams.set_line_hours(session, name, hours=hours, holidays=holidays))
        for field, value in (("hours", hours), ("holidays", holidays)):
            if value is not None:  # audited as the panel's changes are, by the field's name
                audit_action(session, Actor("cli"), "settings.changed", found.id, f"lines.{field}")
        click.echo(f"hours: {found.hours or 'always open'}")
        click.echo(f"holidays: {found.holidays or 'none'}")


@click.command("audit")
@click.option("--action", type=click.Choice(ACTIONS))
@click.option("--subject", help="An object's id (a conversation, a message, a contact).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit(
    ctx: click.Context, action: str | None, subject: str | None, limit: int, as_json: bool
) -> None:
    """The audit log, newest first: views, transfers, approvals, overrides, exports, erasures."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        for event in audit_events(session, action=action, subject=subject, limit=limit):
            row = {
                "id": event.id,
                "at": event.at.isoformat(),
                "actor": event.actor,
                "actor_role": event.actor_role,
                "action": event.action,
                "subject": event.subject,
                "detail": event.detail,
            }
            if as_json:
                emit_json(row)
            else:
                click.echo(
                    f"{row['at']}  {event.action:<28} {event.actor} "
                    f"{event.subject or ''} {terminal_safe(event.detail or '')}"
                )
