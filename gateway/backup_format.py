"""The encrypted backup file: AES-256-GCM in chunks, so a database of any size is encrypted
and checked without being held in memory, and a cut, reordered or altered file is refused.

The chunking is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): each
chunk's nonce is a random prefix, the chunk's number and a flag set on the last chunk only.
A file cut at a chunk boundary ends on a chunk without the flag; swapped chunks carry the
wrong numbers; both fail authentication.

    header  = MAGIC (8) || version (1) || master-key fingerprint (16, ASCII hex)
              || salt (16) || nonce prefix (7)
    key     = HKDF-SHA256(master key, salt, info=b"smsgw backup v1")
    chunk i = AES-GCM(key, prefix || i (4, big-endian) || last (1), plaintext, aad=header)

Every chunk holds CHUNK_SIZE plaintext bytes except the last, which may be shorter (even
empty). The master key itself is never in the file; its fingerprint says which key opens it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.keyfile import MasterKey

MAGIC = b"SMSGWBAK"
VERSION = 1
CHUNK_SIZE = 64 * 1024
_TAG_SIZE = 16
_FINGERPRINT_SIZE = 16
_SALT_SIZE = 16
_PREFIX_SIZE = 7
HEADER_SIZE = len(MAGIC) + 1 + _FINGERPRINT_SIZE + _SALT_SIZE + _PREFIX_SIZE
_INFO = b"smsgw backup v1"


class BackupFormatError(Exception):
    """Not a backup, made under another key, cut short or altered. Never quotes content."""


@dataclass(frozen=True)
class Header:
    fingerprint: str
    salt: bytes
    prefix: bytes
    raw: bytes


def _new_header(master: MasterKey) -> Header:
    salt, prefix = secrets.token_bytes(_SALT_SIZE), secrets.token_bytes(_PREFIX_SIZE)
    raw = MAGIC + bytes([VERSION]) + master.fingerprint.encode("ascii") + salt + prefix
    return Header(master.fingerprint, salt, prefix, raw)


def read_header(source: BinaryIO) -> Header:
    raw = _read_full(source, HEADER_SIZE)
    if len(raw) < HEADER_SIZE or not raw.startswith(MAGIC):
        raise BackupFormatError("not an smsgw backup file")
    if raw[len(MAGIC)] != VERSION:
        raise BackupFormatError(f"backup format version {raw[len(MAGIC)]} is not known here")
    start = len(MAGIC) + 1
    fingerprint = raw[start : start + _FINGERPRINT_SIZE]
    salt = raw[start + _FINGERPRINT_SIZE : start + _FINGERPRINT_SIZE + _SALT_SIZE]
    try:
        text = fingerprint.decode("ascii")
    except UnicodeDecodeError:
        raise BackupFormatError("the backup's header is damaged") from None
    return Header(text, salt, raw[-_PREFIX_SIZE:], raw)


def _cipher(master: MasterKey, header: Header) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=_INFO)
    return AESGCM(hkdf.derive(master.key))


def _nonce(header: Header, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise BackupFormatError("backup too large for its format (2^32 chunks)")
    return header.prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(master: MasterKey, source: BinaryIO, target: BinaryIO) -> None:
    header = _new_header(master)
    aead = _cipher(master, header)
    target.write(header.raw)
    chunk, index = _read_full(source, CHUNK_SIZE), 0
    while True:
        following = _read_full(source, CHUNK_SIZE) if len(chunk) == CHUNK_SIZE else b""
        last = not following
        target.write(aead.encrypt(_nonce(header, index, last), chunk, header.raw))
        if last:
            return
        chunk, index = following, index + 1


def decrypt_stream(master: MasterKey, source: BinaryIO, target: BinaryIO) -> None:
    """Write the plaintext to ``target``; the caller discards it if this raises."""
    header = read_header(source)
    if header.fingerprint != master.fingerprint:
        raise BackupFormatError(
            f"the backup was made under master key {header.fingerprint}; "
            f"the key given is {master.fingerprint}"
        )
    aead = _cipher(master, header)
    size = CHUNK_SIZE + _TAG_SIZE
    block, index = _read_full(source, size), 0
    while True:
        if len(block) < _TAG_SIZE:
            raise BackupFormatError("the backup is cut short (its last chunk is missing)")
        following = _read_full(source, size) if len(block) == size else b""
        last = not following
        try:
            plain = aead.decrypt(_nonce(header, index, last), block, header.raw)
        except InvalidTag:
            reason = "cut short or altered" if last else "altered"
            raise BackupFormatError(f"the backup is {reason} (chunk {index})") from None
        target.write(plain)
        if last:
            return
        block, index = following, index + 1


def _read_full(source: BinaryIO, size: int) -> bytes:
    parts, missing = [], size
    while missing:
        part = source.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)
