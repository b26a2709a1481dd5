"""``smsgw sim``: run emulated GSM modems, and drive them through their control sockets."""

from __future__ import annotations

import contextlib
import json
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from modem.sim.control import ControlError, control_request
from modem.sim.faults import FAULT_NAMES

_CONTROL = click.option(
    "--control",
    "address",
    required=True,
    type=click.Path(dir_okay=False),
    help="The modem's control socket (<dir>/modem<i>.ctl).",
)


@click.group(invoke_without_command=True)
@click.option("--modems", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the device symlinks and control sockets go (default: a new temporary dir).",
)
@click.option(
    "--send-delay",
    type=click.FloatRange(0, 600),
    default=0.0,
    show_default=True,
    help="Seconds each AT+CMGS takes before the modem answers.",
)
@click.option("--no-auto-report", is_flag=True, help="Send no delivery reports unless told to.")
@click.pass_context
def sim(
    ctx: click.Context, modems: int, directory: str | None, send_delay: float, no_auto_report: bool
) -> None:
    """Emulated GSM modems on pseudo-terminals (try smsgw without hardware).

    Without a subcommand: start the modems, print where they are, run until Ctrl-C.
    """
    if ctx.invoked_subcommand is not None:
        return
    from modem.sim.bank import SimBank

    base = Path(directory).absolute() if directory else Path(tempfile.mkdtemp(prefix="smsgw-sim-"))
    options: dict[str, Any] = {"send_delay": send_delay}
    if no_auto_report:
        options["auto_report"] = None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Ctrl-C and SIGTERM (systemd, a test harness) both end the run the same clean way.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SimBank(base, modems, **options) as bank:
            for handle in bank:
                click.echo(
                    f"{handle.name}  device={handle.device_path}  control={handle.control_path}"
                    f"  imei={handle.imei}  number={handle.number}"
                )
            click.echo("running; Ctrl-C to stop", err=True)
            while not stop.wait(1.0):
                pass
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot start the emulator: {error}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if directory is None:
            _remove_empty(base)
    click.echo("stopped", err=True)


def _remove_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # something else was put there: leave it
        directory.rmdir()


def _request(address: str, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = control_request(address, payload)
    except ControlError as error:
        raise click.ClickException(str(error)) from None
    if not answer["ok"]:
        raise click.ClickException(str(answer.get("error", "request refused")))
    return answer


@sim.command()
@_CONTROL
@click.option("--from", "sender", required=True, help="Sender number (+447700900123).")
@click.option("--text", required=True)
@click.option("--order", type=click.Choice(["in", "reverse", "shuffle"]), default="in")
@click.option(
    "--gap", type=click.FloatRange(0, 3600), default=0.0, help="Seconds between the parts."
)
def inject(address: str, sender: str, text: str, order: str, gap: float) -> None:
    """A message arrives from the network."""
    payload = {"op": "inject", "from": sender, "text": text, "order": order, "gap": gap}
    answer = _request(address, payload)
    click.echo(f"delivered in {answer['parts']} part(s)")


@sim.command()
@_CONTROL
@click.argument("name", type=click.Choice([*FAULT_NAMES, "unplug", "replug"]))
@click.option("--count", type=click.IntRange(1), default=None, help="Only the next K times.")
@click.option("--code", type=click.IntRange(0, 65535), default=None, help="cms_error code.")
@click.option("--seconds", type=click.FloatRange(0, 600), default=None, help="slow/send_delay.")
@click.option("--rate", type=click.FloatRange(0, 1), default=None, help="noise probability.")
@click.option("--where", type=click.Choice(["prompt", "result"]), default=None)
@click.option("--pin", default=None, help="pin_locked: the PIN to lock the SIM with.")
@click.option("--new-name", is_flag=True, help="replug: come back under a new device name.")
@click.option("--off", is_flag=True, help="Clear the fault instead.")
def fault(address: str, name: str, off: bool, new_name: bool, **params: Any) -> None:
    """Switch a fault on (or off with --off)."""
    payload: dict[str, Any] = {"op": "fault", "name": name}
    if name == "replug" and new_name:
        payload["new_name"] = True
    if off:
        payload["off"] = True
    else:
        payload.update({key: value for key, value in params.items() if value is not None})
    answer = _request(address, payload)
    click.echo(json.dumps({k: v for k, v in answer.items() if k != "ok"}))


@sim.command()
@_CONTROL
@click.option("--reference", type=click.IntRange(0, 255), required=True, help="The TP-MR.")
@click.option("--status", type=click.Choice(["delivered", "pending", "failed"]), required=True)
def report(address: str, reference: int, status: str) -> None:
    """The network reports on a sent part."""
    _request(address, {"op": "report", "reference": reference, "status": status})
    click.echo("reported")


@sim.command()
@_CONTROL
def outbox(address: str) -> None:
    """The parts the modem sent, as JSON."""
    click.echo(json.dumps(_request(address, {"op": "outbox"})["outbox"], indent=2))


@sim.command()
@_CONTROL
def unplug(address: str) -> None:
    """Pull the modem out: its device goes away."""
    _request(address, {"op": "unplug"})
    click.echo("unplugged")


@sim.command()
@_CONTROL
@click.option("--new-name", is_flag=True, help="Come back under a new device name.")
def replug(address: str, new_name: bool) -> None:
    """Plug the modem in again (a new pseudo-terminal)."""
    answer = _request(address, {"op": "replug", "new_name": new_name})
    click.echo(f"device={answer['device']}")
