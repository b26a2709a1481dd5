"""The master key file: 32 random bytes as hex, readable by the service user alone.

The master key only wraps data keys; it never enters the database or a backup, so a
stolen database or backup is unreadable without this file. `gateway.crypto` re-exports
everything here.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

KEY_SIZE = 32
# A key file is 65 bytes; anything much larger is not one, and is not read whole.
_MAX_FILE_SIZE = 1024


class CryptoError(Exception):
    """Wrong key, tampered or misplaced ciphertext, bad key file, destroyed key.

    Messages never include plaintext or key material.
    """


class MasterKeyExistsError(CryptoError, FileExistsError):
    """`create_master_key` found a key already there: it is never overwritten."""


def key_fingerprint(key: bytes) -> str:
    """Names a master key without revealing it: which key wrapped a data key."""
    return hashlib.sha256(b"smsgw master key" + key).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    key: bytes = field(repr=False)
    fingerprint: str = ""
    # Where it was read from: a vault finds the other keys of an unfinished rotate-key
    # (master.key.new, master.key.old) next to it. Not part of the key's identity.
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"a master key is {KEY_SIZE} bytes, not {len(self.key)}")
        expected = key_fingerprint(self.key)
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", expected)
        elif self.fingerprint != expected:
            raise ValueError("fingerprint does not match the master key")


def create_master_key(path: Path) -> MasterKey:
    """Write a new master key to `path` (whose directory must exist), mode 0600.

    O_EXCL makes creation atomic: an existing key, and with it every message it protects,
    is never overwritten, and the file is never world-readable, not even for an instant.
    """
    key = secrets.token_bytes(KEY_SIZE)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError as exc:
        raise MasterKeyExistsError(
            f"master key already exists at {path}; refusing to overwrite it"
        ) from exc
    except OSError as exc:
        raise CryptoError(f"cannot create master key at {path}: {exc.strerror}") from exc
    try:
        # The umask can only take permissions away; fchmod makes the mode exactly 0600.
        os.fchmod(fd, 0o600)
        os.write(fd, key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise CryptoError(f"cannot write master key to {path}: {exc.strerror}") from None
    os.close(fd)
    _fsync_directory(path.parent)
    return MasterKey(key, path=path)


def load_master_key(path: Path) -> MasterKey:
    """Read the master key, refusing a file that group or others could read or change."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CryptoError(f"no master key at {path} (create one with `smsgw init`)") from None
    except OSError as exc:
        raise CryptoError(f"cannot open master key {path}: {exc.strerror}") from None
    try:
        # fstat on the open file, not stat on the path: what is checked is what is read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CryptoError(f"master key {path} is not a regular file")
        if info.st_mode & 0o077:
            raise CryptoError(
                f"master key {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); fix it with: chmod 600 {path}"
            )
        content = os.read(fd, _MAX_FILE_SIZE)
    finally:
        os.close(fd)
    return MasterKey(_parse(content, path), path=path)


def _parse(content: bytes, path: Path) -> bytes:
    # The content is never quoted back: a damaged file may still be most of the key.
    text = content.strip()
    if len(text) != 2 * KEY_SIZE:
        raise CryptoError(
            f"master key {path} is damaged: expected {2 * KEY_SIZE} hex characters, "
            f"found {len(text)}"
        )
    try:
        return bytes.fromhex(text.decode("ascii"))
    except ValueError:
        raise CryptoError(f"master key {path} is damaged: not hexadecimal") from None


def _fsync_directory(directory: Path) -> None:
    # The new directory entry must reach the disk too, or a power cut can lose the key
    # after `smsgw init` reported success.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
