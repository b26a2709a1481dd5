"""Wake the worker the moment there is work: a datagram on a local socket.

The web processes and the CLI write a message and nudge; the worker's modem threads pick
it up within milliseconds instead of at the next periodic look at the queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


class WorkSignal:
    """A generation counter: a modem thread claims again only when something changed.

    ``notify`` also calls every subscriber, which cuts the modem threads' waits short.
    """

    def __init__(self) -> None:
        self._generation = 0
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def notify(self) -> None:
        with self._lock:
            self._generation += 1
        for callback in self._subscribers:
            callback()

    @property
    def generation(self) -> int:
        return self._generation


class WakeListener:
    """Receives nudges on ``path`` and turns each into ``signal.notify()``."""

    def __init__(self, path: Path, signal: WorkSignal) -> None:
        self.path = path
        self._signal = signal
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a worker that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        sock.settimeout(0.5)
        self._socket = sock
        self._thread = threading.Thread(target=self._run, name="wake-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                self._socket.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self._signal.notify()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._socket is not None:
            self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def nudge(path: Path) -> bool:
    """Tell a running worker there is work; False if none is listening (it polls anyway)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"!", str(path))
    except OSError:
        return False
    return True


# -- several boxes: PostgreSQL's LISTEN/NOTIFY -------------------------------------------
# A nudge on a local socket reaches only the worker on the same box. With a shared
# PostgreSQL queue, a write made on one box must wake the workers of every box: the writer
# sends a NOTIFY in its transaction (delivered when it commits, dropped if it rolls back),
# and each worker LISTENs on a connection of its own.
CHANNEL = "smsgw_work"


def notify_workers(connection: Connection | Session) -> None:
    """In the writer's transaction: wake every box's worker at commit (PostgreSQL only)."""
    if connection.get_bind().dialect.name == "postgresql":
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class PostgresListener:
    """LISTENs on ``CHANNEL`` and turns each notification into ``signal.notify()``.

    The connection is the listener's own (psycopg, autocommit). When it breaks, the thread
    waits ``retry`` seconds and connects again; the modem threads poll the queue every
    second meanwhile, so nothing is lost, only a few hundred milliseconds of latency.
    """

    def __init__(self, url: str, signal: WorkSignal, retry: float = 5.0) -> None:
        self.url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._signal = signal
        self._retry = retry
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import psycopg  # only a PostgreSQL box loads the driver

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=100):
                            self._signal.notify()
            except Exception as exc:  # the server went away: try again shortly
                self.listening.clear()
                logger.warning("LISTEN connection lost (%s); retrying", type(exc).__name__)
                self._stopping.wait(self._retry)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
