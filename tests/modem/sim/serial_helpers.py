"""Talking to an emulated modem through pyserial, as the driver does."""

from __future__ import annotations

import time

import serial


def read_until(port: serial.Serial, token: bytes, timeout: float = 3.0) -> bytes:
    """Read until ``token`` has arrived; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    received = b""
    while token not in received:
        if time.monotonic() > deadline:
            raise AssertionError(f"{token!r} did not arrive; got {received!r}")
        received += port.read(max(1, port.in_waiting))
    return received


def command(port: serial.Serial, text: str, final: bytes = b"OK\r\n") -> bytes:
    port.write(text.encode() + b"\r")
    return read_until(port, final)


def open_port(path: str) -> serial.Serial:
    return serial.Serial(path, baudrate=115200, timeout=0.05)
