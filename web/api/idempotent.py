"""``Idempotency-Key`` for the API's POSTs: the work and its record in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, request
from sqlalchemy.orm import Session

from gateway.errors import GatewayError
from gateway.idempotency import Replay, claim, remember, request_hash
from gateway.wake import notify_workers, nudge
from web import gateway_of
from web.api.auth import caller
from web.problems import from_gateway_error

Work = Callable[[Session], tuple[dict[str, Any], int]]


def idempotent(session: Session, work: Work) -> tuple[dict[str, Any], int]:
    """Run ``work(session) -> (body, status)`` once per Idempotency-Key."""
    gateway = gateway_of(current_app)
    # Twilio's SDKs send their own header for the same purpose.
    key = request.headers.get("Idempotency-Key", request.headers.get("I-Twilio-Idempotency-Token"))
    record = None
    with gateway.writing():
        if key is not None:
            digest = request_hash(request.method, request.path, request.get_data(cache=True))
            try:
                found = claim(session, gateway.vault, caller().key_id, key, digest)
            except GatewayError as exc:
                raise from_gateway_error(exc) from None
            if isinstance(found, Replay):
                session.rollback()
                return found.body, found.status
            record = found
        body, status = work(session)
        if record is not None:
            remember(session, gateway.vault, record, status, body)
        notify_workers(session)  # every box's worker, when boxes share PostgreSQL
        session.commit()
    nudge(gateway.config.wake_socket_path)
    return body, status
