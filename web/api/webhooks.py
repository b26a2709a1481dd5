"""Webhook subscriptions: add, list, remove (admin scope)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from sqlalchemy.orm import Session

from gateway.errors import GatewayError
from gateway.webhook_targets import check_target
from gateway.webhooks import create_webhook, delete_webhook, describe, list_webhooks
from web import gateway_of
from web.api import blueprint
from web.api.auth import caller, requires
from web.api.idempotent import idempotent
from web.api.inputs import check_fields, json_object
from web.problems import from_gateway_error


@blueprint.post("/webhooks")
@requires("admin")
def add_webhook() -> tuple[dict[str, Any], int]:
    gateway = gateway_of(current_app)
    data = json_object()
    check_fields(
        data,
        {"url": (str,), "events": (list,), "secret": (str, type(None))},
        ("url", "events"),
    )

    def work(session: Session) -> tuple[dict[str, Any], int]:
        try:
            # An address the sender would refuse at every attempt is refused now, with why.
            check_target(gateway.config, data["url"])
            webhook, secret = create_webhook(
                session,
                gateway.vault,
                data["url"],
                data["events"],
                data.get("secret"),
                created_by=caller().user_id,
            )
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        return {**describe(webhook), "secret": secret}, 201

    with gateway.sessions() as session:
        return idempotent(session, work)


@blueprint.get("/webhooks")
@requires("admin")
def get_webhooks() -> dict[str, Any]:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        return {"data": [describe(webhook) for webhook in list_webhooks(session)]}


@blueprint.delete("/webhooks/<webhook_id>")
@requires("admin")
def remove_webhook(webhook_id: str) -> Response:
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            delete_webhook(session, webhook_id[:64])
        except GatewayError as exc:
            raise from_gateway_error(exc) from None
        session.commit()
    return Response(status=204)
