"""GET /health: is the box up, can it reach its database."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from web import gateway_of
from web.api import blueprint


@blueprint.get("/health")
def health() -> tuple[dict[str, object], int]:
    gateway = gateway_of(current_app)
    try:
        with gateway.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # the database is the one thing a web process needs
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200
