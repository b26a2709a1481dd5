"""The ``smsgw`` command: one entry point, one module per group of subcommands."""

from __future__ import annotations

import logging

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """smsgw: an on-premises SMS gateway for USB GSM modems."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from gateway.cli.modem import modem
    from gateway.cli.sim import sim

    main.add_command(modem)
    main.add_command(sim)


_register()
