"""The consent ledger and the rules at acceptance: derivation, who may record what, the
database refusing edits, quiet hours, the daily cap, the opt-out notice, erasure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from gateway.app import Gateway
from gateway.config import Config, ConsentConfig
from gateway.consent import (
    ConsentChange,
    EventFacts,
    derive,
    load_state,
    record_consent,
)
from gateway.contacts import find_or_create_contact
from gateway.erasure import erase_contact
from gateway.errors import (
    ConsentForbidden,
    InvalidInput,
    MarketingCapReached,
    NoMarketingConsent,
    NoTransactionalConsent,
    RecipientErased,
    RecipientOptedOut,
)
from gateway.evidence import contact_history, flat_rows, neutralise, to_csv
from gateway.models import ConsentEvent, Contact, Message
from gateway.outbound import SendRequest, enqueue
from gateway.quiet_hours import Window, is_allowed, zones_for

pytestmark = pytest.mark.both_databases

TO = "+12015550123"  # New Jersey: America/New_York only
PARIS = "+33612345678"
NOON_NY = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 12:00 in New York
NIGHT_NY = datetime(2026, 6, 11, 3, 0, tzinfo=UTC)  # 23:00 in New York


@pytest.fixture
def config(config: Config) -> Config:
    # The default: a transactional send needs a recorded consent.
    return dataclasses.replace(config, consent=ConsentConfig())


def contact_of(gateway: Gateway, number: str = TO) -> tuple:
    session = gateway.sessions()
    return session, find_or_create_contact(session, gateway.vault, number)


def record(gateway: Gateway, number: str, *changes: ConsentChange, role: str = "manager") -> None:
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, number)
        session.flush()
        contact = session.get(Contact, contact.id)
        for change in changes:
            record_consent(session, gateway.vault, contact, change, recorded_by="u1", role=role)
        session.commit()


def state(gateway: Gateway, number: str = TO):
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, number)
        return load_state(session, contact.id)


def send(gateway: Gateway, to: str = TO, body: str = "Your appointment is at 10:30", **options):
    now = options.pop("now", NOON_NY)
    with gateway.sessions() as session:
        message = enqueue(
            session,
            gateway.vault,
            gateway.config,
            SendRequest(to=to, body=body, **options),
            now=now,
        )
        session.commit()
        return message.id, message.status, message.send_at


def body_of(gateway: Gateway, message_id: str) -> str:
    with gateway.sessions() as session:
        message = session.get(Message, message_id)
        return gateway.vault.decrypt(message.body_enc, "messages", "body", message_id)


TRANSACTIONAL = ConsentChange("transactional", "opted_in", "verbal", "gave the number at the desk")
MARKETING = ConsentChange("marketing", "opted_in", "web_form", "Disclosure v3: promos, STOP to end")
STOP = ConsentChange("all", "opted_out", "keyword")
START = ConsentChange("all", "opted_in", "keyword")


# -- deriving the state ----------------------------------------------------------------


def facts(*events: tuple[str, str, str]) -> list[EventFacts]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        EventFacts(purpose, action, source, start + timedelta(minutes=i), True)
        for i, (purpose, action, source) in enumerate(events)
    ]


def test_it_derives_nothing_from_nothing() -> None:
    derived = derive([])
    assert (derived.transactional.status, derived.marketing.status) == ("none", "none")


def test_start_restores_what_the_contact_had_before_stop_and_no_more() -> None:
    derived = derive(
        facts(
            ("transactional", "opted_in", "verbal"),
            ("all", "opted_out", "keyword"),
            ("all", "opted_in", "keyword"),
        )
    )
    assert derived.transactional.status == "granted"
    assert derived.marketing.status == "none"  # never had it: START does not grant it


def test_start_without_an_opt_out_changes_nothing() -> None:
    derived = derive(facts(("all", "opted_in", "keyword")))
    assert (derived.transactional.status, derived.marketing.status) == ("none", "none")


def test_a_repeated_stop_still_restores_the_state_before_the_first() -> None:
    derived = derive(
        facts(
            ("marketing", "opted_in", "web_form"),
            ("all", "opted_out", "keyword"),
            ("all", "opted_out", "keyword"),
            ("all", "opted_in", "keyword"),
        )
    )
    assert derived.marketing.status == "granted"


def test_a_purpose_revocation_leaves_the_other_purpose() -> None:
    derived = derive(
        facts(
            ("transactional", "opted_in", "verbal"),
            ("marketing", "opted_in", "paper"),
            ("marketing", "revoked", "email"),
        )
    )
    assert (derived.transactional.status, derived.marketing.status) == ("granted", "revoked")


# -- recording -------------------------------------------------------------------------


def test_an_agent_cannot_resubscribe_an_opted_out_contact(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with pytest.raises(ConsentForbidden):
        record(gateway, TO, TRANSACTIONAL, role="agent")
    assert state(gateway).transactional.status == "opted_out"


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_a_person_cannot_resubscribe_by_naming_the_keyword_as_source(
    gateway: Gateway, role: str
) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with pytest.raises(ConsentForbidden):
        record(gateway, TO, ConsentChange("all", "opted_in", "keyword"), role=role)
    assert state(gateway).transactional.status == "opted_out"


def test_a_manager_needs_new_written_consent_to_resubscribe(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with pytest.raises(ConsentForbidden):  # verbal is not written
        record(gateway, TO, ConsentChange("transactional", "opted_in", "verbal", "said so"))
    with pytest.raises(ConsentForbidden):  # written, but no evidence
        record(gateway, TO, ConsentChange("transactional", "opted_in", "paper"))
    record(gateway, TO, ConsentChange("transactional", "opted_in", "paper", "Form 12, signed"))
    assert state(gateway).transactional.status == "granted"
    assert state(gateway).marketing.status == "opted_out"  # only what was consented to


def test_an_auditor_records_nothing(gateway: Gateway) -> None:
    with pytest.raises(ConsentForbidden):
        record(gateway, TO, TRANSACTIONAL, role="auditor")


@pytest.mark.parametrize(
    "change",
    [
        ConsentChange("marketing", "opted_in", "web_form"),  # marketing needs evidence
        ConsentChange("everything", "opted_in", "paper", "x"),
        ConsentChange("marketing", "maybe", "paper", "x"),
        ConsentChange("marketing", "opted_in", "pigeon", "x"),
        ConsentChange("marketing", "opted_in", "paper", "   "),
        ConsentChange("marketing", "opted_in", "paper", "x" * 4001),
        ConsentChange("all", "opted_in", "paper", "x"),  # only the contact's own START
    ],
)
def test_it_refuses_malformed_events(gateway: Gateway, change: ConsentChange) -> None:
    with pytest.raises(InvalidInput):
        record(gateway, TO, change)
    with gateway.sessions() as session:
        assert session.scalars(select(ConsentEvent)).all() == []


def test_the_database_refuses_to_edit_or_delete_the_ledger(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with gateway.engine.connect() as connection:
        for statement in (
            update(ConsentEvent).values(action="opted_in"),
            update(ConsentEvent).values(recorded_at=datetime(2000, 1, 1, tzinfo=UTC)),
            delete(ConsentEvent),
        ):
            with pytest.raises(DatabaseError, match="consent"):
                connection.execute(statement)
            connection.rollback()
    assert state(gateway).transactional.status == "opted_out"


def test_the_database_lets_retention_delete_only_old_evidence(gateway: Gateway) -> None:
    old = datetime.now(UTC) - timedelta(days=6 * 366)
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        for action in ("opted_in", "opted_out"):
            session.add(
                ConsentEvent(
                    id=f"ce_{action}",
                    contact_id=contact.id,
                    purpose="transactional",
                    action=action,
                    source="paper",
                    recorded_by="u1",
                    recorded_at=old,
                )
            )
        session.commit()
    with gateway.engine.begin() as connection:
        deleted = connection.execute(delete(ConsentEvent).where(ConsentEvent.id == "ce_opted_in"))
        # A PostgreSQL trigger that returned NULL would skip the row silently, not refuse it.
        assert deleted.rowcount == 1
    with gateway.engine.connect() as connection, pytest.raises(DatabaseError):
        connection.execute(text("DELETE FROM consent_events WHERE id = 'ce_opted_out'"))
    with gateway.sessions() as session:
        assert list(session.scalars(select(ConsentEvent.id))) == ["ce_opted_out"]


def test_the_database_keeps_evidence_younger_than_five_years(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        session.add(
            ConsentEvent(
                id="ce_recent",
                contact_id=contact.id,
                purpose="marketing",
                action="opted_in",
                source="paper",
                recorded_by="u1",
                recorded_at=datetime.now(UTC) - timedelta(days=4 * 366),
            )
        )
        session.commit()
    with gateway.engine.connect() as connection, pytest.raises(DatabaseError, match="5 years"):
        connection.execute(delete(ConsentEvent).where(ConsentEvent.id == "ce_recent"))


# -- at acceptance ---------------------------------------------------------------------


def test_a_transactional_send_needs_a_record_of_the_number_given(gateway: Gateway) -> None:
    with pytest.raises(NoTransactionalConsent):
        send(gateway)
    with gateway.sessions() as session:
        assert session.scalars(select(Message)).all() == []


def test_consent_given_with_the_send_is_recorded_then_the_send_goes(gateway: Gateway) -> None:
    _, status, _ = send(gateway, consent=TRANSACTIONAL, created_by="u7")
    assert status == "queued"
    with gateway.sessions() as session:
        (event,) = session.scalars(select(ConsentEvent)).all()
        assert (event.purpose, event.source, event.recorded_by) == ("transactional", "verbal", "u7")


def test_on_send_records_the_senders_attestation_once(gateway: Gateway) -> None:
    gateway = dataclasses.replace(
        gateway, config=dataclasses.replace(gateway.config, consent=ConsentConfig("on_send"))
    )
    send(gateway)
    send(gateway)
    with gateway.sessions() as session:
        assert [e.source for e in session.scalars(select(ConsentEvent))] == ["on_send"]


def test_an_opted_out_recipient_is_refused_clearly(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with pytest.raises(RecipientOptedOut):
        send(gateway)
    with pytest.raises(RecipientOptedOut):  # consent given with a send cannot undo a STOP
        send(gateway, consent=TRANSACTIONAL)


def test_marketing_with_only_transactional_consent_is_refused(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL)
    with pytest.raises(NoMarketingConsent):
        send(gateway, purpose="marketing", body="20% off this week")


def test_the_first_marketing_message_carries_the_opt_out_notice(gateway: Gateway) -> None:
    record(gateway, TO, MARKETING)
    first, status, _ = send(gateway, purpose="marketing", body="20% off this week")
    second, _, _ = send(gateway, purpose="marketing", body="Last day for 20% off")
    assert status == "queued"
    assert body_of(gateway, first) == "20% off this week\nReply STOP to opt out"
    assert body_of(gateway, second) == "Last day for 20% off"


def test_marketing_at_night_waits_for_the_recipients_morning(gateway: Gateway) -> None:
    record(gateway, TO, MARKETING)
    _, status, send_at = send(gateway, purpose="marketing", body="Sale", now=NIGHT_NY)
    assert status == "scheduled"
    assert send_at == datetime(2026, 6, 11, 12, 0, tzinfo=UTC)  # 08:00 in New York


def test_quiet_hours_follow_the_recipient_not_the_box(gateway: Gateway) -> None:
    record(gateway, PARIS, MARKETING)
    # 16:00 UTC is 18:00 in Paris: inside the window there, whatever the box's zone.
    _, status, _ = send(gateway, PARIS, purpose="marketing", body="Promo")
    assert status == "queued"
    _, status, send_at = send(gateway, PARIS, purpose="marketing", body="Promo", now=NIGHT_NY)
    assert status == "scheduled" and send_at == datetime(2026, 6, 11, 6, 0, tzinfo=UTC)


def test_transactional_messages_ignore_quiet_hours(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL)
    assert send(gateway, now=NIGHT_NY)[1] == "queued"


def test_the_daily_marketing_cap_counts_the_recipients_day(gateway: Gateway) -> None:
    capped = dataclasses.replace(gateway.config, consent=ConsentConfig(marketing_daily_cap=2))
    gateway = dataclasses.replace(gateway, config=capped)
    record(gateway, TO, MARKETING)
    send(gateway, purpose="marketing", body="One")
    send(gateway, purpose="marketing", body="Two")
    with pytest.raises(MarketingCapReached):
        send(gateway, purpose="marketing", body="Three")
    next_day = NOON_NY + timedelta(days=1)
    assert send(gateway, purpose="marketing", body="Three", now=next_day)[1] == "queued"


# -- erasure and evidence --------------------------------------------------------------


def test_an_erased_contact_is_never_texted_again(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL)
    waiting, _, _ = send(gateway)
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        erased = erase_contact(session, gateway.vault, contact, "admin1")
        session.commit()
    assert erased.blocked == 1
    with gateway.sessions() as session:
        message = session.get(Message, waiting)
        assert (message.status, message.error_code) == ("blocked", "recipient_erased")
    with pytest.raises(RecipientErased):
        send(gateway, consent=TRANSACTIONAL)


def test_erasure_keeps_the_minimal_evidence_and_destroys_the_rest(gateway: Gateway) -> None:
    record(gateway, TO, TRANSACTIONAL, STOP)
    with gateway.sessions() as session:
        contact = find_or_create_contact(session, gateway.vault, TO)
        erase_contact(session, gateway.vault, contact, "admin1")
        session.commit()
        history = contact_history(session, gateway.vault, contact)
    assert history["contact"]["number"] == "(erased)"
    assert [(e["action"], e["source"]) for e in history["events"]] == [
        ("opted_in", "verbal"),
        ("opted_out", "keyword"),
    ]
    assert history["events"][0]["evidence"] == "(erased)"
    assert history["state"]["transactional"]["status"] == "opted_out"


def test_the_csv_export_neutralises_formulas() -> None:
    for cell in ('=HYPERLINK("http://x")', "+1 555", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    assert neutralise("plain") == "plain" and neutralise(None) == ""
    rows = [
        {
            "contact_id": "ct_1",
            "number": "+12015550123",
            "event_id": "ce_1",
            "recorded_at": "2026-01-01T00:00:00+00:00",
            "purpose": "all",
            "action": "opted_out",
            "source": "keyword",
            "evidence": "=cmd|' /C calc'!A0",
            "recorded_by": "contact",
            "line": "Front desk",
            "message_id": "msg_1",
            "message_received_at": "",
            "message_text": "@STOP",
        }
    ]
    csv_text = "".join(
        to_csv(flat_rows([{"contact": {"id": "ct_1", "number": "+1"}, "events": []}]))
    )
    assert csv_text.startswith("contact_id,number,")
    written = "".join(to_csv(rows))
    assert "'=cmd" in written and "'@STOP" in written and "'+12015550123" in written


def test_a_number_with_several_zones_waits_until_it_is_allowed_in_all(gateway: Gateway) -> None:
    toll_free = "+18002752273"  # +1 800: every North American zone, from Guam to Newfoundland
    zones = zones_for(toll_free)
    assert len(zones) > 10
    record(gateway, toll_free, MARKETING)
    _, status, send_at = send(gateway, toll_free, purpose="marketing", body="Promo")
    assert is_allowed(NOON_NY, ("America/New_York",), Window())
    assert not is_allowed(NOON_NY, zones, Window())  # noon in New York is dawn in Honolulu
    assert status == "scheduled" and is_allowed(send_at, zones, Window())
