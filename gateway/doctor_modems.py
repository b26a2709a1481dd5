"""The doctor's look at each configured modem.

The worker owns the serial ports: while it runs, opening a port here would interleave
our AT commands with its own, so the doctor reads what the worker last recorded in the
``lines`` table instead. With the worker stopped, it opens each port briefly and asks.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Config, ConfigError, ModemConfig
from gateway.doctor import Finding
from gateway.models import Line
from modem.device import Modem, Timeouts
from modem.errors import ModemError, SimError
from modem.usage import MemoryUse, memory_use

# Below about -105 dBm (CSQ 4) texts start failing and retrying; -113 is no signal at all.
WEAK_SIGNAL_DBM = -105
STORAGE_WARN = 0.8
# What the worker wrote about a line is stale when its health check (every
# worker.health_seconds) has not refreshed it for this many rounds.
STALE_ROUNDS = 4
# The doctor waits less than the worker would: a hung modem is a finding, not a reason to hang.
DOCTOR_TIMEOUTS = Timeouts(command=3.0, sync=1.0, prompt=3.0, send=10.0, sim_ready=5.0)


def worker_running(config: Config) -> bool:
    """True when a worker listens on the wake socket (a socket file alone may be left over
    from one that was killed: connecting tells the two apart)."""
    path = config.wake_socket_path
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(str(path))
        except OSError as exc:
            # Refused: nobody listens. Permission denied: a listener we may not nudge is
            # still a listener.
            return exc.errno in (errno.EACCES, errno.EPERM)
    return True


def check_modems(config: Config, engine: Engine | None, now: datetime) -> list[Finding]:
    if not config.modems:
        return [
            Finding(
                "modems",
                "warn",
                "no [[modems]] in the config: nothing can be sent",
                "add a [[modems]] table per modem (see `smsgw modem probe DEVICE`)",
            )
        ]
    if worker_running(config):
        if engine is None:
            return [Finding("modems", "warn", "the worker runs, but its records are unreadable")]
        return [_recorded(config, modem, engine, now) for modem in config.modems]
    return [_probed(modem) for modem in config.modems]


def _name(modem: ModemConfig) -> str:
    return f"modem {modem.line}"


def _recorded(config: Config, modem: ModemConfig, engine: Engine, now: datetime) -> Finding:
    check = _name(modem)
    try:
        with engine.connect() as connection:
            line = connection.execute(
                select(
                    Line.state,
                    Line.state_detail,
                    Line.signal_dbm,
                    Line.registration,
                    Line.updated_at,
                ).where(Line.name == modem.line)
            ).first()
    except SQLAlchemyError:
        return Finding(check, "warn", "cannot read the line's state from the database")
    if line is None:
        return Finding(
            check, "warn", "the running worker has not recorded this line yet", "restart it"
        )
    state, detail, dbm, registration, updated_at = line
    suffix = " (as the running worker last recorded it)"
    if state in ("gone", "faulted", "offline"):
        why = f": {detail}" if detail else ""
        return Finding(check, "fail", f"{state}{why}{suffix}", _device_fix(modem))
    stale = timedelta(seconds=config.worker.health_seconds * STALE_ROUNDS)
    if updated_at is not None and now - updated_at > stale and state != "busy":
        minutes = (now - updated_at).total_seconds() / 60
        detail = f"{state}, last heard of {minutes:.0f} minutes ago{suffix}"
        return Finding(check, "warn", detail, "check the worker's log (journalctl -u smsgw)")
    return _judge(check, state == "backing_off", registration, dbm, None, suffix)


def _probed(modem: ModemConfig) -> Finding:
    check = _name(modem)
    if not os.path.exists(modem.device):
        return Finding(
            check,
            "fail",
            f"{modem.device} does not exist: the modem is unplugged or has another name",
            _device_fix(modem),
        )
    try:
        pin = modem.read_pin()
    except ConfigError as exc:
        return Finding(check, "fail", str(exc), "put the SIM's PIN in the file (4 to 8 digits)")
    device = Modem(modem.device, pin=pin, name=modem.line, timeouts=DOCTOR_TIMEOUTS)
    try:
        device.open(initialise=False)
        try:
            sim = device.sim_state()
            if sim == "SIM PIN" and pin is not None:
                device.initialise()  # enters the PIN
                sim = device.sim_state()
            if sim != "READY":
                return Finding(check, "fail", f"the SIM is not ready: {sim}", _sim_fix(sim))
            registration = device.registration().status
            dbm = device.signal().dbm
            memories = None
            with contextlib.suppress(ModemError):
                memories = memory_use(device)
        finally:
            device.release()
    except SimError as exc:
        return Finding(check, "fail", str(exc), "insert a SIM card (with the modem unplugged)")
    except ModemError as exc:
        return Finding(check, "fail", f"the modem does not answer: {exc}", _device_fix(modem))
    storage = memories[0] if memories else None
    return _judge(check, False, registration, dbm, storage, "")


def _judge(
    check: str,
    backing_off: bool,
    registration: str | None,
    dbm: int | None,
    storage: MemoryUse | None,
    suffix: str,
) -> Finding:
    shown = [f"registered: {registration or 'unknown'}", f"signal {_dbm(dbm)}"]
    if storage is not None:
        shown.append(f"storage {storage.memory} {storage.used}/{storage.total}")
    summary = ", ".join(shown) + suffix
    if registration not in ("home", "roaming"):
        return Finding(
            check,
            "fail",
            f"not registered on a network ({summary})",
            "check the SIM's plan and the antenna; try `smsgw modem probe`",
        )
    if storage is not None and storage.full:
        fix = "delete old messages from the SIM (start the worker: it reads and clears them)"
        return Finding(check, "fail", f"message storage is full ({summary})", fix)
    if storage is not None and storage.fraction >= STORAGE_WARN:
        fix = "start the worker so it reads and clears stored messages"
        return Finding(check, "warn", f"message storage nearly full ({summary})", fix)
    if dbm is None or dbm < WEAK_SIGNAL_DBM:
        fix = "move the modem or add an external antenna (a USB extension cable helps)"
        return Finding(check, "warn", f"weak signal ({summary})", fix)
    if backing_off:
        return Finding(check, "warn", f"backing off after errors ({summary})", "see the log")
    return Finding(check, "ok", summary)


def _dbm(dbm: int | None) -> str:
    return "unknown" if dbm is None else f"{dbm} dBm"


def _sim_fix(state: str) -> str:
    if state == "SIM PIN":
        return "set pin_file for this modem in the config"
    if "PUK" in state:
        return "unblock the SIM with its PUK in a phone"
    return "check the SIM card"


def _device_fix(modem: ModemConfig) -> str:
    folder = Path(modem.device).parent
    return f"plug the modem in and check its name under {folder}; `smsgw modem probe DEVICE`"
