"""The ``smsgw`` command: one entry point, one module per group of subcommands."""

from __future__ import annotations

import logging

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--config", type=click.Path(dir_okay=False), help="Config file (or $SMSGW_CONFIG).")
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Data directory holding smsgw.toml."
)
def main(verbose: int, config: str | None, data_dir: str | None) -> None:
    """smsgw: an on-premises SMS gateway for USB GSM modems."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from gateway.cli.messages import messages, send
    from gateway.cli.modem import modem
    from gateway.cli.service import run, worker
    from gateway.cli.setup import init
    from gateway.cli.sim import sim

    for command in (init, run, worker, send, messages, modem, sim):
        main.add_command(command)


_register()
