"""A received message joins its conversation and is routed: applied here, decided in
``gateway.routing``. Runs in the worker's receive transaction, after the keyword rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.conversations import open_conversation, touch
from gateway.errors import GatewayError
from gateway.models import Contact, Conversation, Line, Message, TeamMember
from gateway.office import OfficeCache, line_schedule
from gateway.outbound import SendRequest, enqueue
from gateway.routing import AwayPolicy, Inbound, LineView, Office, Route, route
from gateway.vault import Vault

ACTOR = "worker"
# Keyword messages are answered by the rules themselves: nobody needs to be given them.
ANSWERED_KEYWORDS = frozenset({"opt_out", "opt_in", "help"})


@dataclass(frozen=True)
class Routed:
    conversation: Conversation
    route: Route | None  # None: a keyword message, answered by the rules
    away_reply: Message | None = None


def away_policy(config: Config) -> AwayPolicy:
    return AwayPolicy(
        every=timedelta(hours=config.inbox.away_reply_hours),
        silence=timedelta(minutes=config.inbox.silence_minutes),
    )


def route_inbound(
    session: Session,
    vault: Vault,
    config: Config,
    office: Office | OfficeCache,
    message: Message,
    contact: Contact,
    sender: str,
    text: str,
    *,
    keyword: str | None,
    now: datetime,
) -> Routed:
    """Put the message in its conversation (reopened if closed or snoozed, marked unread)
    and give the conversation to whoever routing says; queue the away reply if due."""
    line_id = str(message.line_id)
    with session.no_autoflush:  # the conversation's changes go in one UPDATE at commit
        conversation = open_conversation(session, contact.id, line_id, now)
        conversation.last_inbound_at = now
        conversation.unread = True
        conversation.status, conversation.snoozed_until = "open", None
        touch(conversation, now)
        if keyword in ANSWERED_KEYWORDS:
            return Routed(conversation, None)
        cache = office if isinstance(office, OfficeCache) else None
        snapshot = office.get(session) if isinstance(office, OfficeCache) else office
        line = snapshot.lines.get(line_id) or _line_view(session, line_id, snapshot.zone)
    decided = route(
        snapshot,
        Inbound(
            line_id=line_id,
            line_hours=line.hours,
            text=text,
            now=now,
            assignee_id=conversation.assignee_id,
            team_id=conversation.team_id,
            last_human_reply_at=conversation.last_human_reply_at,
            away_replied_at=contact.away_replied_at,
        ),
        away_policy(config),
    )
    conversation.assignee_id = decided.assignee_id
    if decided.team_id is not None:
        conversation.team_id = decided.team_id
    if decided.reason == "round_robin" and decided.team_id and decided.assignee_id:
        session.execute(
            update(TeamMember)
            .where(
                TeamMember.team_id == decided.team_id,
                TeamMember.user_id == decided.assignee_id,
            )
            .values(last_assigned_at=now)
            .execution_options(synchronize_session=False)
        )
        if cache is not None:
            cache.assigned(decided.team_id, decided.assignee_id)
    reply = None
    if decided.away_reply:
        reply = _away_reply(session, vault, config, contact, sender, line, now)
    return Routed(conversation, decided, reply)


def _line_view(session: Session, line_id: str, zone: str) -> LineView:
    """A line the snapshot does not know yet (added since it was loaded)."""
    line = session.get(Line, line_id)
    if line is None:  # pragma: no cover - the message was stored on this line
        raise LookupError("message on an unknown line")
    return LineView(line.name, line_schedule(line, zone))


def _away_reply(
    session: Session,
    vault: Vault,
    config: Config,
    contact: Contact,
    sender: str,
    line: LineView,
    now: datetime,
) -> Message | None:
    if not sender.startswith("+") or contact.erased_at is not None:
        return None  # a short code or an alphanumeric sender cannot be answered
    text = config.inbox.away_reply.replace("{business}", config.consent.business_name)
    request = SendRequest(
        to=sender, body=text, line=line.name, priority=0, created_by=ACTOR, role="worker"
    )
    try:
        # Refusals come before anything is written: the contact texted first, so the
        # transactional record exists, and nothing else is recorded on the way.
        reply = enqueue(session, vault, config, request, now=now)
    except GatewayError:
        return None  # opted out, or otherwise not to be texted: no away reply then
    contact.away_replied_at = now
    return reply
