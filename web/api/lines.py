"""GET /lines: each modem's line with its state, signal, operator and queue depth."""

from __future__ import annotations

from typing import Any

from flask import current_app

from gateway.lines import line_statuses
from web import gateway_of
from web.api import blueprint
from web.api.auth import requires


@blueprint.get("/lines")
@requires("messages:read")
def get_lines() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        statuses, unassigned = line_statuses(session)
        return {
            "data": [
                {
                    "id": s.line.id,
                    "name": s.line.name,
                    "number": s.line.number,
                    "enabled": s.line.enabled,
                    "state": s.line.state,
                    "state_detail": s.line.state_detail,
                    "signal_dbm": s.line.signal_dbm,
                    "operator": s.line.operator,
                    "registration": s.line.registration,
                    "queue_depth": s.queue_depth,
                    "updated_at": s.line.updated_at.isoformat(),
                }
                for s in statuses
            ],
            "unassigned_queue_depth": unassigned,
        }
