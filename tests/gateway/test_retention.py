"""The daily retention job: old bodies go, evidence and opt-outs stay, each run recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.app import Gateway
from gateway.archive import message_detail
from gateway.contacts import find_or_create_contact
from gateway.conversations import open_conversation
from gateway.models import ConsentEvent, ConversationNote, Line, Message, RetentionRun, new_id
from gateway.outbound import SendRequest, enqueue
from gateway.retention import due, purge

pytestmark = pytest.mark.both_databases

TO = "+12015550123"
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=6 * 366)


def old_message(gateway: Gateway, body: str, status: str = "delivered") -> str:
    with gateway.sessions() as session:
        message = enqueue(
            session, gateway.vault, gateway.config, SendRequest(to=TO, body=body), now=LONG_AGO
        )
        message.status = status
        session.commit()
        return message.id


def ledger(gateway: Gateway, *rows: tuple[str, str, datetime, str | None]) -> list[str]:
    ids = []
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        for purpose, action, at, message_id in rows:
            event_id = new_id("ce")
            session.add(
                ConsentEvent(
                    id=event_id,
                    contact_id=contact.id,
                    purpose=purpose,
                    action=action,
                    source="paper",
                    message_id=message_id,
                    recorded_by="u1",
                    recorded_at=at,
                )
            )
            ids.append(event_id)
        session.commit()
    return ids


def test_it_purges_old_bodies_but_keeps_the_record(gateway: Gateway) -> None:
    old = old_message(gateway, "Your lab results: negative")
    fresh_id = None
    with gateway.sessions() as session:
        fresh_id = enqueue(
            session, gateway.vault, gateway.config, SendRequest(to=TO, body="Fresh")
        ).id
        session.commit()
        run = purge(session, gateway.config, NOW)
        session.commit()
    assert run.bodies_purged == 1
    with gateway.sessions() as session:
        purged = session.get(Message, old)
        assert purged.body_enc == b"" and purged.body_purged_at is not None
        assert purged.status == "delivered" and purged.contact_id
        assert message_detail(session, gateway.vault, old).body == "(removed by retention)"
        assert message_detail(session, gateway.vault, fresh_id).body == "Fresh"


def test_a_body_that_is_consent_evidence_is_kept(gateway: Gateway) -> None:
    stop = old_message(gateway, "STOP")
    ledger(gateway, ("all", "opted_out", LONG_AGO, stop))
    with gateway.sessions() as session:
        assert purge(session, gateway.config, NOW).bodies_purged == 0
        session.commit()
        assert session.get(Message, stop).body_purged_at is None


def test_opt_outs_and_the_current_state_are_never_purged(gateway: Gateway) -> None:
    superseded, current, opt_out = ledger(
        gateway,
        ("marketing", "opted_in", LONG_AGO, None),
        ("marketing", "opted_in", LONG_AGO + timedelta(days=1), None),
        ("transactional", "opted_out", LONG_AGO, None),
    )
    with gateway.sessions() as session:
        run = purge(session, gateway.config, NOW)
        session.commit()
        left = set(session.scalars(select(ConsentEvent.id)))
    assert run.consent_events_purged == 1
    assert left == {current, opt_out} and superseded not in left


def test_an_opt_in_that_start_would_restore_is_kept(gateway: Gateway) -> None:
    granted, *_ = ledger(
        gateway,
        ("transactional", "opted_in", LONG_AGO, None),
        ("all", "opted_out", LONG_AGO + timedelta(days=1), None),
        ("all", "opted_in", LONG_AGO + timedelta(days=2), None),
    )
    with gateway.sessions() as session:
        purge(session, gateway.config, NOW)
        session.commit()
        assert session.get(ConsentEvent, granted) is not None


def test_recent_evidence_stays_and_each_run_is_recorded(gateway: Gateway) -> None:
    recent = NOW - timedelta(days=4 * 365)
    ledger(
        gateway,
        ("marketing", "opted_in", recent, None),
        ("marketing", "opted_in", recent + timedelta(days=1), None),
    )
    with gateway.sessions() as session:
        assert due(session, NOW)
        run = purge(session, gateway.config, NOW)
        session.commit()
        assert run.consent_events_purged == 0
        assert not due(session, NOW + timedelta(hours=1))
        assert due(session, NOW + timedelta(hours=25))
        (recorded,) = session.scalars(select(RetentionRun)).all()
        assert recorded.consent_before.year == NOW.year - 5


def test_it_purges_old_conversation_notes_with_the_bodies(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        session.add(Line(id="ln_1", name="Front desk", device="/dev/null"))
        session.flush()
        conversation = open_conversation(session, contact.id, "ln_1", LONG_AGO)
        for note_id, at in (("nt_old", LONG_AGO), ("nt_new", NOW)):
            body = gateway.vault.encrypt(
                contact.key_id, "Prefers mornings", "conversation_notes", "body", note_id
            )
            session.add(
                ConversationNote(
                    id=note_id,
                    conversation_id=conversation.id,
                    author_id="u1",
                    body_enc=body,
                    created_at=at,
                )
            )
        session.commit()
        purge(session, gateway.config, NOW)
        session.commit()
        assert session.scalars(select(ConversationNote.id)).all() == ["nt_new"]
