"""Several boxes, one queue: each worker holds a heartbeat lease in the database.

A worker registers at start, beats every few seconds and marks itself stopped on a clean
stop. Any worker that finds another's heartbeat older than the lease takes it over, with a
conditional update so that exactly one survivor does: the dead worker's claimed messages go
back to the queue, its ``sending`` ones become ``unknown`` (the same rule as after a crash
on one box: handed to a modem, outcome never recorded, not resent behind anyone's back),
and its lines show offline. One box on SQLite runs the same code; it simply never meets
another.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.lifecycle import record
from gateway.models import Line, Message, WorkerLease, utcnow

logger = logging.getLogger(__name__)
ACTOR = "worker"


def worker_name(configured: str) -> str:
    return configured or socket.gethostname()[:48] or "worker"


def claim_prefix(name: str) -> str:
    """What a worker's modem threads write in ``claimed_by``: "<worker>/<line>"."""
    return f"{name}/"


@dataclass(frozen=True)
class Released:
    unknown: int  # were in ``sending``: handed to a modem, outcome never recorded
    requeued: int  # were claimed but never reached AT+CMGS


def release_claims(
    session: Session, name: str, *, resend_unknown: bool = False, detail: str
) -> Released:
    """Whatever worker ``name`` held: ``sending`` → ``unknown`` (or queued again if the
    config says so), claimed-but-queued → free (the caller commits)."""
    mine = Message.claimed_by.startswith(claim_prefix(name), autoescape=True)
    unknown = 0
    for message in session.scalars(select(Message).where(Message.status == "sending", mine)):
        message.claimed_by = None
        if resend_unknown:
            record(session, message, "queued", ACTOR, f"resent: {detail} (config)")
        else:
            record(session, message, "unknown", ACTOR, f"{detail} during AT+CMGS")
        unknown += 1
    requeued = 0
    for message in session.scalars(select(Message).where(Message.status == "queued", mine)):
        message.claimed_by = None
        message.claimed_at = None
        requeued += 1
    return Released(unknown, requeued)


def is_live(lease: WorkerLease, config: Config, now: datetime | None = None) -> bool:
    fresh = (now or utcnow()) - lease.heartbeat_at < timedelta(seconds=config.worker.lease_seconds)
    return fresh and lease.stopped_at is None and lease.taken_over_at is None


def register(session: Session, name: str, now: datetime | None = None) -> None:
    """This worker is alive from now on (a restart after a crash re-registers)."""
    now = now or utcnow()
    lease = session.get(WorkerLease, name)
    if lease is None:
        lease = WorkerLease(name=name)
        session.add(lease)
    lease.host = socket.gethostname()[:255]
    lease.pid = os.getpid()
    lease.started_at = now
    lease.heartbeat_at = now
    lease.stopped_at = None
    lease.taken_over_at = None
    lease.taken_over_by = None


def beat(session: Session, name: str, now: datetime | None = None) -> bool:
    """Renew the lease; False when another worker took this one over meanwhile (the
    database was out of reach longer than the lease): the caller must register again."""
    renewed = session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.taken_over_at.is_(None))
        .values(heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


def stopped(session: Session, name: str, now: datetime | None = None) -> None:
    """A clean stop: nothing to take over, and the lines are offline at once."""
    now = now or utcnow()
    session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name)
        .values(stopped_at=now)
        .execution_options(synchronize_session=False)
    )
    _lines_offline(session, name, "its box stopped", now)


def _lines_offline(session: Session, name: str, why: str, now: datetime) -> None:
    session.execute(
        update(Line)
        .where(Line.worker == name)
        .values(state="offline", state_detail=why, updated_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class TakenOver:
    name: str
    released: Released


def take_over_dead(
    session: Session,
    me: str,
    lease_seconds: float,
    *,
    resend_unknown: bool = False,
    now: datetime | None = None,
) -> list[TakenOver]:
    """Take over every worker whose heartbeat is older than the lease (the caller commits).

    The conditional update is the arbiter: of two survivors looking at once, one changes
    the row and does the work; the other's update matches nothing and it moves on.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    dead = session.scalars(
        select(WorkerLease.name).where(
            WorkerLease.name != me,
            WorkerLease.heartbeat_at < cutoff,
            WorkerLease.stopped_at.is_(None),
            WorkerLease.taken_over_at.is_(None),
        )
    ).all()
    out = []
    for name in dead:
        won = session.execute(
            update(WorkerLease)
            .where(
                WorkerLease.name == name,
                WorkerLease.heartbeat_at < cutoff,
                WorkerLease.stopped_at.is_(None),
                WorkerLease.taken_over_at.is_(None),
            )
            .values(taken_over_at=now, taken_over_by=me)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:
            continue  # it came back, or another survivor was first
        released = release_claims(
            session, name, resend_unknown=resend_unknown, detail=f"box {name} stopped answering"
        )
        _lines_offline(session, name, f"box {name} stopped answering", now)
        out.append(TakenOver(name, released))
        logger.warning(
            "took over worker %s: %d message(s) now unknown, %d returned to the queue",
            name,
            released.unknown,
            released.requeued,
        )
    return out
