"""API keys: random, shown once, stored as a SHA-256 digest, scoped, revocable.

A key reads ``smsgw_<id>_<secret>``: the id finds the row, the 256-bit secret proves
possession. A fast digest is the right tool for a random secret this long (no password to
guess), and it keeps every request cheap. Nothing is cached between requests, so a revoked
key fails at its next request on every web worker.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from gateway.errors import InvalidInput, NotFound
from gateway.models import ApiKey, User, UtcDateTime, new_id, utcnow

SCOPES = ("messages:send", "messages:read", "contacts:read", "contacts:write", "admin")
PREFIX = "smsgw_"
_SHAPE = re.compile(r"smsgw_(key_[0-9A-Z]{26})_([A-Za-z0-9_-]{43})")
# Writing last_used_at on every request would make every GET a write: once a minute is enough.
LAST_USED_EVERY = timedelta(minutes=1)


_keys = ApiKey.__table__.c
_users = User.__table__.c
_LOOKUP = (
    select(
        _keys.secret_hash,
        _keys.scopes,
        _keys.revoked_at,
        _keys.last_used_at,
        _keys.user_id,
        _users.name,
        _users.role,
        _users.disabled,
        _users.supervised,
    )
    .join_from(ApiKey.__table__, User.__table__, _users.id == _keys.user_id)
    .where(_keys.id == bindparam("key_id"))
)
_TOUCH = (
    update(ApiKey.__table__)
    .where(_keys.id == bindparam("key_id"))
    .values(last_used_at=bindparam("now", type_=UtcDateTime()))
)


class AuthError(Exception):
    """Why a presented key is refused: ``code`` is stable, the text names no secret."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Caller:
    key_id: str
    user_id: str
    user_name: str
    role: str
    scopes: frozenset[str]
    supervised: bool = False  # what this user writes waits for a manager's approval

    def may(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def create_key(session: Session, user: User, scopes: list[str]) -> tuple[ApiKey, str]:
    """A new key for ``user``; the plaintext is returned here and never again."""
    if not scopes:
        raise InvalidInput("give at least one scope")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope; scopes are {', '.join(SCOPES)}")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        user_id=user.id,
        secret_hash=_digest(secret),
        scopes=" ".join(s for s in SCOPES if s in scopes),
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key, f"{PREFIX}{key.id}_{secret}"


def authenticate(session: Session, presented: str) -> Caller:
    match = _SHAPE.fullmatch(presented)
    if match is None:
        raise AuthError("invalid_key", "the API key is malformed")
    key_id, secret = match.groups()
    # Every request comes here: one prebuilt Core statement, no ORM objects.
    connection = session.connection()
    row = connection.execute(_LOOKUP, {"key_id": key_id}).first()
    # Compare even when the row is missing, so timing does not tell which ids exist.
    expected = row.secret_hash if row else b"\0" * 32
    if not hmac.compare_digest(expected, _digest(secret)) or row is None:
        raise AuthError("invalid_key", "the API key is not valid")
    if row.revoked_at is not None:
        raise AuthError("revoked_key", "the API key was revoked")
    if row.disabled:
        raise AuthError("user_disabled", "the key's user is disabled")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        connection.execute(_TOUCH, {"key_id": key_id, "now": now})
        session.commit()
    return Caller(
        key_id,
        row.user_id,
        row.name,
        row.role,
        frozenset(row.scopes.split()),
        bool(row.supervised),
    )


def list_keys(session: Session) -> list[tuple[ApiKey, User]]:
    rows = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).order_by(ApiKey.created_at)
    )
    return [(key, user) for key, user in rows]


def revoke_key(session: Session, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("no API key with that id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
