"""What a conversation list shows beside each conversation: the last message, and the
names of the people and teams it belongs to."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.archive import MessageView, thread_messages
from gateway.inbox_views import ConversationView
from gateway.models import Message, Team, User
from gateway.vault import Vault


def last_messages(
    session: Session, vault: Vault, views: Iterable[ConversationView]
) -> dict[str, MessageView]:
    """Each conversation's newest message: one look-up by the contact's index per row, so a
    page costs the same however many conversations the inbox holds."""
    newest: dict[str, MessageView] = {}
    for view in views:
        clause = and_(
            Message.contact_id == view.contact_id,
            or_(
                Message.line_id == view.line_id,
                and_(Message.line_id.is_(None), Message.via_line_id == view.line_id),
            ),
        )
        found = thread_messages(session, vault, clause, 1)
        if found:
            newest[view.id] = found[0]
    return newest


def people_names(session: Session) -> dict[str, str]:
    """Every user's id to the name staff know them by."""
    rows = session.execute(select(User.id, User.display_name, User.name))
    return {user_id: display or name for user_id, display, name in rows}


def team_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(Team.id, Team.name).order_by(Team.name))
    return {team_id: name for team_id, name in rows}


def assignable(session: Session) -> list[User]:
    """Who may be given a conversation: active people who answer (auditors do not)."""
    return list(
        session.scalars(
            select(User)
            .where(User.disabled.is_not(True), User.role != "auditor")
            .order_by(User.name)
        )
    )
