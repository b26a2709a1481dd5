"""``smsgw worker`` and ``smsgw run``: the long-running processes."""

from __future__ import annotations

import logging
import signal
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import click

from gateway.cli.context import config_path, gateway_for, load
from gateway.cli.setup import data_dir_option, initialise
from gateway.config import Config, ModemConfig
from gateway.worker import Worker
from modem.sim import SimBank

logger = logging.getLogger(__name__)


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Drive the configured modems: send the queue, receive messages and reports."""
    _exit_on_sigterm()
    config = load(ctx)
    if not config.modems:
        raise click.ClickException("no [[modems]] in the config: nothing to drive")
    _run_worker(config)


@click.command()
@click.option(
    "--simulate",
    type=click.IntRange(0, 16),
    default=0,
    help="Also start N emulated modems and use them instead of the configured ones.",
)
@click.option(
    "--send-delay",
    type=click.FloatRange(0, 60),
    default=0.5,
    show_default=True,
    help="Seconds an emulated modem takes per message.",
)
@data_dir_option
@click.pass_context
def run(ctx: click.Context, simulate: int, send_delay: float, data_dir: Path | None) -> None:
    """Everything in one process: the worker, with emulated modems if asked (no hardware)."""
    _exit_on_sigterm()
    if not config_path(ctx, data_dir).exists():
        click.echo("first start: setting up")
        for line in initialise(ctx, data_dir):
            click.echo(f"  {line}")
    config = load(ctx, data_dir)
    with ExitStack() as stack:
        if simulate:
            bank = stack.enter_context(
                SimBank(config.data_dir / "sim", simulate, send_delay=send_delay)
            )
            modems = []
            for index, handle in enumerate(bank):
                modems.append(
                    ModemConfig(
                        device=handle.device_path,
                        line=f"Simulated {index + 1}",
                        number=handle.number,
                        rate_per_minute=600,
                    )
                )
                click.echo(
                    f"{handle.name}  line=Simulated {index + 1}  number={handle.number}  "
                    f"control={handle.control_path}"
                )
            config = config.with_modems(modems)
        elif not config.modems:
            raise click.ClickException("no [[modems]] in the config; try --simulate 2")
        _run_worker(config)


def _exit_on_sigterm() -> None:
    """Until the worker takes over SIGTERM, it means: clean up and exit quietly."""

    def leave(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)


def _run_worker(config: Config) -> None:
    with gateway_for(config) as gateway:
        process = Worker(gateway)
        process.install_signal_handlers()
        process.start()
        click.echo(f"worker running with {len(process.runners)} modem(s); Ctrl-C to stop")
        try:
            process.run_until_stopped()
        finally:
            process.stop()
