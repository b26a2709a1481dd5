"""Panel sessions kept on the server: the browser holds a random token, the database its
SHA-256, so a stolen database opens no session and signing out ends it for good.

A session is ``signed_in`` or waiting at a step of signing in. Every step taken issues a new
token (no fixation: an id seen before sign-in is worthless after it). A session ends after
``idle`` without a request from its user, or ``lifetime`` after it began, whichever is first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from gateway.models import PanelSession, User, utcnow

STAGES = ("second_factor", "change_password", "enroll_totp", "signed_in")
PENDING_LIFETIME = timedelta(minutes=10)  # a step of signing in not taken by then: start over
LIFETIME = timedelta(hours=12)
# Seen-at is written at most this often, so reading pages does not mean writing rows.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Current:
    """The session a request carries, with its user as the pages need them."""

    session_id: str
    stage: str
    csrf_token: str
    user_id: str
    user_name: str
    role: str
    supervised: bool = False


def _id(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start(session: Session, user: User, stage: str, now: datetime | None = None) -> str:
    """A new session for ``user`` at ``stage``; the token for the cookie."""
    if stage not in STAGES:
        raise ValueError(stage)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        PanelSession(
            id=_id(token),
            user_id=user.id,
            stage=stage,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def advance(session: Session, current: Current, stage: str) -> str:
    """Move to ``stage`` under a new token (the old one stops working)."""
    user = session.get(User, current.user_id)
    end(session, current.session_id)
    assert user is not None
    return start(session, user, stage)


def find(
    session: Session, token: str, idle: timedelta, now: datetime | None = None, *, touch: bool
) -> Current | None:
    """The live session ``token`` names, or None; ``touch`` counts this request as activity."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = session.execute(
        select(PanelSession, User)
        .join(User, User.id == PanelSession.user_id)
        .where(PanelSession.id == _id(token))
    ).first()
    if row is None:
        return None
    held, user = row
    limit = LIFETIME if held.stage == "signed_in" else PENDING_LIFETIME
    if user.disabled or now - held.last_seen_at > idle or now - held.created_at > limit:
        session.delete(held)
        session.commit()
        return None
    if touch and now - held.last_seen_at >= TOUCH_EVERY:
        held.last_seen_at = now
        session.commit()
    return Current(
        held.id, held.stage, held.csrf_token, user.id, user.name, user.role, bool(user.supervised)
    )


def end(session: Session, session_id: str) -> None:
    session.execute(delete(PanelSession).where(PanelSession.id == session_id))


def end_all(session: Session, user_id: str, keep: str | None = None) -> None:
    """Sign ``user_id`` out everywhere (but ``keep``): a new password, a disabled account."""
    query = delete(PanelSession).where(PanelSession.user_id == user_id)
    if keep is not None:
        query = query.where(PanelSession.id != keep)
    session.execute(query)


def sweep(session: Session, idle: timedelta, now: datetime | None = None) -> int:
    """Remove sessions that can no longer be used."""
    now = now or utcnow()
    done = session.execute(
        delete(PanelSession).where(
            or_(
                PanelSession.last_seen_at < now - idle,
                PanelSession.created_at < now - LIFETIME,
            )
        )
    )
    return int(done.rowcount or 0)
