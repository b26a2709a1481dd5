"""The send path's database steps on a real SQLite file: claim, guarded transitions, failures."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.app import Gateway
from gateway.errors import InvalidTransition
from gateway.lifecycle import record
from gateway.models import Line, Message, MessageEvent, MessagePart, utcnow
from gateway.sending import (
    claim_next,
    finish_sent,
    part_sent,
    send_failed,
    sent_sequences,
    start_sending,
)
from modem.errors import CmsError, ModemTimeout
from tests.gateway.test_engine import send

pytestmark = pytest.mark.both_databases


@pytest.fixture
def lines(gateway: Gateway) -> Gateway:
    with gateway.sessions() as session:
        session.add_all(
            [Line(id="ln_a", name="A", device="/dev/a"), Line(id="ln_b", name="B", device="/dev/b")]
        )
        session.commit()
    return gateway


def message(gateway: Gateway, message_id: str) -> Message:
    with gateway.sessions() as session:
        return session.get(Message, message_id)


def history(gateway: Gateway, message_id: str) -> list[tuple[str | None, str]]:
    with gateway.sessions() as session:
        events = session.scalars(
            select(MessageEvent).where(MessageEvent.message_id == message_id).order_by("id")
        )
        return [(event.previous, event.status) for event in events]


def test_claims_by_priority_and_never_twice(lines: Gateway) -> None:
    bulk = send(lines, "bulk", priority=9)
    reply = send(lines, "reply", priority=0)
    with lines.engine.connect() as connection:
        first = claim_next(connection, "w1", "ln_a")
        connection.commit()
        second = claim_next(connection, "w2", "ln_a")
        connection.commit()
        assert claim_next(connection, "w3", "ln_a") is None
    assert (first.id, second.id) == (reply, bulk)
    assert message(lines, reply).claimed_by == "w1"


def test_an_uncommitted_claim_leaves_the_message_queued(lines: Gateway) -> None:
    message_id = send(lines, "hello")
    with lines.engine.connect() as connection:
        assert claim_next(connection, "w", "ln_a").id == message_id
        connection.rollback()  # what a crash before AT+CMGS amounts to
    stored = message(lines, message_id)
    assert (stored.status, stored.claimed_by) == ("queued", None)


def test_a_message_bound_to_a_line_waits_for_that_line(lines: Gateway) -> None:
    bound = send(lines, "for B", line="B")
    with lines.engine.connect() as connection:
        assert claim_next(connection, "w", "ln_a") is None
        assert claim_next(connection, "w", "ln_b").id == bound


def test_not_yet_due_messages_are_not_claimed(lines: Gateway) -> None:
    send(lines, "later", send_at=utcnow() + timedelta(hours=1))
    with lines.engine.connect() as connection:
        assert claim_next(connection, "w", "ln_a") is None


def test_the_whole_send_leaves_a_complete_history(lines: Gateway) -> None:
    message_id = send(lines, "hello")
    with lines.engine.connect() as connection:
        claimed = claim_next(connection, "w", "ln_a")
        start_sending(connection, claimed, "ln_a", "w")
        connection.commit()
        part_sent(connection, claimed, 1, 42, "ln_a")
        finish_sent(connection, claimed, "w")
        connection.commit()
        assert sent_sequences(connection, claimed) == {1}
    with lines.sessions() as session:
        (part,) = session.scalars(select(MessagePart).where(MessagePart.message_id == message_id))
        assert (part.line_id, part.reference, part.status) == ("ln_a", 42, "sent")
    stored = message(lines, message_id)
    assert (stored.status, stored.attempts, stored.via_line_id) == ("sent", 1, "ln_a")
    assert stored.claimed_by is None and stored.sent_at is not None
    assert history(lines, message_id) == [
        (None, "queued"),
        ("queued", "sending"),
        ("sending", "sent"),
    ]


def test_a_message_canceled_after_its_claim_is_not_sent(lines: Gateway) -> None:
    message_id = send(lines, "hello")
    with lines.engine.connect() as connection:
        claimed = claim_next(connection, "w", "ln_a")
        connection.commit()  # (the worker never does; the guard is there all the same)
        with lines.sessions() as session:  # a person cancels it meanwhile
            record(session, session.get(Message, message_id), "canceled", "someone")
            session.commit()
        with pytest.raises(InvalidTransition):
            start_sending(connection, claimed, "ln_a", "w")
        connection.rollback()
    assert message(lines, message_id).status == "canceled"
    assert history(lines, message_id)[-1] == ("queued", "canceled")


def test_a_transition_the_lifecycle_forbids_is_refused(lines: Gateway) -> None:
    message_id = send(lines, "hello")
    with lines.engine.connect() as connection:
        claimed = claim_next(connection, "w", "ln_a")
        with pytest.raises(InvalidTransition):
            finish_sent(connection, claimed, "w")  # queued -> sent skips "sending"
    assert message(lines, message_id).status == "queued"


def _fail_with(gateway: Gateway, error: Exception) -> Message:
    message_id = send(gateway, "hello")
    with gateway.engine.connect() as connection:
        claimed = claim_next(connection, "w", "ln_a")
        start_sending(connection, claimed, "ln_a", "w")
        connection.commit()
        send_failed(connection, claimed, error, gateway.config, "w", rng=random.Random(1))
        connection.commit()
    return message(gateway, message_id)


def test_a_modem_fault_requeues_without_charging_an_attempt(lines: Gateway) -> None:
    stored = _fail_with(lines, CmsError(331))  # no network service
    assert (stored.status, stored.attempts, stored.error_code) == ("queued", 0, "cms:331")
    assert stored.claimed_by is None


def test_a_permanent_error_fails_at_once(lines: Gateway) -> None:
    stored = _fail_with(lines, CmsError(21))  # short message transfer rejected
    assert (stored.status, stored.error_code) == ("failed", "cms:21")


def test_a_transient_error_backs_off(lines: Gateway) -> None:
    before = utcnow()
    stored = _fail_with(lines, ModemTimeout("no answer"))
    assert (stored.status, stored.attempts) == ("queued", 1)
    assert stored.next_attempt_at > before
