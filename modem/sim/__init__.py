"""A GSM modem emulator: the AT state machine, a pseudo-terminal host, a control socket.

``SimModem`` is pure (bytes in, bytes out, time passed in); ``SimHost`` runs one on a pty
behind a stable symlink; ``ControlServer`` lets tests and people drive its network side
and faults; ``SimBank`` starts several in one directory.
"""

from modem.sim.bank import SimBank, SimHandle
from modem.sim.control import ControlError, ControlServer, control_request
from modem.sim.engine import SimModem
from modem.sim.faults import FAULT_NAMES, FaultError
from modem.sim.host import SimHost
from modem.sim.identity import Identity, numbered_identity
from modem.sim.storage import SentPart, StoredMessage

__all__ = [
    "FAULT_NAMES",
    "ControlError",
    "ControlServer",
    "FaultError",
    "Identity",
    "SentPart",
    "SimBank",
    "SimHandle",
    "SimHost",
    "SimModem",
    "StoredMessage",
    "control_request",
    "numbered_identity",
]
