"""The outbound queue: accept a message, claim it for a modem, record how sending went.

Every function takes the caller's session and leaves the commit to the caller, except the
claim, which must commit on its own to be a claim at all.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway import compliance
from gateway.audit import Actor, audit
from gateway.config import Config
from gateway.consent import COMPLIANCE, ConsentChange
from gateway.contacts import find_or_create_contact
from gateway.errors import (
    BodyTooLong,
    Forbidden,
    InvalidBody,
    InvalidInput,
    NotCancelable,
    NotFound,
    SensitiveContent,
    UnknownLine,
)
from gateway.lifecycle import record
from gateway.models import Line, Message, new_id, utcnow
from gateway.numbers import to_e164
from gateway.sensitive import describe, find_sensitive
from gateway.vault import Vault
from modem.errors import PduError
from modem.pdu import Segments, split_text

# C0 controls other than CR and LF, DEL and C1 controls: no SMS alphabet carries them
# meaningfully, and a stray ESC or Ctrl-Z is what an injection attempt looks like.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_BODY_CHARS = 50 * 160
PURPOSES = ("transactional", "marketing")
CANCELABLE = ("pending_approval", "scheduled", "queued")


@dataclass(frozen=True)
class SendRequest:
    to: str
    body: str
    line: str | None = None
    priority: int = 0  # 0 interactive replies … 9 bulk
    send_at: datetime | None = None
    expires_at: datetime | None = None
    created_by: str | None = None  # the user's id
    purpose: str = "transactional"  # or "marketing"
    status_callback: str | None = None
    callback_style: str | None = None  # "twilio" for the Twilio-compatible endpoint
    consent: ConsentChange | None = None  # consent the customer gave, recorded with the send
    role: str = "agent"  # the sender's role, for the consent and sensitive-content rules
    hold_for_approval: bool = False  # a supervised person wrote it: a manager approves first
    override_sensitive: bool = False  # a manager sends what looks like a card number anyway


def check_body(body: str, max_segments: int) -> Segments:
    if not isinstance(body, str) or not body.strip():
        raise InvalidBody("the message is empty")
    if len(body) > MAX_BODY_CHARS:
        raise BodyTooLong(f"the message is longer than {max_segments} parts")
    if _CONTROL.search(body):
        raise InvalidBody("the message holds control characters (only line breaks are allowed)")
    try:
        segments = split_text(body)
    except PduError as exc:
        raise InvalidBody(str(exc)) from None
    if len(segments.parts) > max_segments:
        raise BodyTooLong(
            f"the message needs {len(segments.parts)} parts; at most {max_segments} are allowed"
        )
    return segments


def enqueue(
    session: Session,
    vault: Vault,
    config: Config,
    request: SendRequest,
    *,
    now: datetime | None = None,
) -> Message:
    """Validate and store a message to send. Raises a GatewayError with a clear text."""
    now = now or utcnow()
    e164 = to_e164(request.to, config.numbers.default_region)
    segments = check_body(request.body, config.queue.max_segments)
    if not 0 <= request.priority <= 9:
        raise InvalidBody("priority must be 0 (interactive) to 9 (bulk)")
    if request.purpose not in (*PURPOSES, COMPLIANCE):
        raise InvalidInput("purpose is transactional or marketing")
    if request.expires_at is not None and request.expires_at <= now:
        raise InvalidInput("expires_at is in the past")
    if (
        request.send_at is not None
        and request.expires_at is not None
        and request.expires_at <= request.send_at
    ):
        raise InvalidInput("expires_at is before send_at")
    line_id = None
    if request.line is not None:
        line_id = session.scalar(select(Line.id).where(Line.name == request.line))
        if line_id is None:
            raise UnknownLine("no line has that name")
    contact = find_or_create_contact(session, vault, e164)
    accepted = compliance.accept(
        session,
        vault,
        config,
        contact,
        e164,
        body=request.body,
        purpose=request.purpose,
        send_at=request.send_at,
        now=now,
        sender=request.created_by or "api",
        role=request.role,
        consent=request.consent,
    )
    body, send_at = accepted.body, accepted.send_at
    override = _guard_sensitive(request)
    if body != request.body:
        segments = check_body(body, config.queue.max_segments)
    message_id = new_id("msg")
    scheduled = send_at is not None and send_at > now
    message = Message(
        id=message_id,
        direction="out",
        contact_id=contact.id,
        line_id=line_id,
        status="",
        body_enc=vault.encrypt(contact.key_id, body, "messages", "body", message_id),
        encoding=segments.encoding,
        segments=len(segments.parts),
        priority=request.priority,
        send_at=send_at,
        expires_at=_expiry(request, config, now, send_at),
        next_attempt_at=send_at if scheduled else now,
        request_report=config.queue.request_reports,
        concat_reference=random.randrange(256),
        attempts=0,
        incomplete=False,
        purpose=request.purpose,
        status_callback=request.status_callback,
        callback_style=request.callback_style if request.status_callback else None,
        created_by=request.created_by,
        created_at=now,
    )
    session.add(message)
    actor = request.created_by or "api"
    if request.hold_for_approval:
        record(session, message, "pending_approval", actor)
    else:
        record(session, message, "scheduled" if scheduled else "queued", actor)
    if override is not None:
        audit(
            session,
            Actor(actor, request.role),
            "message.sensitive_override",
            message.id,
            f"sent despite {override}",
            now=now,
        )
    return message


# Texts the box writes itself (keyword answers, away replies) are checked when configured.
_UNGUARDED = (None, "worker")


def _guard_sensitive(request: SendRequest) -> str | None:
    """Refuse a text that looks like a card number, an SSN or a password, unless a manager
    overrides; return what was overridden (for the audit log), else None."""
    if request.purpose == COMPLIANCE or request.created_by in _UNGUARDED:
        return None
    findings = find_sensitive(request.body)
    if not findings:
        return None
    what = describe(findings)
    if not request.override_sensitive:
        raise SensitiveContent(
            f"the message looks like it holds {what}; such data is not sent by SMS "
            "(a manager may override)"
        )
    if request.role not in ("manager", "admin"):
        raise Forbidden("only a manager or an admin may send sensitive-looking content")
    return what


def _expiry(
    request: SendRequest, config: Config, now: datetime, send_at: datetime | None
) -> datetime:
    """Asked for, or ``expiry_hours`` after the message may first leave (quiet hours may have
    put that off)."""
    if request.expires_at is not None:
        return request.expires_at
    return max(now, send_at or now) + timedelta(hours=config.queue.expiry_hours)


def cancel(session: Session, message_id: str, actor: str) -> Message:
    """Cancel a message not yet handed to a modem (the caller commits).

    The guard update re-checks the status under the database's lock, so a worker that
    committed ``sending`` a moment earlier wins and the cancel is refused.
    """
    message = session.get(Message, message_id)
    if message is None or message.direction != "out":
        raise NotFound("no outbound message with that id")
    previous = message.status
    if previous not in CANCELABLE:
        raise NotCancelable(f"a message that is {previous} can no longer be canceled")
    guarded = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == previous)
        .values(claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    if guarded.rowcount != 1:
        session.rollback()
        raise NotCancelable("the message was handed to a modem meanwhile")
    record(session, message, "canceled", actor)
    return message
