"""Conversations in the store (SQLite and PostgreSQL): starting one, snoozing and waking,
transfers, templates and signatures, and an audit log that nobody can change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from gateway.app import Gateway
from gateway.audit import Actor, audit, audit_events
from gateway.contacts import find_or_create_contact, set_contact_name
from gateway.conversations import (
    add_note,
    notes_of,
    snooze,
    start_conversation,
    transfer,
    wake_snoozed,
)
from gateway.erasure import erase_contact
from gateway.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTemplate,
    RecipientErased,
    UnknownLine,
)
from gateway.inbox_access import load_viewer
from gateway.models import AuditEvent, Contact, Conversation, Line
from gateway.replies import compose
from gateway.teams import add_member, add_team, get_team, set_user_inbox
from gateway.templates import check_text, create_template, render
from gateway.users import add_user

pytestmark = pytest.mark.both_databases

TO = "+12015550123"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def office(gateway: Gateway) -> dict[str, str]:
    with gateway.sessions() as session:
        session.add(Line(id="ln_1", name="Front desk", device="/dev/null"))
        session.flush()
        ids = {
            name: add_user(session, name, role).id
            for name, role in (
                ("ana", "agent"),
                ("ben", "agent"),
                ("mia", "manager"),
                ("zoe", "auditor"),
            )
        }
        add_team(session, "Front", "Front desk")
        add_team(session, "Back")
        add_member(session, "Front", "ana")
        add_member(session, "Back", "ben")
        session.commit()
    return ids


def test_it_starts_a_conversation_for_whoever_texts_first(
    gateway: Gateway, office: dict[str, str]
) -> None:
    with gateway.sessions() as session:
        ana = load_viewer(session, office["ana"])
        started = start_conversation(session, gateway.vault, ana, TO, "Front desk", NOW)
        again = start_conversation(session, gateway.vault, ana, TO, "Front desk", NOW)
        assert again.id == started.id and started.assignee_id == office["ana"]
        with pytest.raises(UnknownLine):
            start_conversation(session, gateway.vault, ana, TO, "Nowhere", NOW)
        with pytest.raises(Forbidden):
            start_conversation(session, gateway.vault, load_viewer(session, office["zoe"]), TO,
                               "Front desk", NOW)  # fmt: skip
        started.team_id = get_team(session, "Front").id
        session.commit()
        # Ben (team Back) does not see Front's conversation: refused, showing nothing of it.
        with pytest.raises(Conflict) as refused:
            start_conversation(
                session, gateway.vault, load_viewer(session, office["ben"]), TO, "Front desk"
            )
        assert TO not in str(refused.value)


def test_it_refuses_to_start_a_conversation_with_an_erased_contact(
    gateway: Gateway, office: dict[str, str]
) -> None:
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        session.flush()
        erase_contact(session, gateway.vault, session.get(Contact, contact.id), office["mia"])
        session.commit()
        with pytest.raises(RecipientErased):
            start_conversation(
                session, gateway.vault, load_viewer(session, office["mia"]), TO, "Front desk"
            )


def test_it_snoozes_within_limits_and_wakes_on_time(
    gateway: Gateway, office: dict[str, str]
) -> None:
    with gateway.sessions() as session:
        ana = load_viewer(session, office["ana"])
        conversation = start_conversation(session, gateway.vault, ana, TO, "Front desk", NOW)
        for until, why in (
            (NOW - timedelta(minutes=1), "in the past"),
            (NOW + timedelta(days=91), "at most 90 days"),
            (datetime(2026, 12, 8, 9, 0), "time zone"),
        ):
            with pytest.raises(InvalidInput, match=why):
                snooze(session, ana, conversation.id, until, now=NOW)
        snooze(session, ana, conversation.id, NOW + timedelta(hours=2), now=NOW)
        session.commit()
        assert wake_snoozed(session, NOW + timedelta(hours=1)) == 0
        assert wake_snoozed(session, NOW + timedelta(hours=2)) == 1
        session.commit()
        woken = session.get(Conversation, conversation.id)
        assert woken.status == "open" and woken.unread and woken.snoozed_until is None


def test_it_transfers_with_a_note_and_audits_it(gateway: Gateway, office: dict[str, str]) -> None:
    with gateway.sessions() as session:
        ana = load_viewer(session, office["ana"])
        conversation = start_conversation(session, gateway.vault, ana, TO, "Front desk", NOW)
        contact = session.get(Contact, conversation.contact_id)
        back = get_team(session, "Back").id
        with pytest.raises(InvalidInput):
            transfer(session, gateway.vault, ana, conversation.id, key_id=contact.key_id)
        with pytest.raises(InvalidInput):
            transfer(session, gateway.vault, ana, conversation.id, to_user=office["zoe"],
                     key_id=contact.key_id)  # fmt: skip
        transfer(
            session, gateway.vault, ana, conversation.id, to_team=back,
            note="Billing question, card declined", key_id=contact.key_id, now=NOW,
        )  # fmt: skip
        session.commit()
        moved = session.get(Conversation, conversation.id)
        assert moved.team_id == back and moved.assignee_id is None and moved.unread
        (note,) = notes_of(session, gateway.vault, moved)
        assert note.body == "Billing question, card declined"
        (event,) = audit_events(session, action="conversation.transferred")
        assert event.actor == office["ana"] and event.subject == conversation.id
        assert event.detail == f"to team {back} with a note"  # the note itself stays out


def test_it_keeps_notes_unreadable_after_erasure(gateway: Gateway, office: dict[str, str]) -> None:
    with gateway.sessions() as session:
        mia = load_viewer(session, office["mia"])
        conversation = start_conversation(session, gateway.vault, mia, TO, "Front desk", NOW)
        contact = session.get(Contact, conversation.contact_id)
        add_note(session, gateway.vault, mia, conversation.id, "Allergic to latex",
                 key_id=contact.key_id)  # fmt: skip
        erase_contact(session, gateway.vault, contact, office["mia"], role="manager")
        session.commit()
        assert [n.body for n in notes_of(session, gateway.vault, conversation)] == ["(erased)"]
        assert [e.action for e in audit_events(session)] == ["contact.erased"]


def test_it_fills_templates_and_signs_replies(gateway: Gateway, office: dict[str, str]) -> None:
    with gateway.sessions() as session:
        set_user_inbox(session, "ana", display_name="Ana")
        ana = load_viewer(session, office["ana"])
        conversation = start_conversation(session, gateway.vault, ana, TO, "Front desk", NOW)
        template = create_template(session, ana, "hello", "Hi {first_name}, it's {agent}.")
        args = (session, gateway.vault, gateway.config, ana, conversation.id)
        assert compose(*args, template_id=template.id) == (
            "Hi, it's Ana.\n- Ana @ our office"  # no name on file: the variable goes quietly
        )
        contact = session.get(Contact, conversation.contact_id)
        set_contact_name(gateway.vault, contact, "Maria José Silva")
        assert compose(*args, template_id=template.id, sign=False) == "Hi Maria, it's Ana."
        set_user_inbox(session, "ana", signature="")
        assert compose(*args, "See you {name}") == "See you Maria José Silva"
        with pytest.raises(InvalidTemplate):
            compose(*args, "Hi {0.__class__}")


@pytest.mark.parametrize(
    "body",
    ["Hi {first_name.__class__}", "{agent!r}", "{name:>99999}", "{}", "{ agent }", "a\x1bb"],
)
def test_it_refuses_template_text_that_is_not_plain_variables(body: str) -> None:
    with pytest.raises(InvalidTemplate):
        check_text(body)


def test_it_renders_by_substitution_never_format() -> None:
    assert render("Hi {first_name}! {agent}", {"first_name": "{agent}", "agent": "Ana"}) == (
        "Hi {agent}! Ana"  # a value is never read as a template itself
    )


def test_it_refuses_to_change_or_delete_audit_events(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        audit(session, Actor("u1", "manager"), "conversation.viewed", "cv_1")
        session.commit()
    for statement in (
        update(AuditEvent).values(actor="someone else"),
        delete(AuditEvent),
        text("UPDATE audit_events SET detail = 'x'"),
    ):
        with gateway.sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(statement)
                session.commit()
            session.rollback()
    with gateway.sessions() as session:
        (event,) = session.scalars(select(AuditEvent)).all()
        assert event.actor == "u1"
