"""Settings (not built yet)."""

from __future__ import annotations

from flask import render_template

from web.panel import blueprint
from web.panel.access import signed_in


@blueprint.get("/settings")
@signed_in()
def settings() -> str:
    return render_template("panel/stub.html", title="Settings")
