"""Several emulated modems in one directory: ``<dir>/modem<i>`` (the device symlink) and
``<dir>/modem<i>.ctl`` (its control socket), each with its own fictional identity."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from modem.sim.control import ControlServer
from modem.sim.engine import SimModem
from modem.sim.host import SimHost
from modem.sim.identity import numbered_identity
from modem.sim.storage import SentPart

logger = logging.getLogger(__name__)
MAX_MODEMS = 100


@dataclass
class SimHandle:
    name: str
    engine: SimModem
    host: SimHost
    control: ControlServer

    @property
    def device_path(self) -> str:
        return self.host.device_path

    @property
    def control_path(self) -> str:
        return str(self.control.address)

    @property
    def imei(self) -> str:
        return self.engine.identity.imei

    @property
    def number(self) -> str | None:
        return self.engine.identity.number

    # Thread-safe shortcuts to the network side: each runs under the host's lock.

    def inject(self, sender: str, text: str, **options: Any) -> int:
        return self.host.call(lambda engine, now: engine.inject(sender, text, now=now, **options))

    def report(self, reference: int, status: str | int) -> None:
        self.host.call(lambda engine, now: engine.report(reference, status, now=now))

    def fault(self, name: str, **params: Any) -> None:
        self.host.call(lambda engine, now: engine.set_fault(name, now=now, **params))

    def clear(self, name: str | None = None) -> None:
        self.host.call(lambda engine, now: engine.clear_fault(name, now=now))

    def outbox(self) -> list[SentPart]:
        return self.host.call(lambda engine, now: list(engine.outbox))

    def stop(self) -> None:
        self.control.stop()
        self.host.stop()


class SimBank:
    def __init__(self, directory: str | os.PathLike[str], count: int = 1, **engine_options: Any):
        if not 1 <= count <= MAX_MODEMS:
            raise ValueError(f"count must be 1..{MAX_MODEMS}")
        if "identity" in engine_options or "name" in engine_options:
            raise ValueError("a bank gives each modem its own identity and name")
        self.directory = Path(directory)
        self.count = count
        self.engine_options = engine_options
        self.modems: list[SimHandle] = []

    def start(self) -> SimBank:
        if self.modems:
            raise RuntimeError("already started")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            for index in range(self.count):
                self.modems.append(self._start_one(index))
        except BaseException:
            self.stop()
            raise
        return self

    def _start_one(self, index: int) -> SimHandle:
        name = f"modem{index}"
        options = {"seed": index, **self.engine_options}
        engine = SimModem(numbered_identity(index), name=name, **options)
        host = SimHost(engine, self.directory / name)
        control = ControlServer(self.directory / f"{name}.ctl", host)
        host.start()
        try:
            control.start()
        except BaseException:
            host.stop()
            raise
        logger.info("%s: started at %s", name, host.device_path)
        return SimHandle(name, engine, host, control)

    def stop(self) -> None:
        while self.modems:
            self.modems.pop().stop()

    def __enter__(self) -> SimBank:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.modems)

    def __iter__(self) -> Iterator[SimHandle]:
        return iter(self.modems)

    def __getitem__(self, index: int) -> SimHandle:
        return self.modems[index]
