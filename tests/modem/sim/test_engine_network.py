"""Identity, SIM PIN/PUK, registration and radio commands (TS 27.007)."""

from __future__ import annotations

from typing import Any

import pytest

from modem.sim import Identity, SimModem
from tests.modem.sim.support import FIXED_TIME, SENDER, Line, lines_of


def locked(pin: str = "1234", **options: Any) -> Line:
    line = Line(SimModem(pin=pin, wall_clock=lambda: FIXED_TIME, **options))
    line.command("ATE0")
    return line


def test_it_identifies_itself(line: Line) -> None:
    identity = Identity()
    assert line.lines("AT+CGMI") == [identity.manufacturer, "OK"]
    assert line.lines("AT+CGMM") == [identity.model, "OK"]
    assert line.lines("AT+CGMR") == [identity.revision, "OK"]
    assert line.lines("AT+CGSN") == [identity.imei, "OK"]
    assert line.lines("AT+GSN") == [identity.imei, "OK"]
    assert line.lines("AT+CIMI") == [identity.imsi, "OK"]
    assert line.lines("AT+CCID") == [f"+CCID: {identity.iccid}", "OK"]
    assert line.lines("AT+ICCID") == [f"+ICCID: {identity.iccid}", "OK"]
    assert line.lines("AT+CNUM") == [f'+CNUM: "","{identity.number}",145', "OK"]
    assert line.lines("ATI")[-2:] == ["+GCAP: +CGSM", "OK"]


def test_it_answers_cnum_with_just_ok_without_an_own_number() -> None:
    line = Line(SimModem(Identity(number=None)))
    assert lines_of(line.command("AT+CNUM"))[1:] == ["OK"]


def test_it_says_the_sim_is_ready_without_a_pin(line: Line) -> None:
    assert line.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]


def test_it_keeps_sim_commands_locked_until_the_pin_is_entered() -> None:
    line = locked()
    line.command("AT+CMEE=1")
    assert line.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]
    assert line.lines("AT+CIMI") == ["+CME ERROR: 11"]
    assert line.lines("AT+CPMS?") == ["+CMS ERROR: 311"]
    assert line.lines("AT+CMGL=4") == ["+CMS ERROR: 311"]
    assert line.lines("AT+CREG?") == ["+CREG: 0,0", "OK"]
    # What drivers send before the PIN works (python-gsmmodem's "commands allowed before PIN").
    assert line.lines("ATZ;E0;+CFUN?;+CFUN=1;+CMEE=1;+CGSN")[-1] == "OK"
    assert line.lines('AT+CPIN="1234"') == ["OK"]
    assert line.lines("AT+CPIN?;+CREG?") == ["+CPIN: READY", "+CREG: 0,1", "OK"]
    assert line.lines("AT+CIMI")[-1] == "OK"


def test_it_asks_for_the_puk_after_three_wrong_pins_and_stays_there() -> None:
    line = locked()
    line.command("AT+CMEE=1")
    for _ in range(3):
        assert line.lines('AT+CPIN="0000"') == ["+CME ERROR: 16"]
    assert line.lines("AT+CPIN?") == ["+CPIN: SIM PUK", "OK"]
    assert line.lines('AT+CPIN="1234"') == ["+CME ERROR: 12"]  # the right PIN is too late
    assert line.lines("AT+CIMI") == ["+CME ERROR: 12"]
    assert line.lines("AT+CMGL=4") == ["+CMS ERROR: 316"]
    line.modem.power_off(line.now)
    line.modem.power_on(line.now)
    line.command("ATE0;+CMEE=1")
    assert line.lines("AT+CPIN?") == ["+CPIN: SIM PUK", "OK"]  # a power cycle does not help


def test_it_takes_the_puk_with_a_new_pin() -> None:
    line = locked(puk="87654321")
    for _ in range(3):
        line.command('AT+CPIN="0000"')
    assert line.lines('AT+CPIN="11111111","4321"') == ["ERROR"]
    assert line.lines('AT+CPIN="87654321","4321"') == ["OK"]
    assert line.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]
    line.modem.power_on(line.now)
    line.command("ATE0")
    assert line.lines('AT+CPIN="4321"') == ["OK"]


def test_it_reports_registration_changes_when_asked(line: Line) -> None:
    assert line.lines("AT+CREG=1") == ["OK"]
    line.modem.set_fault("no_network", now=line.now)
    assert lines_of(line.wait(0)) == ["+CREG: 2"]
    assert line.lines("AT+CREG?") == ["+CREG: 1,2", "OK"]
    line.modem.clear_fault("no_network", now=line.now)
    assert lines_of(line.wait(0)) == ["+CREG: 1"]
    line.command("AT+CREG=2")
    assert line.lines("AT+CREG?") == ['+CREG: 2,1,"00A1","0000B2C3"', "OK"]


def test_it_is_silent_about_registration_with_creg_0(line: Line) -> None:
    line.modem.set_fault("no_network", now=line.now)
    assert line.wait(0) == b""


def test_it_registers_after_a_delay_when_told_to() -> None:
    line = Line(SimModem(register_delay=2.0))
    line.command("ATE0;+CREG=1")
    line.modem.power_on(line.now)
    line.command("ATE0;+CREG=1")
    assert line.lines("AT+CREG?") == ["+CREG: 1,2", "OK"]
    assert line.modem.next_deadline() == pytest.approx(2.0)
    assert lines_of(line.wait(2.0)) == ["+CREG: 1"]


def test_it_names_its_operator_in_the_format_asked_for(line: Line) -> None:
    assert line.lines("AT+COPS?") == ['+COPS: 0,0,"SimNet"', "OK"]
    assert line.lines("AT+COPS=3,2;+COPS?") == ['+COPS: 0,2,"00101"', "OK"]
    assert line.lines("AT+COPS=3,0;+COPS?") == ['+COPS: 0,0,"SimNet"', "OK"]
    assert line.lines("AT+COPS=?")[0].startswith('+COPS: (2,"SimNet"')


def test_it_deregisters_on_cops_2_and_radio_off(line: Line) -> None:
    line.command("AT+COPS=2")
    assert line.lines("AT+COPS?;+CREG?") == ["+COPS: 2", "+CREG: 0,0", "OK"]
    line.command("AT+COPS=0")
    assert line.lines("AT+CREG?") == ["+CREG: 0,1", "OK"]
    assert line.lines("AT+CFUN=4;+CFUN?") == ["+CFUN: 4", "OK"]
    assert line.lines("AT+CREG?;+CSQ") == ["+CREG: 0,0", "+CSQ: 99,99", "OK"]
    line.command("AT+CFUN=1")
    assert line.lines("AT+CSQ") == ["+CSQ: 20,99", "OK"]


def test_it_reboots_after_cfun_with_reset(line: Line) -> None:
    line.command("AT+CMGF=1")
    assert line.lines("AT+CFUN=1,1") == ["OK"]
    assert lines_of(line.command("AT+CMGF?"))[1:] == ["+CMGF: 0", "OK"]  # echo is on again


def test_it_reports_no_operator_without_network(line: Line) -> None:
    line.modem.set_fault("no_network", now=line.now)
    assert line.lines("AT+COPS?;+CSQ") == ["+COPS: 0", "+CSQ: 99,99", "OK"]


def test_it_answers_in_ucs2_hex_under_cscs_ucs2(line: Line) -> None:
    assert line.lines('AT+CSCS="UCS2"') == ["OK"]
    assert line.lines("AT+CSCA?") == [
        '+CSCA: "002B00310030003000300030003000300030003000300030",145',
        "OK",
    ]
    assert line.lines("AT+CSCS?") == ['+CSCS: "UCS2"', "OK"]
    assert line.lines('AT+CSCS="KOI8"') == ["ERROR"]


def test_it_changes_the_service_centre(line: Line) -> None:
    assert line.lines('AT+CSCA="+447700900999",145') == ["OK"]
    assert line.lines("AT+CSCA?") == ['+CSCA: "+447700900999",145', "OK"]
    line.command("AT+CNMI=2,2")
    # Messages now arrive through the new SMSC (its number is in the PDU's SMSC field).
    line.modem.inject(SENDER, "via new SC", now=line.now)
    assert "0791447700099099" in line.wait(0).decode()
