"""The store's side of encryption: data-key rows, the blind-index key, per-row ciphertexts.

One ``Vault`` per process holds the master key and a cache of unwrapped data keys; it
reads wrapped keys with short sessions of its own, so a caller's transaction never waits
on key loading.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto import (
    CryptoError,
    Keyring,
    MasterKey,
    blind_index,
    new_data_key,
    wrap_key,
)
from gateway.masterkeys import MasterKeys
from gateway.models import DataKeyRow, utcnow

_E164 = re.compile(r"\+[1-9]\d{1,14}")
_NEW_KEY = insert(DataKeyRow.__table__).returning(DataKeyRow.__table__.c.id)
_WRAP_KEY = (
    update(DataKeyRow.__table__)
    .where(DataKeyRow.__table__.c.id == bindparam("key_id"))
    .values(wrapped=bindparam("wrapped"), master_fingerprint=bindparam("master_fingerprint"))
)
_WRAPPED = select(DataKeyRow.wrapped, DataKeyRow.master_fingerprint).where(
    DataKeyRow.id == bindparam("key_id")
)


class Vault:
    def __init__(self, master: MasterKey, sessions: sessionmaker[Session]) -> None:
        self.master = master
        self._sessions = sessions
        # A rotate-key may run while this process does: see gateway.masterkeys.
        self.masters = MasterKeys(master)
        self.keyring = Keyring(master, self._load_wrapped, self.masters.find)
        self._index_key: bytes | None = None
        self._lock = threading.Lock()

    def _load_wrapped(self, key_id: int) -> tuple[bytes, str | None]:
        # A plain Core read: a bulk send to new contacts loads one key per message.
        with self._sessions() as session:
            row = session.connection().execute(_WRAPPED, {"key_id": key_id}).first()
        if row is None or row.wrapped is None:
            raise CryptoError(f"data key {key_id} was destroyed")
        return row.wrapped, row.master_fingerprint

    def preload(self, session: Session, key_ids: Iterable[int]) -> None:
        """Unwrap the data keys of many rows about to be decrypted with one query (a name
        search reads thousands of contacts, each under its own key)."""
        missing = self.keyring.missing(key_ids)
        for start in range(0, len(missing), 500):
            rows = session.execute(
                select(DataKeyRow.id, DataKeyRow.wrapped, DataKeyRow.master_fingerprint).where(
                    DataKeyRow.id.in_(missing[start : start + 500])
                )
            )
            for key_id, wrapped, fingerprint in rows:
                self.keyring.preload(key_id, wrapped, fingerprint)

    def new_key(self, session: Session, purpose: str = "contact") -> int:
        """Create a data key in the caller's transaction and return its id."""
        # The id is part of the wrapping's associated data, so the row is made first.
        # Plain Core statements on the session's connection: one per new contact, and the
        # ORM's bulk machinery would double their cost.
        connection = session.connection()
        key_id = connection.execute(
            _NEW_KEY,
            {
                "purpose": purpose,
                "wrapped": None,
                "master_fingerprint": self.master.fingerprint,
                "created_at": utcnow(),
            },
        ).scalar_one()
        key = new_data_key()
        # Chosen after the insert, which holds the write lock (gateway.masterkeys).
        master = self.masters.for_wrapping()
        connection.execute(
            _WRAP_KEY,
            {
                "key_id": key_id,
                "wrapped": wrap_key(master, key_id, key),
                "master_fingerprint": master.fingerprint,
            },
        )
        self.keyring.add(key_id, key)
        return key_id

    def ensure_index_key(self, session: Session) -> None:
        """Create the blind-index key once (``smsgw init``); it never changes afterwards."""
        exists = session.scalar(select(DataKeyRow.id).where(DataKeyRow.purpose == "index"))
        if exists is None:
            self.new_key(session, "index")

    def key_for(self, session: Session, purpose: str) -> int:
        """The box's own data key for ``purpose``, made on first use (the caller commits).

        "system" encrypts the box's secrets (webhook secrets, stored API answers);
        "callback" is itself the secret that signs status callbacks.
        """
        key_id = session.scalar(
            select(DataKeyRow.id)
            .where(DataKeyRow.purpose == purpose, DataKeyRow.wrapped.is_not(None))
            .order_by(DataKeyRow.id)
            .limit(1)
        )
        return key_id if key_id is not None else self.new_key(session, purpose)

    def system_key(self, session: Session) -> int:
        return self.key_for(session, "system")

    def index(self, sender: str) -> bytes:
        """The blind index of a contact: how it is found without decrypting.

        A phone number in E.164; an alphanumeric sender ("MyBank") or a short code is
        indexed under its own domain so it can never equal a number's index.
        """
        if _E164.fullmatch(sender):
            return blind_index(self._load_index_key(), sender)
        return self.fingerprint("sender", sender)

    def fingerprint(self, domain: str, text: str) -> bytes:
        """A keyed hash of any text (de-duplication), separated by ``domain``."""
        message = f"{domain}\0{text}".encode("utf-8", "surrogatepass")
        return hmac.new(self._load_index_key(), message, hashlib.sha256).digest()

    def _load_index_key(self) -> bytes:
        with self._lock:
            if self._index_key is None:
                with self._sessions() as session:
                    key_id = session.scalar(
                        select(DataKeyRow.id)
                        .where(DataKeyRow.purpose == "index")
                        .order_by(DataKeyRow.id)
                    )
                if key_id is None:
                    raise CryptoError("no blind-index key: run smsgw init")
                self._index_key = self.keyring.get(key_id).key
            return self._index_key

    def encrypt(self, key_id: int, plaintext: str, table: str, column: str, row_id: str) -> bytes:
        return self.keyring.encrypt(key_id, plaintext, table=table, column=column, row_id=row_id)

    def decrypt(self, blob: bytes, table: str, column: str, row_id: str) -> str:
        return self.keyring.decrypt(blob, table=table, column=column, row_id=row_id)

    def destroy(self, session: Session, key_id: int) -> None:
        """Crypto-shredding: every ciphertext under this key becomes unreadable for good."""
        row = session.get(DataKeyRow, key_id)
        if row is not None:
            row.wrapped = None
            row.destroyed_at = utcnow()
        self.keyring.forget(key_id)
