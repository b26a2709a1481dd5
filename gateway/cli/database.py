"""``smsgw db copy``: move a box's data from its SQLite file to PostgreSQL."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from gateway.cli.context import load
from gateway.dbcopy import copy_database
from gateway.errors import GatewayError
from gateway.store import make_engine


@click.group("db")
def database() -> None:
    """The database itself."""


@database.command("copy")
@click.option(
    "--to",
    "target_url",
    required=True,
    envvar="SMSGW_COPY_TO",
    help="The new database, e.g. postgresql://smsgw@db.lan/smsgw (or $SMSGW_COPY_TO).",
)
@click.pass_context
def copy_command(ctx: click.Context, target_url: str) -> None:
    """Copy every row of this box's database into an empty one (schema made there first).

    Stop the worker and the web server before, then set database.url to the new database.
    """
    config = load(ctx)
    source, target = make_engine(config.database_url), make_engine(target_url)
    shown = make_url(target_url).render_as_string(hide_password=True)
    try:
        copied = copy_database(
            source, target, lambda table, rows: click.echo(f"{table:<22} {rows:>9} rows")
        )
    except GatewayError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    finally:
        source.dispose()
        target.dispose()
    click.echo(f"copied {copied.rows} rows to {shown}")
    click.echo(f'next: set url = "{shown}" under [database] in the config, then start smsgw')
