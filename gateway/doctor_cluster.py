"""`smsgw doctor` for boxes sharing one PostgreSQL queue: which boxes hold a live lease,
which stopped, and which lapsed (taken over, or waiting to be)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Config
from gateway.doctor import Finding
from gateway.models import WorkerLease


def check_cluster(config: Config, engine: Engine, now: datetime) -> list[Finding]:
    if engine.dialect.name != "postgresql":
        return []  # one box on its SQLite file: nobody to share with
    try:
        with engine.connect() as connection:
            leases = connection.execute(select(WorkerLease).order_by(WorkerLease.name)).all()
    except SQLAlchemyError:
        return [Finding("boxes", "fail", "cannot read the workers' leases", "check the database")]
    lease = timedelta(seconds=config.worker.lease_seconds)
    alive, gone, lapsed = [], [], []
    for row in leases:
        if row.taken_over_at is not None:
            gone.append(f"{row.name} (taken over by {row.taken_over_by})")
        elif row.stopped_at is not None:
            gone.append(f"{row.name} (stopped)")
        elif now - row.heartbeat_at > lease:
            lapsed.append(row.name)
        else:
            alive.append(row.name)
    findings = []
    if lapsed:
        findings.append(
            Finding(
                "boxes",
                "warn",
                "lease lapsed, not yet taken over: " + ", ".join(lapsed),
                "is any worker running? a running box takes a lapsed one over within seconds",
            )
        )
    shown = ", ".join(alive) or "none"
    detail = f"{len(alive)} alive: {shown}" + (f"; {', '.join(gone)}" if gone else "")
    findings.append(Finding("boxes", "ok" if alive else "warn", detail))
    return findings
