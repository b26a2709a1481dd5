"""The inbox's POST actions: reply (template, preview, signature, consent, sensitive content,
supervision), assign, transfer, close, reopen, snooze, notes, starting a conversation and
approvals, for every persona, with the API's audit events and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from gateway.models import AuditEvent, Conversation, ConversationNote, Message
from tests.gateway.inbox_fixtures import name_contact
from tests.web.panel.conftest import Panel
from tests.web.panel.inbox_office import Office, build_office

CARD = "4111 1111 1111 1111"
MISSING = "cv_01M94GVM114KK0ESXC4NBTN2F6"


@pytest.fixture
def office(panel: Panel) -> Office:
    return build_office(panel)


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def _forms(office: Office) -> dict[str, dict[str, str]]:
    return {
        "reply": {"body": "Thanks for waiting", "sign": "1", "action": "send"},
        "assign": {"user": "me"},
        "transfer": {"to": f"team:{office.ids['front_team']}", "note": "over to you"},
        "close": {},
        "reopen": {},
        "snooze": {"until": _later(days=1)},
        "note": {"body": "Called them back"},
    }


def _conversation(office: Office, key: str) -> Conversation:
    with office.panel.gateway.sessions() as session:
        found = session.get(Conversation, office.ids[key])
        assert found is not None
        session.expunge(found)
        return found


def _audited(office: Office, action: str) -> list[tuple[str, str | None, str | None]]:
    with office.panel.gateway.sessions() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.subject, AuditEvent.detail).where(
                AuditEvent.action == action
            )
        )
        return [tuple(row) for row in rows]


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "action", ["reply", "assign", "transfer", "close", "reopen", "snooze", "note"]
)
def test_it_applies_the_apis_role_rules_to_every_action(office: Office, action: str) -> None:
    form = _forms(office)[action]
    auditor = office.sign_in("auditor")
    for key in ("front", "back"):
        assert auditor.post(f"/inbox/{office.ids[key]}/{action}", form).status_code == 403
    agent = office.sign_in("agent")
    assert agent.post(f"/inbox/{office.ids['back']}/{action}", form).status_code == 404
    assert agent.post(f"/inbox/{MISSING}/{action}", form).status_code == 404
    done = agent.post(f"/inbox/{office.ids['pool']}/{action}", form)
    assert done.status_code == 302, _text(done)
    manager = office.sign_in("manager")
    done = manager.post(f"/inbox/{office.ids['back']}/{action}", form)
    assert done.status_code == 302, _text(done)


def test_it_refuses_a_form_without_its_csrf_token(office: Office) -> None:
    agent = office.sign_in("agent")
    refused = agent.post(f"/inbox/{office.ids['pool']}/close", {"csrf_token": "forged"})
    assert refused.status_code == 400
    assert _conversation(office, "pool").status == "open"


def test_it_queues_a_reply_on_the_conversations_line_with_the_signature(office: Office) -> None:
    agent = office.sign_in("agent")
    done = agent.post(
        f"/inbox/{office.ids['front']}/reply", {"body": "Thanks for waiting", "sign": "1"}
    )
    assert done.status_code == 302
    assert "done=replied" in done.headers["Location"]
    sent = [m for m in office.messages_of("front") if m.direction == "out"]
    assert len(sent) == 1
    assert (sent[0].line_id, sent[0].status, sent[0].created_by) == (
        "ln_front",
        "queued",
        office.ids["agent"],
    )
    page = _text(agent.get(done.headers["Location"]))
    assert "Reply queued." in page
    assert "Thanks for waiting\n— Ana @ Bay Clinic" in page  # the thread shows what went
    assert _conversation(office, "front").assignee_id == office.ids["agent"]  # claimed


def test_it_fills_a_template_and_previews_the_text_and_its_parts(office: Office) -> None:
    name_contact(office.panel.gateway, office.ids["front_contact"], "Maria Lopez")
    agent = office.sign_in("agent")
    page = agent.post(
        f"/inbox/{office.ids['front']}/reply",
        {"template": office.ids["greeting"], "sign": "1", "action": "template"},
    )
    html = _text(page)
    assert page.status_code == 200
    assert ">Hi {first_name}, thanks for writing.</textarea>" in html
    assert "Hi Maria, thanks for writing.\n— Ana @ Bay Clinic" in html
    # The signature's dash is not in the GSM alphabet: the text goes as Unicode.
    assert "48 characters, 1 SMS part (Unicode)" in html
    assert not [m for m in office.messages_of("front") if m.direction == "out"]
    unicode = _text(
        agent.post(
            f"/inbox/{office.ids['front']}/reply", {"body": "Grüße 🙂 " * 12, "action": "preview"}
        )
    )
    assert "2 SMS parts (Unicode)" in unicode
    others = agent.post(
        f"/inbox/{office.ids['front']}/reply",
        {"template": office.ids["ben_tpl"], "action": "template", "body": "kept"},
    )
    assert others.status_code == 404  # Ben's own template is not Ana's to see
    assert "No template with that id." in _text(others) and ">kept</textarea>" in _text(others)


def test_it_refuses_a_reply_to_an_opted_out_contact_clearly(office: Office) -> None:
    office.opt_out("front")
    agent = office.sign_in("agent")
    page = _text(agent.get(f"/inbox/{office.ids['front']}"))
    assert "Opted out — do not text." in page
    assert "<fieldset disabled>" in page
    refused = agent.post(f"/inbox/{office.ids['front']}/reply", {"body": "Hello?", "sign": "1"})
    assert refused.status_code == 422
    assert "The recipient opted out." in _text(refused)
    assert not [m for m in office.messages_of("front") if m.direction == "out"]


def test_it_keeps_an_over_long_reply_and_says_what_is_wrong(office: Office) -> None:
    agent = office.sign_in("agent")
    body = "x" * 1601
    refused = agent.post(f"/inbox/{office.ids['front']}/reply", {"body": body, "sign": "1"})
    assert refused.status_code == 422
    assert "The reply is longer than 1600 characters." in _text(refused)
    assert f">{body}</textarea>" in _text(refused)
    empty = agent.post(f"/inbox/{office.ids['front']}/reply", {"body": "  ", "sign": "1"})
    assert empty.status_code == 422 and "The reply is empty." in _text(empty)


def test_it_holds_sensitive_content_unless_a_manager_overrides(office: Office) -> None:
    body = f"Your card {CARD}"
    refused = office.sign_in("agent").post(f"/inbox/{office.ids['front']}/reply", {"body": body})
    assert refused.status_code == 422
    assert "looks like it holds" in _text(refused)
    manager = office.sign_in("manager")
    page = _text(manager.get(f"/inbox/{office.ids['front']}"))
    assert 'name="override_sensitive"' in page
    done = manager.post(
        f"/inbox/{office.ids['front']}/reply", {"body": body, "override_sensitive": "1"}
    )
    assert done.status_code == 302
    assert [a for a, *_ in _audited(office, "message.sensitive_override")] == [
        office.ids["manager"]
    ]


def test_it_holds_a_supervised_reply_for_approval_and_a_manager_decides(office: Office) -> None:
    sam = office.sign_in("sam")
    done = sam.post(f"/inbox/{office.ids['front']}/reply", {"body": "See you at 9"})
    assert "done=held" in done.headers["Location"]
    page = _text(sam.get(done.headers["Location"]))
    assert "waits for a manager&#39;s approval" in page
    assert 'badge awaiting_approval">awaiting approval' in page
    sam.post(f"/inbox/{office.ids['front']}/reply", {"body": "Or at 10"})
    held = [m.id for m in office.messages_of("front") if m.status == "pending_approval"]
    assert len(held) == 2
    for persona in ("agent", "auditor", "sam"):
        browser = office.sign_in(persona)
        assert browser.post(f"/inbox/approvals/{held[0]}/approve").status_code == 403
    manager = office.sign_in("manager")
    listing = _text(manager.get("/inbox/approvals"))
    assert "See you at 9" in listing and "Or at 10" in listing
    assert manager.post(f"/inbox/approvals/{held[0]}/approve").status_code == 302
    assert manager.post(f"/inbox/approvals/{held[1]}/reject").status_code == 302
    statuses = {m.id: m.status for m in office.messages_of("front")}
    assert (statuses[held[0]], statuses[held[1]]) == ("queued", "canceled")
    again = manager.post(f"/inbox/approvals/{held[0]}/approve")
    assert again.status_code == 409
    assert "not awaiting approval" in _text(again)
    assert manager.post("/inbox/approvals/msg_nothing/approve").status_code == 404
    assert [s for _, s, _ in _audited(office, "message.approved")] == [held[0]]
    assert [s for _, s, _ in _audited(office, "message.rejected")] == [held[1]]


def test_it_assigns_as_the_api_does_and_audits_it(office: Office) -> None:
    agent = office.sign_in("agent")
    refused = agent.post(f"/inbox/{office.ids['front']}/assign", {"user": office.ids["ben"]})
    assert refused.status_code == 403
    assert "use a transfer to hand over" in _text(refused)
    assert agent.post(f"/inbox/{office.ids['front']}/assign", {"user": "me"}).status_code == 302
    assert _conversation(office, "front").assignee_id == office.ids["agent"]
    assert _audited(office, "conversation.assigned") == []  # taking it oneself is not
    manager = office.sign_in("manager")
    manager.post(f"/inbox/{office.ids['front']}/assign", {"user": office.ids["ben"]})
    assert _conversation(office, "front").assignee_id == office.ids["ben"]
    manager.post(f"/inbox/{office.ids['front']}/assign", {"user": ""})
    assert _conversation(office, "front").assignee_id is None
    assert _audited(office, "conversation.assigned") == [
        (office.ids["manager"], office.ids["front"], f"to {office.ids['ben']}"),
        (office.ids["manager"], office.ids["front"], "to the queue"),
    ]
    auditor = manager.post(f"/inbox/{office.ids['front']}/assign", {"user": office.ids["auditor"]})
    assert auditor.status_code == 422
    assert "Auditors do not answer conversations." in _text(auditor)


def test_it_transfers_with_a_note_even_out_of_the_agents_sight(office: Office) -> None:
    agent = office.sign_in("agent")
    back = office.ids["back_team"]
    done = agent.post(
        f"/inbox/{office.ids['front']}/transfer", {"to": f"team:{back}", "note": "Billing"}
    )
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/inbox?done=transferred")
    moved = _conversation(office, "front")
    assert (moved.team_id, moved.assignee_id, moved.unread) == (back, None, True)
    assert agent.get(f"/inbox/{office.ids['front']}").status_code == 404
    with office.panel.gateway.sessions() as session:
        notes = session.scalars(select(ConversationNote.conversation_id)).all()
    assert notes == [office.ids["front"]]
    assert _audited(office, "conversation.transferred") == [
        (office.ids["agent"], office.ids["front"], f"to team {back} with a note")
    ]
    ben = office.sign_in("ben")
    page = _text(ben.get(f"/inbox/{office.ids['front']}"))
    assert "Internal note — never sent" in page and "Billing" in page
    for to in ("", "team:", "nobody:x", f"team:{MISSING}"):
        refused = ben.post(f"/inbox/{office.ids['front']}/transfer", {"to": to})
        assert refused.status_code in (404, 422), to
        assert 'role="alert"' in _text(refused)


def test_it_closes_reopens_and_snoozes(office: Office) -> None:
    agent = office.sign_in("agent")
    path = f"/inbox/{office.ids['pool']}"
    assert agent.post(f"{path}/close").status_code == 302
    assert _conversation(office, "pool").status == "closed"
    assert "Reopen" in _text(agent.get(path))
    assert agent.post(f"{path}/reopen").status_code == 302
    assert _conversation(office, "pool").status == "open"
    until = _later(days=2)
    assert agent.post(f"{path}/snooze", {"until": until}).status_code == 302
    snoozed = _conversation(office, "pool")
    assert snoozed.status == "snoozed"
    assert snoozed.snoozed_until is not None
    assert snoozed.snoozed_until.strftime("%Y-%m-%dT%H:%M") == until


@pytest.mark.parametrize(
    ("until", "says"),
    [
        ("tomorrow", "The snooze time is not a date and time"),
        ("", "The snooze time is not a date and time"),
        ("2024-13-45T99:00", "The snooze time is not a date and time"),
        ("2001-01-01T10:00", "Until is in the past."),
        ("9999-01-01T10:00", "at most 90 days"),
    ],
)
def test_it_refuses_a_bad_snooze_time_clearly(office: Office, until: str, says: str) -> None:
    agent = office.sign_in("agent")
    refused = agent.post(f"/inbox/{office.ids['pool']}/snooze", {"until": until})
    assert refused.status_code == 422
    assert says in _text(refused)
    assert _conversation(office, "pool").status == "open"


def test_it_adds_internal_notes_and_refuses_bad_ones(office: Office) -> None:
    agent = office.sign_in("agent")
    path = f"/inbox/{office.ids['pool']}"
    assert agent.post(f"{path}/note", {"body": "Prefers mornings"}).status_code == 302
    page = _text(agent.get(path))
    assert 'class="msg note"' in page and "Internal note — never sent" in page
    assert "Prefers mornings" in page
    assert not [m for m in office.messages_of("pool") if m.direction == "out"]
    for body, says in (("  ", "The note is empty."), ("n" * 4001, "at most 4000 characters")):
        refused = agent.post(f"{path}/note", {"body": body})
        assert refused.status_code == 422
        assert says in _text(refused)


def test_it_starts_a_conversation_with_its_first_message(office: Office) -> None:
    assert office.sign_in("auditor").post("/inbox/new", {}).status_code == 403
    agent = office.sign_in("agent")
    done = agent.post(
        "/inbox/new", {"number": "+1 201 555 0199", "line": "Back office", "body": "Hello!"}
    )
    assert done.status_code == 302
    conversation_id = done.headers["Location"].split("/inbox/")[1].split("?")[0]
    with office.panel.gateway.sessions() as session:
        started = session.get(Conversation, conversation_id)
        assert started is not None and started.assignee_id == office.ids["agent"]
        sent = session.scalars(
            select(Message).where(Message.contact_id == started.contact_id)
        ).all()
    assert [(m.line_id, m.status) for m in sent] == [("ln_back", "queued")]
    bad = agent.post("/inbox/new", {"number": "12", "line": "Back office", "body": "Hi"})
    assert bad.status_code == 422
    assert 'value="12"' in _text(bad) and ">Hi</textarea>" in _text(bad)
    taken = agent.post(
        "/inbox/new", {"number": "+12015550103", "line": "Back office", "body": "Hi"}
    )
    assert taken.status_code == 409  # Back's conversation: refused without showing it
    assert "Another team has the conversation" in _text(taken)
    assert "Hello from back" not in _text(taken)
    unknown = agent.post("/inbox/new", {"number": "+12015550199", "line": "Nope", "body": "Hi"})
    assert unknown.status_code == 422 and "No line has that name." in _text(unknown)
