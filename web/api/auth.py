"""Bearer API keys on every /api/v1 route but /health, with scopes and rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from gateway.apikeys import AuthError, Caller, authenticate
from web import gateway_of
from web.problems import Problem
from web.ratelimit import RateLimiter, retry_after

F = TypeVar("F", bound=Callable[..., Any])
_KEYISH = re.compile(r"smsgw_key_", re.IGNORECASE)
_KEY_PARAMS = {"api_key", "apikey", "key", "token", "access_token", "auth", "authorization"}


def _limiter() -> RateLimiter:
    limiter = current_app.extensions.get("smsgw.ratelimit")
    if limiter is None:
        web = gateway_of(current_app).config.web
        share = web.rate_per_minute / web.workers
        limiter = RateLimiter(share, burst=max(10.0, share / 6))
        current_app.extensions["smsgw.ratelimit"] = limiter
    return limiter


def caller() -> Caller:
    who: Caller = g.caller
    return who


def _unauthorized(code: str, detail: str) -> Problem:
    return Problem(401, code, detail, headers={"WWW-Authenticate": 'Bearer realm="smsgw"'})


def authenticated(presented: str) -> Caller:
    """The caller a key stands for, or a 401 problem (also used by the Twilio endpoint)."""
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            return authenticate(session, presented)
        except AuthError as exc:
            raise _unauthorized(exc.code, exc.detail) from None


def refuse_keys_in_query() -> None:
    for name, value in request.args.items(multi=True):
        if name.lower() in _KEY_PARAMS or _KEYISH.search(value):
            raise Problem(
                400,
                "key_in_query_string",
                "API keys go in the Authorization header, never in the URL "
                "(URLs end up in logs and browser history); revoke that key",
            )


def throttle(who: Caller) -> None:
    wait = _limiter().take(who.key_id)
    if wait:
        raise Problem(
            429,
            "rate_limited",
            "too many requests for this API key; slow down",
            headers={"Retry-After": retry_after(wait)},
        )


def requires(scope: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refuse_keys_in_query()
            header = request.headers.get("Authorization", "")
            scheme, _, presented = header.partition(" ")
            if not header:
                raise _unauthorized("missing_key", "send an API key: Authorization: Bearer …")
            if scheme.lower() != "bearer" or not presented.strip():
                raise _unauthorized("invalid_key", "use Authorization: Bearer <API key>")
            who = authenticated(presented.strip())
            if not who.may(scope):
                raise Problem(403, "insufficient_scope", f"this key lacks the {scope} scope")
            throttle(who)
            g.caller = who
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
