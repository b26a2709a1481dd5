"""Run an emulated modem on a pseudo-terminal, behind a stable symlink.

One thread per modem owns the pty master: it waits in select() for input, for a wake-up
(something changed through ``call``), or for the engine's next deadline, and writes what
the engine answers. Every call into the engine holds ``lock``, so the control server can
inject messages and faults from its own thread.

Unplugging closes the pty, so a driver's read or write fails as with a real USB modem
that went away, and removes the symlink. Replugging opens a new pty (a new /dev/pts path)
behind the same or a new symlink, with the same modem and SIM storage, freshly powered up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from modem.sim.engine import SimModem

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_PENDING_OUTPUT = 256 * 1024  # a host that stops reading loses output, as with a UART
READ_SIZE = 4096


class SimHost:
    def __init__(
        self,
        engine: SimModem,
        link_path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self.replugs = 0
        self._link = Path(link_path)
        self._clock = clock
        self._master: int | None = None
        self._slave: int | None = None
        self._pts: str | None = None
        self._pending = bytearray()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r = self._wake_w = -1

    @property
    def device_path(self) -> str:
        """The symlink a driver opens; stable across replugs unless a new name was asked for."""
        return str(self._link)

    @property
    def pts_path(self) -> str | None:
        return self._pts

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        if self._link.exists() and not self._link.is_symlink():
            raise FileExistsError(f"{self._link} exists and is not a symlink")
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        with self.lock:
            self._open_pty()
            self.engine.power_on(self._clock())
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"sim-host-{self.engine.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with self.lock:
            self._stopping = True
        self._wake()
        thread.join(timeout=10)
        if thread.is_alive():  # pragma: no cover - only if the engine loops forever
            logger.error("%s: host thread did not stop", self.engine.name)
        with self.lock:
            self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._wake_r = self._wake_w = -1

    def call(self, action: Callable[[SimModem, float], T]) -> T:
        """Run ``action(engine, now)`` under the lock, then let the host write its output."""
        with self.lock:
            result = action(self.engine, self._clock())
        self._wake()
        return result

    def unplug(self) -> None:
        with self.lock:
            if self._master is None:
                return
            self.engine.power_off(self._clock())
            self._close_pty()
            logger.info("%s: unplugged", self.engine.name)
        self._wake()

    def replug(self, new_link_path: str | os.PathLike[str] | None = None) -> str:
        """Plug in again (a new pty); returns the device path to open now."""
        with self.lock:
            if self._master is not None:
                self.engine.power_off(self._clock())
                self._close_pty()
            if new_link_path is not None:
                self._link = Path(new_link_path)
            self._open_pty()
            self.replugs += 1
            self.engine.power_on(self._clock())
            logger.info("%s: plugged in at %s", self.engine.name, self._link)
        self._wake()
        return self.device_path

    # -- the pty ------------------------------------------------------------------------

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        # Raw: the line discipline must neither echo nor translate CR/LF; the modem does both.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._pts = os.ttyname(slave)
        self._pending.clear()
        temporary = self._link.with_name(f".{self._link.name}.{os.getpid()}.tmp")
        if temporary.is_symlink():
            temporary.unlink()
        os.symlink(self._pts, temporary)
        os.replace(temporary, self._link)  # atomic: the path never points nowhere

    def _close_pty(self) -> None:
        # Holding the slave open until now kept the master readable while no driver was
        # attached; closing both hangs up the line for a driver that still has it open.
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self._pts = None
        self._pending.clear()
        try:
            if self._link.is_symlink():
                self._link.unlink()
        except OSError as error:
            logger.warning("%s: could not remove %s: %s", self.engine.name, self._link, error)

    # -- the thread ---------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wake_w >= 0:
            # A full pipe (BlockingIOError) already guarantees a wake-up.
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def _run(self) -> None:
        while True:
            with self.lock:
                if self._stopping:
                    return
                master = self._master
                deadline = self.engine.next_deadline()
                pending = bool(self._pending)
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            readers, writers = [self._wake_r], []
            if master is not None:
                readers.append(master)
                if pending:
                    writers.append(master)
            try:
                readable, _writable, _ = select.select(readers, writers, [], timeout)
            except (OSError, ValueError):
                continue  # the pty was closed under us by unplug; look again
            if self._wake_r in readable:
                self._drain_wake()
            with self.lock:
                if self._stopping:
                    return
                if self._master != master:
                    continue  # unplugged or replugged meanwhile
                try:
                    self._step(master, master in readable)
                except Exception:  # keep the modem alive; a bug shows in the log, not a hang
                    logger.exception("%s: emulator step failed", self.engine.name)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _step(self, master: int | None, readable: bool) -> None:
        data = b""
        if master is not None and readable:
            try:
                data = os.read(master, READ_SIZE)
            except BlockingIOError:
                pass
            except OSError as error:
                logger.debug("%s: pty read failed: %s", self.engine.name, error)
        now = self._clock()
        out = self.engine.feed(data, now) if data else self.engine.tick(now)
        if master is None:
            return
        self._pending += out
        if len(self._pending) > MAX_PENDING_OUTPUT:
            logger.warning("%s: host is not reading, output dropped", self.engine.name)
            del self._pending[: len(self._pending) - MAX_PENDING_OUTPUT]
        if self._pending:
            try:
                written = os.write(master, self._pending)
                del self._pending[:written]
            except BlockingIOError:
                pass
            except OSError as error:
                logger.debug("%s: pty write failed: %s", self.engine.name, error)
                self._pending.clear()
