"""Online backups of the SQLite database, encrypted, and their restore onto a fresh box.

A backup is taken with SQLite's backup API from a live connection while the worker and the
web app keep writing (in WAL mode a reader never blocks them), so it is one consistent
snapshot, never a torn file copy. The plain copy lives in a temporary file for as long as
it takes to encrypt it (``gateway.backup_format``) and is removed whatever happens. The
master key is never in the backup: restoring needs the key file, supplied separately.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.app import Gateway
from gateway.backup_format import BackupFormatError, encrypt_stream
from gateway.config import Config
from gateway.crypto import MasterKey, load_master_key
from gateway.rotation import rotation_underway

PG_DUMP = (
    "smsgw backup covers the embedded SQLite database only; this box uses PostgreSQL: "
    "back it up with pg_dump (see the README), and keep the master key separately"
)
TEMP_PREFIX = ".smsgw-backup-"
_STALE_TEMP = re.compile(re.escape(TEMP_PREFIX) + r"[A-Za-z0-9_]+\.db(-wal|-shm|-journal)?")


class BackupError(Exception):
    """A backup or restore that cannot be made; never quotes a body, number or key."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    fingerprint: str
    messages: int
    contacts: int


def require_sqlite(config: Config) -> None:
    """Refuse before connecting: a PostgreSQL box may not even have its driver installed."""
    if make_url(config.database_url).get_backend_name() != "sqlite":
        raise BackupError(PG_DUMP)


def take_backup(
    gateway: Gateway, target: Path, *, temp_dir: Path | None = None, replace: bool = False
) -> Backup:
    """Write an encrypted backup of the live database to ``target``, atomically, mode 0600."""
    config = gateway.config
    require_sqlite(config)
    if rotation_underway(config.master_key_path):
        raise BackupError("a rotate-key is unfinished: run `smsgw rotate-key` to finish it first")
    master = load_master_key(config.master_key_path)
    target = target.absolute()
    if target.exists() and not replace:
        raise BackupError(f"{target} exists; choose another name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    with _backup_turn(config.data_dir), _plain_copy(gateway, temp_dir or config.data_dir) as plain:
        with sqlite3.connect(plain) as db:
            # A rotate-key that began after the check above would leave keys this
            # master key cannot open in the copy; such a backup is refused, not kept.
            others = _scalar(
                db,
                "SELECT count(*) FROM data_keys WHERE wrapped IS NOT NULL "
                "AND master_fingerprint != ?",
                (master.fingerprint,),
            )
            messages = _scalar(db, "SELECT count(*) FROM messages")
            contacts = _scalar(db, "SELECT count(*) FROM contacts")
        db.close()
        if others:
            raise BackupError("a rotate-key changed the master key during the backup; run again")
        size = _encrypt_into(master, plain, target, replace)
    return Backup(target, size, master.fingerprint, messages, contacts)


@contextmanager
def _backup_turn(data_dir: Path) -> Iterator[None]:
    """One backup at a time per box, so one never removes another's temporary file."""
    fd = os.open(data_dir / "backup.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _plain_copy(gateway: Gateway, temp_dir: Path) -> Iterator[Path]:
    # A plain copy left by a process killed mid-backup: removed now that the turn is ours.
    for leftover in temp_dir.glob(TEMP_PREFIX + "*"):
        if _STALE_TEMP.fullmatch(leftover.name):
            leftover.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".db", dir=temp_dir)  # 0600
    os.close(fd)
    path = Path(name)
    try:
        raw = gateway.engine.raw_connection()
        try:
            target = sqlite3.connect(path)
            try:
                # All pages in one step: one read transaction, one snapshot.
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                target.close()
        finally:
            raw.close()
        yield path
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _encrypt_into(master: MasterKey, plain: Path, target: Path, replace: bool) -> int:
    part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, plain.open("rb") as source:
            os.fchmod(out.fileno(), 0o600)  # exactly 0600, whatever the umask
            encrypt_stream(master, source, out)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(part, target)
        else:
            os.link(part, target)  # refuses to overwrite a file made meanwhile
            part.unlink()
    except FileExistsError:
        raise BackupError(f"{target} exists; choose another name") from None
    finally:
        part.unlink(missing_ok=True)
    fsync_directory(target.parent)
    return target.stat().st_size


def _scalar(db: sqlite3.Connection, query: str, parameters: tuple[object, ...] = ()) -> int:
    return int(db.execute(query, parameters).fetchone()[0])


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["PG_DUMP", "Backup", "BackupError", "BackupFormatError", "require_sqlite", "take_backup"]
