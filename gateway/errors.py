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


class RecipientOptedOut(GatewayError):
    code = "recipient_opted_out"


class NoMarketingConsent(GatewayError):
    code = "no_marketing_consent"


class NoTransactionalConsent(GatewayError):
    code = "no_transactional_consent"


class RecipientErased(GatewayError):
    code = "recipient_erased"


class MarketingCapReached(GatewayError):
    code = "marketing_cap_reached"


class NoAllowedHours(GatewayError):
    code = "no_allowed_hours"


class ConsentForbidden(GatewayError):
    """A consent change the person recording it may not make (an agent re-subscribing)."""

    code = "consent_change_forbidden"


class UnknownMessage(GatewayError):
    code = "unknown_message"


class Forbidden(GatewayError):
    """The caller may see the thing but not do this to it (an auditor replying, an agent
    approving)."""

    code = "forbidden"


class SensitiveContent(GatewayError):
    """The text looks like a card number, a social security number or a password."""

    code = "sensitive_content"


class InvalidTemplate(GatewayError):
    code = "invalid_template"
