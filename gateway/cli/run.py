"""``smsgw run``: everything in one process, with emulated modems for a first try."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from gateway.cli.context import config_path, load
from gateway.cli.service import exit_on_sigterm, run_worker
from gateway.cli.setup import data_dir_option, initialise
from gateway.config import ModemConfig
from modem.sim import SimBank


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
    exit_on_sigterm()
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
        run_worker(config)
