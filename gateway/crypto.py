"""Field encryption at rest: per-contact data keys wrapped by the master key.

Each contact has its own data key, so destroying that key (crypto-shredding) makes every
copy of the contact's messages unreadable, backups included. Pure: the store persists the
wrapped keys and the ciphertexts; nothing here touches a database.

Field ciphertext: version (1) || key id (4, big-endian) || nonce (12) || ciphertext+tag.
Its associated data is the header followed by f"{table}\\0{column}\\0{row_id}", so a
ciphertext copied to another row or column, or relabelled with another key id, fails.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.keyfile import (
    KEY_SIZE,
    CryptoError,
    MasterKey,
    MasterKeyExistsError,
    create_master_key,
    key_fingerprint,
    load_master_key,
)

__all__ = [
    "CryptoError",
    "DataKey",
    "Keyring",
    "MasterKey",
    "MasterKeyExistsError",
    "blind_index",
    "create_master_key",
    "decrypt_field",
    "encrypt_field",
    "key_fingerprint",
    "key_id_of",
    "load_master_key",
    "new_data_key",
    "unwrap_key",
    "wrap_key",
]

VERSION = 1
_NONCE_SIZE = 12
_TAG_SIZE = 16
_HEADER_SIZE = 1 + 4
_MIN_FIELD_SIZE = _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE
_WRAPPED_SIZE = 1 + _NONCE_SIZE + KEY_SIZE + _TAG_SIZE
_WRAP_CONTEXT = b"smsgw data key"
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class DataKey:
    id: int
    key: bytes = field(repr=False)
    # Building the cipher costs more than encrypting a short SMS body: build it once.
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _key_id_bytes(self.id)
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"a data key is {KEY_SIZE} bytes, not {len(self.key)}")
        object.__setattr__(self, "_aead", AESGCM(self.key))


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def wrap_key(master: MasterKey, key_id: int, data_key: bytes) -> bytes:
    """version (1) || nonce (12) || ciphertext+tag; the key id is bound as associated data."""
    if len(data_key) != KEY_SIZE:
        raise ValueError(f"a data key is {KEY_SIZE} bytes, not {len(data_key)}")
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = AESGCM(master.key).encrypt(nonce, data_key, _WRAP_CONTEXT + _key_id_bytes(key_id))
    return bytes([VERSION]) + nonce + sealed


def unwrap_key(master: MasterKey, key_id: int, wrapped: bytes) -> bytes:
    if len(wrapped) != _WRAPPED_SIZE:
        raise CryptoError(f"wrapped data key {key_id} is {len(wrapped)} bytes, not {_WRAPPED_SIZE}")
    if wrapped[0] != VERSION:
        raise CryptoError(f"wrapped data key {key_id} has unknown version {wrapped[0]}")
    nonce, sealed = wrapped[1 : 1 + _NONCE_SIZE], wrapped[1 + _NONCE_SIZE :]
    try:
        return AESGCM(master.key).decrypt(nonce, sealed, _WRAP_CONTEXT + _key_id_bytes(key_id))
    except InvalidTag:
        raise CryptoError(
            f"cannot unwrap data key {key_id} with master key {master.fingerprint}: "
            "wrong master key, or the wrapped key was altered or moved to another id"
        ) from None


def encrypt_field(
    data_key: DataKey, plaintext: str, *, table: str, column: str, row_id: str | int
) -> bytes:
    try:
        data = plaintext.encode("utf-8")
    except UnicodeEncodeError:
        data = None
    if data is None:
        # Raised outside the handler so no exception holding the plaintext is chained on.
        raise CryptoError(f"{table}.{column} of row {row_id}: text is not valid Unicode")
    header = bytes([VERSION]) + _key_id_bytes(data_key.id)
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = data_key._aead.encrypt(nonce, data, header + _place(table, column, row_id))
    return header + nonce + sealed


def decrypt_field(
    keys: Callable[[int], DataKey], blob: bytes, *, table: str, column: str, row_id: str | int
) -> str:
    """`keys` may raise CryptoError (a destroyed key); other errors it raises pass through."""
    key_id = key_id_of(blob)
    data_key = keys(key_id)
    if data_key.id != key_id:
        raise CryptoError(f"asked for data key {key_id}, was given data key {data_key.id}")
    header, nonce = blob[:_HEADER_SIZE], blob[_HEADER_SIZE : _HEADER_SIZE + _NONCE_SIZE]
    try:
        data = data_key._aead.decrypt(
            nonce, blob[_HEADER_SIZE + _NONCE_SIZE :], header + _place(table, column, row_id)
        )
    except InvalidTag:
        raise CryptoError(
            f"cannot decrypt {table}.{column} of row {row_id}: "
            "the ciphertext was altered or belongs to another row or column"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    raise CryptoError(f"{table}.{column} of row {row_id} decrypts to invalid UTF-8")


def key_id_of(blob: bytes) -> int:
    if len(blob) < _MIN_FIELD_SIZE:
        raise CryptoError(f"ciphertext is {len(blob)} bytes, shorter than {_MIN_FIELD_SIZE}")
    if blob[0] != VERSION:
        raise CryptoError(f"ciphertext has unknown version {blob[0]}")
    return int.from_bytes(blob[1:_HEADER_SIZE], "big")


def blind_index(index_key: bytes, e164: str) -> bytes:
    """Finds a number without storing it: equal numbers give equal indexes, nothing more.

    Only E.164 is accepted: "+33612345678" and "0612345678" would index differently and
    the number would silently not be found, so callers normalise with `phonenumbers` first.
    """
    if len(index_key) != KEY_SIZE:
        raise ValueError(f"an index key is {KEY_SIZE} bytes, not {len(index_key)}")
    if not _E164.fullmatch(e164):
        # The number itself is not quoted: logs may show only its last 3 digits.
        raise ValueError("blind_index needs a number in E.164 form (+ and 2-15 digits)")
    return hmac.new(index_key, e164.encode("ascii"), hashlib.sha256).digest()


class Keyring:
    """Unwrapped data keys cached in memory for one process.

    `load_wrapped(key_id)` returns (wrapped key, fingerprint of the master key that wrapped
    it, or None if not recorded). A destroyed key is reported either by raising KeyError
    (its row deleted) or by returning None or b"" as the wrapped key (its row kept as a
    tombstone); both give CryptoError("data key N was destroyed"). Other errors pass through.
    Every process keeps its own cache: after crypto-shredding, each must `forget` the key.
    `find_master(fingerprint)` supplies another master key for rows wrapped by one (during
    and after a rotate-key), or None if it has no such key.
    """

    def __init__(
        self,
        master: MasterKey,
        load_wrapped: Callable[[int], tuple[bytes | None, str | None]],
        find_master: Callable[[str], MasterKey | None] | None = None,
    ) -> None:
        self._master = master
        self._load_wrapped = load_wrapped
        self._find_master = find_master
        self._keys: dict[int, DataKey] = {}
        # One lock, held while loading: concurrent misses on an id unwrap it only once.
        self._lock = threading.Lock()

    def get(self, key_id: int) -> DataKey:
        data_key = self._keys.get(key_id)
        if data_key is not None:
            return data_key
        with self._lock:
            data_key = self._keys.get(key_id)
            if data_key is None:
                data_key = DataKey(key_id, self._unwrap(key_id))
                self._keys[key_id] = data_key
            return data_key

    def add(self, key_id: int, key: bytes) -> DataKey:
        """Cache a key the store has just created and wrapped.

        It replaces any cached key of that id: a rolled-back transaction can leave a key
        cached under an id that SQLite then hands out again.
        """
        data_key = DataKey(key_id, key)
        with self._lock:
            self._keys[key_id] = data_key
        return data_key

    def missing(self, key_ids: Iterable[int]) -> list[int]:
        """Which of ``key_ids`` are not unwrapped yet."""
        return sorted({key_id for key_id in key_ids if key_id not in self._keys})

    def preload(self, key_id: int, wrapped: bytes | None, fingerprint: str | None) -> None:
        """Unwrap a key whose row the caller read with others (one query for many keys,
        instead of one per key); a destroyed one is left for ``get`` to report."""
        if not wrapped:
            return
        with self._lock:
            if key_id in self._keys:
                return
            try:
                key = self._unwrap_row(key_id, wrapped, fingerprint)
            except CryptoError:
                return  # ``get`` reports it when the key is needed
            self._keys[key_id] = DataKey(key_id, key)

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._keys.pop(key_id, None)

    def encrypt(
        self, key_id: int, plaintext: str, *, table: str, column: str, row_id: str | int
    ) -> bytes:
        return encrypt_field(self.get(key_id), plaintext, table=table, column=column, row_id=row_id)

    def decrypt(self, blob: bytes, *, table: str, column: str, row_id: str | int) -> str:
        return decrypt_field(self.get, blob, table=table, column=column, row_id=row_id)

    def _unwrap(self, key_id: int) -> bytes:
        try:
            wrapped, fingerprint = self._load_wrapped(key_id)
        except KeyError:
            wrapped, fingerprint = None, None
        if not wrapped:
            raise CryptoError(f"data key {key_id} was destroyed")
        return self._unwrap_row(key_id, wrapped, fingerprint)

    def _unwrap_row(self, key_id: int, wrapped: bytes, fingerprint: str | None) -> bytes:
        master = self._master
        if fingerprint is not None and fingerprint != master.fingerprint:
            found = self._find_master(fingerprint) if self._find_master else None
            if found is not None:
                return unwrap_key(found, key_id, wrapped)
            raise CryptoError(
                f"data key {key_id} was wrapped by master key {fingerprint}, but the loaded "
                f"master key is {self._master.fingerprint} (wrong key file, or an unfinished "
                "rotate-key)"
            )
        return unwrap_key(master, key_id, wrapped)


def _key_id_bytes(key_id: int) -> bytes:
    if not 0 <= key_id < 2**32:
        raise ValueError(f"a key id fits in 4 bytes unsigned, {key_id} does not")
    return key_id.to_bytes(4, "big")


def _place(table: str, column: str, row_id: str | int) -> bytes:
    # NUL separates the parts; one inside a name would let two places share the same bytes.
    if "\x00" in table or "\x00" in column:
        raise ValueError("table and column names cannot contain NUL")
    return f"{table}\x00{column}\x00{row_id}".encode()
