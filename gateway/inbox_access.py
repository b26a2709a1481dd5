"""Who may see and work which conversation: the same rules for the API and the panel.

Agents see their teams' conversations, those assigned to them and the shared pool (no team);
auditors read everything and change nothing; managers and admins see and do everything.
A conversation someone may not see does not exist for them (404), so its existence is not
revealed either.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from gateway.errors import Forbidden, NotFound
from gateway.models import Conversation, TeamMember, User

SEE_ALL = frozenset({"admin", "manager", "auditor"})
SUPERVISORS = frozenset({"admin", "manager"})


@dataclass(frozen=True)
class Viewer:
    id: str
    role: str
    team_ids: frozenset[str] = frozenset()
    supervised: bool = False

    @property
    def sees_all(self) -> bool:
        return self.role in SEE_ALL

    @property
    def read_only(self) -> bool:
        return self.role == "auditor"

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISORS


def load_viewer(session: Session, user_id: str) -> Viewer:
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise NotFound("no such user")
    teams = session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return Viewer(user.id, user.role, frozenset(teams), bool(user.supervised))


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE condition selecting the conversations ``viewer`` may see."""
    if viewer.sees_all:
        return true()
    if viewer.role != "agent":
        return false()
    return or_(
        Conversation.assignee_id == viewer.id,
        Conversation.team_id.is_(None),
        Conversation.team_id.in_(sorted(viewer.team_ids)) if viewer.team_ids else false(),
    )


def may_see(viewer: Viewer, conversation: Conversation) -> bool:
    if viewer.sees_all:
        return True
    if viewer.role != "agent":
        return False
    return (
        conversation.assignee_id == viewer.id
        or conversation.team_id is None
        or conversation.team_id in viewer.team_ids
    )


def seen_conversation(session: Session, viewer: Viewer, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not may_see(viewer, conversation):
        raise NotFound("no conversation with that id")
    return conversation


def worked_conversation(session: Session, viewer: Viewer, conversation_id: str) -> Conversation:
    """A conversation ``viewer`` may change: seen, and not by a read-only auditor."""
    conversation = seen_conversation(session, viewer, conversation_id)
    if viewer.read_only:
        raise Forbidden("auditors read conversations; they do not change them")
    return conversation


def require_supervisor(viewer: Viewer, what: str) -> None:
    if not viewer.supervises:
        raise Forbidden(f"only a manager or an admin may {what}")
