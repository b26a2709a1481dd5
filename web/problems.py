"""Errors as RFC 9457 ``application/problem+json`` with a stable ``code``.

Every error body is built here from a code and a text we wrote: never from the request's
data, so an error cannot echo a number, a body or another user's anything.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from gateway.errors import GatewayError

# HTTP status of each domain error code (default 422: well-formed but not acceptable).
STATUS = {
    "not_found": 404,
    "invalid_transition": 409,
    "not_cancelable": 409,
    "too_many_webhooks": 409,
    "conflict": 409,
    "consent_change_forbidden": 403,
    "forbidden": 403,
}

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


class Problem(Exception):
    """Raise anywhere in a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {
        "type": f"https://smsgw.invalid/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_gateway_error(error: GatewayError) -> Problem:
    return Problem(STATUS.get(error.code, 422), error.code, str(error))


API_PREFIXES = ("/api/", "/metrics", "/2010-04-01/")


def wants_page() -> bool:
    """A person's browser on the panel gets an HTML page; API clients get problem+json."""
    return request.blueprint == "panel" or (
        not request.path.startswith(API_PREFIXES) and request.accept_mimetypes.accept_html
    )


def install_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        return problem_response(
            error.status, error.code, error.detail, error.headers, **error.extra
        )

    @app.errorhandler(GatewayError)
    def _gateway(error: GatewayError) -> Response:
        problem = from_gateway_error(error)
        return problem_response(problem.status, problem.code, problem.detail)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        if wants_page():
            from web.panel.errors import error_page

            return error_page(status, error.description)
        codes = {
            404: ("not_found", "no such resource"),
            405: ("method_not_allowed", "this method is not allowed here"),
            413: ("body_too_large", "the request body is larger than the box accepts"),
            400: ("bad_request", "the request could not be read"),
        }
        code, detail = codes.get(status, ("http_error", TITLES.get(status, "error").lower()))
        response = problem_response(status, code, detail)
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(OperationalError)
    def _store_unavailable(error: OperationalError) -> Response:
        # The database cannot take the write now: SQLite's disk or file is full, or another
        # writer held the lock past the busy timeout; PostgreSQL is unreachable. The
        # request's transaction was rolled back, so nothing of it was stored and the same
        # request can simply be sent again.
        status, code, detail, wait = unavailable(error)
        app.logger.warning("database unavailable (%s): answered %d", code, status)
        if wants_page():
            from web.panel.errors import error_page

            page = error_page(status, code)
            page.headers["Retry-After"] = wait
            return page
        return problem_response(status, code, detail, {"Retry-After": wait})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # Logged by type only: the exception text may hold request data.
        app.logger.error("unexpected %s in a request", type(error).__name__)
        if wants_page():
            from web.panel.errors import error_page

            return error_page(500)
        return problem_response(500, "internal_error", "something went wrong on the box")


# SQLite result codes (sqlite3 errors carry them as ``sqlite_errorname``).
_FULL = {"SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC"}


def unavailable(error: OperationalError) -> tuple[int, str, str, str]:
    """(status, code, detail, Retry-After) for a database that cannot serve the request.

    Only the SQLite error name is looked at: the exception's text holds the statement and
    its parameters.
    """
    name = getattr(error.orig, "sqlite_errorname", "")
    if name in _FULL:
        detail = "the box's storage is full; nothing was stored: try again once space is freed"
        return 503, "storage_full", detail, "60"
    detail = "the database is busy or unreachable; nothing was stored: try again shortly"
    return 503, "storage_unavailable", detail, "5"
