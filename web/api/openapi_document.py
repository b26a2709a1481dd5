"""The OpenAPI 3.1 description of the LAN API and the Twilio-compatible endpoint.

Built from the same constants the views check against, so limits and enums cannot drift;
tests/web/test_openapi.py runs schemathesis against a live box to keep the rest honest.
Response schemas say ``additionalProperties: false`` so that any field added to a response
without being documented here fails those tests.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from gateway.apikeys import SCOPES
from gateway.consent import SOURCES
from gateway.outbound import MAX_BODY_CHARS, PURPOSES
from gateway.webhooks import EVENTS as WEBHOOK_EVENTS
from gateway.webhooks import MAX_URL_LENGTH as MAX_WEBHOOK_URL
from web.api.inputs import MAX_URL, MAX_YEAR, MIN_YEAR
from web.api.messages import MAX_BATCH, STATUSES

Schema = dict[str, Any]

LINE_STATES = ("ready", "busy", "backing_off", "faulted", "gone", "offline")
WEBHOOK_SECRET = "^whsec_[A-Za-z0-9+/]{32,86}={0,2}$"
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
TIME: Schema = {"type": "string", "format": "date-time"}
PROBLEM_STATUSES = {
    400: (
        "BadRequest",
        "The request could not be read (`bad_request`, `invalid_json`), or an "
        "API key was put in the query string (`key_in_query_string`).",
    ),
    401: (
        "Unauthorized",
        "No API key, or one that is malformed, unknown or revoked, or whose "
        "user is disabled (`missing_key`, `invalid_key`, `revoked_key`, `user_disabled`).",
    ),
    403: (
        "Forbidden",
        "The key lacks the scope this operation needs (`insufficient_scope`), or its user "
        "may not make this consent change (`consent_change_forbidden`).",
    ),
    404: ("NotFound", "No such resource (`not_found`)."),
    409: ("Conflict", "The resource is in a state that does not allow this (`not_cancelable`)."),
    413: (
        "TooLarge",
        "The body is larger than the box accepts (`body_too_large`; the limit "
        "is the `web.max_body_kb` setting).",
    ),
    415: (
        "UnsupportedMediaType",
        "The body must be `application/json` (`unsupported_media_type`).",
    ),
    422: (
        "Unprocessable",
        "Well-formed but not acceptable: unknown or missing fields, wrong "
        "types, invalid values (`unknown_field`, `missing_field`, `invalid_type`, "
        "`invalid_number`, `invalid_body`, `body_too_long`, `unknown_line`, `invalid_time`, "
        "`invalid_url`, `invalid_input`, `idempotency_key_reused`, `recipient_opted_out`, "
        "`no_marketing_consent`, `no_transactional_consent`, `recipient_erased`, "
        "`marketing_cap_reached`, `no_allowed_hours`, …).",
    ),
    429: (
        "TooManyRequests",
        "Too many requests for this API key (`rate_limited`); retry after "
        "the `Retry-After` seconds.",
    ),
}
TWILIO_ERROR_STATUSES = {
    400: "Invalid parameter: 21211 invalid To, 21604 To missing, 21602 Body missing, 21617 "
    "Body too long, 21212 invalid From, 21606 From is not a line of the box, 21609 invalid "
    "StatusCallback, 20422 anything else (e.g. MediaUrl: the box sends SMS only).",
    401: "20003: no Basic credentials, a user name other than the path's Account SID, or an "
    "API key that is not valid.",
    403: "20403: the API key lacks the scope (messages:send to create, messages:read to fetch).",
    404: "20404: no such message, or the Account SID is not of Twilio's shape.",
    413: "20422: the body is larger than the box accepts.",
    429: "20429: too many requests for this API key; retry after `Retry-After` seconds.",
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*statuses: int) -> dict[str, Schema]:
    return {
        str(status): {"$ref": f"#/components/responses/{PROBLEM_STATUSES[status][0]}"}
        for status in statuses
    }


def _twilio_errors(*statuses: int) -> dict[str, Schema]:
    return {str(status): {"$ref": f"#/components/responses/Twilio{status}"} for status in statuses}


def _scoped(scope: str, text: str) -> str:
    return f"{text}\n\nNeeds an API key with the `{scope}` scope (or `admin`)."


def _schemas() -> dict[str, Schema]:
    # Imported here: web.twilio imports web.api, whose __init__ imports this module.
    from web.twilio import API_VERSION as TWILIO_API_VERSION
    from web.twilio import STATUSES as TWILIO_STATUSES

    message_properties: dict[str, Schema] = {
        "id": {"type": "string", "examples": ["msg_01J9Z8Q4G8Y7K2M3N4P5Q6R7S8"]},
        "direction": {"type": "string", "enum": ["in", "out"]},
        "status": {"type": "string", "enum": list(STATUSES)},
        "to": {
            "type": ["string", "null"],
            "description": "E.164. Outbound: the recipient; inbound: the line's number (null "
            "when the line's number is not known). `(erased)` once the contact was erased.",
        },
        "from": {
            "type": ["string", "null"],
            "description": "E.164. Outbound: the line's number (null until a line is chosen "
            "or when its number is not known); inbound: the sender.",
        },
        "body": {"type": "string", "description": "`(erased)` once the contact was erased."},
        "line": {"type": ["string", "null"], "description": "The line's name."},
        "segments": {"type": "integer", "minimum": 0},
        "encoding": {
            "type": "string",
            "description": "`gsm7` or `ucs2` for outbound messages; as received for inbound.",
        },
        "purpose": {
            "type": "string",
            "enum": [*PURPOSES, "compliance"],
            "description": "`compliance`: a reply the rules require (STOP confirmation, HELP).",
        },
        "attempts": {"type": "integer", "minimum": 0},
        "error_code": {
            "type": ["string", "null"],
            "description": "Why the last attempt failed, e.g. `cms:38`, `expired`.",
        },
        "incomplete": {
            "type": "boolean",
            "description": "Inbound: some parts of a long message never arrived.",
        },
        "created_by": {"type": ["string", "null"], "description": "The user's id."},
        "created_at": TIME,
        "updated_at": TIME,
        "send_at": NULLABLE_TIME,
        "expires_at": NULLABLE_TIME,
        "sent_at": NULLABLE_TIME,
        "delivered_at": NULLABLE_TIME,
        "received_at": NULLABLE_TIME,
        "parts": {
            "type": "array",
            "description": "Single message only: each SMS sent, with the modem's reference.",
            "items": _ref("MessagePart"),
        },
        "events": {
            "type": "array",
            "description": "Single message only: the status history, oldest first.",
            "items": _ref("MessageEvent"),
        },
    }
    message_required = [name for name in message_properties if name not in ("parts", "events")]
    send_properties: dict[str, Schema] = {
        "to": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "A phone number; national forms are read in the box's default region.",
            "examples": ["+12015550123"],
        },
        "body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY_CHARS},
        "line": {"type": ["string", "null"], "description": "Send from this line (by name)."},
        "purpose": {"enum": [*PURPOSES, None], "default": "transactional"},
        "send_at": {**NULLABLE_TIME, "description": "RFC 3339 with an offset: send later."},
        "expires_at": {**NULLABLE_TIME, "description": "Fail rather than send after this."},
        "status_callback": {
            "type": ["string", "null"],
            "format": "uri",
            "maxLength": MAX_URL,
            "description": "An http(s) URL (no credentials) told of every status change.",
        },
        "consent": {
            "oneOf": [{"type": "null"}, _ref("SendConsent")],
            "description": "How the customer gave this number, recorded in the consent "
            "ledger with the send (transactional messages need such a record).",
        },
        "override_sensitive": {
            "type": ["boolean", "null"],
            "description": "Send even though the text looks like a payment card number, a US "
            "social security number or a password (managers and admins only; audited). "
            "Without it such a text is refused with 422 sensitive_content.",
        },
    }
    consent_state: Schema = _object(
        {
            "status": {"type": "string", "enum": ["none", "granted", "opted_out", "revoked"]},
            "since": NULLABLE_TIME,
            "source": {"type": ["string", "null"], "enum": [*SOURCES, None]},
        }
    )
    webhook: dict[str, Schema] = {
        "id": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "events": {
            "type": "array",
            "items": {"type": "string", "enum": list(WEBHOOK_EVENTS)},
        },
        "created_by": {"type": ["string", "null"], "description": "The user's id."},
        "created_at": TIME,
    }
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; `code` is stable, `detail` is for people.",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "code": {"type": "string", "pattern": "^[a-z_]+$"},
                "detail": {"type": "string"},
            },
        },
        "Message": _object(message_properties, message_required),
        "MessagePart": _object(
            {
                "sequence": {"type": "integer", "minimum": 1},
                "reference": {"type": ["integer", "null"], "minimum": 0, "maximum": 255},
                "status": {"type": "string"},
                "report_status": {"type": ["integer", "null"]},
                "sent_at": NULLABLE_TIME,
            }
        ),
        "MessageEvent": _object(
            {
                "at": TIME,
                "status": {"type": "string", "enum": list(STATUSES)},
                "actor": {"type": "string"},
                "detail": {"type": ["string", "null"]},
            }
        ),
        "MessageList": _object(
            {
                "data": {"type": "array", "items": _ref("Message")},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next (older) page; null at the end.",
                },
            }
        ),
        "SendMessage": _object(send_properties, ["to", "body"]),
        "SendBatch": _object(
            {
                "messages": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH,
                    "description": "Each item is checked on its own: invalid ones are listed "
                    "in `rejected`, the others are accepted.",
                    "items": _ref("SendMessage"),
                }
            }
        ),
        "BatchResult": _object(
            {
                "accepted": {
                    "type": "array",
                    "items": _object(
                        {
                            "index": {"type": "integer", "minimum": 0},
                            "id": {"type": "string"},
                            "status": {"type": "string", "enum": list(STATUSES)},
                            "segments": {"type": "integer", "minimum": 1},
                            "encoding": {"type": "string", "enum": ["gsm7", "ucs2"]},
                        }
                    ),
                },
                "rejected": {
                    "type": "array",
                    "items": _object(
                        {
                            "index": {"type": "integer", "minimum": 0},
                            "code": {"type": "string"},
                            "detail": {"type": "string"},
                        }
                    ),
                },
            }
        ),
        "Line": _object(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "number": {"type": ["string", "null"]},
                "enabled": {"type": "boolean"},
                "state": {"type": "string", "enum": list(LINE_STATES)},
                "state_detail": {"type": ["string", "null"]},
                "signal_dbm": {"type": ["integer", "null"]},
                "operator": {"type": ["string", "null"]},
                "registration": {"type": ["string", "null"]},
                "queue_depth": {"type": "integer", "minimum": 0},
                "updated_at": TIME,
            }
        ),
        "LineList": _object(
            {
                "data": {"type": "array", "items": _ref("Line")},
                "unassigned_queue_depth": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Queued messages not bound to a line.",
                },
            }
        ),
        "Health": _object(
            {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "database": {"type": "string", "enum": ["ok", "unreachable"]},
            }
        ),
        "SendConsent": _object(
            {
                "source": {"type": "string", "enum": list(SOURCES)},
                "evidence": {"type": ["string", "null"], "minLength": 1, "maxLength": 4000},
            },
            ["source"],
        ),
        "ConsentState": _object({"transactional": consent_state, "marketing": consent_state}),
        "Contact": _object(
            {
                "id": {"type": "string"},
                "number": {"type": ["string", "null"], "description": "null once erased."},
                "erased_at": NULLABLE_TIME,
                "created_at": TIME,
                "consent": _ref("ConsentState"),
            }
        ),
        "ContactList": _object({"data": {"type": "array", "items": _ref("Contact")}}),
        "NewContact": _object({"number": {"type": "string", "minLength": 1, "maxLength": 64}}),
        "Erased": _object(
            {
                "id": {"type": "string"},
                "erased_at": TIME,
                "blocked_messages": {"type": "integer", "minimum": 0},
            }
        ),
        "NewConsentEvent": _object(
            {
                "purpose": {"type": "string", "enum": [*PURPOSES, "all"]},
                "action": {"type": "string", "enum": ["opted_in", "opted_out", "revoked"]},
                "source": {"type": "string", "enum": list(SOURCES)},
                "evidence": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": 4000,
                    "description": "The disclosure shown, a document reference, a note. "
                    "A marketing opt-in needs it.",
                },
                "message_id": {
                    "type": ["string", "null"],
                    "description": "The contact's message that triggered it.",
                },
            },
            ["purpose", "action", "source"],
        ),
        "ConsentEvent": _object(
            {
                "id": {"type": "string"},
                "purpose": {"type": "string", "enum": [*PURPOSES, "all"]},
                "action": {"type": "string", "enum": ["opted_in", "opted_out", "revoked"]},
                "source": {"type": "string", "enum": list(SOURCES)},
                "message_id": {"type": ["string", "null"]},
                "recorded_by": {"type": "string"},
                "recorded_at": TIME,
            }
        ),
        "ConsentHistory": _object(
            {
                "contact": _object(
                    {
                        "id": {"type": "string"},
                        "number": {"type": "string", "description": "`(erased)` once erased."},
                        "erased_at": NULLABLE_TIME,
                    }
                ),
                "state": _ref("ConsentState"),
                "events": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": {"type": "string"},
                            "recorded_at": TIME,
                            "purpose": {"type": "string"},
                            "action": {"type": "string"},
                            "source": {"type": "string"},
                            "evidence": {"type": ["string", "null"]},
                            "recorded_by": {"type": "string"},
                            "line": {"type": ["string", "null"]},
                            "message": {
                                "oneOf": [
                                    {"type": "null"},
                                    _object(
                                        {
                                            "id": {"type": "string"},
                                            "received_at": TIME,
                                            "text": {"type": "string"},
                                        }
                                    ),
                                ]
                            },
                        }
                    ),
                },
            }
        ),
        "ConsentReview": _object(
            {
                "id": {"type": "string"},
                "contact_id": {"type": "string"},
                "message_id": {"type": "string"},
                "received_at": TIME,
                "due_on": {"type": "string", "format": "date"},
                "overdue": {"type": "boolean"},
                "status": {"type": "string", "enum": ["open", "revoked", "dismissed"]},
                "resolved_by": {"type": ["string", "null"]},
                "resolved_at": NULLABLE_TIME,
            }
        ),
        "ReviewDecision": _object(
            {"outcome": {"type": "string", "enum": ["revoked", "dismissed"]}}
        ),
        "ConsentReviewList": _object({"data": {"type": "array", "items": _ref("ConsentReview")}}),
        "NewWebhook": _object(
            {
                "url": {"type": "string", "format": "uri", "maxLength": MAX_WEBHOOK_URL},
                "events": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "enum": list(WEBHOOK_EVENTS)},
                },
                "secret": {
                    "type": ["string", "null"],
                    "pattern": WEBHOOK_SECRET,
                    "description": "A Standard Webhooks signing secret: `whsec_` and the "
                    "base64 of 24 to 64 random bytes. The box makes one if it is left out "
                    "(or null).",
                },
            },
            ["url", "events"],
        ),
        "Webhook": _object(webhook),
        "CreatedWebhook": _object(
            {
                **webhook,
                "secret": {
                    "type": "string",
                    "pattern": WEBHOOK_SECRET,
                    "description": "The signing secret: shown here only.",
                },
            }
        ),
        "WebhookList": _object({"data": {"type": "array", "items": _ref("Webhook")}}),
        "TwilioSend": {
            "type": "object",
            "description": "Twilio's form fields. Other Twilio parameters are ignored, except "
            "`MediaUrl`, which is refused (the box sends SMS only).",
            "required": ["To", "Body"],
            "properties": {
                "To": {"type": "string", "examples": ["+12015550123"]},
                "From": {
                    "type": "string",
                    "description": "Optional: the number of one of the box's lines to send "
                    "from (21606 if it is not); without it (or empty) the box picks a line.",
                },
                "Body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY_CHARS},
                "StatusCallback": {
                    "type": "string",
                    "anyOf": [{"const": ""}, {"format": "uri"}],
                    "maxLength": MAX_WEBHOOK_URL,
                    "description": "Gets Twilio-style form callbacks (MessageSid, "
                    "MessageStatus, …) on each status change. Empty: none.",
                },
            },
        },
        "TwilioMessage": _object(
            {
                "body": {"type": "string"},
                "num_segments": {"type": "string", "pattern": "^[0-9]+$"},
                "direction": {"type": "string", "enum": ["outbound-api", "inbound"]},
                "from": {"type": ["string", "null"]},
                "to": {"type": ["string", "null"]},
                "date_updated": {"type": "string", "description": "RFC 2822"},
                "price": {"type": "null"},
                "uri": {"type": "string"},
                "account_sid": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$"},
                "num_media": {"const": "0"},
                "status": {
                    "type": "string",
                    "enum": sorted(set(TWILIO_STATUSES.values())),
                    "description": "As in the status callbacks: pending_approval → accepted, "
                    "blocked → failed (21610), unknown (handed to a modem, outcome never "
                    "recorded) → failed (30008).",
                },
                "messaging_service_sid": {"type": "null"},
                "sid": {"type": "string", "description": "The box's message id."},
                "date_sent": {"type": ["string", "null"], "description": "RFC 2822"},
                "date_created": {"type": "string", "description": "RFC 2822"},
                "error_code": {
                    "type": ["integer", "null"],
                    "description": "Failed or undelivered: 21610 blocked by consent or policy, "
                    "30003 undelivered, 30008 any other failure.",
                },
                "error_message": {
                    "type": ["string", "null"],
                    "description": "The box's own error code, such as `cms:38` or `expired`.",
                },
                "price_unit": {"const": "USD"},
                "api_version": {"const": TWILIO_API_VERSION},
                "subresource_uris": _object({"media": {"type": "string"}}),
            }
        ),
        "TwilioError": _object(
            {
                "code": {"type": "integer", "description": "A Twilio error code."},
                "message": {"type": "string"},
                "more_info": {"type": "string", "format": "uri"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
            }
        ),
    }


def _responses() -> dict[str, Schema]:
    responses: dict[str, Schema] = {}
    for status, (name, description) in PROBLEM_STATUSES.items():
        response: Schema = {
            "description": description,
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
        responses[name] = response
    for status, description in TWILIO_ERROR_STATUSES.items():
        response = _json(_ref("TwilioError"), description)
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
        responses[f"Twilio{status}"] = response
    return responses


def _idempotency_key() -> Schema:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Repeat a POST with the same key (24 h) to get the first answer "
        "again instead of a second message or action.",
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    }


def _paths() -> dict[str, Schema]:
    idempotency_key = _idempotency_key()
    message_id: Schema = {
        "name": "message_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    contact_id: Schema = {
        "name": "contact_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    account_sid: Schema = {
        "name": "AccountSid",
        "in": "path",
        "required": True,
        "description": "Any SID of Twilio's shape; must equal the Basic user name.",
        "schema": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$"},
    }

    def query(name: str, schema: Schema, description: str) -> Schema:
        return {"name": name, "in": "query", "schema": schema, "description": description}

    twilio_security = [{"twilioBasic": []}]
    return {
        "/api/v1/health": {
            "get": {
                "operationId": "health",
                "tags": ["health"],
                "summary": "Is the box up, can it reach its database",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "Up."),
                    "503": _json(_ref("Health"), "The database cannot be reached."),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["health"],
                "summary": "Prometheus metrics",
                "description": "Prometheus text format (0.0.4), read from the database at "
                "scrape time. Answers requests from the box itself; from elsewhere only with "
                "`Authorization: Bearer <token>`, the token in the file named by the "
                "`web.metrics_token_file` setting (not an API key).",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The metrics.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **{
                        str(status): {
                            "description": text,
                            "content": {"application/problem+json": {"schema": _ref("Problem")}},
                        }
                        for status, text in (
                            (
                                401,
                                "No token or a wrong one (`metrics_token_required`, "
                                "`invalid_metrics_token`).",
                            ),
                            (
                                403,
                                "Not from the box itself and no token file is set "
                                "(`metrics_local_only`).",
                            ),
                            (503, "The database cannot be read (`storage_unavailable`)."),
                        )
                    },
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["health"],
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document.")},
            }
        },
        "/api/v1/messages": {
            "post": {
                "operationId": "sendMessage",
                "tags": ["messages"],
                "summary": "Send a message",
                "description": _scoped(
                    "messages:send",
                    "Checked and queued at once; the answer is the queued (or scheduled) "
                    "message. Follow it with GET or a `status_callback`.",
                ),
                "parameters": [idempotency_key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SendMessage")}},
                },
                "responses": {
                    "202": _json(_ref("Message"), "Accepted: queued or scheduled."),
                    **_problems(400, 401, 403, 413, 415, 422, 429),
                },
            },
            "get": {
                "operationId": "listMessages",
                "tags": ["messages"],
                "summary": "List messages, newest first",
                "description": _scoped(
                    "messages:read", "Unknown query parameters are refused (422)."
                ),
                "parameters": [
                    query("status", {"type": "string", "enum": list(STATUSES)}, "Only these."),
                    query("direction", {"type": "string", "enum": ["in", "out"]}, "Only these."),
                    query("number", {"type": "string", "maxLength": 64}, "The contact's number."),
                    query("line", {"type": "string"}, "The line's name."),
                    query("since", TIME, "Created at or after (RFC 3339 with an offset)."),
                    query("until", TIME, "Created before (RFC 3339 with an offset)."),
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                        "Page size.",
                    ),
                    query("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
                ],
                "responses": {
                    "200": _json(_ref("MessageList"), "A page of messages."),
                    **_problems(400, 401, 403, 422, 429),
                },
            },
        },
        "/api/v1/messages/batch": {
            "post": {
                "operationId": "sendBatch",
                "tags": ["messages"],
                "summary": "Send up to 1000 messages at once",
                "description": _scoped(
                    "messages:send",
                    "Each message is checked on its own. 202 when at least one was accepted, "
                    "422 with the same body when none was.",
                ),
                "parameters": [idempotency_key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SendBatch")}},
                },
                "responses": {
                    "202": _json(_ref("BatchResult"), "At least one message was accepted."),
                    **_problems(400, 401, 403, 413, 415, 429),
                    "422": {
                        "description": "No message was accepted (a BatchResult), or the body "
                        "itself is not acceptable (a problem).",
                        "content": {
                            "application/json": {"schema": _ref("BatchResult")},
                            "application/problem+json": {"schema": _ref("Problem")},
                        },
                    },
                },
            }
        },
        "/api/v1/messages/{message_id}": {
            "parameters": [message_id],
            "get": {
                "operationId": "getMessage",
                "tags": ["messages"],
                "summary": "One message with its parts and status history",
                "description": _scoped("messages:read", "Inbound or outbound."),
                "responses": {
                    "200": _json(_ref("Message"), "The message."),
                    **_problems(400, 401, 403, 404, 429),
                },
            },
            "delete": {
                "operationId": "cancelMessage",
                "tags": ["messages"],
                "summary": "Cancel a message not yet handed to a modem",
                "description": _scoped(
                    "messages:send",
                    "Only pending_approval, scheduled and queued messages can be canceled.",
                ),
                "responses": {
                    "200": _json(_ref("Message"), "The canceled message."),
                    **_problems(400, 401, 403, 404, 409, 429),
                },
            },
        },
        "/api/v1/lines": {
            "get": {
                "operationId": "listLines",
                "tags": ["lines"],
                "summary": "Each line with its modem's state, signal and queue depth",
                "description": _scoped("messages:read", "Ordered by name."),
                "responses": {
                    "200": _json(_ref("LineList"), "The lines."),
                    **_problems(400, 401, 403, 429),
                },
            }
        },
        "/api/v1/webhooks": {
            "post": {
                "operationId": "createWebhook",
                "tags": ["webhooks"],
                "summary": "Subscribe a URL to events",
                "description": _scoped(
                    "admin",
                    "Deliveries are signed per Standard Webhooks (webhook-id, "
                    "webhook-timestamp, webhook-signature) with the returned secret. Refused "
                    "(422): `invalid_webhook_url`, "
                    "`invalid_webhook_events`, `invalid_webhook_secret`, `too_many_webhooks`.",
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewWebhook")}},
                },
                "responses": {
                    "201": _json(_ref("CreatedWebhook"), "Subscribed; the secret is shown once."),
                    **_problems(400, 401, 403, 413, 415, 422, 429),
                },
            },
            "get": {
                "operationId": "listWebhooks",
                "tags": ["webhooks"],
                "summary": "The subscriptions (without their secrets)",
                "description": _scoped("admin", "Oldest first."),
                "responses": {
                    "200": _json(_ref("WebhookList"), "The subscriptions."),
                    **_problems(400, 401, 403, 429),
                },
            },
        },
        "/api/v1/webhooks/{webhook_id}": {
            "parameters": [
                {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "delete": {
                "operationId": "deleteWebhook",
                "tags": ["webhooks"],
                "summary": "Unsubscribe",
                "description": _scoped("admin", "Deliveries still pending for it fail."),
                "responses": {
                    "204": {"description": "Deleted."},
                    **_problems(400, 401, 403, 404, 429),
                },
            },
        },
        "/api/v1/contacts": {
            "post": {
                "operationId": "addContact",
                "tags": ["contacts"],
                "summary": "Find or add the contact of a number",
                "description": _scoped("contacts:write", "200 when it was known, 201 when added."),
                "parameters": [idempotency_key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewContact")}},
                },
                "responses": {
                    "200": _json(_ref("Contact"), "Known already."),
                    "201": _json(_ref("Contact"), "Added."),
                    **_problems(400, 401, 403, 413, 415, 422, 429),
                },
            },
            "get": {
                "operationId": "findContacts",
                "tags": ["contacts"],
                "summary": "Look a number up",
                "description": _scoped("contacts:read", "An empty list when the number is new."),
                "parameters": [
                    {
                        **query("number", {"type": "string"}, "E.164 or national."),
                        "required": True,
                    }
                ],
                "responses": {
                    "200": _json(_ref("ContactList"), "The contact, if known."),
                    **_problems(400, 401, 403, 422, 429),
                },
            },
        },
        "/api/v1/contacts/{contact_id}": {
            "parameters": [contact_id],
            "get": {
                "operationId": "getContact",
                "tags": ["contacts"],
                "summary": "A contact and their consent now",
                "description": _scoped("contacts:read", "Consent is derived from the ledger."),
                "responses": {
                    "200": _json(_ref("Contact"), "The contact."),
                    **_problems(400, 401, 403, 404, 429),
                },
            },
            "delete": {
                "operationId": "eraseContact",
                "tags": ["contacts"],
                "summary": "Erase a contact (crypto-shredding)",
                "description": _scoped(
                    "admin",
                    "Destroys the contact's data key: bodies, names, notes and consent "
                    "evidence become unreadable everywhere, backups included. The number's "
                    "blind index, the ledger's dates and sources and any opt-out remain, and "
                    "the number is never texted again.",
                ),
                "responses": {
                    "200": _json(_ref("Erased"), "Erased."),
                    **_problems(400, 401, 403, 404, 429),
                },
            },
        },
        "/api/v1/contacts/{contact_id}/consent": {
            "parameters": [contact_id],
            "get": {
                "operationId": "getConsent",
                "tags": ["contacts"],
                "summary": "The contact's whole consent ledger, with the messages behind it",
                "description": _scoped("contacts:read", "Oldest first; nothing is ever edited."),
                "responses": {
                    "200": _json(_ref("ConsentHistory"), "The evidence."),
                    **_problems(400, 401, 403, 404, 429),
                },
            },
            "post": {
                "operationId": "recordConsent",
                "tags": ["contacts"],
                "summary": "Add an event to the ledger",
                "description": _scoped(
                    "contacts:write",
                    "Corrections are new events. An agent cannot re-subscribe a contact who "
                    "opted out (403 `consent_change_forbidden`): only the contact (START) or "
                    "a manager recording new written consent (web_form, paper, email) with "
                    "its evidence can.",
                ),
                "parameters": [idempotency_key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewConsentEvent")}},
                },
                "responses": {
                    "201": _json(_ref("ConsentEvent"), "Recorded."),
                    **_problems(400, 401, 403, 404, 413, 415, 422, 429),
                },
            },
        },
        "/api/v1/consent/reviews": {
            "get": {
                "operationId": "listConsentReviews",
                "tags": ["contacts"],
                "summary": "Messages that read like an opt-out in other words",
                "description": _scoped("contacts:read", "Earliest deadline first."),
                "parameters": [
                    query(
                        "status",
                        {"type": "string", "enum": ["open", "revoked", "dismissed", "all"]},
                        "Default: open.",
                    )
                ],
                "responses": {
                    "200": _json(_ref("ConsentReviewList"), "The reviews."),
                    **_problems(400, 401, 403, 422, 429),
                },
            }
        },
        "/api/v1/consent/reviews/{review_id}": {
            "parameters": [
                {"name": "review_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": {
                "operationId": "decideConsentReview",
                "tags": ["contacts"],
                "summary": "Record the revocation a message asked for, or dismiss the flag",
                "description": _scoped("contacts:write", "409 when already decided."),
                "parameters": [idempotency_key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ReviewDecision")}},
                },
                "responses": {
                    "200": _json(_ref("ConsentReview"), "Decided."),
                    **_problems(400, 401, 403, 404, 409, 413, 415, 422, 429),
                },
            },
        },
        "/2010-04-01/Accounts/{AccountSid}/Messages.json": {
            "parameters": [account_sid],
            "post": {
                "operationId": "twilioCreateMessage",
                "tags": ["twilio"],
                "summary": "Send a message, Twilio style",
                "description": "For Twilio SDKs and tools: HTTP Basic with any Account SID "
                "as the user name and an smsgw API key (`messages:send`) as the password. "
                "Errors use Twilio's shape and codes.",
                "security": twilio_security,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": _ref("TwilioSend")}
                    },
                },
                "responses": {
                    "201": _json(_ref("TwilioMessage"), "Queued."),
                    **_twilio_errors(400, 401, 403, 404, 413, 429),
                },
            },
        },
        "/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json": {
            "parameters": [
                account_sid,
                {
                    "name": "MessageSid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
            ],
            "get": {
                "operationId": "twilioFetchMessage",
                "tags": ["twilio"],
                "summary": "Fetch a message, Twilio style",
                "description": "HTTP Basic as for sending; the key needs `messages:read`.",
                "security": twilio_security,
                "responses": {
                    "200": _json(_ref("TwilioMessage"), "The message."),
                    **_twilio_errors(400, 401, 403, 404, 429),
                },
            },
        },
    }


def _version() -> str:
    try:
        return metadata.version("smsgw")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def document() -> dict[str, Any]:
    """A fresh copy of the whole document (callers may change it)."""
    # Imported here: web.api.openapi_inbox imports this module's helpers.
    from web.api.openapi_inbox import inbox_paths, inbox_schemas, inbox_tags

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgw LAN API",
            "version": _version(),
            "description": "Send and follow SMS through the box's own modems. Bearer API keys "
            "(`smsgw key create`), scoped: " + ", ".join(f"`{s}`" for s in SCOPES) + ". "
            "Errors are `application/problem+json` with a stable `code`. Times are RFC 3339 "
            f"with an offset (or Z), in the years {MIN_YEAR} to {MAX_YEAR}.",
        },
        "tags": [
            {"name": "messages"},
            {"name": "lines"},
            {"name": "contacts", "description": "Contacts, the consent ledger, erasure."},
            {"name": "webhooks"},
            *inbox_tags(),
            {"name": "health"},
            {"name": "twilio", "description": "Twilio-compatible Messages resource."},
        ],
        "security": [{"bearer": []}],
        "paths": {**_paths(), **inbox_paths()},
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An smsgw API key: `Authorization: Bearer smsgw_key_…`.",
                },
                "twilioBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "User name: an Account SID (AC + 32 hex digits); password: "
                    "an smsgw API key.",
                },
            },
            "schemas": {**_schemas(), **inbox_schemas()},
            "responses": _responses(),
        },
    }
