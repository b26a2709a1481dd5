from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from modem.sim import SimModem

FIXED_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SENDER = "+447700900123"  # Ofcom's drama range: never a real subscriber


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


@pytest.fixture
def modem() -> SimModem:
    return SimModem(wall_clock=lambda: FIXED_TIME)


@pytest.fixture
def line(modem: SimModem) -> Line:
    quiet = Line(modem)
    quiet.command("ATE0")  # most tests read answers; the echo tests switch it back on
    return quiet


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        leaked[0].join(timeout=0.1)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
