"""The ``smsgw`` command: one entry point, one module per group of subcommands.

Subcommands are imported only when run, so the long-running ``smsgw worker`` does not
carry the emulator, the migration tool or the admin commands in its memory.
"""

from __future__ import annotations

import importlib
import logging

import click

COMMANDS = {
    "init": "gateway.cli.setup:init",
    "run": "gateway.cli.run:run",
    "worker": "gateway.cli.service:worker",
    "send": "gateway.cli.messages:send",
    "messages": "gateway.cli.messages:messages",
    "modem": "gateway.cli.modem:modem",
    "sim": "gateway.cli.sim:sim",
    "web": "gateway.cli.web:web",
    "user": "gateway.cli.users:user",
    "key": "gateway.cli.users:key",
    "webhook": "gateway.cli.webhooks:webhook",
    "consent": "gateway.cli.consent:consent",
    "contact": "gateway.cli.consent:contact",
    "team": "gateway.cli.inbox:team",
    "route": "gateway.cli.inbox:route",
    "line": "gateway.cli.inbox:line",
    "audit": "gateway.cli.inbox:audit",
    "db": "gateway.cli.database:database",
    "doctor": "gateway.cli.doctor:doctor",
    "backup": "gateway.cli.ops:backup",
    "restore": "gateway.cli.ops:restore",
    "rotate-key": "gateway.cli.ops:rotate_key",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("--config", type=click.Path(dir_okay=False), help="Config file (or $SMSGW_CONFIG).")
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Data directory holding smsgw.toml."
)
def main(verbose: int, config: str | None, data_dir: str | None) -> None:
    """smsgw: an on-premises SMS gateway for USB GSM modems."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
