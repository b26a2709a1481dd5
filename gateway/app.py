"""Everything a process needs to work with the store, built once from the config."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Config
from gateway.crypto import load_master_key
from gateway.office import OfficeCache
from gateway.store import make_engine, session_factory
from gateway.vault import Vault
from gateway.webhooks import attach_vault


@dataclass
class Gateway:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    # Routing's snapshot of people, teams and rules, shared by the worker's modem threads.
    office: OfficeCache = field(default_factory=OfficeCache)
    _writes: threading.Lock = field(default_factory=threading.Lock)
    _turn: _WriterTurn | None = None

    def writing(self) -> AbstractContextManager[object]:
        """Hold around a short write transaction (from its first write to its commit).

        SQLite lets one writer in at a time and makes the others poll with sleeps of up to
        100 ms. Writers that queue here instead (a thread lock, then a lock file shared by
        the web and worker processes) are woken the moment the one before them commits.
        PostgreSQL has row locks and needs none of this.
        """
        if self.engine.dialect.name != "sqlite":
            return nullcontext()
        if self._turn is None:
            self._turn = _WriterTurn(self._writes, self.config.data_dir / "write.lock")
        return self._turn

    def close(self) -> None:
        self.engine.dispose()
        if self._turn is not None:
            self._turn.close()


class _WriterTurn:
    """The in-process lock, then an exclusive ``flock`` on a file every process shares."""

    def __init__(self, lock: threading.Lock, path: Path) -> None:
        self._lock = lock
        self._path = path
        self._fd: int | None = None  # opened once, used under the thread lock only

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no lock file (a read-only directory): SQLite's own locking still holds

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def open_gateway(config: Config) -> Gateway:
    """Open the database and load the master key (``smsgw init`` must have run)."""
    master = load_master_key(config.master_key_path)
    engine = make_engine(config.database_url)
    sessions = session_factory(engine)
    vault = Vault(master, sessions)
    # Status changes anywhere in this process record webhook deliveries under this vault.
    attach_vault(engine, vault)
    return Gateway(config, engine, sessions, vault)
