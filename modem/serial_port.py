"""The serial port: the only module that imports ``serial``.

A byte pipe with a read timeout. Every failure of the port itself (unplugged, permission,
re-enumerated) becomes ``ModemGone`` so the layers above see one error for "no modem here".
"""

from __future__ import annotations

import contextlib
import select
import termios

import serial

from modem.errors import ModemGone
from modem.waker import Waker

READ_CHUNK = 4096
# termios.error (tcdrain on a hung-up pty) is not an OSError.
_PORT_ERRORS = (serial.SerialException, OSError, ValueError, TypeError, termios.error)


class SerialPort:
    def __init__(self, device: str, *, baudrate: int = 115200, waker: Waker | None = None) -> None:
        self.device = device
        self.waker = waker
        self._baudrate = baudrate
        self._port: serial.Serial | None = None

    def open(self) -> None:
        try:
            # timeout=0: reads never block inside pyserial; we wait with select() so the
            # port is not reconfigured (tcsetattr) on every read.
            self._port = serial.Serial(
                self.device, self._baudrate, timeout=0, write_timeout=10, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ModemGone(f"cannot open {self.device}: {_reason(exc)}") from None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def read(self, timeout: float) -> bytes:
        port = self._require()
        try:
            watched = [port.fileno()] if self.waker is None else [port.fileno(), self.waker.fd]
            ready, _, _ = select.select(watched, [], [], max(timeout, 0))
            if self.waker is not None and self.waker.fd in ready:
                self.waker.drain()
            if port.fileno() not in ready:
                return b""
            data = port.read(READ_CHUNK)
        except _PORT_ERRORS as exc:
            self.close()
            raise ModemGone(f"{self.device} went away: {_reason(exc)}") from None
        if not data:
            # select() said readable but there is nothing: the device hung up.
            self.close()
            raise ModemGone(f"{self.device} went away")
        return bytes(data)

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except _PORT_ERRORS as exc:
            self.close()
            raise ModemGone(f"{self.device} went away: {_reason(exc)}") from None

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _require(self) -> serial.Serial:
        if self._port is None:
            raise ModemGone(f"{self.device} is not open")
        return self._port


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__
