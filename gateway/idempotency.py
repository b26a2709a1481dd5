"""``Idempotency-Key``: a repeated POST gets the first answer again, never a second message.

The key is recorded in the same transaction as the work it guards. A concurrent duplicate
waits on that transaction (SQLite's write lock, PostgreSQL's unique index) and then finds the
finished record, so two requests with one key create exactly one message. A failed request
rolls its record back with everything else, so the client may simply retry. Records live
24 hours; the stored answer is encrypted (it names the recipient).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.errors import GatewayError, InvalidInput
from gateway.models import IdempotencyRecord, utcnow
from gateway.vault import Vault

KEEP = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyMismatch(GatewayError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def request_hash(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).digest()


def claim(
    session: Session, vault: Vault, api_key_id: str, key: str, digest: bytes
) -> Replay | IdempotencyRecord:
    """Record ``key`` for this request, or return the answer an earlier one got."""
    if not _KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key is 1 to 255 visible ASCII characters")
    dialect = session.get_bind().dialect.name
    insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
    inserted = session.execute(
        insert(IdempotencyRecord)
        .values(api_key_id=api_key_id, key=key, request_hash=digest, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["api_key_id", "key"])
        .returning(IdempotencyRecord.id)
    ).scalar()
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    )
    if record is None:  # pragma: no cover - the insert or the winner made it
        raise InvalidInput("Idempotency-Key could not be recorded; retry")
    if inserted is not None:
        return record
    if record.request_hash != digest:
        raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
    if record.status_code is None or record.response_enc is None:  # pragma: no cover
        raise IdempotencyMismatch("a request with this Idempotency-Key is still in progress")
    body = vault.decrypt(record.response_enc, "idempotency_keys", "response", str(record.id))
    return Replay(record.status_code, json.loads(body))


def remember(
    session: Session, vault: Vault, record: IdempotencyRecord, status: int, body: dict[str, Any]
) -> None:
    """Store the answer in the request's transaction (the caller commits)."""
    record.status_code = status
    record.response_enc = vault.encrypt(
        vault.system_key(session),
        json.dumps(body, separators=(",", ":")),
        "idempotency_keys",
        "response",
        str(record.id),
    )


def purge_old(session: Session, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - KEEP
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return result.rowcount or 0
