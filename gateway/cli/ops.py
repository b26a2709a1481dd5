"""``smsgw backup``, ``smsgw restore`` and ``smsgw rotate-key``: keeping the box's data safe.

Their output names files, counts and key fingerprints, never a body, a number or a key.
"""

from __future__ import annotations

from pathlib import Path

import click

from gateway.backup import BackupError, require_sqlite, take_backup
from gateway.cli.context import config_path, gateway_for, load
from gateway.config import Config
from gateway.crypto import CryptoError
from gateway.restore import restore_backup
from gateway.rotation import BATCH_SIZE, RotationError, rotate_master_key

file_argument = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@click.command()
@file_argument
@click.option(
    "--temp-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Where the plain copy waits while it is encrypted (default: the data directory).",
)
@click.option("--replace", is_flag=True, help="Replace FILE if it exists.")
@click.pass_context
def backup(ctx: click.Context, file: Path, temp_dir: Path | None, replace: bool) -> None:
    """Write an encrypted online backup of the database to FILE (the worker may keep running).

    The master key is not in it: keep a copy of master.key apart from the backups."""
    config = load(ctx)
    try:
        require_sqlite(config)
        with gateway_for(config) as gateway:
            made = take_backup(gateway, file, temp_dir=temp_dir, replace=replace)
    except (BackupError, CryptoError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backup       {made.path} ({made.size:,} bytes, mode 0600)\n"
        f"contents     {made.messages:,} messages, {made.contacts:,} contacts\n"
        f"master key   {made.fingerprint} (not in the backup: restore needs that key file)"
    )


@click.command()
@file_argument
@click.option(
    "--master-key",
    "master_key",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The master key file the backup was made under (mode 0600).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The data directory to restore into; it must have no database yet.",
)
@click.pass_context
def restore(ctx: click.Context, file: Path, master_key: Path, data_dir: Path | None) -> None:
    """Restore a backup onto a data directory with no database, then check its integrity."""
    try:
        restored = restore_backup(file, master_key, _restore_config(ctx, data_dir))
    except BackupError as exc:
        raise click.ClickException(f"{exc}; nothing was restored") from None
    schema = "up to date" if restored.up_to_date else "older: `smsgw init` upgrades it"
    click.echo(
        f"database     {restored.database} (integrity and foreign keys checked)\n"
        f"schema       revision {restored.revision} ({schema})\n"
        f"contents     {restored.messages:,} messages, {restored.contacts:,} contacts, "
        f"{restored.data_keys:,} data keys ({restored.erased_keys:,} erased)\n"
        f"next         smsgw init --data-dir {restored.database.parent} "
        "(config and TLS; keeps the key and the database)"
    )


def _restore_config(ctx: click.Context, data_dir: Path | None) -> Config:
    # A fresh data directory has no config file yet: its defaults are what is restored to.
    if data_dir is not None and not config_path(ctx, data_dir).exists():
        return Config(data_dir=data_dir.absolute())
    return load(ctx, data_dir)


@click.command("rotate-key")
@click.option("--batch-size", default=BATCH_SIZE, hidden=True, type=click.IntRange(1, 100_000))
@click.pass_context
def rotate_key(ctx: click.Context, batch_size: int) -> None:
    """Re-wrap every data key under a new master key. Safe to interrupt: run it again to
    finish. The services may keep running."""
    with gateway_for(load(ctx)) as gateway:
        try:
            done = rotate_master_key(gateway, batch_size=batch_size, progress=click.echo)
        except (RotationError, CryptoError) as exc:
            raise click.ClickException(f"{exc} (run `smsgw rotate-key` again to finish)") from None
    click.echo(
        f"done         {done.rewrapped:,} data keys now under master key "
        f"{done.new_fingerprint}; the old key file is removed\n"
        "backups      earlier backups need the old key: take a new backup now"
    )
