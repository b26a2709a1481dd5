"""Archive (not built yet)."""

from __future__ import annotations

from flask import render_template

from web.panel import blueprint
from web.panel.access import signed_in


@blueprint.get("/archive")
@signed_in()
def archive() -> str:
    return render_template("panel/stub.html", title="Archive")
