"""The outbound queue: accept a message, claim it for a modem, record how sending went.

Every function takes the caller's session and leaves the commit to the caller, except the
claim, which must commit on its own to be a claim at all.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from gateway.config import Config
from gateway.contacts import find_or_create_contact
from gateway.errors import BodyTooLong, InvalidBody, UnknownLine
from gateway.lifecycle import record
from gateway.models import Line, Message, MessagePart, new_id, utcnow
from gateway.numbers import to_e164
from gateway.vault import Vault
from modem.errors import ModemError, PduError
from modem.pdu import Segments, split_text

# C0 controls other than CR and LF, DEL and C1 controls: no SMS alphabet carries them
# meaningfully, and a stray ESC or Ctrl-Z is what an injection attempt looks like.
_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_BODY_CHARS = 50 * 160


@dataclass(frozen=True)
class SendRequest:
    to: str
    body: str
    line: str | None = None
    priority: int = 0  # 0 interactive replies … 9 bulk
    send_at: datetime | None = None
    expires_at: datetime | None = None
    created_by: str | None = None


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
    line_id = None
    if request.line is not None:
        line_id = session.scalar(select(Line.id).where(Line.name == request.line))
        if line_id is None:
            raise UnknownLine("no line has that name")
    contact = find_or_create_contact(session, vault, e164)
    message_id = new_id("msg")
    scheduled = request.send_at is not None and request.send_at > now
    message = Message(
        id=message_id,
        direction="out",
        contact_id=contact.id,
        line_id=line_id,
        status="",
        body_enc=vault.encrypt(contact.key_id, request.body, "messages", "body", message_id),
        encoding=segments.encoding,
        segments=len(segments.parts),
        priority=request.priority,
        send_at=request.send_at,
        expires_at=request.expires_at or now + timedelta(hours=config.queue.expiry_hours),
        next_attempt_at=request.send_at if scheduled else now,
        request_report=config.queue.request_reports,
        concat_reference=random.randrange(256),
        created_by=request.created_by,
        created_at=now,
    )
    session.add(message)
    record(session, message, "scheduled" if scheduled else "queued", request.created_by or "api")
    return message


def claim_next(
    session: Session, worker: str, line_ids: list[str], now: datetime | None = None
) -> Message | None:
    """Take the next message one of ``line_ids`` may send; commits the claim.

    A message bound to a line waits for that line's modem; an unbound one goes to any.
    The claim is a conditional update whose row count must be 1, so two modems (or two
    boxes) never take the same message.
    """
    now = now or utcnow()
    for _ in range(5):
        candidate = session.scalar(
            select(Message)
            .where(
                Message.status == "queued",
                Message.claimed_by.is_(None),
                Message.next_attempt_at <= now,
                or_(Message.line_id.is_(None), Message.line_id.in_(line_ids)),
            )
            .order_by(Message.priority, Message.next_attempt_at, Message.created_at)
            .limit(1)
        )
        if candidate is None:
            session.rollback()
            return None
        claimed = session.execute(
            update(Message)
            .where(
                Message.id == candidate.id,
                Message.status == "queued",
                Message.claimed_by.is_(None),
            )
            .values(claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if claimed.rowcount == 1:
            set_committed_value(candidate, "claimed_by", worker)
            set_committed_value(candidate, "claimed_at", now)
            return candidate
    return None


def release(session: Session, message: Message) -> None:
    """A claimed message that never reached AT+CMGS goes back to the queue, untouched."""
    message.claimed_by = None
    message.claimed_at = None


def start_sending(session: Session, message: Message, line_id: str, actor: str) -> None:
    """Committed by the caller *before* AT+CMGS: a crash after this leaves ``sending``."""
    message.via_line_id = line_id
    message.attempts += 1
    record(session, message, "sending", actor, f"attempt {message.attempts}")


def sent_parts(session: Session, message: Message) -> dict[int, MessagePart]:
    parts = session.scalars(select(MessagePart).where(MessagePart.message_id == message.id))
    return {part.sequence: part for part in parts if part.status != "pending"}


def part_sent(
    session: Session, message: Message, sequence: int, reference: int, line_id: str
) -> None:
    session.add(
        MessagePart(
            message_id=message.id,
            sequence=sequence,
            line_id=line_id,
            reference=reference,
            status="sent",
            sent_at=utcnow(),
        )
    )


def finish_sent(session: Session, message: Message, actor: str) -> None:
    message.sent_at = utcnow()
    message.claimed_by = None
    message.error_code = None
    record(session, message, "sent", actor)


def send_failed(
    session: Session,
    message: Message,
    error: ModemError,
    config: Config,
    actor: str,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> None:
    """Decide what a failed attempt means: retry later, fail for good, or not count it."""
    now = now or utcnow()
    message.claimed_by = None
    message.error_code = error_code(error)
    if error.fault:
        # The modem, SIM or network is at fault, not the message: no attempt is charged and
        # it may go out through another modem.
        message.attempts = max(0, message.attempts - 1)
        message.next_attempt_at = now
        record(session, message, "queued", actor, f"modem fault {message.error_code}")
        return
    expired = message.expires_at is not None and message.expires_at <= now
    if error.permanent or expired or message.attempts >= config.queue.max_attempts:
        why = "permanent" if error.permanent else "expired" if expired else "attempts exhausted"
        record(session, message, "failed", actor, f"{message.error_code} ({why})")
        return
    delay = backoff(message.attempts, config.queue.backoff_base, config.queue.backoff_max, rng)
    message.next_attempt_at = now + timedelta(seconds=delay)
    record(session, message, "queued", actor, f"{message.error_code}, retry in {delay:.0f}s")


def backoff(attempt: int, base: float, ceiling: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter ("equal jitter"): half fixed, half random."""
    step = min(ceiling, base * 2 ** max(0, attempt - 1))
    return step / 2 + (rng or random).random() * step / 2


def error_code(error: ModemError) -> str:
    code = getattr(error, "code", None)
    prefix = {"CmsError": "cms", "CmeError": "cme"}.get(type(error).__name__)
    if prefix and code is not None:
        return f"{prefix}:{code}"
    return type(error).__name__.lower()[:32]
