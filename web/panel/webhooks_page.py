"""Webhooks (administrators): subscriptions, their signing secret shown once, a test
delivery, and how each one's recent deliveries went (never what they carried)."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.audit import audit
from gateway.errors import GatewayError, NotFound
from gateway.models import Webhook
from gateway.wake import notify_workers, nudge
from gateway.webhook_targets import check_target
from gateway.webhooks import (
    EVENTS,
    create_webhook,
    delete_webhook,
    list_deliveries,
    list_webhooks,
    queue_test_event,
)
from web import gateway_of
from web.panel import blueprint
from web.panel.access import current, signed_in
from web.panel.people import actor, field, page_number, paging, status_of

PER_PAGE = 25
DONE = {
    "deleted": "The webhook is removed; its deliveries still waiting are dropped.",
    "tested": "A signed webhook.test event is queued; the worker sends it within moments.",
}


def _page(error: str | None = None, status: int = 200, form: object = None) -> Response:
    with gateway_of(current_app).sessions() as session:
        html = render_template(
            "panel/webhooks/list.html",
            webhooks=list_webhooks(session),  # at most MAX_WEBHOOKS
            events=EVENTS,
            error=error,
            done=DONE.get(request.args.get("done", "")),
            form=form,
        )
    return current_app.make_response((html, status))


@blueprint.get("/webhooks")
@signed_in("admin")
def webhooks() -> Response:
    return _page()


@blueprint.post("/webhooks")
@signed_in("admin")
def webhooks_add() -> Response:
    url = field("url", 4096)
    events = [e[:64] for e in request.form.getlist("events")[:16]]
    own = field("secret", 512).strip()
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            check_target(gateway.config, url)
            webhook, secret = create_webhook(
                session, gateway.vault, url, events, own or None, created_by=current().user_id
            )
            session.flush()
        except GatewayError as exc:
            session.rollback()
            form = {"url": url, "events": events}  # never the secret back
            return _page(f"{exc}.", status_of(exc), form)
        audit(session, actor(), "webhook.added", webhook.id, " ".join(webhook.events.split()))
        session.commit()
        html = render_template(
            "panel/webhooks/created.html", webhook=webhook, secret=secret, own=bool(own)
        )
    return current_app.make_response((html, 201))


@blueprint.post("/webhooks/<webhook_id>/delete")
@signed_in("admin")
def webhooks_delete(webhook_id: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            webhook = delete_webhook(session, webhook_id[:40])
        except NotFound:
            abort(404)
        audit(session, actor(), "webhook.deleted", webhook.id)
        session.commit()
    return redirect(url_for("panel.webhooks", done="deleted"))


@blueprint.post("/webhooks/<webhook_id>/test")
@signed_in("admin")
def webhooks_test(webhook_id: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session, gateway.writing():
        try:
            delivery = queue_test_event(session, gateway.vault, webhook_id[:40])
        except NotFound:
            abort(404)
        audit(session, actor(), "webhook.tested", webhook_id[:40], delivery)
        notify_workers(session)  # every box's worker, when boxes share PostgreSQL
        session.commit()
    nudge(gateway.config.wake_socket_path)
    return redirect(url_for("panel.webhooks_deliveries", webhook_id=webhook_id, done="tested"))


@blueprint.get("/webhooks/<webhook_id>")
@signed_in("admin")
def webhooks_deliveries(webhook_id: str) -> Response:
    page = page_number()
    with gateway_of(current_app).sessions() as session:
        webhook = session.get(Webhook, webhook_id[:40])
        if webhook is None:
            abort(404)
        rows = list_deliveries(
            session, webhook_id=webhook.id, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE
        )
        html = render_template(
            "panel/webhooks/deliveries.html",
            webhook=webhook,
            deliveries=rows[:PER_PAGE],
            pages=paging(
                "panel.webhooks_deliveries", page, len(rows) > PER_PAGE, webhook_id=webhook.id
            ),
            done=DONE.get(request.args.get("done", "")),
        )
    return current_app.make_response(html)
