"""Two-factor codes (TOTP, RFC 6238, as authenticator apps make them) and recovery codes.

A code is accepted once: the step it was made for is kept, and a code for that step or an
earlier one is refused, so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.models import RecoveryCode, User, utcnow

ISSUER = "smsgw"
STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, user_name: str, business: str) -> str:
    issuer = f"{ISSUER} {business}".strip() if business else ISSUER
    return pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step ``code`` is valid for (this one, or one either side), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    moment = (now or utcnow()).timestamp()
    totp = pyotp.TOTP(secret)
    current = int(moment // STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_code(user: User, secret: str, code: str, now: datetime | None = None) -> bool:
    """Accept ``code`` once: True and the step recorded, or False."""
    step = matching_step(secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.strip().lower().replace(" ", "").encode()).digest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace ``user``'s recovery codes with fresh ones, returned here and never again."""
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    wanted = _digest(code.replace("-", ""))
    rows = session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    for row in rows:
        if hmac.compare_digest(row.code_hash, wanted):
            row.used_at = utcnow()
            return True
    return False


def recovery_codes_left(session: Session, user: User) -> int:
    rows = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))
