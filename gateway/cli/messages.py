"""``smsgw send`` and ``smsgw messages``: put a message in the queue, look at the archive."""

from __future__ import annotations

import click

from gateway.archive import MessageView, list_messages, message_detail
from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, terminal_safe
from gateway.errors import GatewayError
from gateway.outbound import SendRequest, enqueue
from gateway.wake import nudge


@click.command()
@click.option("--to", "recipient", required=True, help="Recipient number (E.164 or national).")
@click.option("--text", required=True, help="The message text.")
@click.option("--line", help="Send from this line (by name); default: any free modem.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def send(ctx: click.Context, recipient: str, text: str, line: str | None, as_json: bool) -> None:
    """Queue a message; the worker sends it at once."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        try:
            message = enqueue(
                session,
                gateway.vault,
                config,
                SendRequest(to=recipient, body=text, line=line, created_by="cli"),
            )
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
    nudge(config.wake_socket_path)
    summary = {
        "id": message.id,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"{message.id} {message.status} ({message.segments} part(s), {message.encoding})"
        )


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--direction", type=click.Choice(["in", "out"]))
@click.option("--status")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_context
def messages(
    ctx: click.Context, as_json: bool, direction: str | None, status: str | None, limit: int
) -> None:
    """List recent messages (newest first); `smsgw messages show ID` for one in full."""
    if ctx.invoked_subcommand is not None:
        return
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        views = list_messages(
            session, gateway.vault, direction=direction, status=status, limit=limit
        )
    for view in views:
        if as_json:
            emit_json(view.as_dict())
        else:
            click.echo(_row(view))


@messages.command()
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, message_id: str, as_json: bool) -> None:
    """One message with its parts and its whole history."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        try:
            view = message_detail(session, gateway.vault, message_id)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
    if as_json:
        emit_json(view.as_dict())
        return
    for key, value in view.as_dict().items():
        if key not in ("parts", "events"):
            click.echo(f"{key:<12} {terminal_safe(str(value))}")
    for part in view.parts:
        click.echo(f"part {part['sequence']}: reference {part['reference']} {part['status']}")
    for event in view.events:
        detail = f" ({terminal_safe(event['detail'])})" if event["detail"] else ""
        click.echo(f"{event['at']}  {event['status']:<12} by {event['actor']}{detail}")


def _row(view: MessageView) -> str:
    arrow = "→" if view.direction == "out" else "←"
    body = terminal_safe(view.body.replace("\n", " "))
    if len(body) > 50:
        body = body[:49] + "…"
    return (
        f"{view.id}  {view.created_at:%Y-%m-%d %H:%M}  {arrow} {view.number:<16} "
        f"{view.status:<11} {body}"
    )
