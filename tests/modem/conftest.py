"""Fixtures for modem-layer tests: emulated modems on real pseudo-terminals.

``sim_modem`` is one started emulated modem (a ``modem.sim.SimHandle``: ``.device_path``
to open with pyserial, ``.engine`` for the network side and faults, ``.host`` to unplug
and replug, ``.control_path`` for the JSON control socket). ``make_sim_bank(count,
**engine_options)`` starts more, with any ``modem.sim.SimModem`` option. Everything is
stopped, and its threads joined, when the test ends.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modem.sim import SimBank, SimHandle

# Delivery reports come quickly in tests; a real network takes seconds.
TEST_OPTIONS: dict[str, Any] = {"auto_report_delay": 0.05}


@pytest.fixture
def sim_dir() -> Iterator[Path]:
    # Not tmp_path: a Unix socket path must stay under 104 bytes, and pytest's are long.
    directory = Path(tempfile.mkdtemp(prefix="smsgw-sim-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_sim_bank(sim_dir: Path) -> Iterator[Callable[..., SimBank]]:
    banks: list[SimBank] = []

    def make(count: int = 1, **options: Any) -> SimBank:
        directory = sim_dir / f"bank{len(banks)}"
        bank = SimBank(directory, count, **{**TEST_OPTIONS, **options})
        banks.append(bank)
        return bank.start()

    try:
        yield make
    finally:
        for bank in banks:
            bank.stop()


@pytest.fixture
def sim_modem(make_sim_bank: Callable[..., SimBank]) -> SimHandle:
    return make_sim_bank(1)[0]
