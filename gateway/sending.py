"""The send path in Core statements: claim, sending, sent, and what a failure means.

Each modem thread runs this once per message, so it stays clear of the ORM's unit of work:
every step is a prebuilt statement or two on one connection, then one commit. The rules
are those of ``gateway.lifecycle``: each status change is checked against the allowed
transitions, is guarded by the status it expects (a message canceled meanwhile is not
sent), and writes its event row in the same transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Update, bindparam, exists, insert, or_, select, update

from gateway.config import Config
from gateway.errors import InvalidTransition
from gateway.lifecycle import check_transition
from gateway.models import Contact, Line, Message, MessageEvent, MessagePart, UtcDateTime, utcnow
from gateway.webhooks import claimed_changed
from modem.errors import ModemError

_messages = Message.__table__
_events = MessageEvent.__table__
_parts = MessagePart.__table__
_m = _messages.c
_lines = Line.__table__.c


@dataclass
class Claimed:
    """What a modem thread needs of the message it claimed."""

    id: str
    contact_id: str
    body_enc: bytes
    attempts: int
    concat_reference: int | None
    request_report: bool
    expires_at: datetime | None
    status_callback: str | None = None
    callback_style: str | None = None
    purpose: str = "transactional"
    status: str = "queued"


_next_candidate = (
    select(_m.id)
    .where(
        _m.status == "queued",
        _m.claimed_by.is_(None),
        _m.next_attempt_at <= bindparam("now", type_=UtcDateTime()),
        or_(_m.line_id.is_(None), _m.line_id == bindparam("for_line")),
        # A line disabled in the panel takes nothing new (what it holds already finishes).
        exists().where(_lines.id == bindparam("for_line"), _lines.enabled.is_(True)),
    )
    .order_by(_m.priority, _m.next_attempt_at, _m.created_at)
    .limit(1)
    # PostgreSQL: boxes sharing a queue skip each other's locked rows (SQLite ignores it).
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)

_CLAIM = (
    update(_messages)
    .where(_m.id == _next_candidate, _m.status == "queued", _m.claimed_by.is_(None))
    .values(claimed_by=bindparam("worker"), claimed_at=bindparam("now", type_=UtcDateTime()))
    .returning(
        _m.id,
        _m.contact_id,
        _m.body_enc,
        _m.attempts,
        _m.concat_reference,
        _m.request_report,
        _m.expires_at,
        _m.status_callback,
        _m.callback_style,
        _m.purpose,
    )
)

_ADD_EVENT = insert(_events)
_ADD_PART = insert(_parts)
_SENT_PARTS = select(_parts.c.sequence).where(
    _parts.c.message_id == bindparam("message_id"), _parts.c.status != "pending"
)
_CONTACT = select(Contact.__table__.c.number_enc).where(
    Contact.__table__.c.id == bindparam("contact_id")
)


def claim_next(
    connection: Connection, worker: str, line_id: str, now: datetime | None = None
) -> Claimed | None:
    """Take the next message the modem of ``line_id`` may send, in one statement.

    A message bound to a line waits for that line's modem; an unbound one goes to any
    enabled line. A disabled line's modem claims nothing.
    The update re-checks that the message is still queued and unclaimed, and the database
    serialises it (SQLite's write lock; PostgreSQL's row lock, skipping rows another box
    holds), so two modems or two boxes never take the same message.

    The claim is not committed here: it commits with ``start_sending``, so a crash before
    AT+CMGS rolls it back and the message simply stays queued, and a send costs one commit
    fewer. Nothing slow happens in between (decrypting and encoding only).
    """
    params = {"now": now or utcnow(), "for_line": line_id, "worker": worker}
    row = connection.execute(_CLAIM, params).first()
    return None if row is None else Claimed(**row._mapping)


@lru_cache(maxsize=32)
def _status_update(columns: frozenset[str]) -> Update:
    return (
        update(_messages)
        .where(_m.id == bindparam("message_id"), _m.status == bindparam("previous"))
        .values({name: bindparam(f"set_{name}", type_=_m[name].type) for name in columns})
    )


def transition(
    connection: Connection,
    claimed: Claimed,
    status: str,
    actor: str,
    detail: str | None = None,
    *,
    now: datetime | None = None,
    **values: Any,
) -> None:
    """Move a claimed message to ``status`` with its event row and the webhook deliveries
    it calls for (the caller commits).

    The update only applies if the message still has the status we last saw; otherwise
    someone else changed it (a person canceled it) and ``InvalidTransition`` is raised.
    """
    previous = claimed.status
    check_transition(previous, status)
    now = now or utcnow()
    values.update(status=status, updated_at=now)
    changed = connection.execute(
        _status_update(frozenset(values)),
        {"message_id": claimed.id, "previous": previous}
        | {f"set_{name}": value for name, value in values.items()},
    )
    if changed.rowcount != 1:
        raise InvalidTransition(f"{previous} -> {status}: the message changed meanwhile")
    connection.execute(
        _ADD_EVENT,
        {
            "message_id": claimed.id,
            "at": now,
            "status": status,
            "previous": previous,
            "actor": actor,
            "detail": detail,
        },
    )
    claimed.status = status
    claimed_changed(
        connection,
        claimed.id,
        status,
        previous,
        now,
        claimed.status_callback,
        claimed.callback_style,
    )


def contact_number_enc(connection: Connection, contact_id: str) -> bytes | None:
    return connection.execute(_CONTACT, {"contact_id": contact_id}).scalar()


def sent_sequences(connection: Connection, claimed: Claimed) -> set[int]:
    """Parts an earlier attempt already handed over (a retry sends only the rest)."""
    return set(connection.execute(_SENT_PARTS, {"message_id": claimed.id}).scalars())


def start_sending(connection: Connection, claimed: Claimed, line_id: str, actor: str) -> None:
    """Committed by the caller *before* AT+CMGS: a crash after this leaves ``sending``."""
    claimed.attempts += 1
    transition(
        connection,
        claimed,
        "sending",
        actor,
        f"attempt {claimed.attempts}",
        via_line_id=line_id,
        attempts=claimed.attempts,
    )


def part_sent(
    connection: Connection, claimed: Claimed, sequence: int, reference: int, line_id: str
) -> None:
    connection.execute(
        _ADD_PART,
        {
            "message_id": claimed.id,
            "sequence": sequence,
            "line_id": line_id,
            "reference": reference,
            "status": "sent",
            "sent_at": utcnow(),
        },
    )


def finish_sent(connection: Connection, claimed: Claimed, actor: str) -> None:
    now = utcnow()
    transition(
        connection, claimed, "sent", actor, now=now, sent_at=now, claimed_by=None, error_code=None
    )


def send_failed(
    connection: Connection,
    claimed: Claimed,
    error: ModemError,
    config: Config,
    actor: str,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> None:
    """Decide what a failed attempt means: retry later, fail for good, or not count it."""
    now = now or utcnow()
    code = error_code(error)
    values: dict[str, Any] = {"claimed_by": None, "error_code": code}
    if error.fault:
        # The modem, SIM or network is at fault, not the message: no attempt is charged and
        # it may go out through another modem.
        claimed.attempts = max(0, claimed.attempts - 1)
        values.update(attempts=claimed.attempts, next_attempt_at=now)
        transition(connection, claimed, "queued", actor, f"modem fault {code}", now=now, **values)
        return
    expired = claimed.expires_at is not None and claimed.expires_at <= now
    if error.permanent or expired or claimed.attempts >= config.queue.max_attempts:
        why = "permanent" if error.permanent else "expired" if expired else "attempts exhausted"
        transition(connection, claimed, "failed", actor, f"{code} ({why})", now=now, **values)
        return
    delay = backoff(claimed.attempts, config.queue.backoff_base, config.queue.backoff_max, rng)
    values["next_attempt_at"] = now + timedelta(seconds=delay)
    transition(
        connection, claimed, "queued", actor, f"{code}, retry in {delay:.0f}s", now=now, **values
    )


def backoff(attempt: int, base: float, ceiling: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter ("equal jitter"): half fixed, half random."""
    step = min(ceiling, base * 2 ** max(0, attempt - 1))
    return step / 2 + (rng or random).random() * step / 2


def error_code(error: ModemError) -> str:
    code = getattr(error, "code", None)
    prefix = {"CmsError": "cms", "CmeError": "cme"}.get(type(error).__name__)
    if prefix and code is not None:
        return f"{prefix}:{code}"
    return type(error).__name__.lower()[:32]
