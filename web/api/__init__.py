"""The LAN API, JSON under /api/v1. Each module adds its routes to ``blueprint``."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import (  # noqa: E402,F401  (registers routes)
    contacts,
    conversations,
    health,
    inbox,
    lines,
    messages,
    openapi,
    webhooks,
)
