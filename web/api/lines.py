"""GET /lines: each modem's line with its state, signal, operator and queue depth."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from gateway.models import Line, Message
from web import gateway_of
from web.api import blueprint
from web.api.auth import requires


@blueprint.get("/lines")
@requires("messages:read")
def get_lines() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        depth = dict(
            session.execute(
                select(Message.line_id, func.count())
                .where(Message.status == "queued")
                .group_by(Message.line_id)
            ).all()
        )
        lines = session.scalars(select(Line).order_by(Line.name)).all()
        return {
            "data": [
                {
                    "id": line.id,
                    "name": line.name,
                    "number": line.number,
                    "enabled": line.enabled,
                    "state": line.state,
                    "state_detail": line.state_detail,
                    "signal_dbm": line.signal_dbm,
                    "operator": line.operator,
                    "registration": line.registration,
                    "queue_depth": depth.get(line.id, 0),
                    "updated_at": line.updated_at.isoformat(),
                }
                for line in lines
            ],
            "unassigned_queue_depth": depth.get(None, 0),
        }
