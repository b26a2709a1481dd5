"""``smsgw rotate-key``: re-wrap every data key under a new master key, safe to kill anywhere.

No message is re-encrypted: only the wrapped data keys change. The files, in order:

1. the new key goes to ``master.key.new`` (written under a temporary name, then linked in,
   so it never exists half-written);
2. data keys are re-wrapped in batches, one transaction each; a row already under the new
   key is skipped, so a rerun resumes where a kill left off;
3. ``master.key`` is hard-linked to ``master.key.old``, then ``master.key.new`` is renamed
   over ``master.key``;
4. a last sweep re-wraps stragglers (data keys that a process made with the old key just
   before the new one appeared), holding the write lock so none can slip in after it;
5. ``master.key.old`` is deleted.

At every point each data key's row names the master key that wrapped it, and that key is
in one of the three files, so everything stays readable (``gateway.masterkeys``), and the
services keep running throughout.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gateway.app import Gateway
from gateway.crypto import (
    MasterKey,
    create_master_key,
    load_master_key,
    unwrap_key,
    wrap_key,
)
from gateway.masterkeys import new_key_path, old_key_path, read_if_present
from gateway.models import DataKeyRow

BATCH_SIZE = 500
# Test hook: the name of a step after which the process kills itself with SIGKILL, so
# tests can stop a real rotate-key at every point of the file dance.
KILL_AT_VARIABLE = "TEST_SMSGW_ROTATE_KILL_AT"  # SMSGW_* must name settings
# Test hook: the step at which it prints "paused at STEP" and waits for a line on stdin.
PAUSE_AT_VARIABLE = "TEST_SMSGW_ROTATE_PAUSE_AT"


class RotationError(Exception):
    """rotate-key cannot go on; nothing readable was lost, and a rerun is safe."""


@dataclass(frozen=True)
class Rotation:
    new_fingerprint: str
    resumed: bool
    rewrapped: int
    batches: int


def rotation_underway(master_key_path: Path) -> bool:
    """A rotate-key started and did not finish: data keys may be under two master keys."""
    return any(
        os.path.lexists(p) for p in (new_key_path(master_key_path), old_key_path(master_key_path))
    )


def rotate_master_key(
    gateway: Gateway,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str], None] = lambda line: None,
) -> Rotation:
    path = gateway.config.master_key_path
    with _exclusive(gateway.config.data_dir / "rotate.lock"):
        current = load_master_key(path)
        new = read_if_present(new_key_path(path))
        old = read_if_present(old_key_path(path))
        known = {m.fingerprint: m for m in (current, new, old) if m is not None}
        _check_every_wrapper_known(gateway, known)
        resumed = new is not None or old is not None
        if new is None:
            # With only master.key.old left, master.key already holds the new key.
            new = current if old is not None else _create_new_key(path)
            known[new.fingerprint] = new
            if old is None:
                progress(f"new master key {new.fingerprint} written to {new_key_path(path)}")
            else:
                progress(f"finishing the rotation to master key {new.fingerprint}")
        else:
            progress(f"resuming the rotation to master key {new.fingerprint}")
        rewrapped, batches = _rewrap_all(gateway, known, new, batch_size, progress)
        if os.path.lexists(new_key_path(path)):
            _move_new_key_in_place(path, current)
            progress(f"{path} now holds master key {new.fingerprint}")
        # The sweep after the rename catches keys made under the old key until then.
        swept, sweeps = _rewrap_all(gateway, known, new, batch_size, progress)
        _checkpoint("swept")
        old_key_path(path).unlink(missing_ok=True)
        _fsync_directory(path.parent)
        return Rotation(new.fingerprint, resumed, rewrapped + swept, batches + sweeps)


def _create_new_key(path: Path) -> MasterKey:
    temporary = path.with_name(f".{path.name}.new.tmp")
    # Left by a kill before it was linked in: never used to wrap anything.
    temporary.unlink(missing_ok=True)
    master = create_master_key(temporary)
    os.link(temporary, new_key_path(path))  # fails if it exists, like O_EXCL
    temporary.unlink()
    _fsync_directory(path.parent)
    _checkpoint("created")
    return MasterKey(master.key, path=new_key_path(path))


def _move_new_key_in_place(path: Path, current: MasterKey) -> None:
    old = old_key_path(path)
    if not os.path.lexists(old):
        os.link(path, old)
        _fsync_directory(path.parent)
    elif load_master_key(old).fingerprint != current.fingerprint:
        raise RotationError(f"{old} holds neither the old nor the new key; move it away first")
    _checkpoint("linked")
    os.replace(new_key_path(path), path)
    _fsync_directory(path.parent)
    _checkpoint("renamed")


def _rewrap_all(
    gateway: Gateway,
    known: dict[str, MasterKey],
    new: MasterKey,
    batch_size: int,
    progress: Callable[[str], None],
) -> tuple[int, int]:
    table = DataKeyRow.__table__
    total = batches = 0
    while True:
        with gateway.writing(), gateway.sessions() as session:
            _lock_data_keys(session)
            rows = session.execute(
                select(table.c.id, table.c.wrapped, table.c.master_fingerprint)
                .where(table.c.wrapped.is_not(None), table.c.master_fingerprint != new.fingerprint)
                .order_by(table.c.id)
                .limit(batch_size)
            ).all()
            for row in rows:
                master = known.get(row.master_fingerprint)
                if master is None:
                    raise RotationError(_unknown_wrapper(row.id, row.master_fingerprint))
                key = unwrap_key(master, row.id, row.wrapped)
                session.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(wrapped=wrap_key(new, row.id, key), master_fingerprint=new.fingerprint)
                )
            session.commit()
        if not rows:
            return total, batches
        total += len(rows)
        batches += 1
        progress(f"batch {batches} committed: {len(rows)} data keys re-wrapped ({total} so far)")
        _checkpoint(f"batch:{batches}")


def _lock_data_keys(session: Session) -> None:
    """Take the write lock before reading, so no writer commits between read and update.

    On SQLite a read first would pin a snapshot that a later commit makes stale; a no-op
    update takes the database's single write lock at once. PostgreSQL locks the table
    against inserts and updates until the commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(
                "UPDATE data_keys SET purpose = purpose WHERE id = (SELECT min(id) FROM data_keys)"
            )
        )
    else:
        session.execute(text("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE"))


def _check_every_wrapper_known(gateway: Gateway, known: dict[str, MasterKey]) -> None:
    table = DataKeyRow.__table__
    with gateway.sessions() as session:
        fingerprints = session.scalars(
            select(table.c.master_fingerprint).where(table.c.wrapped.is_not(None)).distinct()
        ).all()
    for fingerprint in fingerprints:
        if fingerprint not in known:
            raise RotationError(_unknown_wrapper(None, fingerprint))


def _unknown_wrapper(key_id: int | None, fingerprint: str) -> str:
    which = "some data keys are" if key_id is None else f"data key {key_id} is"
    return (
        f"{which} wrapped by master key {fingerprint}, which is in none of master.key, "
        "master.key.new, master.key.old: restore that key file first"
    )


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationError("another rotate-key is running on this data directory") from None
        yield
    finally:
        os.close(fd)


def _checkpoint(step: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT_VARIABLE) == step:
        print(f"paused at {step}", flush=True)
        sys.stdin.readline()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
