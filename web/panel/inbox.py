"""Inbox (not built yet)."""

from __future__ import annotations

from flask import render_template

from web.panel import blueprint
from web.panel.access import signed_in


@blueprint.get("/inbox")
@signed_in()
def inbox() -> str:
    return render_template("panel/stub.html", title="Inbox")
