"""What a received message does to consent, before anyone routes or reads it.

STOP-family words opt the sender out of every line at once, with exactly one confirmation
(a repeated STOP gets none); START-family words undo that opt-out; HELP-family words get
the help text, even from a contact who opted out. A message that reads like an opt-out in
other words is not acted on but put in front of a person, with its deadline. A customer
who texts the business has given their number: that is recorded as transactional consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.compliance import box_zone
from gateway.config import Config
from gateway.config_schema import ConsentConfig
from gateway.consent import COMPLIANCE, ConsentChange, load_state, record_consent
from gateway.keywords import Keywords, classify, looks_like_revocation, review_deadline
from gateway.models import ConsentReview, Contact, Line, Message, new_id
from gateway.outbound import SendRequest, enqueue
from gateway.vault import Vault

REVIEW_BUSINESS_DAYS = 10
ACTOR = "contact"


@dataclass(frozen=True)
class Handled:
    """What the message did: the keyword it was, the reply queued, the review opened."""

    keyword: str | None = None
    reply: Message | None = None
    review: ConsentReview | None = None


@lru_cache(maxsize=4)
def keywords_of(consent: ConsentConfig) -> Keywords:
    def words(text: str) -> tuple[str, ...]:
        return tuple(word.strip() for word in text.split(",") if word.strip())

    return Keywords(
        opt_out=words(consent.opt_out_words),
        opt_in=words(consent.opt_in_words),
        help=words(consent.help_words),
    )


def handle_inbound(
    session: Session,
    vault: Vault,
    config: Config,
    message: Message,
    contact: Contact,
    sender: str,
    text: str,
    *,
    now: datetime,
) -> Handled:
    """Apply the keyword rules to a complete received message (the caller commits)."""
    if not sender.startswith("+"):
        return Handled()  # an alphanumeric sender or short code: nobody to opt out or answer
    kind = classify(text, keywords_of(config.consent))
    state = load_state(session, contact.id)
    change = None
    reply = None
    if kind == "opt_out":
        change = ConsentChange("all", "opted_out", "keyword", message_id=message.id)
        reply = None if state.all_out else config.consent.opt_out_reply
    elif kind == "opt_in" and state.any_out:
        change = ConsentChange("all", "opted_in", "keyword", message_id=message.id)
        reply = config.consent.opt_in_reply
    elif kind == "help":
        reply = config.consent.help_reply
    elif kind is None and looks_like_revocation(text):
        return Handled(review=_open_review(session, message, contact, now))
    elif kind is None and state.transactional.status == "none":
        change = ConsentChange("transactional", "opted_in", "inbound", message_id=message.id)
    if change is not None:
        change = ConsentChange(
            change.purpose, change.action, change.source, None, message.id, message.line_id
        )
        record_consent(session, vault, contact, change, recorded_by=ACTOR, role="contact", now=now)
    queued = None
    if reply is not None and contact.erased_at is None:
        queued = _reply(session, vault, config, message, sender, reply, now)
    return Handled(keyword=kind, reply=queued)


def _open_review(
    session: Session, message: Message, contact: Contact, now: datetime
) -> ConsentReview:
    local = now.astimezone(ZoneInfo(box_zone()))
    review = ConsentReview(
        id=new_id("cr"),
        contact_id=contact.id,
        message_id=message.id,
        received_at=now,
        due_on=review_deadline(local, REVIEW_BUSINESS_DAYS),
        status="open",
    )
    session.add(review)
    return review


def _reply(
    session: Session,
    vault: Vault,
    config: Config,
    message: Message,
    sender: str,
    template: str,
    now: datetime,
) -> Message:
    """The reply the rules require, from the line the keyword came in on, first in line."""
    line = session.scalar(select(Line.name).where(Line.id == message.line_id))
    text = template.replace("{business}", config.consent.business_name)
    request = SendRequest(
        to=sender, body=text, line=line, priority=0, purpose=COMPLIANCE, created_by="worker"
    )
    return enqueue(session, vault, config, request, now=now)
