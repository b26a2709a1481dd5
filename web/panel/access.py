"""Who is asking: the panel session of a request, and what each role may open and do.

Pages call the same ``gateway`` functions as the API, with a ``Caller`` built from the
signed-in user, so a role can do in the panel exactly what it could through an API key of
the matching scopes, no more.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from gateway.apikeys import SCOPES, Caller
from gateway.inbox_access import Viewer, load_viewer
from gateway.panel_sessions import Current
from web import gateway_of

F = TypeVar("F", bound=Callable[..., Any])

# The API scopes each role holds in the panel.
ROLE_SCOPES = {
    "admin": frozenset(SCOPES),
    "manager": frozenset({"messages:send", "messages:read", "contacts:read", "contacts:write"}),
    "agent": frozenset({"messages:send", "messages:read", "contacts:read", "contacts:write"}),
    "auditor": frozenset({"messages:read", "contacts:read"}),
}
ALL_ROLES = frozenset(ROLE_SCOPES)
MANAGERS = frozenset({"admin", "manager"})


def current() -> Current:
    """The signed-in session (only inside a view guarded by ``signed_in``)."""
    held: Current = g.panel
    return held


def caller() -> Caller:
    held = current()
    return Caller(
        f"panel:{held.session_id[:12]}",
        held.user_id,
        held.user_name,
        held.role,
        ROLE_SCOPES[held.role],
        held.supervised,
    )


def viewer() -> Viewer:
    with gateway_of(current_app).sessions() as session:
        return load_viewer(session, current().user_id)


def signed_in(*roles: str) -> Callable[[F], F]:
    """Guard a page: signed in, at the last stage, with one of ``roles`` (default: any).

    A user of another role gets 403, the page exists but is not theirs.
    """
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            held: Current | None = g.get("panel")
            if held is None:
                return _to_sign_in()
            if held.stage != "signed_in":
                return redirect(url_for(f"panel.{held.stage}"))
            if held.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _to_sign_in() -> Response:
    if request.method == "GET" and request.path not in ("/", "/login"):
        return redirect(url_for("panel.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("panel.login"))


def may(scope: str) -> bool:
    held: Current | None = g.get("panel")
    return held is not None and scope in ROLE_SCOPES[held.role]
