"""Every master key a running process may meet during ``smsgw rotate-key``, by fingerprint.

``rotate-key`` (``gateway.rotation``) puts the new key in ``master.key.new``, re-wraps the
data keys under it, then moves it to ``master.key``, keeping the old one as
``master.key.old`` until the last straggler is re-wrapped. A worker or web process started
earlier keeps running through all of it: it unwraps each data key with the master key its
row names (read from those files on first need), and wraps new data keys with the newest
key present, so nothing it writes depends on a key the rotation is about to delete.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gateway.keyfile import CryptoError, MasterKey, load_master_key

NEW_SUFFIX = ".new"
OLD_SUFFIX = ".old"


def new_key_path(path: Path) -> Path:
    return path.with_name(path.name + NEW_SUFFIX)


def old_key_path(path: Path) -> Path:
    return path.with_name(path.name + OLD_SUFFIX)


def read_if_present(path: Path) -> MasterKey | None:
    """The key in ``path``, or None if there is none (also when it was just renamed away)."""
    try:
        return load_master_key(path)
    except CryptoError:
        if os.path.lexists(path):
            raise  # a damaged or too-open key file is an error, not an absence
        return None


class MasterKeys:
    """The master key a process loaded, plus the rotation's other key files next to it."""

    def __init__(self, master: MasterKey) -> None:
        self._first = master
        self._path = master.path
        # Looked at for every new data key: the paths are worked out once.
        self._new_path = new_key_path(master.path) if master.path else None
        self._known = {master.fingerprint: master}
        # path -> (inode, mtime, size) when read, and the key read: a stat per use, no reads.
        self._files: dict[Path, tuple[tuple[int, int, int], MasterKey]] = {}
        self._lock = threading.Lock()

    def for_wrapping(self) -> MasterKey:
        """The key a new data key is wrapped with: the rotation's new key once it exists.

        Call it after the data key's row is inserted: on SQLite that insert holds the write
        lock, so a rotation's final sweep either sees the row or ran before this look and
        had already put the new key in place.
        """
        if self._path is None or self._new_path is None:
            return self._first
        with self._lock:
            master = self._read(self._new_path) or self._read(self._path)
        return master or self._first

    def find(self, fingerprint: str) -> MasterKey | None:
        """The master key with this fingerprint, if this process has it or a file holds it."""
        with self._lock:
            master = self._known.get(fingerprint)
            if master is None and self._path is not None:
                for path in (self._path, new_key_path(self._path), old_key_path(self._path)):
                    self._read(path)
                master = self._known.get(fingerprint)
            return master

    def _read(self, path: Path) -> MasterKey | None:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            if path in self._files:
                del self._files[path]
            return None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = self._files.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        master = read_if_present(path)
        if master is not None:
            self._files[path] = (stamp, master)
            self._known[master.fingerprint] = master
        return master
