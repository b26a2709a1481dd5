"""Fixtures for the emulator's own tests; every test must leave no thread running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from modem.sim import SimModem
from tests.modem.sim.support import FIXED_TIME, Line


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
