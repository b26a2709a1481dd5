"""A small office for the inbox page tests: two lines, two teams, a second agent and a
supervised one, and conversations placed in every corner the tabs and role rules care about."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.consent import ConsentChange, record_consent
from gateway.contacts import find_or_create_contact
from gateway.conversations import open_conversation
from gateway.inbox_access import load_viewer
from gateway.models import Contact, Message, User
from gateway.teams import add_member, add_team, set_user_inbox
from gateway.templates import create_template
from gateway.users import add_user
from tests.gateway.inbox_fixtures import add_lines, inbound, place
from tests.web.panel.conftest import PASSWORD, Panel, PanelClient

# (customer, line, team, assignee, status, unread, minutes ago)
CONVERSATIONS = {
    "front": ("+12015550101", "ln_front", "front", None, "open", True, 0),
    "mine": ("+12015550102", "ln_front", "front", "agent", "open", False, 1),
    "back": ("+12015550103", "ln_back", "back", "ben", "open", True, 2),
    "pool": ("+12015550104", "ln_front", None, None, "open", True, 3),
    "closed": ("+12015550105", "ln_front", "front", None, "closed", False, 4),
    "snoozed": ("+12015550106", "ln_back", "back", "agent", "snoozed", False, 5),
}
EVERYONE = frozenset(CONVERSATIONS)
AGENT_SEES = frozenset({"front", "mine", "pool", "closed", "snoozed"})
_LINK = re.compile(r'href="/inbox/(cv_[A-Za-z0-9_]+)"')


@dataclass
class Office:
    panel: Panel
    ids: dict[str, str]

    def name_of(self, conversation_id: str) -> str:
        return next(k for k, v in self.ids.items() if v == conversation_id)

    def listed(self, html: str) -> set[str]:
        return {self.name_of(found) for found in _LINK.findall(html)}

    def sign_in(self, persona: str) -> PanelClient:
        if persona in ("ben", "sam"):
            browser = self.panel.anonymous()
            browser.get("/login")
            done = browser.post("/login", {"name": persona, "password": PASSWORD})
            assert done.status_code == 302, done.get_data(as_text=True)
            browser.get("/dashboard")
            return browser
        return self.panel.sign_in(persona)

    def messages_of(self, key: str) -> list[Message]:
        with self.panel.gateway.sessions() as session:
            contact_id = self.ids[f"{key}_contact"]
            rows = session.query(Message).filter(Message.contact_id == contact_id)
            return list(rows.order_by(Message.created_at))

    def opt_out(self, key: str) -> None:
        gateway = self.panel.gateway
        with gateway.sessions() as session:
            contact = session.get(Contact, self.ids[f"{key}_contact"])
            assert contact is not None
            change = ConsentChange("all", "opted_out", "keyword")
            record_consent(session, gateway.vault, contact, change, recorded_by="worker")
            session.commit()


def build_office(panel: Panel) -> Office:
    gateway = panel.gateway
    ids = dict(panel.ids)
    add_lines(gateway, ("ln_front", "Front desk"), ("ln_back", "Back office"))
    with gateway.sessions() as session:
        agent = session.get(User, ids["agent"])
        assert agent is not None
        for name in ("ben", "sam"):
            user = add_user(session, name, "agent")
            user.password_hash = agent.password_hash  # the same password, hashed once
            ids[name] = user.id
        ids["front_team"] = add_team(session, "Front", "Front desk").id
        ids["back_team"] = add_team(session, "Back", "Back office").id
        for team, member in (("Front", "agent"), ("Front", "sam"), ("Back", "ben")):
            add_member(session, team, member)
        set_user_inbox(session, "agent", display_name="Ana", signature="— {agent} @ {business}")
        set_user_inbox(session, "sam", supervised=True)
        manager = load_viewer(session, ids["manager"])
        ids["greeting"] = create_template(
            session, manager, "Greeting", "Hi {first_name}, thanks for writing.", shared=True
        ).id
        ben = load_viewer(session, ids["ben"])
        ids["ben_tpl"] = create_template(session, ben, "Ben's own", "Ben here.").id
        session.commit()
    gateway.office.invalidate()
    base = datetime.now(UTC) - timedelta(minutes=30)
    for key, (number, line_id, team, assignee, status, unread, ago) in CONVERSATIONS.items():
        received = inbound(gateway, number, f"Hello from {key}", line_id)
        ids[key] = received.conversation_id
        ids[f"{key}_contact"] = received.contact_id
        place(
            gateway,
            received.conversation_id,
            team_id=ids[f"{team}_team"] if team else None,
            assignee_id=ids[assignee] if assignee else None,
            status=status,
            snoozed_until=base + timedelta(days=2) if status == "snoozed" else None,
            unread=unread,
            last_activity_at=base - timedelta(minutes=ago),
        )
    return Office(panel, ids)


def many_conversations(panel: Panel, count: int, line_id: str = "ln_front") -> list[str]:
    """``count`` pool conversations, one a second apart, newest first in the returned list."""
    gateway = panel.gateway
    base = datetime.now(UTC) - timedelta(days=1)
    made = []
    with gateway.sessions() as session:
        for i in range(count):
            contact = find_or_create_contact(session, gateway.vault, f"+1201555{2000 + i:04d}")
            at = base + timedelta(seconds=i)
            made.append(open_conversation(session, contact.id, line_id, at).id)
        session.commit()
    return list(reversed(made))
