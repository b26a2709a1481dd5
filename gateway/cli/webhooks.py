"""``smsgw webhook``: subscriptions, the status-callback secret, and how deliveries went."""

from __future__ import annotations

import click

from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, terminal_safe
from gateway.errors import GatewayError
from gateway.webhook_targets import check_target
from gateway.webhooks import (
    DELIVERY_STATUSES,
    EVENTS,
    callback_secret,
    create_webhook,
    delete_webhook,
    describe,
    list_deliveries,
    list_webhooks,
)


@click.group()
def webhook() -> None:
    """Webhooks: signed HTTP callbacks to systems on the LAN."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice(EVENTS),
    help="An event to send (repeat for several).",
)
@click.option("--secret", help="A whsec_ secret of your own (default: one is generated).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def add(
    ctx: click.Context, url: str, events: tuple[str, ...], secret: str | None, as_json: bool
) -> None:
    """Subscribe URL to events; the signing secret is printed this once."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        try:
            check_target(config, url)
            row, plain = create_webhook(
                session, gateway.vault, url, events, secret=secret, created_by="cli"
            )
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
        shown = describe(row)
    if as_json:
        emit_json({**shown, "secret": plain})
        return
    click.echo(f"{shown['id']}  {' '.join(shown['events'])}  {terminal_safe(shown['url'])}")
    click.echo(f"secret: {plain}")
    click.echo("Keep the secret now: it is not shown again.")


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """The active subscriptions, oldest first."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        shown = [describe(row) for row in list_webhooks(session)]
    for item in shown:
        if as_json:
            emit_json(item)
        else:
            click.echo(
                f"{item['id']}  {item['created_at']}  {','.join(item['events'])}  "
                f"{terminal_safe(item['url'])}"
            )


@webhook.command("remove")
@click.argument("webhook_id")
@click.pass_context
def remove(ctx: click.Context, webhook_id: str) -> None:
    """End a subscription; its deliveries still pending are dropped."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        try:
            delete_webhook(session, webhook_id)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
    click.echo(f"removed {terminal_safe(webhook_id)}")


@webhook.command("callback-secret")
@click.pass_context
def callback_secret_(ctx: click.Context) -> None:
    """The secret that signs messages' own status callbacks (made on first use)."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        secret = callback_secret(session, gateway.vault)
        session.commit()
    click.echo(secret)


@webhook.command("deliveries")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def deliveries(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """Recent deliveries, newest first: where each stands, never what it carries."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        views = list_deliveries(session, status=status, limit=limit)
    for view in views:
        if as_json:
            emit_json(view.as_dict())
            continue
        target = view.webhook_id or "callback"
        when = view.delivered_at or view.next_attempt_at or ""
        error = f"  {terminal_safe(view.last_error)}" if view.last_error else ""
        click.echo(
            f"{view.id}  {view.created_at}  {view.event:<16} {target:<29} {view.status:<9} "
            f"{view.attempts:>3}  {when}{error}"
        )
