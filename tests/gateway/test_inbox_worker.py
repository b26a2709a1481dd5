"""The team inbox through the worker and emulated modems: an inbound SMS joins its
conversation and is routed; the away reply goes out once; staff reply from the line with
their signature; supervised replies wait for approval; card numbers are refused going out
and masked coming in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.app import Gateway
from gateway.approvals import approve, reject
from gateway.audit import audit_events
from gateway.compliance import box_zone
from gateway.config import Config, InboxConfig
from gateway.conversations import close
from gateway.errors import Forbidden, SensitiveContent
from gateway.inbox_access import load_viewer
from gateway.models import Conversation, Message, utcnow
from gateway.replies import reply
from gateway.teams import add_member, add_team, set_line_hours, set_user_inbox
from gateway.users import add_user
from tests.gateway.conftest import Rig, wait_until

CUSTOMER = "+12015550199"
AWAY = "Dental Care: we are closed right now and answer tomorrow from 9."

pytestmark = pytest.mark.both_databases


@pytest.fixture
def config(config: Config) -> Config:
    consent = dataclasses.replace(config.consent, business_name="Dental Care")
    return dataclasses.replace(
        config,
        consent=consent,
        inbox=InboxConfig(
            away_reply="{business}: we are closed right now and answer tomorrow from 9."
        ),
    )


def texts_to(rig: Rig, number: str = CUSTOMER) -> list[str]:
    return [part.text for part in rig.bank[0].outbox() if part.recipient == number]


def office(gateway: Gateway, rig: Rig, *people: tuple[str, str]) -> dict[str, str]:
    """A "Front" team on Line 1 with these (name, role) members; their ids by name."""
    with gateway.sessions() as session:
        add_team(session, "Front", "Line 1")
        ids = {}
        for name, role in people:
            ids[name] = add_user(session, name, role).id
            if role != "auditor":
                add_member(session, "Front", name)
        session.commit()
    rig.gateway.office.invalidate()
    return ids


def closed_today(gateway: Gateway, rig: Rig) -> None:
    """Line 1 closed: yesterday, today and tomorrow (local) are holidays, whatever the hour."""
    today = datetime.now(ZoneInfo(box_zone())).date()
    days = f"{today - timedelta(days=1)}, {today}, {today + timedelta(days=1)}"
    with gateway.sessions() as session:
        set_line_hours(session, "Line 1", hours="daily 00:00-24:00", holidays=days)
        session.commit()
    rig.gateway.office.invalidate()


def conversations(gateway: Gateway) -> list[Conversation]:
    with gateway.sessions() as session:
        return list(session.scalars(select(Conversation).order_by(Conversation.created_at)))


def received(gateway: Gateway) -> int:
    with gateway.sessions() as session:
        return len(session.scalars(select(Message).where(Message.direction == "in")).all())


def inbound(gateway: Gateway, rig: Rig, text: str, count: int) -> Conversation:
    rig.bank[0].inject(CUSTOMER, text)
    wait_until(lambda: received(gateway) == count, what=f"{count} received")
    return conversations(gateway)[0]


def test_it_routes_a_new_conversation_round_robin_within_the_team(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    ids = office(gateway, rig, ("ana", "agent"), ("ben", "agent"), ("zoe", "auditor"))
    first = inbound(gateway, rig, "Can I move my appointment?", 1)
    assert first.assignee_id in (ids["ana"], ids["ben"]) and first.unread
    assert first.status == "open" and first.line_id is not None
    rig.bank[0].inject("+12015550177", "Do you take new patients?")
    wait_until(lambda: len(conversations(gateway)) == 2)
    second = conversations(gateway)[1]
    # The other member: the one given a conversation last goes to the back of the line.
    assert {first.assignee_id, second.assignee_id} == {ids["ana"], ids["ben"]}
    assert texts_to(rig) == []  # people are in: no away reply


def test_it_sends_the_away_reply_once_when_the_line_is_closed(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    office(gateway, rig, ("ana", "agent"))
    closed_today(gateway, rig)
    conversation = inbound(gateway, rig, "Hello?", 1)
    wait_until(lambda: texts_to(rig) == [AWAY], what="the away reply")
    # Ana is only off shift: she keeps nothing assigned, it waits in the team queue.
    assert conversation.assignee_id is None and conversation.team_id is not None
    inbound(gateway, rig, "Anyone there?", 2)
    inbound(gateway, rig, "Hello??", 3)
    assert texts_to(rig) == [AWAY]  # at most once per contact in 12 hours


def test_it_stays_silent_when_a_person_replied_in_the_last_30_minutes(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    ids = office(gateway, rig, ("ana", "agent"))
    conversation = inbound(gateway, rig, "Hi", 1)
    with gateway.sessions() as session:
        viewer = load_viewer(session, ids["ana"])
        reply(session, gateway.vault, gateway.config, viewer, conversation.id, "Hi, Ana here")
        session.commit()
    rig.worker.work.notify()
    wait_until(lambda: len(texts_to(rig)) == 1, what="Ana's reply")
    closed_today(gateway, rig)  # Ana's shift ends, the customer writes again
    inbound(gateway, rig, "One more thing", 2)
    assert len(texts_to(rig)) == 1  # no away reply over a live exchange


def test_it_replies_from_the_conversations_line_signed_and_claims_it(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(2)
    with gateway.sessions() as session:
        ana = add_user(session, "ana", "agent")
        set_user_inbox(session, "ana", display_name="Ana")
        session.commit()
    rig.gateway.office.invalidate()
    conversation = inbound(gateway, rig, "Hi there", 1)
    assert conversation.assignee_id is None and conversation.team_id is None  # shared pool
    with gateway.sessions() as session:
        viewer = load_viewer(session, ana.id)
        reply(session, gateway.vault, gateway.config, viewer, conversation.id, "See you at 3")
        session.commit()
    wait_until(lambda: texts_to(rig) == ["See you at 3\n- Ana @ Dental Care"])
    assert all(part.recipient != CUSTOMER for part in rig.bank[1].outbox())
    assert conversations(gateway)[0].assignee_id == ana.id  # claimed by replying


def test_it_reopens_a_closed_conversation_on_a_new_message(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    ids = office(gateway, rig, ("ana", "agent"))
    conversation = inbound(gateway, rig, "Thanks!", 1)
    with gateway.sessions() as session:
        close(session, load_viewer(session, ids["ana"]), conversation.id)
        session.commit()
    assert conversations(gateway)[0].status == "closed"
    again = inbound(gateway, rig, "Actually, one question", 2)
    assert again.status == "open" and again.unread and again.assignee_id == ids["ana"]


def test_it_masks_card_numbers_in_what_customers_send(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    inbound(gateway, rig, "My card is 4111 1111 1111 1111 exp 12/29", 1)
    with gateway.sessions() as session:
        message = session.scalar(select(Message).where(Message.direction == "in"))
        text = gateway.vault.decrypt(message.body_enc, "messages", "body", message.id)
    assert text == "My card is **** **** **** 1111 exp 12/29"


def test_it_holds_a_supervised_reply_until_a_manager_approves(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    ids = office(gateway, rig, ("tim", "agent"), ("mia", "manager"))
    with gateway.sessions() as session:
        set_user_inbox(session, "tim", supervised=True, signature="")
        session.commit()
    conversation = inbound(gateway, rig, "Is my crown ready?", 1)
    with gateway.sessions() as session:
        tim = load_viewer(session, ids["tim"])
        first = reply(session, gateway.vault, gateway.config, tim, conversation.id, "Yes!")
        second = reply(session, gateway.vault, gateway.config, tim, conversation.id, "Oops")
        session.commit()
        assert first.status == second.status == "pending_approval"
        with pytest.raises(Forbidden):
            approve(session, gateway.config, tim, first.id)
        mia = load_viewer(session, ids["mia"])
        approve(session, gateway.config, mia, first.id)
        reject(session, mia, second.id)
        session.commit()
    rig.worker.work.notify()
    wait_until(lambda: texts_to(rig) == ["Yes!"], what="the approved reply")
    with gateway.sessions() as session:
        assert session.get(Message, second.id).status == "canceled"
        actions = [(e.action, e.actor, e.subject) for e in audit_events(session)]
    assert ("message.approved", ids["mia"], first.id) in actions
    assert ("message.rejected", ids["mia"], second.id) in actions


def test_it_refuses_a_card_number_going_out_unless_a_manager_overrides(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    ids = office(gateway, rig, ("ana", "agent"), ("mia", "manager"))
    conversation = inbound(gateway, rig, "What card do you have on file?", 1)
    card = "The card on file is 4111-1111-1111-1111"
    with gateway.sessions() as session:
        ana = load_viewer(session, ids["ana"])
        with pytest.raises(SensitiveContent) as refused:
            reply(session, gateway.vault, gateway.config, ana, conversation.id, card)
        assert "4111" not in str(refused.value)
        with pytest.raises(Forbidden):
            reply(
                session,
                gateway.vault,
                gateway.config,
                ana,
                conversation.id,
                card,
                override_sensitive=True,
            )
        session.rollback()
        mia = load_viewer(session, ids["mia"])
        sent = reply(
            session,
            gateway.vault,
            gateway.config,
            mia,
            conversation.id,
            card,
            sign=False,
            override_sensitive=True,
        )
        session.commit()
        overrides = audit_events(session, action="message.sensitive_override")
    assert [(e.actor, e.subject) for e in overrides] == [(ids["mia"], sent.id)]
    assert "4111" not in (overrides[0].detail or "")
    rig.worker.work.notify()
    wait_until(lambda: texts_to(rig) == [card])


def test_it_answers_a_stop_without_routing_it(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    office(gateway, rig, ("ana", "agent"))
    closed_today(gateway, rig)
    conversation = inbound(gateway, rig, "STOP", 1)
    wait_until(lambda: len(texts_to(rig)) == 1, what="the opt-out confirmation")
    assert "unsubscribed" in texts_to(rig)[0]  # the confirmation, and no away reply
    assert conversation.unread and conversation.assignee_id is None
    assert conversations(gateway)[0].last_inbound_at is not None
    assert utcnow() - conversations(gateway)[0].last_activity_at < timedelta(minutes=5)
