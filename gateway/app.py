"""Everything a process needs to work with the store, built once from the config."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Config
from gateway.crypto import load_master_key
from gateway.store import make_engine, session_factory
from gateway.vault import Vault
from gateway.webhooks import attach_vault


@dataclass
class Gateway:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault

    def close(self) -> None:
        self.engine.dispose()


def open_gateway(config: Config) -> Gateway:
    """Open the database and load the master key (``smsgw init`` must have run)."""
    master = load_master_key(config.master_key_path)
    engine = make_engine(config.database_url)
    sessions = session_factory(engine)
    vault = Vault(master, sessions)
    # Status changes anywhere in this process record webhook deliveries under this vault.
    attach_vault(engine, vault)
    return Gateway(config, engine, sessions, vault)
