"""What happens to a complete received message, in the transaction that stored it: the
keyword rules first (STOP, START, HELP, revocations), then its conversation and routing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.config import Config
from gateway.contacts import contact_number
from gateway.inbound_consent import handle_inbound
from gateway.inbox_routing import route_inbound
from gateway.models import Contact, Message
from gateway.office import OfficeCache
from gateway.routing import Office
from gateway.settings import current
from gateway.vault import Vault


def take_in(
    session: Session,
    vault: Vault,
    config: Config,
    office: Office | OfficeCache,
    message: Message,
) -> bool:
    """True when a reply (a keyword's answer or the away reply) waits to be sent."""
    contact = session.get(Contact, message.contact_id)
    if contact is None:
        return False
    sender = contact_number(vault, contact)
    text = vault.decrypt(message.body_enc, "messages", "body", message.id)
    now = message.received_at or datetime.now(UTC)
    config = current(session, config)  # the away and keyword texts set in the panel
    handled = handle_inbound(session, vault, config, message, contact, sender, text, now=now)
    routed = route_inbound(
        session,
        vault,
        config,
        office,
        message,
        contact,
        sender,
        text,
        keyword=handled.keyword,
        now=now,
    )
    return handled.reply is not None or routed.away_reply is not None
