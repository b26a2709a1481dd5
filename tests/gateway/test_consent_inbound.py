"""Keywords and enforcement through the emulated modems: STOP, START, HELP and flagged
messages as a phone sends them, and a STOP that arrives while messages wait."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from gateway.app import Gateway
from gateway.config import Config, ConsentConfig
from gateway.consent import ConsentChange, load_state, record_consent
from gateway.contacts import find_contact, find_or_create_contact
from gateway.erasure import erase_contact
from gateway.models import ConsentEvent, ConsentReview, Contact, Message, new_id, utcnow
from gateway.outbound import SendRequest, enqueue
from tests.gateway.conftest import Rig, wait_until

CUSTOMER = "+12015550199"
OPT_OUT_REPLY = "Dental Care: you are unsubscribed and get no more messages. Reply START to undo."
HELP_REPLY = "Dental Care: reply to this message and a person will answer. Reply STOP to opt out."


@pytest.fixture
def config(config: Config) -> Config:
    return dataclasses.replace(config, consent=ConsentConfig(business_name="Dental Care"))


def texts_to(rig: Rig, number: str = CUSTOMER) -> list[str]:
    return [part.text for part in rig.bank[0].outbox() if part.recipient == number]


def consent(gateway: Gateway, number: str = CUSTOMER):
    with gateway.sessions() as session:
        contact = find_contact(session, gateway.vault, number)
        return None if contact is None else load_state(session, contact.id)


def events(gateway: Gateway) -> list[tuple[str, str, str]]:
    with gateway.sessions() as session:
        rows = session.scalars(select(ConsentEvent).order_by(ConsentEvent.recorded_at)).all()
        return [(row.purpose, row.action, row.source) for row in rows]


def grant(gateway: Gateway, number: str = CUSTOMER) -> None:
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, number)
        session.flush()
        contact = session.get(Contact, contact.id)
        change = ConsentChange("transactional", "opted_in", "paper", "intake form")
        record_consent(session, gateway.vault, contact, change, recorded_by="u1", role="manager")
        session.commit()


def queue(gateway: Gateway, body: str, **options: object) -> str:
    with gateway.sessions() as session:
        message = enqueue(
            session,
            gateway.vault,
            gateway.config,
            SendRequest(to=CUSTOMER, body=body, **options),  # type: ignore[arg-type]
        )
        session.commit()
        return message.id


def status(gateway: Gateway, message_id: str) -> tuple[str, str | None]:
    with gateway.sessions() as session:
        message = session.get(Message, message_id)
        return message.status, message.error_code


def test_stop_opts_out_everywhere_with_exactly_one_confirmation(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    grant(gateway)
    rig.bank[0].inject(CUSTOMER, "STOP")
    wait_until(lambda: texts_to(rig) == [OPT_OUT_REPLY], what="the confirmation")
    state = consent(gateway)
    assert (state.transactional.status, state.marketing.status) == ("opted_out", "opted_out")
    rig.bank[0].inject(CUSTOMER, "stop")
    wait_until(lambda: len(events(gateway)) == 3, what="the repeated STOP recorded")
    rig.bank[0].inject(CUSTOMER, "Hello?")  # a later message shows the repeat was handled
    wait_until(lambda: _received(gateway) == 3, what="all three messages stored")
    assert texts_to(rig) == [OPT_OUT_REPLY]  # a repeated STOP gets no second reply
    with gateway.sessions() as session:
        stop = session.scalars(
            select(ConsentEvent).where(ConsentEvent.action == "opted_out")
        ).first()
        trigger = session.get(Message, stop.message_id)
        assert trigger.direction == "in" and stop.line_id == trigger.line_id


def _received(gateway: Gateway) -> int:
    with gateway.sessions() as session:
        return len(session.scalars(select(Message).where(Message.direction == "in")).all())


@pytest.mark.parametrize(
    "disguised",
    ["Ｓｔｏｐ", "S\u200bT\u200cO\u200dP", "\u2060stop!!", " *STOP* ", "opt-out", "Unsubscribe."],
)
def test_disguised_stop_words_still_opt_out(
    gateway: Gateway, make_rig: Callable[..., Rig], disguised: str
) -> None:
    rig = make_rig(1)
    rig.bank[0].inject(CUSTOMER, disguised)
    wait_until(lambda: texts_to(rig) == [OPT_OUT_REPLY], what="the confirmation")
    assert consent(gateway).all_out


def test_help_is_answered_even_when_opted_out_and_changes_nothing(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    rig.bank[0].inject(CUSTOMER, "STOP")
    wait_until(lambda: len(texts_to(rig)) == 1)
    rig.bank[0].inject(CUSTOMER, "help")
    wait_until(lambda: texts_to(rig) == [OPT_OUT_REPLY, HELP_REPLY], what="the help reply")
    assert consent(gateway).all_out
    with pytest.raises(Exception, match="opted out"):
        queue(gateway, "Your appointment is tomorrow")


def test_start_restores_what_the_contact_had_before(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    grant(gateway)
    rig.bank[0].inject(CUSTOMER, "STOP")
    wait_until(lambda: len(texts_to(rig)) == 1)
    rig.bank[0].inject(CUSTOMER, "Start")
    wait_until(lambda: len(texts_to(rig)) == 2, what="the opt-in reply")
    state = consent(gateway)
    assert (state.transactional.status, state.marketing.status) == ("granted", "none")
    queue(gateway, "Welcome back")  # transactional again; marketing still needs its opt-in


def test_yes_from_a_contact_who_never_opted_out_is_just_a_message(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    grant(gateway)
    rig.bank[0].inject(CUSTOMER, "Yes")
    wait_until(lambda: _received(gateway) == 1)
    rig.bank[0].inject(CUSTOMER, "thanks")
    wait_until(lambda: _received(gateway) == 2)
    assert texts_to(rig) == [] and events(gateway) == [("transactional", "opted_in", "paper")]


def test_a_revocation_in_other_words_is_flagged_with_its_deadline(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    grant(gateway)
    rig.bank[0].inject(CUSTOMER, "Please stop texting me.")
    review = wait_until(lambda: _reviews(gateway), what="a review")[0]
    assert review.status == "open"
    received = review.received_at.date()
    # 10 business days after the day it came (that day not counted), never on a weekend:
    # 12 to 16 calendar days depending on the weekday it arrived.
    days = (review.due_on - received).days
    business = sum((received + timedelta(days=n)).weekday() < 5 for n in range(1, days + 1))
    assert business == 10 and 12 <= days <= 16
    assert review.due_on.weekday() < 5
    assert consent(gateway).transactional.status == "granted"  # not acted on automatically
    assert texts_to(rig) == []


def _reviews(gateway: Gateway) -> list[ConsentReview]:
    with gateway.sessions() as session:
        return list(session.scalars(select(ConsentReview)))


def test_a_first_message_from_a_customer_records_that_they_gave_their_number(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    rig.bank[0].inject(CUSTOMER, "Hi, can I move my appointment?")
    wait_until(lambda: events(gateway) == [("transactional", "opted_in", "inbound")])
    queue(gateway, "Of course: Tuesday 10:30?")  # the reply needs no further record


def test_a_stop_blocks_the_messages_waiting_for_the_contact_at_once(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    grant(gateway)
    later = utcnow() + timedelta(hours=2)
    waiting = [queue(gateway, f"Reminder {n}", send_at=later) for n in range(3)]
    rig.bank[0].inject(CUSTOMER, "STOP")
    wait_until(lambda: len(texts_to(rig)) == 1)
    assert [status(gateway, m) for m in waiting] == [("blocked", "recipient_opted_out")] * 3


def test_a_stop_arriving_during_a_send_blocks_the_next_ones(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1, send_delay=1.0)
    grant(gateway)
    first, *rest = [queue(gateway, f"Reminder {n}") for n in (1, 2, 3)]
    rig.worker.work.notify()
    wait_until(lambda: status(gateway, first)[0] == "sending", what="the first send under way")
    rig.bank[0].inject(CUSTOMER, "STOP")  # reported during AT+CMGS, read right after it
    wait_until(lambda: status(gateway, first)[0] in ("sent", "delivered"))
    wait_until(lambda: len(texts_to(rig)) == 2, timeout=30, what="the confirmation")
    assert [status(gateway, m) for m in rest] == [("blocked", "recipient_opted_out")] * 2
    assert texts_to(rig) == ["Reminder 1", OPT_OUT_REPLY]


def test_the_worker_reads_the_ledger_again_just_before_sending(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    """An opt-out written by another box straight into the ledger, with no one blocking the
    waiting messages: the claim's check still stops the send."""
    grant(gateway)
    message_id = queue(gateway, "Reminder")
    with gateway.sessions() as session:
        contact = find_contact(session, gateway.vault, CUSTOMER)
        session.execute(
            insert(ConsentEvent).values(
                id=new_id("ce"),
                contact_id=contact.id,
                purpose="all",
                action="opted_out",
                source="keyword",
                recorded_by="contact",
                recorded_at=datetime.now(UTC),
            )
        )
        session.commit()
    assert status(gateway, message_id) == ("queued", None)
    rig = make_rig(1)
    wait_until(lambda: status(gateway, message_id)[0] == "blocked", what="blocked at the claim")
    assert status(gateway, message_id) == ("blocked", "recipient_opted_out")
    assert texts_to(rig) == []


def test_an_erased_contact_who_writes_again_is_stored_and_still_never_texted(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    grant(gateway)
    with gateway.sessions() as session:
        contact = find_contact(session, gateway.vault, CUSTOMER)
        erase_contact(session, gateway.vault, contact, "admin")
        session.commit()
    rig = make_rig(1)
    rig.bank[0].inject(CUSTOMER, "STOP")
    wait_until(lambda: _received(gateway) == 1, what="the message stored under a new key")
    assert consent(gateway).all_out
    assert texts_to(rig) == []  # no confirmation either: the number is never texted
