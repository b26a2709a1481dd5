"""Strict reading of JSON requests: exact types, no unknown fields, clear 4xx otherwise.

Error texts name the field and what was expected, never the value that was sent.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import request

from gateway.errors import GatewayError
from gateway.webhooks import check_url
from web.problems import Problem

MAX_URL = 2048
MIN_YEAR, MAX_YEAR = 2000, 2999
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_constants(name: str) -> float:
    raise ValueError(name)


def json_body() -> Any:
    if not request.is_json:
        raise Problem(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise Problem(400, "invalid_json", "the body is not valid JSON (UTF-8)") from None


def json_object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise Problem(422, "invalid_type", "the body must be a JSON object")
    return body


def check_fields(
    data: dict[str, Any],
    allowed: dict[str, tuple[type, ...]],
    required: tuple[str, ...],
    at: str = "",
) -> None:
    for name in data:
        if name not in allowed:
            shown = name if len(name) <= 40 and name.isprintable() else "(unprintable)"
            raise Problem(422, "unknown_field", f"unknown field {at}{shown!r}")
    for name in required:
        if data.get(name) is None:
            raise Problem(422, "missing_field", f"{at}{name} is required")
    for name, value in data.items():
        kinds = allowed[name]
        if value is None and type(None) in kinds:
            continue
        # bool is an int in Python, but not in JSON.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise Problem(422, "invalid_type", f"{at}{name} must be {_kind_names(kinds)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise Problem(422, "invalid_type", f"{at}{name} must be a finite number")


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        list: "an array",
        dict: "an object",
        type(None): "null",
        float: "a number",
    }
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)


def timestamp(value: str | None, name: str) -> datetime | None:
    """RFC 3339 with an explicit offset: a time without a zone is ambiguous on a LAN box."""
    if value is None:
        return None
    if len(value) > 40:
        raise Problem(422, "invalid_time", f"{name} must be an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Problem(422, "invalid_time", f"{name} must be an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise Problem(422, "invalid_time", f"{name} needs a time zone offset (or Z)")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = None
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise Problem(422, "invalid_time", f"{name} must lie between {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def callback_url(value: str | None, name: str = "status_callback") -> str | None:
    if value is None:
        return None
    if len(value) > MAX_URL or _CONTROL.search(value):
        raise Problem(422, "invalid_url", f"{name} must be an http(s) URL of at most {MAX_URL}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise Problem(422, "invalid_url", f"{name} must be an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Problem(422, "invalid_url", f"{name} must be an http(s) URL")
    if parts.username or parts.password:
        raise Problem(422, "invalid_url", f"{name} must not carry credentials")
    try:
        return check_url(value)  # the same rules as webhook subscriptions
    except GatewayError:
        raise Problem(422, "invalid_url", f"{name} must be a plain http(s) URL") from None


def count(value: str, name: str, low: int, high: int, code: str = "invalid_limit") -> int:
    """A decimal count in ASCII: "²" passes ``str.isdigit`` but is no number ``int`` reads."""
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or not (
        low <= int(value) <= high
    ):
        raise Problem(422, code, f"{name} is {low} to {high}")
    return int(value)


def cursor_time(at: str) -> datetime | None:
    """A cursor's time, or None when it is not one the API gave out (no offset, or outside
    the years the database keeps)."""
    try:
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            return None
        when = when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return when if MIN_YEAR <= when.year <= MAX_YEAR else None
