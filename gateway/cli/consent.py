"""``smsgw consent`` and ``smsgw contact``: evidence on demand, recording, erasure."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy import select

from gateway.audit import Actor, audit
from gateway.cli.context import gateway_for, load
from gateway.cli.output import emit_json, safe_json, terminal_safe
from gateway.consent import SOURCES, ConsentChange, event_summary, record_consent
from gateway.contacts import find_contact
from gateway.erasure import erase_contact
from gateway.errors import GatewayError
from gateway.evidence import export, flat_rows, to_csv
from gateway.models import Contact
from gateway.numbers import to_e164
from gateway.reviews import describe_review, list_reviews, resolve_review

ACTOR = "cli"


@click.group()
def consent() -> None:
    """The consent ledger: export the evidence, record an event, decide flagged messages."""


@consent.command("export")
@click.option("--contact", "number", help="Only this number's history (E.164 or national).")
@click.option("--format", "form", type=click.Choice(["csv", "json"]), default="csv")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (mode 0600) instead of standard output.",
)
@click.pass_context
def export_command(ctx: click.Context, number: str | None, form: str, output: Path | None) -> None:
    """Every consent event with the message that triggered it, as evidence.

    CSV cells that a spreadsheet would run as a formula are neutralised.
    """
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        if number is None:
            contacts = session.scalars(select(Contact).order_by(Contact.created_at)).all()
        else:
            contacts = [_contact(session, gateway.vault, config, number)]
        subject = contacts[0].id if number is not None else None
        with gateway.writing():
            audit(session, Actor("cli", "admin"), "consent.exported", subject)
            session.commit()
        histories = export(session, gateway.vault, contacts)
        if form == "json":
            chunks: Iterator[str] = (safe_json(history) + "\n" for history in histories)
        else:
            chunks = to_csv(flat_rows(histories))
        _write(chunks, output)


def _write(chunks: Iterator[str], output: Path | None) -> None:
    if output is None:
        stream = sys.stdout
        on_terminal = stream.isatty()
        for chunk in chunks:
            stream.write(terminal_safe(chunk) if on_terminal else chunk)
        return
    handle: IO[str]
    fd = _create_private(output)
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _create_private(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _contact(session: Any, vault: Any, config: Any, number: str) -> Contact:
    try:
        e164 = to_e164(number, config.numbers.default_region)
    except GatewayError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    contact = find_contact(session, vault, e164)
    if contact is None:
        raise click.ClickException("not_found: no contact has that number")
    return contact


@consent.command("record")
@click.option("--contact", "number", required=True, help="The contact's number.")
@click.option("--purpose", type=click.Choice(["transactional", "marketing", "all"]), required=True)
@click.option("--action", type=click.Choice(["opted_in", "opted_out", "revoked"]), required=True)
@click.option("--source", type=click.Choice(SOURCES), required=True)
@click.option("--evidence", help="The disclosure shown, a document reference, a note.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def record_command(
    ctx: click.Context,
    number: str,
    purpose: str,
    action: str,
    source: str,
    evidence: str | None,
    as_json: bool,
) -> None:
    """Add an event to the ledger (corrections are new events; nothing is edited)."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session, gateway.writing():
        contact = _contact(session, gateway.vault, config, number)
        change = ConsentChange(purpose, action, source, evidence)
        try:
            event = record_consent(
                session, gateway.vault, contact, change, recorded_by=ACTOR, role="admin"
            )
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
        summary = event_summary(event)
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['id']} {purpose} {action} ({source})")


@consent.command("reviews")
@click.option("--all", "show_all", is_flag=True, help="Decided ones too.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def reviews_command(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Messages that read like an opt-out in other words, with their deadlines."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session:
        found = [describe_review(r) for r in list_reviews(session, None if show_all else "open")]
    for item in found:
        if as_json:
            emit_json(item)
        else:
            late = " OVERDUE" if item["overdue"] else ""
            click.echo(f"{item['id']} {item['status']} due {item['due_on']}{late}")


@consent.command("decide")
@click.argument("review_id")
@click.argument("outcome", type=click.Choice(["revoked", "dismissed"]))
@click.pass_context
def decide_command(ctx: click.Context, review_id: str, outcome: str) -> None:
    """Record the revocation a flagged message asked for, or dismiss the flag."""
    config = load(ctx)
    with gateway_for(config) as gateway, gateway.sessions() as session, gateway.writing():
        try:
            resolve_review(
                session, gateway.vault, review_id, outcome, resolved_by=ACTOR, role="admin"
            )
        except GatewayError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        session.commit()
    click.echo(f"{terminal_safe(review_id)} {outcome}")


@click.group()
def contact() -> None:
    """Contacts: erase one (crypto-shredding), keeping the opt-out and its dates."""


@contact.command("erase")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase_command(ctx: click.Context, number: str, yes: bool) -> None:
    """Destroy the contact's data key: bodies, names and notes become unreadable everywhere,
    backups included. The number stays known, so it is never texted again."""
    config = load(ctx)
    if not yes:
        click.confirm("Erase this contact's data for good?", abort=True)
    with gateway_for(config) as gateway, gateway.sessions() as session, gateway.writing():
        found = _contact(session, gateway.vault, config, number)
        erased = erase_contact(session, gateway.vault, found, ACTOR, role="admin")
        session.commit()
    note = " (again)" if erased.already else ""
    click.echo(
        f"{erased.contact_id} erased{note}; {erased.blocked} waiting message(s) will not be sent"
    )
