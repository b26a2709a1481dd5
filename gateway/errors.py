"""The domain's errors, each with a stable ``code`` (the LAN API returns it as is)."""

from __future__ import annotations


class GatewayError(Exception):
    code = "error"


class InvalidNumber(GatewayError):
    code = "invalid_number"


class InvalidBody(GatewayError):
    code = "invalid_body"


class BodyTooLong(GatewayError):
    code = "body_too_long"


class UnknownLine(GatewayError):
    code = "unknown_line"


class NotFound(GatewayError):
    code = "not_found"


class InvalidTransition(GatewayError):
    code = "invalid_transition"


class InvalidInput(GatewayError):
    code = "invalid_input"


class Conflict(GatewayError):
    code = "conflict"


class NotCancelable(GatewayError):
    code = "not_cancelable"
