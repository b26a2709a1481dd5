"""A Twilio-compatible endpoint, so Twilio SDKs and tools work by changing the base URL.

Only the Messages resource: create (``POST …/Messages.json``) and fetch (``GET
…/Messages/{sid}.json``). Authentication is HTTP Basic: the user name is any Account SID of
Twilio's shape (``AC`` + 32 hex digits) and must be the one in the path; the password is an
smsgw API key (``messages:send`` to create, ``messages:read`` to fetch).

Choices where Twilio and the box differ (README, "Twilio-compatible endpoint"):

- ``From`` is optional. When given it must be the number of one of the box's lines, and the
  message leaves from that line; an unknown number is refused (21606) rather than silently
  sent from another number, because replies would then arrive on a line nobody expects.
- ``MediaUrl`` is refused (the box sends SMS only); other Twilio parameters are ignored.
- Message SIDs are the box's own message ids (``msg_…``), the same ids the LAN API uses.
- Statuses and error codes are those of the Twilio-style status callbacks
  (``gateway.webhooks``), so a fetch and a callback never disagree: ``blocked`` → ``failed``
  (21610), ``unknown`` (handed to a modem, outcome never recorded) → ``failed`` (30008),
  ``undelivered`` → 30003, ``failed`` → 30008; ``pending_approval`` (waiting for a manager)
  → ``accepted``. ``error_message`` carries the box's own error code (such as ``cms:38``).

Errors use Twilio's shape (code, message, more_info, status); their texts are ours and never
echo a request value.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any, NoReturn

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from gateway.apikeys import Caller
from gateway.archive import MessageView, message_detail
from gateway.errors import GatewayError, InvalidNumber
from gateway.lines import line_name_by_number
from gateway.numbers import to_e164
from gateway.outbound import SendRequest, enqueue
from gateway.webhooks import TWILIO_ERROR, TWILIO_STATUS, InvalidWebhookUrl, check_url
from web import gateway_of
from web.api.auth import authenticated, refuse_keys_in_query, throttle
from web.api.idempotent import idempotent
from web.problems import Problem

blueprint = Blueprint("twilio", __name__, url_prefix="/2010-04-01")

API_VERSION = "2010-04-01"
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
REALM = 'Basic realm="smsgw"'

# Our status → Twilio's: the callbacks' table plus the statuses callbacks never report.
STATUSES = {**TWILIO_STATUS, "pending_approval": "accepted", "received": "received"}
INVALID_PARAMETER = 20422
_PROBLEM_CODES = {401: 20003, 403: 20403, 404: 20404, 429: 20429}


class TwilioError(Exception):
    """An error answered in Twilio's shape: ``code`` is a Twilio error code."""

    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(error: TwilioError) -> Response:
    response = jsonify(
        {
            "code": error.code,
            "message": error.message,
            "more_info": f"https://www.twilio.com/docs/errors/{error.code}",
            "status": error.status,
        }
    )
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


@blueprint.errorhandler(TwilioError)
def _twilio_error(error: TwilioError) -> Response:
    return error_response(error)


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    # Raised inside a view: a body over the size limit (413) or an unreadable form (400).
    status = error.code or 500
    if status == 413:
        message = "the request body is larger than the box accepts"
    else:
        message = "the request could not be read"
    return error_response(TwilioError(status, INVALID_PARAMETER, message))


def _from_problem(problem: Problem) -> TwilioError:
    headers = dict(problem.headers)
    if problem.status == 401:
        headers["WWW-Authenticate"] = REALM
    code = _PROBLEM_CODES.get(problem.status, INVALID_PARAMETER)
    return TwilioError(problem.status, code, problem.detail, headers)


def _authorize(account_sid: str, scope: str) -> Caller:
    """The caller behind the Basic credentials, allowed ``scope`` and within its rate."""
    try:
        refuse_keys_in_query()
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.password:
            raise TwilioError(
                401,
                20003,
                "authenticate with HTTP Basic: the Account SID and an smsgw API key",
                {"WWW-Authenticate": REALM},
            )
        if auth.username != account_sid:
            raise TwilioError(
                401,
                20003,
                "the user name must be the Account SID in the URL",
                {"WWW-Authenticate": REALM},
            )
        who = authenticated(auth.password)
        if not who.may(scope):
            raise TwilioError(403, 20403, f"this key lacks the {scope} scope")
        throttle(who)
    except Problem as problem:
        raise _from_problem(problem) from None
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise TwilioError(404, 20404, "the requested resource was not found")
    return who


def _refuse(status: int, code: int, message: str) -> NoReturn:
    raise TwilioError(status, code, message)


def _send_request(caller: Caller) -> SendRequest:
    """Read Twilio's form fields into a send request (the gateway checks the rest)."""
    gateway = gateway_of(current_app)
    form = request.form
    to = form.get("To", "")
    body = form.get("Body", "")
    if not to.strip():
        _refuse(400, 21604, "a 'To' phone number is required")
    if not body.strip():
        _refuse(400, 21602, "message body is required")
    if "MediaUrl" in form:
        _refuse(400, INVALID_PARAMETER, "media is not supported: the box sends SMS only")
    status_callback = form.get("StatusCallback") or None
    if status_callback is not None:
        try:
            check_url(status_callback)
        except InvalidWebhookUrl as exc:
            _refuse(400, 21609, f"invalid StatusCallback: {exc}")
    line = None
    if form.get("From"):
        try:
            sender = to_e164(form["From"], gateway.config.numbers.default_region)
        except InvalidNumber:
            _refuse(400, 21212, "invalid 'From' phone number")
        with gateway.sessions() as session:
            line = line_name_by_number(session, sender)
        if line is None:
            _refuse(400, 21606, "the 'From' number is not the number of one of the box's lines")
    return SendRequest(
        to=to,
        body=body,
        line=line,
        status_callback=status_callback,
        callback_style="twilio",
        created_by=caller.user_id,
        role=caller.role,
        hold_for_approval=caller.supervised,
    )


# Domain error code → (HTTP status, Twilio code, our text or None for the gateway's own).
_GATEWAY_ERRORS: dict[str, tuple[int, int, str | None]] = {
    "invalid_number": (400, 21211, "invalid 'To' phone number"),
    "body_too_long": (400, 21617, None),
    "not_found": (404, 20404, "the requested resource was not found"),
    # Twilio's "Attempt to send to unsubscribed recipient".
    "recipient_opted_out": (400, 21610, None),
    "recipient_erased": (400, 21610, None),
}


def _gateway_error(error: GatewayError) -> TwilioError:
    status, code, text = _GATEWAY_ERRORS.get(error.code, (400, INVALID_PARAMETER, None))
    return TwilioError(status, code, text or str(error))


@blueprint.post("/Accounts/<account_sid>/Messages.json")
def create_message(account_sid: str) -> tuple[dict[str, Any], int]:
    who = _authorize(account_sid, "messages:send")
    send = _send_request(who)
    gateway = gateway_of(current_app)
    g.caller = who

    def work(session: Session) -> tuple[dict[str, Any], int]:
        try:
            message = enqueue(session, gateway.vault, gateway.config, send)
        except GatewayError as exc:
            raise _gateway_error(exc) from None
        session.flush()
        view = message_detail(session, gateway.vault, message.id, history=False)
        return twilio_message(view, account_sid), 201

    with gateway.sessions() as session:
        return idempotent(session, work)  # Idempotency-Key or I-Twilio-Idempotency-Token


@blueprint.get("/Accounts/<account_sid>/Messages/<message_sid>.json")
def fetch_message(account_sid: str, message_sid: str) -> dict[str, Any]:
    _authorize(account_sid, "messages:read")
    gateway = gateway_of(current_app)
    with gateway.sessions() as session:
        try:
            view = message_detail(session, gateway.vault, message_sid[:64], history=False)
        except GatewayError as exc:
            raise _gateway_error(exc) from None
    return twilio_message(view, account_sid)


def _rfc2822(value: datetime | None) -> str | None:
    return format_datetime(value) if value else None


def _error(view: MessageView) -> tuple[int | None, str | None]:
    code = TWILIO_ERROR.get(view.status)
    if code is None:
        return None, None
    return int(code), view.error_code or view.status


def twilio_message(view: MessageView, account_sid: str) -> dict[str, Any]:
    """A message in Twilio's Message resource shape (fields in Twilio's order)."""
    outbound = view.direction == "out"
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{view.id}"
    error_code, error_message = _error(view)
    return {
        "body": view.body,
        "num_segments": str(view.segments),
        "direction": "outbound-api" if outbound else "inbound",
        "from": view.line_number if outbound else view.number,
        "to": view.number if outbound else view.line_number,
        "date_updated": _rfc2822(view.updated_at or view.created_at),
        "price": None,
        "error_message": error_message,
        "uri": f"{uri}.json",
        "account_sid": account_sid,
        "num_media": "0",
        "status": STATUSES.get(view.status, view.status),
        "messaging_service_sid": None,
        "sid": view.id,
        "date_sent": _rfc2822(view.sent_at),
        "date_created": _rfc2822(view.created_at),
        "error_code": error_code,
        "price_unit": "USD",
        "api_version": API_VERSION,
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }
