"""The admin panel: server-rendered pages for the office, on the same HTTPS port as the API.

Every page reads its session from a cookie, checks the role through ``web.panel.access``,
calls ``gateway`` functions and renders a template. Assets (``/assets``) are files of the
box's own: the panel works with no internet access.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, current_app, g, request
from werkzeug.wrappers import Response

from gateway import panel_sessions
from web import gateway_of
from web.panel.clock import local, zone_name
from web.panel.security import CSRF_FIELD, check_csrf, secure_headers, visible

blueprint = Blueprint(
    "panel",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
SESSION_COOKIE = "__Host-smsgw_session"
SIGNIN_COOKIE = "__Host-smsgw_signin"
# Requests the browser makes on its own (the live-update stream) are not activity.
PASSIVE_ENDPOINTS = frozenset({"panel.inbox_events", "panel.static"})


def _passive() -> bool:
    """A request the page makes on its own (the live stream, a fragment it refreshes after
    an event): not someone at the desk, so it does not hold an idle session open."""
    return request.endpoint in PASSIVE_ENDPOINTS or "fragment" in request.args


@blueprint.before_app_request
def _load_session() -> None:
    g.panel = None
    if request.blueprint != "panel" or request.endpoint == "panel.static":
        return
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        gateway = gateway_of(current_app)
        idle = timedelta(minutes=gateway.config.web.session_idle_minutes)
        with gateway.sessions() as session:
            g.panel = panel_sessions.find(session, token, idle, touch=not _passive())
    expected = g.panel.csrf_token if g.panel else request.cookies.get(SIGNIN_COOKIE)
    check_csrf(expected)


@blueprint.after_app_request
def _headers(response: Response) -> Response:
    if request.blueprint == "panel":
        secure_headers(response, private=request.endpoint != "panel.static")
    return response


@blueprint.app_context_processor
def _globals() -> dict[str, object]:
    from web.panel.access import may

    held = g.get("panel")
    return {"panel": held, "csrf_field": CSRF_FIELD, "may": may}


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, secure=True, httponly=True, samesite="Lax", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="Lax", path="/")


def init_app(app: Flask) -> None:
    app.jinja_options = {**app.jinja_options, "finalize": visible}
    app.add_template_filter(local, "local")
    app.add_template_global(zone_name, "zone_name")
    # The areas register their views on the blueprint when imported.
    from web.panel import (
        pages,  # noqa: F401
        signin_views,  # noqa: F401
    )

    app.register_blueprint(blueprint)
