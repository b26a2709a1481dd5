"""Live updates for the inbox pages: server-sent events saying which conversations changed.

A stream holds one of gunicorn's few threads, so it ends after ``STREAM_SECONDS`` with a
``retry:`` hint and the browser's EventSource reconnects (its Last-Event-ID carries where the
stream stood, so nothing that changed in between is missed). Between looks the stream holds
no database session; each look is one indexed query, at most once a second. Events carry
conversation ids only, never a body, a name or a number: the page fetches its own fragment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from flask import Response, current_app, g, request

from gateway.app import Gateway
from gateway.inbox_access import Viewer
from gateway.inbox_changes import Mark, changed_since, mark
from web import gateway_of
from web.panel import blueprint
from web.panel.access import signed_in
from web.panel.inbox_common import load_inbox_viewer

STREAM_SECONDS = 25.0
POLL_SECONDS = 1.0
RETRY_MS = 2000


def changes(
    gateway: Gateway,
    viewer: Viewer,
    since: Mark | None,
    *,
    only: str | None = None,
    seconds: float = STREAM_SECONDS,
    poll: float = POLL_SECONDS,
    wait: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[str]:
    """The stream's text: a ``changed`` event whenever conversations in sight change, and
    the mark as the event id so a reconnecting EventSource resumes where it was."""
    wait = wait or threading.Event().wait
    clock = clock or time.monotonic
    deadline = clock() + seconds
    yield f"retry: {RETRY_MS}\n: live\n\n"
    last = since
    while True:
        with gateway.sessions() as session:
            now = mark(session)
            ids = changed_since(session, viewer, last) if last and now != last else []
        if only is not None:
            ids = [i for i in ids if i == only]
        if ids:
            yield f"id: {now.token}\nevent: changed\ndata: {json.dumps({'ids': ids})}\n\n"
        elif now != last:
            yield f"id: {now.token}\n\n"
        else:
            # A comment each look: a closed tab is noticed at the next write, so its stream
            # (and its server thread) ends within a second, not at the stream's end.
            yield ":\n\n"
        last = now
        left = deadline - clock()
        if left <= 0:
            break
        wait(min(poll, left))
    yield ": reconnect\n\n"


LIVE_PAGES = frozenset({"panel.inbox", "panel.inbox_conversation"})


@blueprint.before_request
def _mark_live_pages() -> None:
    """Where the inbox stands before a live page reads it: its stream starts from there."""
    if request.endpoint in LIVE_PAGES and request.method == "GET" and g.get("panel"):
        with gateway_of(current_app).sessions() as session:
            g.live_since = mark(session).token


@blueprint.get("/inbox/events")
@signed_in()
def inbox_events() -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        viewer = load_inbox_viewer(session)
    # A reconnection resumes where its stream stood; a first connection where the page
    # stood when it was drawn, so what arrived in between is not missed.
    given = request.headers.get("Last-Event-ID") or request.args.get("since", "")
    since = Mark.parse(given[:40])
    only = request.args.get("conversation", "")[:64] or None
    settings = current_app.config
    stream = changes(
        gateway,
        viewer,
        since,
        only=only,
        seconds=float(settings.get("PANEL_EVENTS_SECONDS", STREAM_SECONDS)),
        poll=float(settings.get("PANEL_EVENTS_POLL_SECONDS", POLL_SECONDS)),
    )
    response = Response(stream, mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold events
    return response
