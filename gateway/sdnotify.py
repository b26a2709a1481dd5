"""A client of systemd's notification protocol (sd_notify(3)): readiness, status, watchdog.

systemd passes ``$NOTIFY_SOCKET`` (a datagram socket; a name starting with ``@`` is in the
abstract namespace) to a ``Type=notify`` service, and with ``WatchdogSec=`` also
``$WATCHDOG_USEC``: a service that sends no ``WATCHDOG=1`` within that time is killed and
restarted. Outside systemd nothing is set and every call here does nothing, so the same
code runs from a terminal.

Written here rather than taken from PyPI: ``sdnotify`` is unmaintained since 2017,
``systemd-python`` needs libsystemd's headers to build, and ``systemd-watchdog`` times its
pings with the wall clock, which jumps by years when a Raspberry Pi without a real-time
clock gets its time from the network, and raises when systemd is briefly away.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to one socket; failures are logged, never raised: a service
    manager that is away for a moment must not take the worker down with it."""

    def __init__(self, address: str | None = None, *, watchdog_usec: int | None = None) -> None:
        self.address = _socket_address(address) if address else None
        # systemd's own advice (sd_watchdog_enabled(3)): ping at half the timeout.
        self.watchdog_interval = (
            watchdog_usec / 2_000_000 if self.address is not None and watchdog_usec else None
        )
        self._socket: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, pid: int | None = None
    ) -> Notifier:
        """The notifier systemd asked for, or one that does nothing outside systemd.

        ``$WATCHDOG_PID`` names the process the watchdog is meant for: another process that
        inherited the variables (a child) must not feed it.
        """
        environ = os.environ if environ is None else environ
        pid = os.getpid() if pid is None else pid
        address = environ.get("NOTIFY_SOCKET") or None
        watchdog_usec = _positive_int(environ.get("WATCHDOG_USEC"), "WATCHDOG_USEC")
        watchdog_pid = environ.get("WATCHDOG_PID")
        if watchdog_pid is not None and _positive_int(watchdog_pid, "WATCHDOG_PID") != pid:
            watchdog_usec = None
        return cls(address, watchdog_usec=watchdog_usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status(status))

    def status(self, text: str) -> bool:
        return self.send(*_status(text))

    def watchdog(self) -> bool:
        """A ping: only a caller that has checked the service is healthy should send it."""
        return self.watchdog_interval is not None and self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status(status))

    def send(self, *assignments: str) -> bool:
        """One datagram of ``KEY=value`` lines; False when not sent (or not under systemd)."""
        if self.address is None or not assignments:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(assignments).encode(), self.address)
        except OSError as exc:
            if not self._warned:  # once: a ping every few seconds must not flood the log
                logger.warning("cannot notify systemd at %s: %s", self.address, exc.strerror or exc)
                self._warned = True
            return False
        return True

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


def _socket_address(address: str) -> str | None:
    if address.startswith("@"):
        return "\0" + address[1:]  # the abstract namespace
    if address.startswith("/"):
        return address
    # systemd 254+ may hand a VSOCK address ("vsock:CID:PORT") to a virtual machine.
    logger.warning("NOTIFY_SOCKET is not a Unix socket path; not notifying systemd")
    return None


def _positive_int(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    logger.warning("ignoring %s=%r: not a positive integer", name, text[:40])
    return None


def _status(text: str | None) -> tuple[str, ...]:
    # One line per assignment: a newline in the text would start a bogus one.
    return () if text is None else ("STATUS=" + " ".join(text.split()),)
