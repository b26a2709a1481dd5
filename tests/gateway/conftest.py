"""Fixtures for the gateway: a real SQLite file, a real master key, emulated modems."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway, open_gateway
from gateway.cli.setup import prepare_database
from gateway.config import (
    Config,
    ConsentConfig,
    DatabaseConfig,
    InboundConfig,
    ModemConfig,
    QueueConfig,
    WorkerConfig,
)
from gateway.crypto import create_master_key
from gateway.worker import Worker
from modem.device import Timeouts
from modem.sim import SimBank

# A hung modem is noticed in seconds here; real modems get the driver's longer defaults.
FAST = Timeouts(command=2.0, sync=0.5, prompt=2.0, send=5.0, sim_ready=3.0, listing=3.0)


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll with a deadline: the worker does things within milliseconds, CI may be slow."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Short path: the wake socket and the emulator's sockets live under it.
    directory = Path(tempfile.mkdtemp(prefix="smsgw-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def config(data_dir: Path, database_url: str) -> Config:
    # database_url: SQLite in data_dir, or a fresh PostgreSQL database (tests/conftest.py).
    return Config(
        data_dir=data_dir,
        database=DatabaseConfig(url=database_url),
        queue=QueueConfig(backoff_base=0.1, backoff_max=0.5),
        inbound=InboundConfig(poll_seconds=1.0, part_timeout_seconds=10.0),
        worker=WorkerConfig(health_seconds=5.0),
        # These tests are about the engine, not consent: each first send records that the
        # sender attests the customer gave the number. Consent tests use the default.
        consent=ConsentConfig(transactional="on_send"),
    )


def initialise(config: Config) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_database(config, create_master_key(config.master_key_path))


@pytest.fixture
def gateway(config: Config) -> Iterator[Gateway]:
    initialise(config)
    opened = open_gateway(config)
    yield opened
    opened.close()


class Rig:
    """Emulated modems plus a worker driving them, all in this process."""

    def __init__(self, gateway: Gateway, bank: SimBank) -> None:
        self.bank = bank
        modems = [
            ModemConfig(device=h.device_path, line=f"Line {i + 1}", rate_per_minute=600)
            for i, h in enumerate(bank)
        ]
        self.gateway = replace(gateway, config=gateway.config.with_modems(modems))
        self.worker = Worker(self.gateway, name="test", timeouts=FAST)

    def start(self) -> Rig:
        self.worker.start()
        self._housekeeping = threading.Thread(target=self.worker.run_until_stopped)
        self._housekeeping.start()
        return self

    def stop(self) -> None:
        self.worker.stop()
        self._housekeeping.join(10)


@pytest.fixture
def make_rig(gateway: Gateway, data_dir: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []
    banks: list[SimBank] = []

    def make(count: int = 1, **sim_options: Any) -> Rig:
        options = {"auto_report_delay": 0.05, **sim_options}
        bank = SimBank(data_dir / f"sim{len(banks)}", count, **options).start()
        banks.append(bank)
        rig = Rig(gateway, bank)
        rigs.append(rig)
        return rig.start()

    try:
        yield make
    finally:
        for rig in rigs:
            rig.stop()
        for bank in banks:
            bank.stop()
