"""The driver against the emulator, through a real pseudo-terminal and pyserial."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modem.device import Modem, Timeouts
from modem.errors import CmsError, ModemGone, ModemTimeout, SimError, SubmitUnknown
from modem.events import Event, MessageReceived, MessageWaiting, ReportReceived
from modem.sim import SimBank, SimHandle
from tests.interop import load, load_param

FAST = Timeouts(command=2.0, sync=0.5, prompt=2.0, send=3.0, sim_ready=3.0, listing=5.0)
WAIT = 10.0  # generous deadline for something the emulator does within milliseconds


@pytest.fixture
def opened(sim_modem: SimHandle) -> Iterator[Modem]:
    modem = Modem(sim_modem.device_path, name="test", timeouts=FAST)
    modem.open()
    yield modem
    modem.close()


def wait_for(modem: Modem, accept: Callable[[Event], bool], timeout: float = WAIT) -> list[Event]:
    """Poll until an accepted event comes (reading stored ones); return all events seen."""
    deadline = time.monotonic() + timeout
    seen: list[Event] = []
    while time.monotonic() < deadline:
        for event in modem.poll(0.5):
            if isinstance(event, MessageWaiting):
                event = modem.read_message(event.index, event.storage).event
            seen.append(event)
            if accept(event):
                return seen
    raise AssertionError(f"no matching event within {timeout}s; saw {seen}")


def received(event: Event) -> bool:
    return isinstance(event, MessageReceived)


# -- initialisation and identity ------------------------------------------------------


def test_it_initialises_the_modem(opened: Modem, sim_modem: SimHandle) -> None:
    state = sim_modem.host.call(lambda engine, now: engine.state())
    assert opened.storage == "SM"
    assert opened.report_mode == "direct"
    assert "ATE0" not in opened.command("AT")  # echo is off: only OK comes back
    assert state is not None


def test_it_reads_the_identity(opened: Modem, sim_modem: SimHandle) -> None:
    identity = opened.identity
    assert identity is not None
    assert identity.imei == sim_modem.imei
    assert identity.number == sim_modem.number
    assert identity.imsi and identity.imsi.isdigit()
    assert identity.iccid and len(identity.iccid) >= 18
    assert identity.manufacturer and identity.model


def test_it_reads_signal_registration_and_operator(opened: Modem) -> None:
    signal = opened.signal()
    assert signal.dbm == -113 + 2 * signal.rssi
    assert opened.registration().registered
    assert opened.operator() == "SimNet"
    assert opened.sim_state() == "READY"


# -- sending --------------------------------------------------------------------------


def test_it_sends_a_single_part_message(opened: Modem, sim_modem: SimHandle) -> None:
    (reference,) = opened.send("+15550123", "Your appointment is at 10:30")
    (part,) = sim_modem.outbox()
    assert (part.reference, part.recipient, part.text) == (
        reference,
        "+15550123",
        "Your appointment is at 10:30",
    )


def test_it_sends_unicode_in_concatenated_parts(opened: Modem, sim_modem: SimHandle) -> None:
    text = "Привет! Ваш заказ готов 📦 " * 5
    references = opened.send("+15550123", text, concat_reference=77)
    parts = sim_modem.outbox()
    assert len(parts) == len(references) == 3
    assert "".join(p.text for p in parts) == text
    assert {p.concat.reference for p in parts} == {77}
    assert all(p.encoding == "ucs2" for p in parts)


def test_it_never_lets_a_body_turn_into_commands(opened: Modem, sim_modem: SimHandle) -> None:
    text = "hi\x1a\r\nATD+15550999;\r\n\x1bAT+CMGD=1,4\r"
    opened.send("+15550123", text)
    (part,) = sim_modem.outbox()
    assert part.text == text
    state = sim_modem.host.call(lambda engine, now: engine.state())
    assert "ATD" not in str(state)


def test_it_gets_a_delivery_report_routed_directly(opened: Modem) -> None:
    (reference,) = opened.send("+15550123", "report me", request_report=True)
    events = wait_for(opened, lambda e: isinstance(e, ReportReceived))
    report = events[-1].report
    assert (report.reference, report.outcome) == (reference, "delivered")
    assert report.recipient.value == "+15550123"


@pytest.mark.parametrize(("status", "outcome"), [("failed", "failed"), ("pending", "pending")])
def test_it_gets_each_kind_of_report(
    make_sim_bank: Callable[..., SimBank], status: str, outcome: str
) -> None:
    sim = make_sim_bank(1, auto_report=None)[0]
    modem = Modem(sim.device_path, timeouts=FAST)
    modem.open()
    try:
        (reference,) = modem.send("+15550123", "x", request_report=True)
        sim.report(reference, status)
        events = wait_for(modem, lambda e: isinstance(e, ReportReceived))
        assert (events[-1].report.reference, events[-1].report.outcome) == (reference, outcome)
    finally:
        modem.close()


def test_it_reads_stored_reports_too(opened: Modem) -> None:
    opened.command("AT+CNMI=2,1,0,2,0")  # reports stored, announced with +CDSI
    (reference,) = opened.send("+15550123", "stored report", request_report=True)
    events = wait_for(opened, lambda e: isinstance(e, ReportReceived))
    report_event = events[-1]
    assert report_event.report.reference == reference
    assert report_event.index is not None
    opened.delete_message(report_event.index, report_event.storage)


def test_it_reports_message_references_that_wrap(make_sim_bank: Callable[..., SimBank]) -> None:
    sim = make_sim_bank(1, first_reference=254, auto_report=None)[0]
    modem = Modem(sim.device_path, timeouts=FAST)
    modem.open()
    try:
        references = [modem.send("+15550123", f"n{i}")[0] for i in range(3)]
    finally:
        modem.close()
    assert references == [254, 255, 0]


# -- receiving ------------------------------------------------------------------------


def test_it_receives_reads_and_deletes_a_message(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.inject("+15550199", "Can I move my appointment?")
    events = wait_for(opened, received)
    message_event = events[-1]
    assert message_event.message.text == "Can I move my appointment?"
    assert message_event.message.sender.value == "+15550199"
    opened.delete_message(message_event.index)
    assert opened.list_messages() == []


def test_it_lists_messages_that_arrived_before_it_opened(sim_modem: SimHandle) -> None:
    sim_modem.inject("+15550199", "sent while you were away")
    modem = Modem(sim_modem.device_path, timeouts=FAST)
    modem.open()
    try:
        stored = modem.list_messages()
    finally:
        modem.close()
    assert [s.event.message.text for s in stored] == ["sent while you were away"]


def test_it_finds_messages_whose_cmti_was_never_sent(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("drop_cmti")
    sim_modem.inject("+15550199", "silent")
    assert opened.poll(0.3) == []
    assert [s.event.message.text for s in opened.list_messages()] == ["silent"]


def test_it_does_not_lose_a_cmti_arriving_during_cmgs(opened: Modem, sim_modem: SimHandle) -> None:
    for where in ("prompt", "result"):
        sim_modem.fault("urc_during_send", where=where)
        opened.send("+15550123", f"while {where}")
        events = opened.take_events()
        assert any(isinstance(e, MessageWaiting) for e in events), where


def test_it_does_not_lose_a_cmti_inside_another_response(
    opened: Modem, sim_modem: SimHandle
) -> None:
    sim_modem.fault("urc_in_response")
    opened.signal()
    assert any(isinstance(e, MessageWaiting) for e in opened.take_events())


def test_it_keeps_working_through_line_noise(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("noise", rate=1.0)
    for n in range(10):
        opened.send("+15550123", f"noisy {n}")
    assert opened.signal().rssi is not None
    assert len(sim_modem.outbox()) == 10


def test_it_receives_real_world_pdus(opened: Modem, sim_modem: SimHandle) -> None:
    vectors = load("real-world-pdus.json")["vectors"]
    delivers = [
        v
        for v in vectors
        if v.get("gammu_test_expects") == "decodes"
        and (v.get("consensus") or {}).get("text")
        and int(v["pdu"][2 + 2 * int(v["pdu"][:2], 16) : 4 + 2 * int(v["pdu"][:2], 16)], 16) & 3
        == 0
    ][:5]
    for vector in delivers:
        pdu = vector["pdu"].strip('" ')  # one capture keeps a stray quote
        sim_modem.host.call(lambda engine, now, pdu=pdu: engine.inject_pdu(pdu, now=now))
    texts = [s.event.message.text for s in opened.list_messages()]
    assert texts == [v["consensus"]["text"] for v in delivers]


def test_it_waits_for_inbound_held_by_a_full_storage(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("storage_full")
    sim_modem.inject("+15550199", "held at the network")
    assert opened.list_messages() == []
    sim_modem.clear("storage_full")
    assert wait_for(opened, received)[-1].message.text == "held at the network"


# -- errors ---------------------------------------------------------------------------


def test_it_raises_a_transient_cms_error_and_then_sends(
    opened: Modem, sim_modem: SimHandle
) -> None:
    sim_modem.fault("cms_error", code=42, count=1)
    with pytest.raises(CmsError) as raised:
        opened.send("+15550123", "congested")
    assert (raised.value.code, raised.value.kind) == (42, "transient")
    opened.send("+15550123", "congested")
    assert len(sim_modem.outbox()) == 1


def test_it_raises_a_permanent_cms_error(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("cms_error", code=1, count=1)
    with pytest.raises(CmsError) as raised:
        opened.send("+15550123", "unassigned")
    assert raised.value.permanent


def test_it_reports_no_network_as_a_fault(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("no_network")
    assert not opened.registration().registered
    with pytest.raises(CmsError) as raised:
        opened.send("+15550123", "nobody home")
    assert raised.value.fault


def test_it_detects_a_hung_modem_and_reopens_it(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("hang", count=1)
    started = time.monotonic()
    with pytest.raises(ModemTimeout):
        opened.signal()
    assert time.monotonic() - started < FAST.command + 1
    opened.recover()
    assert opened.signal().rssi is not None


def test_it_treats_a_slow_modem_as_slow_not_hung(opened: Modem, sim_modem: SimHandle) -> None:
    sim_modem.fault("slow", seconds=0.3)
    assert opened.signal().rssi is not None


def test_it_says_the_outcome_is_unknown_when_no_answer_follows_the_pdu(
    opened: Modem, sim_modem: SimHandle
) -> None:
    sim_modem.fault("send_delay", seconds=FAST.send + 2)
    with pytest.raises(SubmitUnknown):
        opened.send("+15550123", "did it go?")


def test_it_finds_a_replugged_modem_by_imei_under_a_new_name(
    opened: Modem, sim_modem: SimHandle
) -> None:
    old_device = opened.device
    sim_modem.host.unplug()
    with pytest.raises(ModemGone):
        opened.signal()
    new_path = sim_modem.host.replug(new_link_path=old_device + "-b")
    found = opened.reconnect([str(p) for p in sorted(Path(old_device).parent.glob("modem*"))])
    assert found == new_path != old_device
    assert opened.signal().rssi is not None


def test_it_enters_the_pin_once(make_sim_bank: Callable[..., SimBank]) -> None:
    sim = make_sim_bank(1, pin="4321")[0]
    modem = Modem(sim.device_path, pin="4321", timeouts=FAST)
    modem.open()
    try:
        assert modem.sim_state() == "READY"
    finally:
        modem.close()


def test_it_never_retries_a_rejected_pin(make_sim_bank: Callable[..., SimBank]) -> None:
    sim = make_sim_bank(1, pin="4321")[0]
    modem = Modem(sim.device_path, pin="1111", timeouts=FAST)
    with pytest.raises(SimError, match="rejected"):
        modem.open()
    with pytest.raises(SimError, match="not retrying"):
        modem.open()
    tries = sim.host.call(lambda engine, now: engine.pin_tries)
    assert tries == 2


def test_it_refuses_to_start_without_a_pin(make_sim_bank: Callable[..., SimBank]) -> None:
    sim = make_sim_bank(1, pin="4321")[0]
    with pytest.raises(SimError, match="PIN required"):
        Modem(sim.device_path, timeouts=FAST).open()


def test_it_never_enters_a_puk(make_sim_bank: Callable[..., SimBank]) -> None:
    sim = make_sim_bank(1, pin="4321")[0]
    sim.host.call(lambda engine, now: setattr(engine, "sim_state", "SIM PUK"))
    with pytest.raises(SimError, match="PUK"):
        Modem(sim.device_path, pin="4321", timeouts=FAST).open()
    assert sim.host.call(lambda engine, now: engine.puk_tries) == 10


@pytest.mark.parametrize("pin", ["12", "12a4", '1234"\r', "123456789"])
def test_it_refuses_a_malformed_pin(pin: str) -> None:
    with pytest.raises(ValueError):
        Modem("/dev/null", pin=pin)


# -- real devices' recorded answers -----------------------------------------------------

PROFILES = load_param("gsmmodem-fakemodem-profiles.json", "profiles")


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p["profile"])
def test_it_works_with_real_devices_answers(
    make_sim_bank: Callable[..., SimBank], profile: dict
) -> None:
    sim = make_sim_bank(1, profile=profile)[0]
    modem = Modem(sim.device_path, timeouts=FAST)
    modem.open()
    try:
        identity = modem.identity
        recorded = profile["responses"]
        if "AT+CGMM" in recorded:
            assert identity.model == recorded["AT+CGMM"][0].strip()
        assert identity.imei == recorded.get("AT+CGSN", [sim.imei])[0]
        (reference,) = modem.send("+15550123", "hello from a real firmware")
        sim.inject("+15550199", "and back")
        texts = [s.event.message.text for s in modem.list_messages()]
    finally:
        modem.close()
    assert [p.reference for p in sim.outbox()] == [reference]
    assert texts == ["and back"]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p["profile"])
def test_it_asks_for_the_pin_on_real_devices(
    make_sim_bank: Callable[..., SimBank], profile: dict
) -> None:
    sim = make_sim_bank(1, profile=profile, pin="2468")[0]
    modem = Modem(sim.device_path, pin="2468", timeouts=FAST)
    modem.open()
    try:
        assert modem.sim_state() == "READY"
    finally:
        modem.close()
