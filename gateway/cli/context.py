"""What every ``smsgw`` command that works with the store needs: the config, the gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.app import Gateway, open_gateway
from gateway.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from gateway.crypto import CryptoError

CONFIG_NAME = "smsgw.toml"


def config_path(ctx: click.Context, data_dir: Path | None = None) -> Path:
    """--config, else $SMSGW_CONFIG, else <data dir>/smsgw.toml, else /etc/smsgw/smsgw.toml."""
    options = ctx.find_root().params
    if options.get("config"):
        return Path(options["config"])
    if os.environ.get("SMSGW_CONFIG"):
        return Path(os.environ["SMSGW_CONFIG"])
    data_dir = data_dir or options.get("data_dir")
    if data_dir is not None:
        return Path(data_dir) / CONFIG_NAME
    return DEFAULT_CONFIG_PATH


def load(ctx: click.Context, data_dir: Path | None = None) -> Config:
    data_dir = data_dir or ctx.find_root().params.get("data_dir")
    path = config_path(ctx, data_dir)
    try:
        return load_config(
            path if path.exists() or path != DEFAULT_CONFIG_PATH else None,
            data_dir=Path(data_dir) if data_dir else None,
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def gateway_for(config: Config) -> Iterator[Gateway]:
    try:
        gateway = open_gateway(config)
    except CryptoError as exc:
        raise click.ClickException(f"{exc} (has `smsgw init` been run?)") from None
    try:
        yield gateway
    finally:
        gateway.close()
