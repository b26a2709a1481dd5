"""The whole path: queue → worker → emulated modem → reports and inbound → database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.app import Gateway
from gateway.archive import list_messages, message_detail
from gateway.config import Config
from gateway.errors import BodyTooLong, InvalidBody, InvalidNumber, UnknownLine
from gateway.inbound import flush_stale_parts
from gateway.models import InboundPart, Line, Message, utcnow
from gateway.outbound import SendRequest, enqueue
from modem.pdu import encode_deliver
from tests.gateway.conftest import Rig, wait_until

TO = "+12015550123"


def send(gateway: Gateway, body: str, to: str = TO, **options: object) -> str:
    with gateway.sessions() as session:
        message = enqueue(
            session, gateway.vault, gateway.config, SendRequest(to=to, body=body, **options)
        )
        session.commit()
        return message.id


def status_of(gateway: Gateway, message_id: str) -> str:
    with gateway.sessions() as session:
        return session.get(Message, message_id).status


def wait_status(gateway: Gateway, message_id: str, *statuses: str, timeout: float = 20) -> str:
    return wait_until(
        lambda: (s := status_of(gateway, message_id)) in statuses and s,
        timeout,
        f"message in {statuses}",
    )


def received(gateway: Gateway) -> list:
    with gateway.sessions() as session:
        return list_messages(session, gateway.vault, direction="in")


# -- accepting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "body", "error"),
    [
        ("not a number", "hi", InvalidNumber),
        ("+1555;ATD112", "hi", InvalidNumber),
        ("", "hi", InvalidNumber),
        ("+" + "9" * 80, "hi", InvalidNumber),
        (TO, "", InvalidBody),
        (TO, "   ", InvalidBody),
        (TO, "hi\x1aAT+CMGD=1,4", InvalidBody),
        (TO, "hi\x1b[2J", InvalidBody),
        (TO, "x" * 161 * 10, BodyTooLong),
        (TO, "é" * 5000, BodyTooLong),
        (TO, "😀" * 400, BodyTooLong),
    ],
)
def test_it_refuses_bad_input_clearly_and_stores_nothing(
    gateway: Gateway, to: str, body: str, error: type
) -> None:
    with pytest.raises(error) as raised, gateway.sessions() as session:
        enqueue(session, gateway.vault, gateway.config, SendRequest(to=to, body=body))
    assert body[:20] not in str(raised.value) or not body.strip()
    with gateway.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_it_refuses_an_unknown_line(gateway: Gateway) -> None:
    with pytest.raises(UnknownLine), gateway.sessions() as session:
        enqueue(session, gateway.vault, gateway.config, SendRequest(to=TO, body="x", line="Nope"))


def test_it_accepts_national_numbers_in_the_default_region(gateway: Gateway) -> None:
    message_id = send(gateway, "hi", to="(201) 555-0123")
    with gateway.sessions() as session:
        assert message_detail(session, gateway.vault, message_id).number == TO


def test_it_counts_segments_and_encoding(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        one = enqueue(session, gateway.vault, gateway.config, SendRequest(to=TO, body="a" * 160))
        two = enqueue(session, gateway.vault, gateway.config, SendRequest(to=TO, body="a" * 161))
        uni = enqueue(session, gateway.vault, gateway.config, SendRequest(to=TO, body="é😀" * 30))
    assert (one.segments, one.encoding) == (1, "gsm7")
    assert (two.segments, two.encoding) == (2, "gsm7")
    assert (uni.segments, uni.encoding) == (2, "ucs2")


# -- sending ---------------------------------------------------------------------------


def test_it_sends_and_gets_delivered(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    message_id = send(rig.gateway, "Your order is ready")
    wait_status(rig.gateway, message_id, "delivered")
    (part,) = rig.bank[0].outbox()
    assert (part.recipient, part.text) == (TO, "Your order is ready")
    with gateway.sessions() as session:
        detail = message_detail(session, gateway.vault, message_id)
    assert [e["status"] for e in detail.events] == ["queued", "sending", "sent", "delivered"]
    assert detail.parts[0]["reference"] == part.reference


def test_it_sends_multipart_unicode_and_waits_for_every_part(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1, auto_report=None)
    body = "Ihr Termin ist bestätigt ✅ Bitte bringen Sie Ihre Karte mit. " * 3
    message_id = send(rig.gateway, body)
    wait_status(rig.gateway, message_id, "sent")
    parts = rig.bank[0].outbox()
    assert "".join(p.text for p in parts) == body
    rig.bank[0].report(parts[0].reference, "delivered")
    rig.bank[0].report(parts[1].reference, "delivered")
    with gateway.sessions() as session:
        wait_until(lambda: len(message_detail(session, gateway.vault, message_id).parts) == 3)
    assert status_of(gateway, message_id) == "sent"
    rig.bank[0].report(parts[2].reference, "delivered")
    wait_status(gateway, message_id, "delivered")


def test_it_marks_a_failed_report_undelivered(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1, auto_report="failed")
    message_id = send(rig.gateway, "to a phone that is off for good")
    wait_status(gateway, message_id, "undelivered")


def test_it_matches_reports_across_reference_wrap_around(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1, auto_report=None, first_reference=254)
    ids = [send(rig.gateway, f"wrap {n}", to=f"+1201555012{n}") for n in range(4)]
    for message_id in ids:
        wait_status(gateway, message_id, "sent")
    parts = rig.bank[0].outbox()
    assert [p.reference for p in parts] == [254, 255, 0, 1]
    rig.bank[0].report(0, "failed")
    rig.bank[0].report(255, "delivered")
    wait_status(gateway, ids[2], "undelivered")
    wait_status(gateway, ids[1], "delivered")
    assert status_of(gateway, ids[0]) == status_of(gateway, ids[3]) == "sent"


def test_it_sends_in_parallel_over_several_modems(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(2, send_delay=0.5)

    def both_ready() -> bool:
        with gateway.sessions() as session:
            return sorted(session.scalars(select(Line.state))) == ["ready", "ready"]

    wait_until(both_ready, what="both modems open")  # a slow start would let one drain all
    ids = [send(rig.gateway, f"bulk {n}", priority=9) for n in range(8)]
    rig.worker.work.notify()  # both wake at once, as `smsgw send` nudges them
    for message_id in ids:
        wait_status(gateway, message_id, "delivered")
    counts = [len(handle.outbox()) for handle in rig.bank]
    assert sum(counts) == 8 and min(counts) >= 2


def test_it_sends_bound_messages_only_from_their_line(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(2)
    ids = [send(rig.gateway, f"from line 2, {n}", line="Line 2") for n in range(3)]
    for message_id in ids:
        wait_status(gateway, message_id, "delivered")
    assert len(rig.bank[0].outbox()) == 0
    assert len(rig.bank[1].outbox()) == 3


def test_it_sends_a_scheduled_message_when_its_time_comes(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    message_id = send(rig.gateway, "later", send_at=utcnow() + timedelta(seconds=0.5))
    assert status_of(gateway, message_id) == "scheduled"
    wait_status(gateway, message_id, "delivered")


# -- faults ----------------------------------------------------------------------------


def test_it_retries_a_transient_error(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    rig.bank[0].fault("cms_error", code=42, count=2)
    message_id = send(rig.gateway, "congested network")
    wait_status(gateway, message_id, "delivered")
    with gateway.sessions() as session:
        detail = message_detail(session, gateway.vault, message_id)
    assert detail.attempts == 3
    assert [e["status"] for e in detail.events].count("sending") == 3


def test_it_fails_a_permanent_error_at_once(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    rig.bank[0].fault("cms_error", code=1, count=1)
    message_id = send(rig.gateway, "unassigned number")
    wait_status(gateway, message_id, "failed")
    with gateway.sessions() as session:
        detail = message_detail(session, gateway.vault, message_id)
    assert (detail.attempts, detail.error_code) == (1, "cms:1")


def test_it_gives_up_after_the_attempts_allowed(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    rig.bank[0].fault("cms_error", code=42, count=100)
    message_id = send(rig.gateway, "never")
    wait_status(gateway, message_id, "failed")
    with gateway.sessions() as session:
        assert message_detail(session, gateway.vault, message_id).attempts == (
            gateway.config.queue.max_attempts
        )


def test_it_moves_to_another_modem_when_one_has_no_network(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(2)
    rig.bank[0].fault("no_network")
    ids = [send(rig.gateway, f"n{n}") for n in range(4)]
    for message_id in ids:
        wait_status(gateway, message_id, "delivered")
    assert len(rig.bank[1].outbox()) == 4
    with gateway.sessions() as session:
        assert all(message_detail(session, gateway.vault, i).attempts == 1 for i in ids)


def test_it_recovers_from_a_hung_modem(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    wait_until(lambda: rig.worker.runners[0].state == "ready")
    rig.bank[0].fault("hang", count=1)
    message_id = send(rig.gateway, "after the hang")
    wait_status(gateway, message_id, "delivered", timeout=40)


def test_it_finds_an_unplugged_modem_again(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    wait_until(lambda: rig.worker.runners[0].state == "ready")
    handle = rig.bank[0]
    old = handle.device_path
    handle.host.unplug()
    wait_until(lambda: rig.worker.runners[0].state == "gone")
    handle.host.replug(new_link_path=old + "-b")
    message_id = send(rig.gateway, "after replug")
    wait_status(gateway, message_id, "delivered", timeout=40)
    with gateway.sessions() as session:
        line = session.scalar(select(Line))
        assert line.device == old + "-b"


def test_it_records_modem_health(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    make_rig(1)

    def healthy() -> Line | None:
        with gateway.sessions() as session:
            line = session.scalar(select(Line))
            return line if line and line.signal_dbm is not None else None

    line = wait_until(healthy)
    assert (line.state, line.operator, line.registration) == ("ready", "SimNet", "home")
    assert line.imei


# -- receiving -------------------------------------------------------------------------


def test_it_receives_a_message(gateway: Gateway, make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(1)
    rig.bank[0].inject("+12015550199", "Can I come at 3?")
    (message,) = wait_until(lambda: received(gateway))
    assert (message.number, message.body, message.status) == (
        "+12015550199",
        "Can I come at 3?",
        "received",
    )
    wait_until(lambda: not rig.bank[0].host.call(lambda e, now: e.storage()["SM"]))


def test_it_reassembles_long_messages_in_any_order(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    text = "Bonjour, je voudrais déplacer mon rendez-vous de mardi 🙏 " * 4
    rig.bank[0].inject("+33612345678", text, order="shuffle")
    (message,) = wait_until(lambda: received(gateway))
    assert (message.body, message.segments, message.incomplete) == (text, 4, False)
    with gateway.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundPart)) == 0


def test_it_receives_messages_whose_cmti_was_lost(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    rig.bank[0].fault("drop_cmti")
    rig.bank[0].inject("+12015550199", "silent arrival")
    (message,) = wait_until(lambda: received(gateway))
    assert message.body == "silent arrival"


def test_it_receives_what_a_full_storage_held_back(
    gateway: Gateway, make_rig: Callable[..., Rig]
) -> None:
    rig = make_rig(1)
    rig.bank[0].fault("storage_full")
    rig.bank[0].inject("+12015550199", "held at the network")
    rig.bank[0].clear("storage_full")
    (message,) = wait_until(lambda: received(gateway))
    assert message.body == "held at the network"


def test_it_stores_an_incomplete_message_after_the_timeout(
    gateway: Gateway, make_rig: Callable[..., Rig], config: Config
) -> None:
    from gateway.models import utcnow

    rig = make_rig(1)
    now = utcnow().replace(microsecond=0)
    first, _second = encode_deliver("+12015550199", "z" * 200, timestamp=now, concat_reference=9)
    rig.bank[0].host.call(lambda e, now: e.inject_pdu(first, now=now))
    wait_until(lambda: _count(gateway, InboundPart) == 1)
    assert received(gateway) == []
    timeout = config.inbound.part_timeout_seconds
    with gateway.sessions() as session:
        flush_stale_parts(session, gateway.vault, timeout, utcnow() + timedelta(seconds=timeout))
        session.commit()
    (message,) = received(gateway)
    assert message.incomplete and message.body == "z" * 153


def _count(gateway: Gateway, model: type) -> int:
    with gateway.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))
