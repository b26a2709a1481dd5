"""``smsgw init``: the data directory, the config, the master key, the schema, and the local
certificate authority with the server certificate for HTTPS."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.cli.context import config_path, load
from gateway.cluster_keys import database_fingerprints, joining_message, mismatch_message
from gateway.config import Config, render_default_config
from gateway.crypto import MasterKey, create_master_key, load_master_key
from gateway.store import make_engine, migrate, session_factory
from gateway.tls import TlsError, TlsReport, ensure_certificates
from gateway.users import first_admin
from gateway.vault import Vault

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the database and keys live (default /var/lib/smsgw).",
)


@click.command()
@data_dir_option
@click.pass_context
def init(ctx: click.Context, data_dir: Path | None) -> None:
    """Create the data directory, config, master key, database and TLS certificates.
    Safe to run twice."""
    for line in initialise(ctx, data_dir):
        click.echo(line)


def initialise(ctx: click.Context, data_dir: Path | None) -> list[str]:
    """Make whatever is missing; return what was made (and what was already there)."""
    report = []
    path = config_path(ctx, data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render_default_config()
        if data_dir is not None:
            text = f'data_dir = "{_toml_string(data_dir.resolve())}"\n\n' + text
        path.write_text(text, encoding="utf-8")
        report.append(f"config       {path} (created; edit it to add your modems)")
    else:
        report.append(f"config       {path} (exists)")
    config = load(ctx, data_dir)
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    report.append(f"data dir     {config.data_dir}")
    fingerprints = _database_fingerprints(config)
    where = _describe(config)
    if config.master_key_path.exists():
        master = load_master_key(config.master_key_path)
        wrong = mismatch_message(fingerprints, master.fingerprint, where, config.master_key_path)
        if wrong is not None:
            raise click.ClickException(wrong)
        report.append(f"master key   {config.master_key_path} (exists, kept)")
    elif fingerprints:
        # A box joining a cluster: the data is there, its key must come from another box.
        raise click.ClickException(joining_message(fingerprints, where, config.master_key_path))
    else:
        master = create_master_key(config.master_key_path)
        report.append(f"master key   {config.master_key_path} (created, mode 0600)")
    report.append(f"database     {_describe(config)} (schema up to date)")
    prepare_database(config, master)
    report += _first_admin(config)
    try:
        report += tls_lines(ensure_certificates(config))
    except TlsError as exc:
        raise click.ClickException(str(exc)) from None
    if os.environ.get("SMSGW_CONFIG") is None and path.resolve().parent == config.data_dir:
        report.append(f"next         export SMSGW_CONFIG={path.resolve()}")
    return report


def _database_fingerprints(config: Config) -> set[str]:
    engine = make_engine(config.database_url)
    try:
        return database_fingerprints(engine)
    finally:
        engine.dispose()


def prepare_database(config: Config, master: MasterKey) -> None:
    engine = make_engine(config.database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        with sessions() as session:
            Vault(master, sessions).ensure_index_key(session)
            session.commit()
    finally:
        engine.dispose()


def _first_admin(config: Config) -> list[str]:
    """No default password: the first administrator gets a one-time one, shown here once."""
    engine = make_engine(config.database_url)
    try:
        with session_factory(engine)() as session:
            made = first_admin(session)
            session.commit()
    finally:
        engine.dispose()
    if made is None:
        return []
    user, password = made
    return [
        f"first admin  {user.name}, one-time password {password}",
        "             (sign in to the panel at https://<this box>:"
        f"{config.web.bind.rpartition(':')[2]}/ and choose your own; shown only now)",
    ]


def tls_lines(report: TlsReport) -> list[str]:
    """What happened to the CA and the server certificate, in init's two-column style."""
    files = report.files
    if report.ca_created:
        lines = [
            f"tls ca       {files.ca_cert} (created; install it on staff machines to trust the box)"
        ]
    else:
        lines = [f"tls ca       {files.ca_cert} (exists, kept)"]
    until = f"valid until {report.not_after:%Y-%m-%d}"
    if report.server_action == "kept":
        state = f"exists, {until}, kept"
    elif report.server_action == "created":
        state = f"created, {until}"
    else:
        state = f"re-issued: {report.reason}; {until}"
    lines.append(f"tls cert     {files.server_cert} ({state})")
    lines.append(f"tls names    {', '.join(report.covers)}")
    lines += [
        f"tls skipped  web.hostnames entry {item!r}: not a host name or an address"
        for item in report.skipped
    ]
    return lines


def _describe(config: Config) -> str:
    url = config.database_url
    return url.split("@")[-1] if "@" in url else url  # never print a password


def _toml_string(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace('"', '\\"')
