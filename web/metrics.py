"""GET /metrics: Prometheus text, for the box itself or a scraper holding the metrics token.

Metric names, queue sizes and line names tell an outsider how busy the office is, so the
page is not public: a request from the box itself (the socket's peer address, never an
``X-Forwarded-For`` header, which anyone can write) or one that presents the token from
``web.metrics_token_file``. The token file is read on each scrape, so it can be rotated
(or be a systemd credential) without restarting the web server.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from gateway.metrics import CONTENT_TYPE, render
from web import gateway_of
from web.problems import Problem

logger = logging.getLogger(__name__)
blueprint = Blueprint("metrics", __name__)

# A token is a line of text; a larger file is a mistake, and is not read whole.
MAX_TOKEN_FILE = 4096
# Shorter tokens can be guessed by a scraper on the LAN trying them one after another.
MIN_TOKEN = 16


@blueprint.get("/metrics")
def metrics() -> Response:
    if not _from_loopback():
        _check_token()
    body = render(gateway_of(current_app).engine)
    response = Response(body, status=200, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _from_loopback() -> bool:
    # REMOTE_ADDR is the TCP peer as gunicorn accepted it; proxies' headers are ignored.
    try:
        address = ipaddress.ip_address(request.environ.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _check_token() -> None:
    web = gateway_of(current_app).config.web
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if not web.metrics_token_file:
        raise Problem(
            403,
            "metrics_local_only",
            "/metrics answers on the box itself only; set web.metrics_token_file to let a "
            "Prometheus server read it with a token",
        )
    if not header:
        raise _unauthorized("metrics_token_required", "send Authorization: Bearer <metrics token>")
    token = _read_token(Path(web.metrics_token_file))
    if (
        token is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(presented.strip().encode(), token.encode())
    ):
        raise _unauthorized("invalid_metrics_token", "that is not the metrics token")


def _read_token(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TOKEN_FILE + 1)
    except OSError as exc:
        logger.warning("cannot read web.metrics_token_file %s: %s", path, exc.strerror)
        return None
    token = data.decode("utf-8", errors="replace").strip()
    if len(data) > MAX_TOKEN_FILE or len(token) < MIN_TOKEN or not token.isprintable():
        # The content is never logged: it may be most of a secret.
        logger.warning(
            "web.metrics_token_file %s does not hold a token of %d to %d printable characters",
            path,
            MIN_TOKEN,
            MAX_TOKEN_FILE,
        )
        return None
    return token


def _unauthorized(code: str, detail: str) -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": 'Bearer realm="smsgw metrics"'})
