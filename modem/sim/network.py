"""The network and SIM side of an emulated modem: registration, the service centre that
delivers inbound messages and status reports (holding them while the modem cannot take
them), the outbox of sent parts, and the faults that change any of these.

A mixin of ``SimModem``: it shares the engine's state and output (``urc``) and its timers
(``schedule``), and does no I/O of its own.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from modem.errors import PduError
from modem.masking import mask_number
from modem.pdu import Deliver, encode_deliver, encode_status_report
from modem.sim import commands, listing
from modem.sim.faults import FAULT_NAMES, FaultError, Faults
from modem.sim.pdus import decode_pdu, describe, tpdu_length
from modem.sim.replies import Hook
from modem.sim.settings import Settings
from modem.sim.storage import REC_UNREAD, Memory, SentPart

if TYPE_CHECKING:
    from modem.sim.engine import SimModem

logger = logging.getLogger(__name__)

STATUS_WORDS = {"delivered": 0x00, "pending": 0x20, "failed": 0x41}  # TS 23.040 §9.2.3.15
ORDERS = ("in", "reverse", "shuffle")


@dataclass(frozen=True)
class Inbound:
    """What the service centre has for the modem: an SMS-DELIVER or a status report."""

    kind: Literal["deliver", "status-report"]
    pdu: str


class NetworkSide:
    # State that SimModem.__init__ sets up.
    name: str
    settings: Settings
    memories: dict[str, Memory]
    faults: Faults
    outbox: list[SentPart]
    smsc: str
    wall_clock: Callable[[], datetime]
    auto_report: int | None
    auto_report_delay: float
    register_delay: float
    powered: bool
    cfun: int
    cops_mode: int
    creg_stat: int
    sim_state: str
    pin: str | None
    pin_tries: int
    ack_pending: bool
    _configured_pin: str | None
    _held: deque[Inbound]
    _registering: bool
    _next_reference: int
    _concat_reference: int
    _now: float

    if TYPE_CHECKING:
        import random

        rng: random.Random

        def urc(self, lines: list[str], *, sms: bool = True) -> None: ...

        def schedule(self, due: float, hook: Hook) -> None: ...

    @property
    def _modem(self) -> SimModem:
        return cast("SimModem", self)

    # -- the network side ----------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self.creg_stat in (1, 5)

    def _can_register(self) -> bool:
        return (
            self.powered
            and self.cfun == 1
            and self.sim_state == "READY"
            and self.cops_mode != 2
            and not self.faults.on("no_network")
        )

    def refresh_registration(self, now: float) -> None:
        if not self._can_register():
            self._registering = False
            searching = self.powered and self.cfun == 1 and self.sim_state == "READY"
            self._set_registration(2 if searching and self.cops_mode != 2 else 0, now)
        elif not self.registered and not self._registering:
            if self.register_delay <= 0:
                self._set_registration(1, now)
                return
            self._registering = True
            self._set_registration(2, now)

            def attach(at: float) -> None:
                if self._registering and self._can_register():
                    self._registering = False
                    self._set_registration(1, at)

            self.schedule(now + self.register_delay, attach)

    def _set_registration(self, stat: int, now: float) -> None:
        if stat == self.creg_stat:
            return
        self.creg_stat = stat
        if self.settings.creg >= 1 and self.powered:
            self.urc([commands.creg_urc(self._modem)], sms=False)
        if self.registered:
            self.retry_held(now)

    def _deliver_from_network(self, item: Inbound, now: float) -> None:
        self._held.append(item)  # behind anything already waiting, to keep the order
        self.retry_held(now)

    def retry_held(self, now: float) -> None:
        """The SC delivers what it holds once the modem is registered and has room."""
        while self._held and self.registered and self.powered:
            if not self._receive(self._held[0], now):
                return  # memory full: the SC keeps it until the ME reports free memory
            self._held.popleft()

    def _receive(self, item: Inbound, now: float) -> bool:
        _mode, mt, _bm, ds, _bfr = self.settings.cnmi
        if item.kind == "deliver":
            if mt == 2:  # routed to the TE directly, not stored
                self.urc(listing.cmt_lines(self._modem, item.pdu))
                self.ack_pending = self.settings.csms == 1
                return True
            memory = self.memories[self.settings.cpms[2]]
            index = memory.store(describe(item.pdu, REC_UNREAD))
            if index is None:
                return False
            if mt in (1, 3) and self.faults.consume("drop_cmti") is None:
                self.urc([f'+CMTI: "{memory.name}",{index}'])
            return True
        if ds == 1:
            self.urc(listing.cds_lines(self._modem, item.pdu))
        elif ds == 2:
            memory = self.memories["SR"]
            index = memory.store(describe(item.pdu, REC_UNREAD))
            if index is None:
                return False
            self.urc([f'+CDSI: "{memory.name}",{index}'])
        # ds=0: status reports are not routed to the TE (TS 27.005 §3.4.1) and are lost.
        return True

    def inject(
        self,
        sender: str,
        text: str,
        *,
        order: str = "in",
        timestamp: datetime | None = None,
        gap: float = 0.0,
        now: float | None = None,
    ) -> int:
        """A message from ``sender`` arrives from the network; returns its number of parts."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        if not 0 <= gap <= 3600:
            raise ValueError("gap must be 0..3600 seconds")
        now = self._now if now is None else now
        self._concat_reference = self._concat_reference % 255 + 1
        parts = encode_deliver(
            sender,
            text,
            timestamp=timestamp or self.wall_clock(),
            smsc=self.smsc,
            concat_reference=self._concat_reference,
        )
        if order == "reverse":
            parts.reverse()
        elif order == "shuffle":
            self.rng.shuffle(parts)
        logger.info("%s: inbound from %s, %d part(s)", self.name, mask_number(sender), len(parts))
        for position, pdu in enumerate(parts):
            item = Inbound("deliver", pdu)
            if gap > 0 and position:
                self.schedule(now + position * gap, self._deliverer(item))
            else:
                self._deliver_from_network(item, now)
        return len(parts)

    def _deliverer(self, item: Inbound) -> Hook:
        return lambda at: self._deliver_from_network(item, at)

    def inject_pdu(self, pdu: str, *, now: float | None = None) -> None:
        """An SMS-DELIVER given as hex (SMSC field included), e.g. one captured from a phone."""
        pdu = pdu.strip().upper()
        tpdu_length(pdu)  # what +CMGL would print must be computable: even, whole hex
        if not isinstance(decode_pdu(pdu), Deliver):
            raise PduError("not an SMS-DELIVER")
        self._deliver_from_network(Inbound("deliver", pdu), self._now if now is None else now)

    @staticmethod
    def status_code(status: str | int) -> int:
        if isinstance(status, bool):
            raise ValueError("status must be a word or a TP-ST octet")
        if isinstance(status, int):
            if not 0 <= status <= 255:
                raise ValueError("TP-ST must be 0..255")
            return status
        if status not in STATUS_WORDS:
            raise ValueError(f"status must be one of {', '.join(STATUS_WORDS)} or 0..255")
        return STATUS_WORDS[status]

    def report(self, reference: int, status: str | int, *, now: float | None = None) -> None:
        """The SC reports on the last sent part with TP-MR ``reference``."""
        code = self.status_code(status)
        for part in reversed(self.outbox):
            if part.reference == reference:
                break
        else:
            raise KeyError(f"no sent part has TP-MR {reference}")
        if not part.status_report_request:
            raise ValueError(f"the part with TP-MR {reference} did not request a status report")
        self._report_part(part, code, self._now if now is None else now)

    def _report_part(self, part: SentPart, code: int, now: float) -> None:
        try:
            pdu = encode_status_report(
                part.reference,
                part.recipient,
                code,
                service_centre_timestamp=part.sent_at,
                discharge_time=self.wall_clock(),
                smsc=self.smsc,
            )
        except PduError as error:  # e.g. an alphanumeric recipient has no report address
            logger.warning("%s: cannot build a status report: %s", self.name, error)
            return
        self._deliver_from_network(Inbound("status-report", pdu), now)

    def allocate_reference(self) -> int:
        """TP-MR: the ME numbers its submissions 0..255 and wraps (TS 23.040 §9.2.3.6)."""
        reference = self._next_reference
        self._next_reference = (reference + 1) % 256
        return reference

    def record_sent(self, part: SentPart, now: float) -> None:
        self.outbox.append(part)
        logger.info(
            "%s: sent part TP-MR %d to %s", self.name, part.reference, mask_number(part.recipient)
        )
        if part.status_report_request and self.auto_report is not None:
            code = self.auto_report
            self.schedule(
                now + self.auto_report_delay, lambda at: self._report_part(part, code, at)
            )

    # -- faults --------------------------------------------------------------------------

    def set_fault(self, name: str, *, now: float | None = None, **params: Any) -> None:
        now = self._now if now is None else now
        self.faults.set(name, params)
        logger.info("%s: fault %s on", self.name, name)
        if name == "storage_full":
            for memory in self.memories.values():
                memory.full_override = memory.used
        elif name == "pin_locked":
            self.pin = self.faults.active[name]["pin"]
            self.sim_state, self.pin_tries = "SIM PIN", 3
        self.refresh_registration(now)

    def clear_fault(self, name: str | None = None, *, now: float | None = None) -> None:
        """Clear one fault, or all of them."""
        now = self._now if now is None else now
        names = list(self.faults.active) if name is None else [name]
        for fault in names:
            if name is not None and fault not in FAULT_NAMES:
                raise FaultError(f"unknown fault {fault!r}")
            if not self.faults.clear(fault):
                continue
            logger.info("%s: fault %s off", self.name, fault)
            if fault == "storage_full":
                for memory in self.memories.values():
                    memory.full_override = None
            elif fault == "pin_locked":
                self.pin, self.sim_state = self._configured_pin, "READY"
        self.refresh_registration(now)
        self.retry_held(now)
