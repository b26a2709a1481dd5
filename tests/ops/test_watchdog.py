"""sd_notify and the worker's watchdog, heard on a datagram socket the test binds where
systemd's would be: READY=1, WATCHDOG=1 while healthy, silence when not, STOPPING=1.

The worker is the real ``smsgw run --simulate 1 --no-web`` command with an emulated modem;
its faults are real ones: the modem unplugged (no reason for a restart), the database
locked by another process (the housekeeping loop stops), an AT command that does not come
back (a stuck modem thread, in-process with a short stall limit).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.app import Gateway, open_gateway
from gateway.config import Config, ConsentConfig, ModemConfig, load_config
from gateway.models import Line, Message, utcnow
from gateway.outbound import SendRequest, enqueue
from gateway.sdnotify import Notifier
from gateway.worker import Worker
from modem.sim import SimBank
from modem.sim.control import control_request
from tests.gateway.conftest import FAST, initialise, wait_until

WATCHDOG_USEC = 400_000  # pings every 0.2 s
LINE = "Simulated 1"


class NotifySocket:
    """Where systemd would listen: every datagram, in order, with its arrival time."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.heard: list[tuple[float, list[str]]] = []

    def _receive(self, until: float) -> bool:
        self.sock.settimeout(max(0.001, until - time.monotonic()))
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return False
        self.heard.append((time.monotonic(), data.decode().split("\n")))
        return True

    def wait_for(self, wanted: str, timeout: float = 30.0) -> list[str]:
        """The next datagram with a line starting with `wanted`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._receive(deadline) and any(
                line.startswith(wanted) for line in self.heard[-1][1]
            ):
                return self.heard[-1][1]
        raise AssertionError(f"no {wanted} within {timeout}s; heard {self.heard[-5:]}")

    def pings_within(self, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        start = len(self.heard)
        while time.monotonic() < deadline:
            self._receive(deadline)
        return sum("WATCHDOG=1" in lines for _, lines in self.heard[start:])

    def wait_for_silence(self, quiet: float, timeout: float = 30.0) -> None:
        """Until no ping has come for `quiet` seconds (other notifications may)."""
        deadline = time.monotonic() + timeout
        last_ping = time.monotonic()
        while time.monotonic() < deadline:
            if time.monotonic() - last_ping >= quiet:
                return
            if (
                self._receive(min(deadline, last_ping + quiet))
                and "WATCHDOG=1" in self.heard[-1][1]
            ):
                last_ping = self.heard[-1][0]
        raise AssertionError(f"the pings never stopped for {quiet}s within {timeout}s")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # Unix socket paths (ours, the emulator's, the worker's) must fit in 108 bytes.
    directory = Path(tempfile.mkdtemp(prefix="smsgw-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def systemd(short_dir: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(str(short_dir / "notify"))
    yield listener
    listener.close()


# -- the client on its own ----------------------------------------------------------------


def test_it_does_nothing_outside_systemd() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled and notifier.watchdog_interval is None
    assert not notifier.ready() and not notifier.watchdog() and not notifier.stopping()


def test_it_pings_at_half_the_watchdog_timeout(systemd: NotifySocket) -> None:
    environ = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    notifier = Notifier.from_environment(environ)
    assert notifier.watchdog_interval == 0.2
    assert notifier.watchdog()
    assert systemd.wait_for("WATCHDOG=1", 5) == ["WATCHDOG=1"]
    notifier.close()


def test_it_leaves_the_watchdog_of_another_process_alone(systemd: NotifySocket) -> None:
    environ = {
        "NOTIFY_SOCKET": systemd.address,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "WATCHDOG_PID": str(os.getpid() + 1),
    }
    notifier = Notifier.from_environment(environ)
    assert notifier.watchdog_interval is None and not notifier.watchdog()
    assert notifier.ready("up")  # readiness is not the watchdog's: still told
    assert systemd.wait_for("READY=1", 5) == ["READY=1", "STATUS=up"]
    notifier.close()


def test_it_reaches_an_abstract_socket() -> None:
    name = f"smsgw-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": "@" + name})
        assert notifier.stopping()
        assert listener.recv(4096) == b"STOPPING=1"
        notifier.close()


def test_it_keeps_a_status_on_one_line(systemd: NotifySocket) -> None:
    notifier = Notifier(systemd.address)
    notifier.status("line 'Front\ndesk'\nWATCHDOG=1")
    assert systemd.wait_for("STATUS=", 5) == ["STATUS=line 'Front desk' WATCHDOG=1"]
    notifier.close()


def test_it_shrugs_off_a_service_manager_that_is_gone(short_dir: Path) -> None:
    notifier = Notifier(str(short_dir / "nobody-listens"), watchdog_usec=WATCHDOG_USEC)
    assert not notifier.watchdog() and not notifier.ready()
    notifier.close()


def test_it_ignores_a_malformed_watchdog_timeout(systemd: NotifySocket) -> None:
    environ = {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": "soon"}
    assert Notifier.from_environment(environ).watchdog_interval is None


# -- the real worker process ----------------------------------------------------------------


@pytest.fixture
def worker_process(short_dir: Path, systemd: NotifySocket) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSGW_", "WATCHDOG_"))}
    env.update(
        NOTIFY_SOCKET=systemd.address, WATCHDOG_USEC=str(WATCHDOG_USEC), PYTHONUNBUFFERED="1"
    )
    command = [sys.executable, "-m", "gateway.cli", "run", "--simulate", "1", "--no-web"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(short_dir / "data")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def data_gateway(short_dir: Path, worker_process: subprocess.Popen[bytes], systemd: NotifySocket):
    """The worker's database, opened by the test once the worker is ready."""
    systemd.wait_for("READY=1", 60)
    config = load_config(short_dir / "data" / "smsgw.toml")
    # The test sends as a system that attests the customer's consent on the first send.
    gateway = open_gateway(replace(config, consent=ConsentConfig(transactional="on_send")))
    yield gateway
    gateway.close()


def line_state(gateway: Gateway) -> str | None:
    with gateway.sessions() as session:
        line = session.query(Line).filter(Line.name == LINE).one_or_none()
        return line.state if line is not None else None


def test_it_is_ready_pings_while_healthy_and_says_when_it_stops(
    short_dir: Path,
    worker_process: subprocess.Popen[bytes],
    systemd: NotifySocket,
    data_gateway: Gateway,
) -> None:
    assert systemd.pings_within(2.0) >= 4  # every 0.2 s; a loaded machine may miss a few

    # An unplugged modem is the modem thread's to handle: a restart would not bring it back.
    control = str(short_dir / "data" / "sim" / "modem0.ctl")
    wait_until(lambda: line_state(data_gateway) == "ready", 30, "line ready")
    assert control_request(control, {"op": "unplug"}, timeout=10)["ok"]
    wait_until(lambda: line_state(data_gateway) == "gone", 30, "line gone")
    assert systemd.pings_within(2.0) >= 4
    assert control_request(control, {"op": "replug"}, timeout=10)["ok"]
    wait_until(lambda: line_state(data_gateway) == "ready", 30, "line back")

    worker_process.send_signal(signal.SIGTERM)
    systemd.wait_for("STOPPING=1", 30)
    assert worker_process.wait(30) == 0


def test_it_stops_pinging_while_the_database_is_locked(
    short_dir: Path,
    worker_process: subprocess.Popen[bytes],
    systemd: NotifySocket,
    data_gateway: Gateway,
) -> None:
    systemd.wait_for("WATCHDOG=1", 10)
    # A send that falls due in a moment: housekeeping then has a write to make (whatever
    # other chore may write first).
    with data_gateway.sessions() as session:
        message = enqueue(
            session,
            data_gateway.vault,
            data_gateway.config,
            SendRequest(to="+12015550123", body="later", send_at=utcnow() + timedelta(seconds=2)),
        )
        session.commit()
    database = data_gateway.config.data_dir / "smsgw.db"
    locker = sqlite3.connect(database, timeout=20, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        systemd.wait_for_silence(2.0, timeout=30)  # ten pings missed
    finally:
        locker.rollback()
        locker.close()
    systemd.wait_for("WATCHDOG=1", 30)  # the pass went through: healthy again
    wait_until(lambda: _status(data_gateway, message.id) != "scheduled", 30, "promoted")


# -- a modem thread stuck in an AT command (in-process: the stall limit is shortened) -------


@pytest.fixture
def gateway(short_dir: Path) -> Iterator[Gateway]:
    config = Config(data_dir=short_dir / "data", consent=ConsentConfig(transactional="on_send"))
    initialise(config)
    opened = open_gateway(config)
    yield opened
    opened.close()


def test_it_starves_the_watchdog_while_a_modem_thread_is_stuck(
    short_dir: Path, gateway: Gateway, systemd: NotifySocket
) -> None:
    # The network takes 3.5 s to accept the message: a stall past the 2 s limit set here.
    bank = SimBank(short_dir / "sim", 1, send_delay=3.5).start()
    modems = [ModemConfig(device=bank[0].device_path, line="Line 1", rate_per_minute=600)]
    rigged = replace(gateway, config=gateway.config.with_modems(modems))
    notifier = Notifier(systemd.address, watchdog_usec=WATCHDOG_USEC)
    worker = Worker(rigged, name="test", timeouts=FAST, notifier=notifier, stall_seconds=2.0)
    loop = threading.Thread(target=worker.run_until_stopped)
    try:
        worker.start()
        loop.start()
        systemd.wait_for("READY=1", 10)
        assert systemd.pings_within(1.0) >= 2
        with gateway.sessions() as session:
            request = SendRequest(to="+12015550123", body="slow network")
            message = enqueue(session, gateway.vault, gateway.config, request)
            session.commit()
        worker.work.notify()

        stuck = systemd.wait_for("STATUS=the thread of line 'Line 1' is stuck (over 2 s)", 20)
        mark = len(systemd.heard)
        systemd.wait_for("STATUS=running with 1 modem(s)", 20)
        between = [lines for _, lines in systemd.heard[mark:-1]]
        assert not any("WATCHDOG=1" in lines for lines in between), (stuck, between)
        assert systemd.pings_within(1.0) >= 2  # and it is fed again
        wait_until(lambda: _status(gateway, message.id) in ("sent", "delivered"), 20, "sent")
    finally:
        worker.stop()
        loop.join(10)
        bank.stop()
        notifier.close()
    systemd.wait_for("STOPPING=1", 5)


def _status(gateway: Gateway, message_id: str) -> str:
    with gateway.sessions() as session:
        return session.get(Message, message_id).status
