"""An emulated GSM modem: the AT state machine. Pure: bytes in, bytes out, time passed in.

``feed(data, now)`` and ``tick(now)`` return what the modem writes back; ``next_deadline()``
says when ``tick`` must be called next (a delayed answer, a status report, a network
registration). The network side (``inject``, ``report``, faults) may be driven at any time;
what it produces comes out of the next ``tick``. Nothing here reads a clock, sleeps or
touches a port: ``modem.sim.host`` does that.

Command handlers live in ``commands`` (TS 27.007 / V.250) and ``messaging`` (TS 27.005);
the network, SIM and fault side is the ``network.NetworkSide`` mixin.
"""

from __future__ import annotations

import heapq
import logging
import random
import re
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from modem.sim import commands, messaging, sending
from modem.sim.cmdline import Command, CommandSyntaxError, parse_line
from modem.sim.faults import FAULT_SENDER, Faults
from modem.sim.identity import TEST_PLMN, Identity
from modem.sim.network import Inbound, NetworkSide
from modem.sim.profile import Profile
from modem.sim.replies import CME_NOT_SUPPORTED, AtFailure, Entry, Hook, Reply, cme, cms
from modem.sim.settings import Settings
from modem.sim.storage import Memory, SentPart, make_memories

logger = logging.getLogger(__name__)

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
MAX_LINE = 1024  # real modems accept 256-560 characters per command line
MAX_PENDING_INPUT = 65536  # input held while the modem is busy answering
MAX_ENTRY = 1024  # after "> ": the hex of the longest PDU (12 + 176 octets) is 376 characters
MAX_BUFFERED_URCS = 64
HANDLERS = {**commands.HANDLERS, **messaging.HANDLERS, **sending.HANDLERS}
# What a noisy line or a chatty firmware puts between answers.
NOISE = (
    b"\xff\xfe",
    b"\x00",
    b"\r\n^RSSI:17\r\n",
    b"\r\n^BOOT:20905293,0,0,0,72\r\n",
    b"\r\nRING\r\n",
    b"\r\n\r\n",
)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class SimModem(NetworkSide):
    """One emulated modem with its SIM, its network and the service centre behind it.

    ``capacity`` is the number of records per memory ("SM", "ME", "SR"), as an int for
    all or a mapping; ``pin`` locks the SIM at power-up; ``auto_report`` is the status
    ("delivered", "pending", "failed" or a TP-ST octet) the service centre reports
    ``auto_report_delay`` seconds after a part that asked for a report, None for none;
    ``unknown_command`` is how an unknown command is refused: "error" (plain ERROR, as V.250
    says), "cme" (+CME ERROR: 4 when AT+CMEE is on) or "huawei" (COMMAND NOT SUPPORT);
    ``profile`` is a real device's recorded answers (see ``modem.sim.profile``);
    ``seed`` makes noise and shuffled part orders reproducible; ``wall_clock`` gives the
    service centre's time stamps.
    """

    identity: Identity

    def __init__(
        self,
        identity: Identity | None = None,
        *,
        operator: str = "SimNet",
        operator_numeric: str = TEST_PLMN,
        rssi: int = 20,
        capacity: int | Mapping[str, int] = 20,
        pin: str | None = None,
        puk: str = "12345678",
        smsc: str = "+10000000000",
        send_delay: float = 0.0,
        auto_report: str | int | None = "delivered",
        auto_report_delay: float = 0.2,
        register_delay: float = 0.0,
        first_reference: int = 0,
        seed: int = 0,
        wall_clock: Callable[[], datetime] = _utc_now,
        name: str = "sim",
        now: float = 0.0,
        unknown_command: Literal["error", "cme", "huawei"] = "error",
        profile: Mapping[str, Any] | None = None,
    ) -> None:
        if not 0 <= rssi <= 31 and rssi != 99:
            raise ValueError("rssi must be 0..31 or 99 (TS 27.007 §8.5)")
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("PIN must be 4 to 8 digits")
        if min(send_delay, auto_report_delay, register_delay) < 0:
            raise ValueError("delays must not be negative")
        if unknown_command not in ("error", "cme", "huawei"):
            raise ValueError("unknown_command must be error, cme or huawei")
        if not 0 <= first_reference <= 255:
            raise ValueError("first_reference must be 0..255")
        if not re.fullmatch(r"\+?\d{1,20}", smsc):
            raise ValueError("smsc must be a number")
        if not re.fullmatch(r"\d{5,6}", operator_numeric):
            raise ValueError("operator_numeric must be MCC+MNC, 5 or 6 digits")
        self.identity = identity or Identity()
        self.operator = operator
        self.operator_numeric = operator_numeric
        self.rssi = rssi
        self.smsc = smsc
        self.send_delay = send_delay
        self.auto_report = None if auto_report is None else self.status_code(auto_report)
        self.auto_report_delay = auto_report_delay
        self.register_delay = register_delay
        self.name = name
        self.unknown_command = unknown_command
        self.profile = Profile(profile) if profile is not None else None
        self.memories: dict[str, Memory] = make_memories(capacity)
        self.faults = Faults()
        self.settings = Settings()
        self.wall_clock = wall_clock
        self.rng = random.Random(seed)
        self.outbox: list[SentPart] = []
        self.ack_pending = False  # a +CMT waits for AT+CNMA (only with AT+CSMS=1)
        # SIM state survives power cycles: the PIN, the tries left, a PUK lock.
        self.pin, self._configured_pin, self.puk = pin, pin, puk
        self.pin_tries, self.puk_tries = 3, 10
        self.sim_state = "SIM PIN" if pin else "READY"
        self.cfun = 1
        self.cops_mode = 0
        self.creg_stat = 0
        self._next_reference = first_reference
        self._concat_reference = 0
        self._now = now
        self._out = bytearray()
        self._input = bytearray()
        self._line = bytearray()
        self._line_overflow = False
        self._last_cr = False
        self._last_line: str | None = None
        self._entry: Entry | None = None
        self._busy = False
        self._timers: list[tuple[float, int, Hook]] = []
        self._sequence = 0
        self._registering = False
        self._held: deque[Inbound] = deque()
        self._urc_buffer: deque[list[str]] = deque(maxlen=MAX_BUFFERED_URCS)
        self.powered = True
        self.refresh_registration(now)

    # -- the byte side -------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> bytes:
        """Bytes from the host; returns what the modem writes back by ``now``."""
        self._advance(now)
        if self.powered and data:
            room = MAX_PENDING_INPUT - len(self._input)
            if len(data) > room:
                logger.warning("%s: input overrun, %d bytes dropped", self.name, len(data) - room)
                data = data[: max(room, 0)]
            self._input += data
            self._process(now)
        return self._take()

    def tick(self, now: float) -> bytes:
        self._advance(now)
        self._process(now)
        return self._take()

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    @property
    def now(self) -> float:
        return self._now

    def schedule(self, due: float, hook: Hook) -> None:
        self._sequence += 1
        heapq.heappush(self._timers, (due, self._sequence, hook))

    def _advance(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            due, _, hook = heapq.heappop(self._timers)
            self._now = max(self._now, due)
            try:
                hook(due)
            except Exception:  # one broken scheduled action must not stop the modem
                logger.exception("%s: scheduled action failed", self.name)
            self._process(due)
        self._now = max(self._now, now)

    def _take(self) -> bytes:
        out = bytes(self._out) if self.powered else b""
        self._out.clear()
        return out

    def _process(self, now: float) -> None:
        data = self._input
        position = 0
        while position < len(data) and not self._busy and self.powered:
            byte = data[position]
            position += 1
            if byte == CR and data[position : position + 1] == b"\n":
                # The LF of a CR LF that arrived together is echoed before the answer,
                # as a modem echoing each character as it comes in would.
                self._on_byte(byte, now, lf_follows=True)
                position += 1
            else:
                self._on_byte(byte, now)
        del data[:position]

    def _echo(self, byte: int) -> None:
        if self.settings.echo:
            self._out.append(byte)

    def _on_byte(self, byte: int, now: float, *, lf_follows: bool = False) -> None:
        if lf_follows and (self._entry is not None or self.faults.on("hang")):
            self._on_byte(byte, now)
            self._on_byte(LF, now)
            return
        if self.faults.on("hang"):
            # A hung modem neither echoes nor answers; each line it swallows counts.
            if byte in (CR, CTRL_Z) or (byte == LF and not self._last_cr):
                self.faults.consume("hang")
            self._last_cr = byte == CR
            return
        if self._entry is not None:
            self._entry_byte(self._entry, byte, now)
            return
        if byte == LF and self._last_cr:  # the LF of a CR LF pair ends nothing more
            self._echo(byte)
            self._last_cr = False
            return
        self._last_cr = byte == CR and not lf_follows
        self._echo(byte)
        if lf_follows:
            self._echo(LF)
        if byte in (CR, LF):
            self._end_line(now)
        elif byte == BS:
            if self._line:
                del self._line[-1]
        elif len(self._line) < MAX_LINE:
            self._line.append(byte)
            if self._line.upper() == b"A/":  # V.250 §5.2.4: repeat the last line, no CR
                self._line.clear()
                if self._last_line is not None:
                    self._run_line(self._last_line, now)
        else:
            self._line_overflow = True

    def _end_line(self, now: float) -> None:
        text = self._line.decode("latin-1")
        overflow = self._line_overflow
        self._line.clear()
        self._line_overflow = False
        start = text.upper().find("AT")
        if start < 0:
            return  # V.250 §5.2.1: characters before the "AT" prefix are ignored
        if overflow:
            self.dispatch(Reply(final="ERROR"), now)
            return
        self._last_line = text[start + 2 :]
        self._run_line(self._last_line, now)

    def _entry_byte(self, entry: Entry, byte: int, now: float) -> None:
        if byte == ESC:  # TS 27.005 §3.5.1: ESC quits without sending
            self._entry = None
            self.dispatch(Reply(), now)
            return
        if byte == CTRL_Z:
            self._entry = None
            self.dispatch(sending.finish_entry(self, entry, now), now)
            return
        self._echo(byte)
        if entry.pdu_mode and byte in (CR, LF):
            return  # the hex may arrive with line breaks; they are not part of it
        if len(entry.buffer) >= MAX_ENTRY:
            entry.overflow = True
            return
        entry.buffer.append(byte)
        if not entry.pdu_mode and byte == CR:
            self._out += b"\r\n> "  # text mode: a new prompt for every line of the text

    def _run_line(self, body: str, now: float) -> None:
        canned = self.profile.reply(body, self.sim_state) if self.profile else None
        if canned is not None:
            self.dispatch(canned, now)
            return
        reply = Reply()
        try:
            for command in parse_line(body):
                self._execute(command, reply, now)
                if reply.entry is not None:
                    break  # the rest of the line is the message text's business
        except CommandSyntaxError:
            reply.final = "ERROR"
        except AtFailure as failure:
            reply.entry = None
            reply.final = failure.result(self.settings.cmee)
        except Exception as exc:  # an emulator bug answers ERROR, as firmware would
            # The exception's text may quote the command line (a number, a text-mode
            # body): the log names the failure only; the traceback is kept for debugging.
            logger.error("%s: command line not handled (%s)", self.name, type(exc).__name__)
            logger.debug("emulator failure", exc_info=True)
            reply.entry = None
            reply.final = "ERROR"
        self.dispatch(reply, now)

    def _execute(self, command: Command, reply: Reply, now: float) -> None:
        spec = HANDLERS.get(command.name)
        if spec is None:
            raise self._unknown()
        handler, needs_sim = spec
        if needs_sim is not None and self.sim_state != "READY":
            raise self.sim_failure(needs_sim)
        handler(self, command, reply, now)

    def _unknown(self) -> AtFailure:
        if self.unknown_command == "cme":
            return cme(CME_NOT_SUPPORTED)
        if self.unknown_command == "huawei":
            return AtFailure(text="COMMAND NOT SUPPORT")
        return AtFailure()  # V.250 §5.1: a command the DCE does not know is an ERROR

    def sim_failure(self, family: Literal["CME", "CMS"]) -> AtFailure:
        codes = {"SIM PIN": (11, 311), "SIM PUK": (12, 316)}.get(self.sim_state, (13, 313))
        return cme(codes[0]) if family == "CME" else cms(codes[1])

    def dispatch(self, reply: Reply, now: float) -> None:
        """Send the answer now, or after the command's delay (the modem is busy till then)."""
        delay = reply.delay
        slow = self.faults.get("slow")
        if slow is not None:
            delay += slow["seconds"]
        if delay <= 0:
            self._emit(reply, now)
            return
        self._busy = True

        def finish(at: float) -> None:
            self._busy = False
            self._emit(reply, at)

        self.schedule(now + delay, finish)

    def _emit(self, reply: Reply, now: float) -> None:
        for hook in reply.on_emit:
            hook(now)
        noise = self.faults.get("noise")
        if noise is not None and self.rng.random() < noise["rate"]:
            self._out += self.rng.choice(NOISE)
        if reply.blocks:
            self._out += b"".join(self._frame(block) for block in reply.blocks)
            if reply.final is not None and self.faults.consume("urc_in_response") is not None:
                self.inject(FAULT_SENDER, "urc in response", now=now)
        if reply.entry is not None:
            self._entry = reply.entry
            self._out += b"\r\n> "  # TS 27.005 §3.5.1: four characters, no line end
        elif reply.final is not None and not self.settings.quiet:
            self._out += self._final(reply.final)
        for hook in reply.after:
            hook(now)
        self.retry_held(now)

    def _frame(self, lines: list[str]) -> bytes:
        text = "\r\n".join(lines)
        framed = f"\r\n{text}\r\n" if self.settings.verbose else f"{text}\r\n"
        return framed.encode("latin-1", "replace")

    def _final(self, result: str) -> bytes:
        if self.settings.verbose:
            return f"\r\n{result}\r\n".encode("latin-1", "replace")
        numeric = {"OK": "0", "ERROR": "4"}.get(result)
        return f"{numeric}\r".encode() if numeric else f"{result}\r\n".encode("latin-1", "replace")

    def urc(self, lines: list[str], *, sms: bool = True) -> None:
        """An unsolicited result; message indications obey AT+CNMI <mode> (TS 27.005 §3.4.1)."""
        if sms and self.settings.cnmi[0] == 0:
            self._urc_buffer.append(lines)  # mode 0: kept in the TA until the host asks
            return
        self._out += self._frame(lines)

    def flush_urc_buffer(self, discard: bool) -> None:
        buffered = list(self._urc_buffer)
        self._urc_buffer.clear()
        if not discard:
            for lines in buffered:
                self._out += self._frame(lines)

    # -- power ---------------------------------------------------------------------------

    def power_off(self, now: float | None = None) -> None:
        """Unplugged: the modem hears and says nothing; the network holds its messages."""
        now = self._now if now is None else now
        self.powered = False
        self._input.clear()
        self._out.clear()
        self._entry, self._busy = None, False
        self.refresh_registration(now)

    def power_on(self, now: float | None = None) -> None:
        """Power-up (or reboot): settings back to defaults, the SIM asks for its PIN again."""
        now = self._now if now is None else now
        self.settings = Settings()
        self._line.clear()
        self._input.clear()
        self._urc_buffer.clear()
        self._entry, self._busy, self._last_cr = None, False, False
        self.cfun, self.cops_mode, self.ack_pending = 1, 0, False
        if self.pin is not None and self.sim_state == "READY":
            self.sim_state = "SIM PIN"
        self.powered = True
        self.creg_stat = 0
        self._registering = False
        self.refresh_registration(now)

    def state(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "name": self.name,
            "powered": self.powered,
            "imei": self.identity.imei,
            "number": self.identity.number,
            "sim": self.sim_state,
            "registration": self.creg_stat,
            "echo": settings.echo,
            "cmee": settings.cmee,
            "cmgf": settings.cmgf,
            "cnmi": list(settings.cnmi),
            "cpms": list(settings.cpms),
            "faults": {name: dict(params) for name, params in self.faults.active.items()},
            "held": len(self._held),
            "sent": len(self.outbox),
            "prompt": self._entry is not None,
        }

    def storage(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [
                {
                    "index": index,
                    "stat": message.stat,
                    "kind": message.kind,
                    "address": message.address,
                    "text": message.text,
                    "pdu": message.pdu,
                }
                for index, message in memory.items()
            ]
            for name, memory in self.memories.items()
        }
