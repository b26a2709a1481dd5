"""Faults the engine can be told to show, each switched off again."""

from __future__ import annotations

import pytest

from modem.sim import FaultError, SimModem
from modem.sim.engine import NOISE
from tests.modem.sim.support import FIXED_TIME, SENDER, Line, lines_of, make, submit


def test_it_hangs_for_the_next_k_commands() -> None:
    line = make()
    line.modem.set_fault("hang", count=2)
    assert line.command("AT") == b""
    assert line.send("AT\r\n") == b""
    assert line.lines("AT") == ["OK"]
    assert line.modem.faults.active == {}


def test_it_hangs_until_cleared() -> None:
    line = make()
    line.modem.set_fault("hang")
    for _ in range(5):
        assert line.command("AT+CGMI") == b""
    line.modem.clear_fault("hang")
    assert line.lines("AT") == ["OK"]


def test_it_rejects_the_next_k_sends_honouring_cmee() -> None:
    line = make()
    line.modem.set_fault("cms_error", code=500, count=2)
    assert submit(line) == ["+CMS ERROR: 500"]
    line.command("AT+CMEE=0")
    assert submit(line) == ["ERROR"]
    assert submit(line) == ["+CMGS: 2", "OK"]  # the failed attempts used up TP-MRs
    assert len(line.modem.outbox) == 1


def test_it_answers_late_when_slow_and_holds_later_input() -> None:
    line = make()
    line.modem.set_fault("slow", seconds=2.0)
    assert line.command("AT+CGMI") == b""
    assert line.command("AT") == b""  # queued behind the first, as on a serial line
    assert line.wait(1.9) == b""
    assert lines_of(line.wait(0.1)) == ["SIMCOM", "OK"]
    assert lines_of(line.wait(2.0)) == ["OK"]
    line.modem.clear_fault("slow")
    assert line.lines("AT") == ["OK"]


def test_it_takes_its_time_to_send() -> None:
    line = make(send_delay=1.0)
    assert submit(line) == []
    assert lines_of(line.wait(1.0)) == ["+CMGS: 0", "OK"]
    line.modem.set_fault("send_delay", seconds=5.0)
    assert submit(line) == []
    assert line.wait(4.9) == b""
    assert lines_of(line.wait(0.1)) == ["+CMGS: 1", "OK"]


def test_it_lets_indications_arrive_while_a_send_is_under_way() -> None:
    line = make(send_delay=1.0)
    line.command("AT+CNMI=2,1,0,0,0")
    assert submit(line) == []
    line.modem.inject(SENDER, "meanwhile", now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",1']
    assert lines_of(line.wait(1.0)) == ["+CMGS: 0", "OK"]


CMTI = b'\r\n+CMTI: "SM",1\r\n'
RESULT = b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


@pytest.mark.parametrize(
    ("where", "after_prompt", "after_pdu"),
    [("prompt", b"\r\n> " + CMTI, RESULT), ("result", b"\r\n> ", CMTI + RESULT)],
)
def test_it_puts_an_indication_inside_a_send(
    where: str, after_prompt: bytes, after_pdu: bytes
) -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.set_fault("urc_during_send", where=where)
    assert line.command("AT+CMGS=15") == after_prompt
    assert line.send("0001000C914477000954060000026833\x1a") == after_pdu
    assert line.modem.faults.active == {}  # used once


def test_it_puts_an_indication_between_information_and_final_result() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.set_fault("urc_in_response")
    assert line.lines("AT+CGMI") == ["SIMCOM", '+CMTI: "SM",1', "OK"]
    assert line.lines("AT+CGMI") == ["SIMCOM", "OK"]


def test_it_interleaves_noise_between_answers() -> None:
    line = make(seed=1)
    line.modem.set_fault("noise", rate=1.0)
    answers = [line.command("AT") for _ in range(30)]
    assert all(answer.endswith(b"\r\nOK\r\n") for answer in answers)
    assert {answer[: -len(b"\r\nOK\r\n")] for answer in answers} <= set(NOISE)
    assert any(b"\xff" in answer for answer in answers)
    line.modem.clear_fault()
    assert line.command("AT") == b"\r\nOK\r\n"


def test_it_loses_the_network() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.set_fault("no_network")
    assert line.lines("AT+CREG?;+COPS?") == ["+CREG: 0,2", "+COPS: 0", "OK"]
    assert line.command("AT+CMGS=15") == b"\r\n> "  # the prompt still comes
    assert lines_of(line.send("0001000C914477000954060000026833\x1a")) == ["+CMS ERROR: 331"]
    line.modem.inject(SENDER, "held", now=line.now)
    assert line.wait(0) == b""
    line.modem.clear_fault("no_network", now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",1']


def test_it_fills_its_storage() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.inject(SENDER, "one", now=line.now)
    line.wait(0)
    line.modem.set_fault("storage_full")
    assert line.lines("AT+CPMS?") == ['+CPMS: "SM",1,1,"SM",1,1,"SM",1,1', "OK"]
    line.modem.inject(SENDER, "two", now=line.now)
    assert line.wait(0) == b""
    assert line.command("AT+CMGW=15") == b"\r\n> "
    assert lines_of(line.send("0001000C914477000954060000026833\x1a")) == ["+CMS ERROR: 322"]
    line.modem.clear_fault("storage_full", now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",2']


def test_it_frees_room_under_storage_full_by_deleting() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.inject(SENDER, "one", now=line.now)
    line.wait(0)
    line.modem.set_fault("storage_full")
    line.modem.inject(SENDER, "two", now=line.now)
    assert line.lines("AT+CMGD=1") == ["OK", '+CMTI: "SM",1']


def test_it_locks_the_sim_and_unlocks_it_when_cleared() -> None:
    line = make()
    line.modem.set_fault("pin_locked", pin="4321")
    assert line.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]
    assert line.lines("AT+CMGL=4") == ["+CMS ERROR: 311"]
    assert line.lines('AT+CPIN="4321"') == ["OK"]
    line.modem.set_fault("pin_locked")
    line.modem.clear_fault("pin_locked")
    assert line.lines("AT+CPIN?;+CREG?") == ["+CPIN: READY", "+CREG: 0,1", "OK"]


def test_it_stores_without_announcing_when_dropping_cmti() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.set_fault("drop_cmti", count=1)
    line.modem.inject(SENDER, "unannounced", now=line.now)
    line.modem.inject(SENDER, "announced", now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",2']
    assert len(line.modem.storage()["SM"]) == 2


def test_it_refuses_unknown_faults_and_bad_parameters() -> None:
    modem = SimModem()
    with pytest.raises(FaultError, match="unknown fault"):
        modem.set_fault("meltdown")
    with pytest.raises(FaultError, match="unknown parameter"):
        modem.set_fault("hang", seconds=3)
    with pytest.raises(FaultError, match="count"):
        modem.set_fault("hang", count=0)
    with pytest.raises(FaultError, match="number"):
        modem.set_fault("slow", seconds="soon")
    with pytest.raises(FaultError, match="where"):
        modem.set_fault("urc_during_send", where="anywhere")
    with pytest.raises(FaultError):
        modem.clear_fault("meltdown")
    assert modem.faults.active == {}


def test_it_comes_back_from_a_power_cycle_with_defaults_and_its_messages() -> None:
    line = Line(SimModem(pin="1234", wall_clock=lambda: FIXED_TIME))
    line.command('ATE0;+CPIN="1234";+CMGF=1;+CNMI=2,1,0,0,0')
    line.modem.inject(SENDER, "kept", now=line.now)
    line.modem.power_off(line.now)
    assert line.command("AT") == b""
    line.modem.inject(SENDER, "while off", now=line.now)  # held by the network
    line.modem.power_on(line.now)
    assert line.command("AT") == b"AT\r\r\nOK\r\n"
    assert lines_of(line.command('AT+CPIN="1234"'))[1:] == ["OK"]
    assert lines_of(line.command("AT+CNMI?"))[1:] == ["+CNMI: 0,0,0,0,0", "OK"]
    # CNMI was back at 0,0,...: the held message was stored without an indication.
    assert [m["text"] for m in line.modem.storage()["SM"]] == ["kept", "while off"]
    assert line.modem.outbox == []
