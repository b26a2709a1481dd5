"""The session over a real pseudo-terminal and pyserial, with the test playing the modem."""

from __future__ import annotations

import contextlib
import os
import threading
import tty
from collections.abc import Iterator

import pytest

from modem.at.framing import Unsolicited
from modem.at.session import AtSession
from modem.errors import CmeError, CmsError, CommandError, ModemGone, ModemTimeout
from modem.masking import mask_number, mask_traffic
from modem.serial_port import SerialPort


class FakeClock:
    """Time that moves only when reads time out, so deadlines need no real waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        yield master, path
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def port(pty_pair: tuple[int, str]) -> Iterator[SerialPort]:
    serial_port = SerialPort(pty_pair[1])
    serial_port.open()
    yield serial_port
    serial_port.close()


def read_command(master: int) -> bytes:
    data = b""
    while not data.endswith((b"\r", b"\x1a")):
        data += os.read(master, 1024)
    return data


def test_it_returns_info_lines_and_hands_out_urcs_met_on_the_way(
    pty_pair: tuple[int, str], port: SerialPort
) -> None:
    master, _ = pty_pair
    seen: list[Unsolicited] = []
    session = AtSession(port, seen.append)
    os.write(master, b'\r\n+CSQ: 20,99\r\n\r\n+CMTI: "SM",3\r\n\r\nOK\r\n')
    response = session.command("AT+CSQ", timeout=5)
    assert read_command(master) == b"AT+CSQ\r"
    assert response.lines == ["+CSQ: 20,99"]
    assert [u.text for u in seen] == ['+CMTI: "SM",3']


def test_it_hands_out_urcs_while_idle(pty_pair: tuple[int, str], port: SerialPort) -> None:
    master, _ = pty_pair
    seen: list[Unsolicited] = []
    session = AtSession(port, seen.append)
    os.write(master, b'\r\n+CMTI: "SM",1\r\n')
    session.poll(5)
    assert [u.name for u in seen] == ["+CMTI"]


@pytest.mark.parametrize(
    ("final", "error"),
    [
        (b"ERROR", CommandError),
        (b"+CMS ERROR: 42", CmsError),
        (b"+CME ERROR: 10", CmeError),
    ],
)
def test_it_raises_the_error_result_as_its_type(
    pty_pair: tuple[int, str], port: SerialPort, final: bytes, error: type
) -> None:
    master, _ = pty_pair
    session = AtSession(port, lambda _u: None)
    os.write(master, b"\r\n" + final + b"\r\n")
    with pytest.raises(error):
        session.command("AT+CMGS=10", timeout=5)


def test_it_classifies_cms_errors() -> None:
    assert CmsError(42).kind == "transient"
    assert CmsError(1).permanent
    assert CmsError(331).fault
    assert CmsError(512).kind == "transient"
    assert CmeError(12).fault


def test_it_times_out_by_deadline_on_the_injected_clock(port: SerialPort) -> None:
    clock = FakeClock()

    class Ticking:
        def read(self, timeout: float) -> bytes:
            clock.now += timeout
            return port.read(0)

        def write(self, data: bytes) -> None:
            port.write(data)

        def close(self) -> None:
            port.close()

    session = AtSession(Ticking(), lambda _u: None, clock=clock)
    with pytest.raises(ModemTimeout):
        session.command("AT", timeout=30)
    assert 30 <= clock.now < 31


def test_it_ignores_a_late_answer_to_a_timed_out_command(
    pty_pair: tuple[int, str], port: SerialPort
) -> None:
    master, _ = pty_pair
    session = AtSession(port, lambda _u: None)
    with pytest.raises(ModemTimeout):
        session.command("AT+CGMI", timeout=0.05)
    os.write(master, b"\r\nhuawei\r\n\r\nOK\r\n")
    session.poll(0.2)
    os.write(master, b"\r\n+CSQ: 1,1\r\n\r\nOK\r\n")
    assert session.command("AT+CSQ", timeout=5).lines == ["+CSQ: 1,1"]


def test_it_sends_the_payload_only_after_the_prompt(
    pty_pair: tuple[int, str], port: SerialPort
) -> None:
    master, _ = pty_pair
    session = AtSession(port, lambda _u: None)
    result: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: result.update(
            response=session.command_with_payload("AT+CMGS=3", "0011AA", timeout=5)
        )
    )
    worker.start()
    assert read_command(master) == b"AT+CMGS=3\r"
    assert not session.payload_written
    os.write(master, b"\r\n> ")
    assert read_command(master) == b"0011AA\x1a"
    os.write(master, b"\r\n+CMGS: 9\r\n\r\nOK\r\n")
    worker.join(10)
    assert result["response"].value("+CMGS") == "9"
    assert session.payload_written


@pytest.mark.parametrize("command", ["AT\rATD+15550100;", "ATD1\x1a", "AT+CMGS=1\n", "ZAP"])
def test_it_refuses_a_command_that_could_smuggle_another(port: SerialPort, command: str) -> None:
    with pytest.raises(ValueError):
        AtSession(port, lambda _u: None).command(command)


@pytest.mark.parametrize("payload", ["00\x1aATD1", "00\x1b", "zz", ""])
def test_it_refuses_a_payload_that_is_not_hex(port: SerialPort, payload: str) -> None:
    with pytest.raises(ValueError):
        AtSession(port, lambda _u: None).command_with_payload("AT+CMGS=1", payload)


def test_it_reports_the_port_vanishing_as_modem_gone(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    serial_port = SerialPort(path)
    serial_port.open()
    os.close(master)
    with pytest.raises(ModemGone):
        AtSession(serial_port, lambda _u: None).command("AT", timeout=5)


def test_it_reports_a_missing_device_as_modem_gone(tmp_path) -> None:
    with pytest.raises(ModemGone):
        SerialPort(str(tmp_path / "ttyUSB9")).open()


def test_it_keeps_a_masked_history_without_pdus(
    pty_pair: tuple[int, str], port: SerialPort
) -> None:
    master, _ = pty_pair
    session = AtSession(port, lambda _u: None)
    os.write(master, b'\r\n+CNUM: "","+447700900123",145\r\n\r\nOK\r\n')
    session.command("AT+CNUM", timeout=5)
    history = session.dump_recent()
    assert "447700900123" not in history
    assert "123" in history


def test_it_masks_all_but_the_last_three_digits() -> None:
    assert mask_number("+447700900123") == "+*********123"
    assert "0011000B91" not in mask_traffic("0011000B915155103200F0000005C8329BFD06")
    assert mask_traffic("\x1b[2Jhi") == "\\x1b[2Jhi"
