"""The worker when the database refuses writes (locked past the busy timeout; a full disk
raises the same OperationalError): a modem thread pauses and carries on, the outcome of
a message the modem already sent is kept and recorded once the database is back, and
nothing is sent twice."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest
from sqlalchemy import event, select

from gateway.app import Gateway
from gateway.models import Message, MessagePart
from gateway.outbound import SendRequest, enqueue
from tests.gateway.conftest import wait_until

TO = "+12015550123"
BUSY_MS = 200  # the test's busy timeout: the box's own is 30 s


def send(gateway: Gateway, body: str) -> str:
    with gateway.sessions() as session:
        message = enqueue(session, gateway.vault, gateway.config, SendRequest(to=TO, body=body))
        session.commit()
        return message.id


def status_of(gateway: Gateway, message_id: str) -> str:
    with gateway.sessions() as session:
        return session.get(Message, message_id).status


def short_busy_timeout(gateway: Gateway) -> None:
    @event.listens_for(gateway.engine, "connect")
    def _busy(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        cursor.close()

    gateway.engine.dispose()


def test_it_records_a_sent_message_once_the_database_is_back_and_sends_the_rest(
    gateway: Gateway, make_rig: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.runner")
    short_busy_timeout(gateway)
    rig = make_rig(1, send_delay=1.0)  # each AT+CMGS takes a second: time to take the lock
    first, second = send(gateway, "First"), send(gateway, "Second")
    wait_until(lambda: status_of(gateway, first) == "sending", 20, "the first one handed over")
    blocker = sqlite3.connect(gateway.config.data_dir / "smsgw.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # as a long backup or a full disk would
        wait_until(
            lambda: any("refused a write" in r.getMessage() for r in caplog.records),
            20,
            "the modem thread meeting the locked database",
        )
        # Its +CMGS answer could not be recorded yet: still sending, nothing else claimed.
        assert status_of(gateway, first) == "sending"
        assert status_of(gateway, second) == "queued"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for message_id in (first, second):
        wait_until(
            lambda m=message_id: status_of(gateway, m) in ("sent", "delivered"),
            30,
            "both messages sent once the database takes writes again",
        )
    outbox = rig.bank[0].outbox()
    assert sorted(part.text for part in outbox) == ["First", "Second"]  # each exactly once
    with gateway.sessions() as session:
        references = session.scalars(
            select(MessagePart.reference).where(MessagePart.message_id == first)
        ).all()
    assert references == [next(p.reference for p in outbox if p.text == "First")]
    assert all(runner.is_alive() for runner in rig.worker.runners)
