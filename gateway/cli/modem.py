"""``smsgw modem …``: talk to one modem directly, with no queue and no database.

These work against any modem that follows TS 27.005/27.007, so an admin can check a new
USB stick before giving it to the gateway.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gateway.cli.output import emit_json
from modem.concat import Assembled, Reassembler
from modem.device import Modem
from modem.errors import ModemError, ModemGone, ModemTimeout, PduError
from modem.events import Event, MessageReceived, MessageWaiting, ReportReceived, Unreadable
from modem.probe import probe as probe_modem


@click.group()
def modem() -> None:
    """Talk to one modem directly (no queue, no database)."""


def _pin(pin_file: str | None) -> str | None:
    if pin_file is None:
        return None
    pin = Path(pin_file).read_text(encoding="utf-8").strip()
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise click.UsageError(f"{pin_file} does not hold a SIM PIN (4 to 8 digits)")
    return pin


@contextmanager
def _opened(device: str, pin_file: str | None, *, initialise: bool = True) -> Iterator[Modem]:
    modem = Modem(device, pin=_pin(pin_file), name=Path(device).name)
    try:
        modem.open(initialise=initialise)
        yield modem
    except ModemError as exc:
        raise click.ClickException(f"{device}: {exc}") from None
    finally:
        modem.close()


pin_option = click.option(
    "--pin-file", type=click.Path(exists=True, dir_okay=False), help="File holding the SIM PIN."
)


@modem.command()
@click.argument("device")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@pin_option
def probe(device: str, as_json: bool, pin_file: str | None) -> None:
    """Identity, SIM state, operator, registration and signal of DEVICE."""
    with _opened(device, pin_file, initialise=False) as opened:
        if pin_file:
            try:
                opened.initialise()
            except ModemError as exc:
                click.echo(f"warning: {exc}", err=True)
        report = probe_modem(opened)
    if as_json:
        emit_json(report)
        return
    for key, value in _flatten(report):
        click.echo(f"{key:<22} {value}")


def _flatten(report: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in report.items():
        if isinstance(value, dict) and "error" not in value:
            yield from _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, dict):
            yield f"{prefix}{key}", f"unavailable: {value['error']}"
        else:
            yield f"{prefix}{key}", "-" if value is None else value


@modem.command()
@click.argument("device")
@click.option("--to", "recipient", required=True, help="Recipient, +<country><number>.")
@click.option("--text", required=True, help="The message text.")
@click.option("--report", is_flag=True, help="Ask for a delivery report and wait for it.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for reports.")
@pin_option
def send(
    device: str, recipient: str, text: str, report: bool, timeout: float, pin_file: str | None
) -> None:
    """Send one message through DEVICE and print each part's message reference."""
    with _opened(device, pin_file) as opened:
        try:
            references = opened.send(
                recipient,
                text,
                request_report=report,
                concat_reference=random.randrange(256),
            )
        except PduError as exc:
            raise click.UsageError(str(exc)) from None
        for number, reference in enumerate(references, 1):
            click.echo(f"part {number}/{len(references)}: reference {reference}")
        if report:
            _await_reports(opened, set(references), timeout)


def _await_reports(opened: Modem, references: set[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(references)
    while waiting:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise click.ClickException(f"no final report for reference(s) {sorted(waiting)}")
        for event in _resolve(opened, opened.poll(min(remaining, 1.0))):
            if isinstance(event, ReportReceived) and event.report.reference in waiting:
                outcome = event.report.outcome
                click.echo(f"reference {event.report.reference}: {outcome}")
                if outcome != "pending":
                    waiting.discard(event.report.reference)
                _forget(opened, event)


def _resolve(opened: Modem, events: list[Event]) -> list[Event]:
    """Read the messages that ``+CMTI``/``+CDSI`` only pointed at."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, MessageWaiting):
            out.append(opened.read_message(event.index, event.storage).event)
        else:
            out.append(event)
    return out


def _forget(opened: Modem, event: Event) -> None:
    index = getattr(event, "index", None)
    if index is not None:
        opened.delete_message(index, getattr(event, "storage", None))


@modem.command()
@click.argument("device")
@click.option("--keep", is_flag=True, help="Leave messages in the modem's storage.")
@click.option(
    "--part-timeout",
    default=600.0,
    show_default=True,
    help="Seconds to wait for missing parts of a long message.",
)
@pin_option
def listen(device: str, keep: bool, part_timeout: float, pin_file: str | None) -> None:
    """Print each received message and status report as one JSON line."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    reassembler = Reassembler(part_timeout)
    with _opened(device, pin_file) as opened:
        # Messages stored while nobody listened come first.
        events: list[Event] = [m.event for m in opened.list_messages()]
        try:
            while True:
                for event in events:
                    _handle(opened, event, reassembler, keep)
                for assembled in reassembler.expire(time.monotonic()):
                    _print_message(opened, assembled, keep)
                events = _listen_once(opened)
        except KeyboardInterrupt:
            return


def _listen_once(opened: Modem) -> list[Event]:
    try:
        return _resolve(opened, opened.poll(1.0))
    except ModemTimeout:
        opened.recover()
    except ModemGone:
        click.echo(f"{opened.device}: modem gone, looking for it by IMEI", err=True)
        _reconnect(opened)
    return [m.event for m in opened.list_messages()]


def _reconnect(opened: Modem) -> None:
    while True:
        try:
            found = opened.reconnect()
            click.echo(f"modem back at {found}", err=True)
            return
        except ModemError:
            time.sleep(2.0)  # a person is replugging the stick; look again shortly


def _handle(opened: Modem, event: Event, reassembler: Reassembler, keep: bool) -> None:
    if isinstance(event, MessageReceived):
        token = (event.storage, event.index) if event.index is not None else None
        assembled = reassembler.add(event.message, time.monotonic(), token)
        if assembled is not None:
            _print_message(opened, assembled, keep)
    elif isinstance(event, ReportReceived):
        emit_json(
            {
                "reference": event.report.reference,
                "status": event.report.outcome,
                "code": event.report.status,
            }
        )
        if not keep:
            _forget(opened, event)
    elif isinstance(event, Unreadable):
        where = f" at index {event.index}" if event.index is not None else ""
        click.echo(f"warning: unreadable message{where}: {event.reason}", err=True)


def _print_message(opened: Modem, assembled: Assembled, keep: bool) -> None:
    record: dict[str, Any] = {
        "from": assembled.sender,
        "text": assembled.text,
        "timestamp": assembled.timestamp.isoformat(),
        "parts": assembled.parts,
    }
    if not assembled.complete:
        record["complete"] = False
    emit_json(record)
    if not keep:
        for storage, index in assembled.tokens:  # type: ignore[misc]
            opened.delete_message(index, storage)
