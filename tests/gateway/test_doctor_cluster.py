"""`smsgw doctor` on a shared PostgreSQL queue: the boxes alive, stopped, taken over, and
one whose lease lapsed with nobody to take it over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.app import Gateway
from gateway.doctor_cluster import check_cluster
from gateway.models import WorkerLease, utcnow

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def test_it_tells_live_boxes_from_lapsed_ones(gateway: Gateway) -> None:
    now = utcnow()
    with gateway.sessions() as session:
        for name, beat, stopped, taken in (
            ("front", now, None, None),
            ("back", now - timedelta(minutes=5), None, None),
            ("old", now - timedelta(days=3), now - timedelta(days=3), None),
            ("dead", now - timedelta(hours=1), None, "front"),
        ):
            session.add(
                WorkerLease(
                    name=name,
                    host="h",
                    pid=1,
                    started_at=beat,
                    heartbeat_at=beat,
                    stopped_at=stopped,
                    taken_over_at=now if taken else None,
                    taken_over_by=taken,
                )
            )
        session.commit()
    lapsed, summary = check_cluster(gateway.config, gateway.engine, now)
    assert (lapsed.status, lapsed.detail) == ("warn", "lease lapsed, not yet taken over: back")
    assert summary.status == "ok"
    assert summary.detail == "1 alive: front; dead (taken over by front), old (stopped)"
