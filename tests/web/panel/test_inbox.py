"""The inbox pages: the lists and their tabs, paging, the conversation page, approvals,
and which persona may open what (the API's rules: 403 for a role, 404 out of sight)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.models import AuditEvent, Conversation
from tests.web.panel.conftest import Panel
from tests.web.panel.inbox_office import (
    AGENT_SEES,
    EVERYONE,
    Office,
    build_office,
    many_conversations,
)

MISSING = "cv_01M94GVM114KK0ESXC4NBTN2F6"


@pytest.fixture
def office(panel: Panel) -> Office:
    return build_office(panel)


def _tab(office: Office, persona: str, query: str) -> set[str]:
    page = office.sign_in(persona).get(f"/inbox?{query}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return office.listed(page.get_data(as_text=True))


def test_it_shows_the_agent_each_tab_with_exactly_its_conversations(office: Office) -> None:
    browser = office.sign_in("agent")

    def tab(query: str) -> set[str]:
        page = browser.get(f"/inbox?{query}")
        assert page.status_code == 200
        return office.listed(page.get_data(as_text=True))

    front = office.ids["front_team"]
    assert tab("") == {"front", "mine", "pool"}  # open by default
    assert tab("view=all&status=any") == AGENT_SEES
    assert tab("view=mine&status=any") == {"mine", "snoozed"}
    assert tab("view=unassigned") == {"front", "pool"}
    assert tab(f"view=team:{front}&status=any") == {"front", "mine", "closed"}
    assert tab("view=all&status=closed") == {"closed"}
    assert tab("view=all&status=snoozed") == {"snoozed"}
    page = browser.get("/inbox").get_data(as_text=True)
    assert ">Front</a>" in page and ">Back</a>" not in page  # only the agent's teams
    assert browser.get(f"/inbox?view=team:{office.ids['back_team']}").status_code == 404


@pytest.mark.parametrize("persona", ["admin", "manager", "auditor"])
def test_it_shows_supervisors_and_auditors_every_conversation(office: Office, persona: str) -> None:
    assert _tab(office, persona, "status=any") == EVERYONE
    assert _tab(office, persona, f"view=team:{office.ids['back_team']}&status=any") == {
        "back",
        "snoozed",
    }


def test_it_says_clearly_when_a_tab_is_empty(office: Office) -> None:
    browser = office.sign_in("manager")
    page = browser.get("/inbox?view=mine").get_data(as_text=True)
    assert "No open conversations are assigned to you." in page
    page = browser.get("/inbox?view=unassigned&status=snoozed").get_data(as_text=True)
    assert "No snoozed conversations are waiting for someone to take them." in page


def test_it_finds_a_conversation_by_the_customers_number(office: Office) -> None:
    browser = office.sign_in("agent")
    assert office.listed(browser.get("/inbox?q=%2B1+201+555+0102").get_data(as_text=True)) == {
        "mine"
    }
    hidden = browser.get("/inbox?q=%2B12015550103&status=any").get_data(as_text=True)
    assert office.listed(hidden) == set()  # Back's conversation stays out of sight
    assert "No conversations with that number" in hidden
    bad = browser.get("/inbox?q=not-a-number")
    assert bad.status_code == 422
    assert "Search by phone number" in bad.get_data(as_text=True)


def test_it_pages_the_list_with_cursors_and_no_overlap(panel: Panel, office: Office) -> None:
    made = many_conversations(panel, 120)
    browser = office.sign_in("manager")
    seen: list[str] = []
    url = "/inbox?view=unassigned"
    pages = 0
    while url:
        page = browser.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/inbox/(cv_[A-Za-z0-9_]+)"', page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
        if pages > 1:
            assert 'rel="prev"' in page
    assert len(seen) == 122, len(seen)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 122  # the 120 and the open front and pool
    assert seen[2:] == made  # newest activity first (front and pool are newer)


def test_it_refuses_a_forged_cursor_or_status_with_a_clear_error(office: Office) -> None:
    browser = office.sign_in("agent")
    page = browser.get("/inbox?cursor=bm90IGEgY3Vyc29y")
    assert page.status_code == 422
    assert "not one the inbox gave out" in page.get_data(as_text=True)
    page = browser.get("/inbox?status=deleted")
    assert page.status_code == 422
    assert "Choose a status" in page.get_data(as_text=True)


def test_it_returns_only_the_list_as_a_fragment(office: Office) -> None:
    page = office.sign_in("agent").get("/inbox?fragment=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<html" not in html and "<table" in html
    assert office.listed(html) == {"front", "mine", "pool"}


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("admin", EVERYONE),
        ("manager", EVERYONE),
        ("auditor", EVERYONE),
        ("agent", AGENT_SEES),
        ("ben", frozenset({"back", "pool", "snoozed"})),
    ],
)
def test_it_opens_a_conversation_only_for_those_who_may_see_it(
    office: Office, persona: str, sees: frozenset[str]
) -> None:
    browser = office.sign_in(persona)
    for key in EVERYONE:
        page = browser.get(f"/inbox/{office.ids[key]}")
        assert page.status_code == (200 if key in sees else 404), key
        if key in sees:
            assert f"Hello from {key}" in page.get_data(as_text=True)
    assert browser.get(f"/inbox/{MISSING}").status_code == 404
    assert browser.get("/inbox/" + "x" * 300).status_code == 404


def test_it_marks_read_on_opening_and_audits_a_supervisors_look(office: Office) -> None:
    gateway = office.panel.gateway
    office.sign_in("auditor").get(f"/inbox/{office.ids['front']}")
    with gateway.sessions() as session:
        conversation = session.get(Conversation, office.ids["front"])
        assert conversation is not None and conversation.unread  # an auditor's look
    office.sign_in("agent").get(f"/inbox/{office.ids['front']}")
    manager = office.sign_in("manager")
    manager.get(f"/inbox/{office.ids['pool']}")
    # The open page refreshing its thread (live updates) is the same look, not another.
    manager.get(f"/inbox/{office.ids['pool']}?fragment=thread")
    with gateway.sessions() as session:
        conversation = session.get(Conversation, office.ids["front"])
        assert conversation is not None and not conversation.unread
        viewed = session.execute(
            select(AuditEvent.actor, AuditEvent.subject).where(
                AuditEvent.action == "conversation.viewed"
            )
        ).all()
    assert sorted(viewed) == sorted(
        [
            (office.ids["auditor"], office.ids["front"]),
            (office.ids["manager"], office.ids["pool"]),
        ]
    )


def test_it_shows_auditors_everything_read_only(office: Office) -> None:
    page = office.sign_in("auditor").get(f"/inbox/{office.ids['front']}")
    html = page.get_data(as_text=True)
    assert "Read-only" in html
    assert 'method="post" action="/inbox/' not in html
    listing = office.sign_in("auditor").get("/inbox").get_data(as_text=True)
    assert "New conversation" not in listing


@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin", 200), ("manager", 200), ("agent", 403), ("auditor", 403), ("sam", 403)],
)
def test_it_opens_approvals_to_managers_and_admins_only(
    office: Office, persona: str, status: int
) -> None:
    assert office.sign_in(persona).get("/inbox/approvals").status_code == status


def test_it_sends_people_who_are_not_signed_in_to_the_sign_in_page(office: Office) -> None:
    browser = office.panel.anonymous()
    for path in ("/inbox", f"/inbox/{office.ids['front']}", "/inbox/approvals", "/inbox/events"):
        page = browser.get(path)
        assert page.status_code == 302
        assert "/login" in page.headers["Location"]


def test_it_lays_out_the_conversation_for_keyboards_and_phones(office: Office) -> None:
    html = office.sign_in("agent").get(f"/inbox/{office.ids['front']}").get_data(as_text=True)
    assert "/assets/inbox.js" in html and "/assets/inbox.css" in html
    assert "<script>" not in html and 'style="' not in html
    for control in ("reply-body", "reply-template", "transfer-to", "snooze-until", "note-body"):
        assert f'<label for="{control}"' in html, control
    assert html.count('name="csrf_token"') == html.count('method="post"')
    assert 'class="split conversation"' in html  # one column under 900 px
