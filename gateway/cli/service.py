"""``smsgw worker``: the long-running process that drives the modems."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click

from gateway.cli.context import gateway_for, load
from gateway.config import Config
from gateway.sdnotify import Notifier
from gateway.worker import Worker, WorkerConflict

logger = logging.getLogger(__name__)


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Drive the configured modems: send the queue, receive messages and reports."""
    exit_on_sigterm()
    config = load(ctx)
    if not config.modems:
        raise click.ClickException("no [[modems]] in the config: nothing to drive")
    run_worker(config)


def exit_on_sigterm() -> None:
    """Until the worker takes over SIGTERM, it means: clean up and exit quietly."""

    def leave(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)


def run_worker(config: Config) -> None:
    with gateway_for(config) as gateway:
        # Under systemd (Type=notify): readiness, the watchdog, and the stop are reported.
        process = Worker(gateway, notifier=Notifier.from_environment())
        process.install_signal_handlers()
        try:
            process.start()
        except WorkerConflict as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"worker running with {len(process.runners)} modem(s); Ctrl-C to stop")
        try:
            process.run_until_stopped()
        finally:
            process.stop()
