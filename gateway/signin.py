"""Signing in to the panel: password, then the steps that may follow it, with throttling.

Every refusal reads the same ("that did not work"), whether the user does not exist, the
password or code is wrong, or the account or address is paused, so an attacker learns
nothing about which names exist or which ones are locked. Failures are counted per account
and per address in the database, so every web worker (and every box) sees the same counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from gateway import totp
from gateway.errors import GatewayError
from gateway.models import LoginThrottle, User, utcnow
from gateway.passwords import hash_password, needs_rehash, verify_password
from gateway.users import find_user
from gateway.vault import Vault

WINDOW = timedelta(minutes=15)
PAUSE = timedelta(minutes=15)
ACCOUNT_FAILURES = 5  # then the account is paused, whatever address tries it
ADDRESS_FAILURES = 20  # then the address is paused, whichever accounts it tries


class SignInRefused(GatewayError):
    code = "sign_in_refused"

    def __init__(self) -> None:
        super().__init__(
            "The user name, password or code is not right, or signing in is paused for a "
            "while after too many tries. Try again, or ask an administrator."
        )


@dataclass(frozen=True)
class Throttle:
    account: str
    address: str


def throttle_keys(name: str, address: str) -> Throttle:
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]

    return Throttle(f"account:{digest(name.casefold())}", f"address:{digest(address)}")


def _paused(session: Session, key: str, now: datetime) -> bool:
    row = session.get(LoginThrottle, key)
    return row is not None and row.locked_until is not None and row.locked_until > now


def _fail(session: Session, key: str, limit: int, now: datetime) -> None:
    row = session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    if now - row.window_start > WINDOW:
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + PAUSE
        row.failures, row.window_start = 0, now


def forget_old_failures(session: Session, now: datetime | None = None) -> int:
    """Drop counts whose window and pause are both over: they no longer decide anything."""
    now = now or utcnow()
    done = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_start < now - WINDOW,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    return int(done.rowcount or 0)


def record_failure(session: Session, keys: Throttle, now: datetime | None = None) -> None:
    now = now or utcnow()
    _fail(session, keys.account, ACCOUNT_FAILURES, now)
    _fail(session, keys.address, ADDRESS_FAILURES, now)


def is_paused(session: Session, keys: Throttle, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return _paused(session, keys.account, now) or _paused(session, keys.address, now)


def check_password(
    session: Session, name: str, password: str, address: str, now: datetime | None = None
) -> User:
    """The user whose password this is, or SignInRefused (the failure is counted).

    The caller commits either way: a failure must be recorded even though it is refused.
    """
    keys = throttle_keys(name, address)
    user = find_user(session, name) if 0 < len(name) <= 64 else None
    # Always hash, so the time taken does not tell a missing or paused account either.
    good = verify_password(user.password_hash if user else None, password)
    if is_paused(session, keys, now) or user is None or user.disabled or not good:
        record_failure(session, keys, now)
        raise SignInRefused()
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    counted = session.get(LoginThrottle, keys.account)
    if counted is not None:
        session.delete(counted)
    return user


def totp_secret(vault: Vault, user: User) -> str | None:
    if user.totp_secret_enc is None:
        return None
    return vault.decrypt(user.totp_secret_enc, "users", "totp_secret", user.id)


def set_totp_secret(session: Session, vault: Vault, user: User, secret: str | None) -> None:
    if secret is None:
        user.totp_secret_enc, user.totp_last_step = None, None
        return
    key = vault.system_key(session)
    user.totp_secret_enc = vault.encrypt(key, secret, "users", "totp_secret", user.id)


def check_second_factor(session: Session, vault: Vault, user: User, code: str, address: str) -> str:
    """Accept a TOTP code or a recovery code once; which one it was, or SignInRefused."""
    keys = throttle_keys(user.name, address)
    secret = totp_secret(vault, user)
    code = code.strip()[:32]
    if not is_paused(session, keys) and secret is not None:
        if totp.use_code(user, secret, code):
            return "totp"
        if len(code.replace("-", "").replace(" ", "")) == 10 and totp.use_recovery_code(
            session, user, code
        ):
            return "recovery_code"
    record_failure(session, keys)
    raise SignInRefused()


def next_stage(user: User, has_totp: bool, after: str | None) -> str:
    """The step after ``after`` (None: after the password) for this user."""
    order = ["second_factor", "change_password", "enroll_totp", "signed_in"]
    start = 0 if after is None else order.index(after) + 1
    for stage in order[start:]:
        if stage == "second_factor" and not has_totp:
            continue
        if stage == "change_password" and not user.must_change_password:
            continue
        if stage == "enroll_totp" and (has_totp or user.role != "admin"):
            continue
        return stage
    return "signed_in"
