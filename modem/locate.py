"""Find a modem again by its IMEI after it was unplugged or re-enumerated under a new name."""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable

from modem.at.session import AtSession, Transport
from modem.errors import ModemError
from modem.identity import _digits
from modem.serial_port import SerialPort

logger = logging.getLogger(__name__)

# Stable names first: udev's by-id links survive re-enumeration, ttyUSB numbers do not.
DEFAULT_PATTERNS = ("/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*")


def candidate_devices(patterns: Iterable[str] = DEFAULT_PATTERNS) -> list[str]:
    seen: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if path not in seen:
                seen.append(path)
    return seen


def read_imei(
    device: str, *, port_factory: Callable[[str], Transport] = SerialPort, timeout: float = 1.0
) -> str | None:
    """The IMEI of whatever modem answers on ``device``, or None."""
    port = port_factory(device)
    try:
        open_port = getattr(port, "open", None)
        if open_port is not None:
            open_port()
        session = AtSession(port, lambda _urc: None, name=device)
        session.abort_prompt()
        for attempt in range(2):
            try:
                session.command("AT", timeout)
                break
            except ModemError:
                if attempt:
                    return None
        lines = session.command("AT+CGSN", timeout).lines
        return next((imei for line in lines if (imei := _digits(line, 14, 17))), None)
    except (ModemError, ValueError):
        return None
    finally:
        port.close()


def find_by_imei(
    imei: str, candidates: Iterable[str], *, port_factory: Callable[[str], Transport] = SerialPort
) -> str | None:
    for device in candidates:
        if read_imei(device, port_factory=port_factory) == imei:
            return device
    return None
