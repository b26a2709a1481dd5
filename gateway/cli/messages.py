"""``smsgw send`` and ``smsgw messages``: put a message in the queue, look at the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.archive import MessageView, list_messages, message_detail
from gateway.cli.api_client import ApiError, post_message
from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, terminal_safe
from gateway.consent import ConsentChange
from gateway.errors import GatewayError
from gateway.outbound import SendRequest, enqueue
from gateway.wake import notify_workers, nudge


@click.command()
@click.option("--to", "recipient", required=True, help="Recipient number (E.164 or national).")
@click.option("--text", required=True, help="The message text.")
@click.option("--line", help="Send from this line (by name); default: any free modem.")
@click.option(
    "--purpose",
    type=click.Choice(["transactional", "marketing"]),
    default="transactional",
    show_default=True,
    help="Marketing needs the contact's recorded opt-in and keeps to quiet hours.",
)
@click.option(
    "--consent",
    "consent_source",
    type=click.Choice(["web_form", "paper", "email", "verbal", "import"]),
    help="Record with the send how the customer gave this number (transactional consent).",
)
@click.option("--evidence", help="With --consent: the form, document or note that shows it.")
@click.option(
    "--override-sensitive",
    is_flag=True,
    help="Send even though the text looks like a card number, an SSN or a password (audited).",
)
@click.option(
    "--api-url",
    envvar="SMSGW_API_URL",
    help="Send through a running box's LAN API (https://HOST:PORT) instead of its database.",
)
@click.option(
    "--key", envvar="SMSGW_API_KEY", help="API key for --api-url (better: $SMSGW_API_KEY)."
)
@click.option(
    "--ca",
    "ca_file",
    envvar="SMSGW_CA",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The box's CA certificate (tls/ca.pem) for --api-url.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def send(
    ctx: click.Context,
    recipient: str,
    text: str,
    line: str | None,
    purpose: str,
    consent_source: str | None,
    evidence: str | None,
    override_sensitive: bool,
    api_url: str | None,
    key: str | None,
    ca_file: Path | None,
    as_json: bool,
) -> None:
    """Queue a message; the worker sends it at once (or at the recipient's allowed hours).

    A transactional message needs a record that the customer gave their number: give it
    with --consent (and --evidence), or record it beforehand (smsgw consent record).
    """
    if evidence is not None and consent_source is None:
        raise click.UsageError("--evidence goes with --consent")
    payload: dict[str, object] = {"to": recipient, "body": text, "purpose": purpose}
    if line:
        payload["line"] = line
    if consent_source:
        payload["consent"] = {"source": consent_source, "evidence": evidence}
    if override_sensitive:
        payload["override_sensitive"] = True
    if api_url:
        summary = _send_through_api(api_url, key, ca_file, payload)
    else:
        summary = _send_locally(ctx, payload)
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"{summary['id']} {summary['status']} "
            f"({summary['segments']} part(s), {summary['encoding']})"
        )


def _send_through_api(
    api_url: str, key: str | None, ca_file: Path | None, payload: dict[str, object]
) -> dict[str, object]:
    if not key:
        raise click.UsageError("--api-url needs an API key: --key or $SMSGW_API_KEY")
    try:
        message = post_message(api_url, key, payload, ca_file=ca_file)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from None
    return {k: message.get(k) for k in ("id", "status", "segments", "encoding")}


def _send_locally(ctx: click.Context, payload: dict[str, Any]) -> dict[str, object]:
    config = load(ctx)
    consent = payload.get("consent")
    request = SendRequest(
        to=payload["to"],
        body=payload["body"],
        line=payload.get("line"),
        purpose=payload["purpose"],
        created_by="cli",
        role="admin",  # whoever runs the command line runs the box
        override_sensitive=bool(payload.get("override_sensitive")),
        consent=None
        if consent is None
        else ConsentChange("transactional", "opted_in", consent["source"], consent["evidence"]),
    )
    with gateway_for(config) as gateway, gateway.sessions() as session:
        try:
            message = enqueue(session, gateway.vault, config, request)
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        notify_workers(session)
        session.commit()
    nudge(config.wake_socket_path)
    return {
        "id": message.id,
        "status": message.status,
        "segments": message.segments,
        "encoding": message.encoding,
    }


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
