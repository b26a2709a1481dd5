"""The emulator on a real pseudo-terminal, driven through pyserial."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import serial

from modem.pdu import encode_submit
from modem.sim import SimHandle, SimHost, SimModem
from tests.modem.sim.serial_helpers import command, open_port, read_until
from tests.modem.sim.support import SENDER


def test_it_answers_at_through_the_symlink(sim_modem: SimHandle) -> None:
    assert os.path.islink(sim_modem.device_path)
    assert os.readlink(sim_modem.device_path).startswith("/dev/pts/")
    with open_port(sim_modem.device_path) as port:
        assert command(port, "AT") == b"AT\r\r\nOK\r\n"
        assert command(port, "ATE0;+CGSN") == b"ATE0;+CGSN\r\r\n" + (
            sim_modem.imei.encode() + b"\r\n\r\nOK\r\n"
        )


def test_it_sends_and_reports_delivery_on_its_own_clock(sim_modem: SimHandle) -> None:
    pdu = encode_submit("+447700900456", "hello", request_status_report=True)[0]
    with open_port(sim_modem.device_path) as port:
        command(port, "ATE0;+CNMI=2,1,0,1,0")
        port.write(f"AT+CMGS={pdu.tpdu_length}\r".encode())
        read_until(port, b"> ")
        port.write(pdu.hex.encode() + b"\x1a")
        assert read_until(port, b"OK\r\n") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
        assert read_until(port, b"+CDS: ").startswith(b"\r\n+CDS: ")
    assert sim_modem.engine.outbox[0].text == "hello"


def test_it_delays_answers_when_slow(sim_modem: SimHandle) -> None:
    sim_modem.host.call(lambda engine, now: engine.set_fault("slow", seconds=0.3, now=now))
    with open_port(sim_modem.device_path) as port:
        started = time.monotonic()
        port.write(b"AT\r")
        read_until(port, b"OK\r\n")
        assert time.monotonic() - started >= 0.3


def test_it_announces_injected_messages_unasked(sim_modem: SimHandle) -> None:
    with open_port(sim_modem.device_path) as port:
        command(port, "ATE0;+CNMI=2,1,0,0,0")
        sim_modem.host.call(lambda engine, now: engine.inject(SENDER, "hi", now=now))
        assert read_until(port, b"1\r\n") == b'\r\n+CMTI: "SM",1\r\n'


def test_it_fails_the_drivers_reads_and_writes_when_unplugged(sim_modem: SimHandle) -> None:
    with open_port(sim_modem.device_path) as port:
        command(port, "AT")
        sim_modem.host.unplug()
        assert not os.path.lexists(sim_modem.device_path)
        with pytest.raises(serial.SerialException):
            port.write(b"AT\r")
            port.read(10)
    with pytest.raises(serial.SerialException):
        open_port(sim_modem.device_path)


def test_it_comes_back_on_a_new_pty_with_the_same_modem_and_sim(sim_modem: SimHandle) -> None:
    sim_modem.host.call(lambda engine, now: engine.inject(SENDER, "before", now=now))
    with open_port(sim_modem.device_path) as old:
        command(old, "ATE0;+CMGF=1")
        before = sim_modem.host.pts_path
        sim_modem.host.unplug()
        assert sim_modem.host.replug() == sim_modem.device_path
        assert sim_modem.host.pts_path != before  # the old one is still held by `old`
    with open_port(sim_modem.device_path) as port:
        assert command(port, "AT+CMGF?").endswith(b"+CMGF: 0\r\n\r\nOK\r\n")  # rebooted
        assert sim_modem.imei.encode() in command(port, "AT+CGSN")
        assert b"+CMGL: 1,0," in command(port, "AT+CMGL=4")


def test_it_can_come_back_under_a_new_name(sim_modem: SimHandle) -> None:
    old_path = sim_modem.device_path
    new_path = f"{old_path}-other"
    sim_modem.host.unplug()
    assert sim_modem.host.replug(new_path) == new_path
    assert not os.path.lexists(old_path)
    with open_port(new_path) as port:
        assert command(port, "AT").endswith(b"OK\r\n")


def test_it_serves_a_driver_that_closes_and_reopens(sim_modem: SimHandle) -> None:
    for _ in range(3):
        with open_port(sim_modem.device_path) as port:
            assert command(port, "AT").endswith(b"OK\r\n")


def test_it_removes_its_symlink_and_thread_when_stopped(sim_dir: Path) -> None:
    host = SimHost(SimModem(), sim_dir / "lone")
    host.start()
    assert host.running and os.path.islink(sim_dir / "lone")
    host.stop()
    assert not host.running and not os.path.lexists(sim_dir / "lone")
    host.stop()  # twice is harmless
