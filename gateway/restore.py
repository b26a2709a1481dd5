"""Restoring an encrypted backup onto a data directory that has no database yet.

Everything is checked on a temporary copy before anything is put in place: the file
decrypts whole under the key given, SQLite's integrity and foreign-key checks pass, the
schema revision is one this version knows, and every data key unwraps with that key. A
wrong key or a cut or altered file leaves the data directory as it was.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.backup import BackupError, fsync_directory
from gateway.backup_format import BackupFormatError, decrypt_stream
from gateway.config import Config
from gateway.crypto import CryptoError, MasterKey, load_master_key, unwrap_key
from gateway.store import MIGRATIONS

PG_RESTORE = (
    "smsgw restore covers the embedded SQLite database only; this box uses PostgreSQL: "
    "restore a pg_dump with pg_restore (see the README)"
)
_TEMP_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Restored:
    database: Path
    revision: str
    up_to_date: bool  # False: an older schema, which `smsgw init` upgrades
    messages: int
    contacts: int
    data_keys: int
    erased_keys: int


def restore_backup(source: Path, master_key_file: Path, config: Config) -> Restored:
    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError(PG_RESTORE)
    database = Path(url.database).absolute()
    try:
        master = load_master_key(master_key_file)
    except CryptoError as exc:
        raise BackupError(str(exc)) from None
    _check_target(database, config.master_key_path, master)
    directory = database.parent
    made = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".smsgw-restore-", suffix=".db", dir=directory)
    plain = Path(name)
    installed = False
    try:
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as backup:
                decrypt_stream(master, backup, out)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise BackupError(f"cannot read {source}: {exc.strerror}") from None
        except BackupFormatError as exc:
            raise BackupError(str(exc)) from None
        restored = _verify(plain, master, database)
        installed = _install_key(config.master_key_path, master)
        os.link(plain, database)  # never over a database that appeared meanwhile
        fsync_directory(directory)
        return restored
    except BaseException:
        _remove_temporary(plain)
        if installed:
            config.master_key_path.unlink(missing_ok=True)
        if made and not any(directory.iterdir()):
            directory.rmdir()
        raise
    finally:
        _remove_temporary(plain)


def _check_target(database: Path, key_path: Path, master: MasterKey) -> None:
    for path in (database, Path(f"{database}-wal")):
        if path.exists():
            raise BackupError(
                f"{path} exists: restore onto a data directory with no database "
                "(move the old one away first)"
            )
    if key_path.exists():
        try:
            existing = load_master_key(key_path)
        except CryptoError as exc:
            raise BackupError(str(exc)) from None
        if existing.fingerprint != master.fingerprint:
            raise BackupError(
                f"{key_path} holds another master key; remove it or restore elsewhere"
            )


def _verify(path: Path, master: MasterKey, database: Path) -> Restored:
    db = sqlite3.connect(path)
    try:
        problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("integrity check failed: " + "; ".join(problems[:3]))
        orphans = db.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            tables = ", ".join(sorted({row[0] for row in orphans}))
            raise BackupError(f"foreign key check failed: {len(orphans)} row(s) in {tables}")
        revision, head = _revision(db)
        keys = db.execute(
            "SELECT id, wrapped, master_fingerprint FROM data_keys WHERE wrapped IS NOT NULL"
        ).fetchall()
        for key_id, wrapped, fingerprint in keys:
            if fingerprint != master.fingerprint:
                raise BackupError(
                    f"data key {key_id} is under master key {fingerprint}, not this one"
                )
            try:
                unwrap_key(master, key_id, wrapped)
            except CryptoError as exc:
                raise BackupError(str(exc)) from None
        erased = _count(db, "SELECT count(*) FROM data_keys WHERE wrapped IS NULL")
        return Restored(
            database,
            revision,
            revision == head,
            _count(db, "SELECT count(*) FROM messages"),
            _count(db, "SELECT count(*) FROM contacts"),
            len(keys),
            erased,
        )
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the restored file is not a usable smsgw database: {exc}") from None
    finally:
        db.close()


def _revision(db: sqlite3.Connection) -> tuple[str, str]:
    """The backup's schema revision, refused if this version of smsgw does not know it."""
    from alembic.config import Config as AlembicConfig  # only here: restore is rare
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    revision = str(row[0]) if row else ""
    if revision not in known:
        raise BackupError(
            f"the backup's schema revision {revision!r} is not known to this smsgw "
            "(made by a newer version?): install that version or newer to restore it"
        )
    return revision, str(scripts.get_current_head())


def _install_key(path: Path, master: MasterKey) -> bool:
    """The key file, mode 0600; one already there holds this very key (checked before)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, master.key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_directory(path.parent)
    return True


def _count(db: sqlite3.Connection, query: str) -> int:
    return int(db.execute(query).fetchone()[0])


def _remove_temporary(plain: Path) -> None:
    for suffix in _TEMP_SUFFIXES:
        Path(f"{plain}{suffix}").unlink(missing_ok=True)
