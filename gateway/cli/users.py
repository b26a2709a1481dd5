"""``smsgw user`` and ``smsgw key``: who may use the box, and the API keys they use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from gateway.apikeys import SCOPES, create_key, list_keys, revoke_key
from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, terminal_safe
from gateway.errors import GatewayError
from gateway.teams import set_user_inbox
from gateway.users import ROLES, add_user, get_user, issue_one_time_password, list_users


@click.group()
def user() -> None:
    """People and systems that use the box."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, as_json: bool) -> None:
    """Add a user with a role (admin, manager, agent or auditor)."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        try:
            added = add_user(session, name, role)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        password = issue_one_time_password(session, added)
        session.commit()
        if as_json:
            emit_json(
                {
                    "id": added.id,
                    "name": added.name,
                    "role": added.role,
                    "one_time_password": password,
                }
            )
        else:
            click.echo(f"user {terminal_safe(added.name)} ({added.role}) added: {added.id}")
            click.echo(f"one-time password: {password} (to be changed at the first sign-in)")


@user.command("reset")
@click.argument("name")
@click.option("--totp", "reset_totp", is_flag=True, help="Also remove two-factor sign-in.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_reset(ctx: click.Context, name: str, reset_totp: bool, as_json: bool) -> None:
    """A new one-time password for NAME (signed out everywhere), e.g. after a lost one."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        try:
            person = get_user(session, name)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        password = issue_one_time_password(session, person)
        if reset_totp:
            person.totp_secret_enc, person.totp_last_step = None, None
        session.commit()
        if as_json:
            emit_json({"name": person.name, "one_time_password": password})
        else:
            click.echo(f"one-time password for {terminal_safe(person.name)}: {password}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List users."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        for each in list_users(session):
            row = {"id": each.id, "name": each.name, "role": each.role, "disabled": each.disabled}
            if as_json:
                emit_json(row)
            else:
                click.echo(f"{each.id}  {each.role:<8} {terminal_safe(each.name)}")


@user.command("set")
@click.argument("name")
@click.option("--display-name", help="How replies sign ({agent}); empty: the user name.")
@click.option("--signature", help='Own signature, e.g. "- {agent}, {business}"; "" for none.')
@click.option("--default-signature", is_flag=True, help="Use the box's signature again.")
@click.option("--hours", "working_hours", help='Working hours, e.g. "mon-thu 08:00-16:00".')
@click.option("--away/--back", default=None, help="Away (conversations go to the delegate).")
@click.option("--until", "away_until", type=click.DateTime(["%Y-%m-%d"]), help="Back on DATE.")
@click.option("--delegate", help="Who takes over while away; empty for nobody.")
@click.option("--supervised/--unsupervised", default=None, help="Replies need approval.")
@click.pass_context
def user_set(
    ctx: click.Context,
    name: str,
    display_name: str | None,
    signature: str | None,
    default_signature: bool,
    working_hours: str | None,
    away: bool | None,
    away_until: datetime | None,
    delegate: str | None,
    supervised: bool | None,
) -> None:
    """Change a person's inbox settings; options not given stay as they are."""
    changes: dict[str, Any] = {"away": away, "supervised": supervised}
    for option, value in (
        ("display_name", display_name),
        ("signature", signature),
        ("working_hours", working_hours),
        ("delegate", delegate),
    ):
        if value is not None:
            changes[option] = value
    if default_signature:
        changes["signature"] = None
    if away_until is not None:
        changes["away_until"] = away_until.date()
        changes["away"] = True if away is None else away
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session, gateway.writing():
        try:
            person = set_user_inbox(session, name, **changes)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
        state = "away" if person.away else "in"
        until = f" until {person.away_until}" if person.away and person.away_until else ""
        click.echo(f"user {terminal_safe(person.name)}: {state}{until}")


@click.group()
def key() -> None:
    """API keys for the LAN API."""


@key.command("create")
@click.option("--user", "user_name", required=True, help="The user the key acts for.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES))
@click.option("--json", "as_json", is_flag=True, help='Print {"id": …, "key": …}.')
@click.pass_context
def key_create(ctx: click.Context, user_name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create an API key; it is printed once and cannot be shown again."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        try:
            owner = get_user(session, user_name)
            created, plaintext = create_key(session, owner, list(scopes))
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
    if as_json:
        emit_json({"id": created.id, "key": plaintext, "scopes": created.scopes.split()})
    else:
        click.echo(plaintext)
        click.echo(
            f"(key {created.id}, scopes {created.scopes}; shown once: store it now)", err=True
        )


@key.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """List API keys (never their secrets)."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        for each, owner in list_keys(session):
            row = {
                "id": each.id,
                "user": owner.name,
                "scopes": each.scopes.split(),
                "created_at": each.created_at.isoformat(),
                "last_used_at": each.last_used_at.isoformat() if each.last_used_at else None,
                "revoked_at": each.revoked_at.isoformat() if each.revoked_at else None,
            }
            if as_json:
                emit_json(row)
            else:
                state = "revoked" if each.revoked_at else "active"
                click.echo(f"{each.id}  {state:<7}  {terminal_safe(owner.name)}  {each.scopes}")


@key.command("revoke")
@click.argument("key_id")
@click.pass_context
def key_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key: it fails on every web worker from its next request."""
    with gateway_for(load(ctx)) as gateway, gateway.sessions() as session:
        try:
            revoked = revoke_key(session, key_id)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
    click.echo(f"key {revoked.id} revoked")
