"""Helpers for tests of the pure engine: a host side that feeds bytes and advances time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modem.pdu import encode_submit
from modem.sim import SimModem

FIXED_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SENDER = "+447700900123"  # Ofcom's drama range: never a real subscriber
RECIPIENT = "+447700900456"


class Line:
    """The host side of a pure engine: write commands, advance time, read what came back."""

    def __init__(self, modem: SimModem) -> None:
        self.modem = modem
        self.now = 0.0

    def send(self, data: bytes | str) -> bytes:
        raw = data.encode("latin-1") if isinstance(data, str) else data
        return self.modem.feed(raw, self.now)

    def command(self, command: str) -> bytes:
        return self.send(command + "\r")

    def wait(self, seconds: float) -> bytes:
        self.now += seconds
        return self.modem.tick(self.now)

    def lines(self, command: str) -> list[str]:
        return lines_of(self.command(command))


def lines_of(output: bytes) -> list[str]:
    return [line for line in output.decode("latin-1").split("\r\n") if line]


def make(**options: Any) -> Line:
    line = Line(SimModem(wall_clock=lambda: FIXED_TIME, **options))
    line.command("ATE0;+CMEE=1")
    return line


def submit(line: Line, text: str = "hello", **options: Any) -> list[str]:
    """Send one SMS-SUBMIT the way the driver does; the answer's lines."""
    pdu = encode_submit(RECIPIENT, text, **options)[0]
    assert line.command(f"AT+CMGS={pdu.tpdu_length}") == b"\r\n> "
    return lines_of(line.send(pdu.hex + "\x1a"))
