"""Drive one GSM modem: initialise it, send in PDU mode, read and delete stored messages.

One ``Modem`` is used by one thread. Unsolicited results become events in a queue that the
owner drains with ``poll()`` or ``take_events()``; nothing is read from or deleted on the
modem behind the owner's back, so the owner can commit a message before deleting it.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from modem.at.framing import Unsolicited
from modem.at.parse import (
    ListedMessage,
    Registration,
    Signal,
    first_prefixed,
    parse_cops,
    parse_creg,
    parse_csq,
    parse_int,
    parse_listing,
    parse_ranges,
    parse_storages,
    prefixed,
)
from modem.at.session import AtSession, Clock, Transport
from modem.errors import (
    CmeError,
    CmsError,
    CommandError,
    ModemError,
    ModemGone,
    ModemTimeout,
    ProtocolError,
    SimError,
    SubmitUnknown,
)
from modem.events import Event, Unreadable, event_from_unsolicited, message_event
from modem.identity import Identity, read_identity
from modem.locate import candidate_devices, find_by_imei
from modem.pdu import EncodedPdu, decode, encode_submit
from modem.serial_port import SerialPort
from modem.waker import Waker

logger = logging.getLogger(__name__)

_PIN = re.compile(r"^\d{4,8}$")
STORAGE_PREFERENCE = ("SM", "MT", "ME")


@dataclass(frozen=True)
class Timeouts:
    command: float = 5.0
    sync: float = 1.0
    prompt: float = 5.0
    send: float = 60.0  # the network may take this long to accept a message (27.005 §3.5.1)
    sim_ready: float = 20.0
    listing: float = 30.0


@dataclass(frozen=True)
class StoredMessage:
    storage: str
    index: int
    stat: int  # 0 unread, 1 read, 2 unsent, 3 sent (27.005 §3.1 <stat>)
    event: Event  # MessageReceived, ReportReceived or Unreadable


class Modem:
    def __init__(
        self,
        device: str,
        *,
        pin: str | None = None,
        name: str = "modem",
        timeouts: Timeouts = Timeouts(),
        clock: Clock = time,
        port_factory: Callable[..., Transport] = SerialPort,
    ) -> None:
        if pin is not None and not _PIN.match(pin):
            raise ValueError("a SIM PIN is 4 to 8 digits")
        self.device = device
        self.name = name
        self.timeouts = timeouts
        self.identity: Identity | None = None
        self.storage = "SM"
        self.report_mode = "none"  # direct (+CDS), stored (+CDSI) or none
        self._pin = pin
        self._pin_rejected = False
        self._clock = clock
        self._port_factory = port_factory
        self._port: Transport | None = None
        self._session: AtSession | None = None
        self._events: deque[Event] = deque()
        self._waker = Waker()  # outlives reopened ports, so a wake-up is never lost

    # -- lifecycle -------------------------------------------------------------------

    def open(self, *, initialise: bool = True) -> None:
        """Open the port and initialise the modem; on failure the port is closed again.

        With ``initialise=False`` only get its attention (echo off, numeric errors), for
        looking at a modem whose SIM is not ready.
        """
        port = self._port_factory(self.device, waker=self._waker)
        open_port = getattr(port, "open", None)
        if open_port is not None:
            open_port()
        self._port = port
        self._session = AtSession(port, self._on_unsolicited, clock=self._clock, name=self.name)
        try:
            if initialise:
                self.initialise()
            else:
                self._attention()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        port, self._port, self._session = self._port, None, None
        if port is not None:
            port.close()

    def wake(self) -> None:
        """Cut a ``poll()`` short from another thread: there is something to send."""
        self._waker.wake()

    def release(self) -> None:
        """Close for good (the port and the wake-up pipe)."""
        self.close()
        self._waker.close()

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def recover(self) -> None:
        """After a timeout: reopen the port and initialise again (a hung modem)."""
        logger.warning("%s: reopening %s after a fault", self.name, self.device)
        self.close()
        self.open()

    def reconnect(self, candidates: list[str] | None = None) -> str:
        """Find this modem again by IMEI (it may come back under another name) and open it."""
        self.close()
        imei = self.identity.imei if self.identity else None
        if imei is None:
            self.open()
            return self.device
        search = [self.device, *(candidates or candidate_devices())]
        found = find_by_imei(imei, dict.fromkeys(search), port_factory=self._port_factory)
        if found is None:
            raise ModemGone(f"{self.name}: no device answers with this modem's IMEI")
        if found != self.device:
            logger.warning("%s: found again at %s", self.name, found)
        self.device = found
        self.open()
        return found

    def initialise(self) -> None:
        self._attention()
        self._unlock_sim()
        self.command("AT+CMGF=0")
        self._select_storage()
        self._enable_indications()
        self._optional("AT+CREG=1")
        self.identity = read_identity(self)
        logger.info("%s: ready (storage %s, reports %s)", self.name, self.storage, self.report_mode)

    def command(
        self, command: str, timeout: float | None = None, *, answered_by: str | None = None
    ) -> list[str]:
        """Run one AT command and return its information lines."""
        session = self._require()
        timeout = timeout or self.timeouts.command
        return session.command(command, timeout, answered_by=answered_by).lines

    # -- state -----------------------------------------------------------------------

    def sim_state(self) -> str:
        """``READY``, ``SIM PIN``, ``SIM PUK``…, as ``+CPIN?`` says (TS 27.007 §8.3)."""
        try:
            lines = self.command("AT+CPIN?", answered_by="+CPIN")
        except CmeError as exc:
            if exc.code == 10:
                raise SimError("no SIM card in the modem") from None
            raise
        for line in lines:
            if line.upper().startswith("+CPIN:"):
                return line[6:].strip().strip('"').upper()
        raise ProtocolError("no +CPIN line")

    def signal(self) -> Signal:
        return parse_csq(first_prefixed(self.command("AT+CSQ"), "+CSQ"))

    def registration(self) -> Registration:
        lines = self.command("AT+CREG?")
        # An unsolicited "+CREG: <stat>" can land among the answer lines; the answer is the
        # one that starts with <n>, so it has at least two parameters.
        answers = [v for v in prefixed(lines, "+CREG") if "," in v] or prefixed(lines, "+CREG")
        if not answers:
            raise ProtocolError("no +CREG line in the response")
        return parse_creg(answers[-1])

    def operator(self) -> str | None:
        self._optional("AT+COPS=3,0")  # ask for the long alphanumeric name
        return parse_cops(first_prefixed(self.command("AT+COPS?"), "+COPS"))

    # -- sending ---------------------------------------------------------------------

    def send(
        self,
        recipient: str,
        text: str,
        *,
        request_report: bool = False,
        validity: timedelta | None = None,
        concat_reference: int = 0,
    ) -> list[int]:
        """Send a text (one or more parts); return each part's TP-MR."""
        pdus = encode_submit(
            recipient,
            text,
            request_status_report=request_report,
            validity=validity,
            concat_reference=concat_reference,
        )
        return [self.send_pdu(pdu) for pdu in pdus]

    def send_pdu(self, pdu: EncodedPdu) -> int:
        """``AT+CMGS`` in PDU mode; return the message reference the modem assigned.

        Text mode is never used to send: a body holding Ctrl-Z or ESC would end the
        message early and turn the rest of it into AT commands.
        """
        session = self._require()
        try:
            response = session.command_with_payload(
                f"AT+CMGS={pdu.tpdu_length}",
                pdu.hex,
                prompt_timeout=self.timeouts.prompt,
                timeout=self.timeouts.send,
            )
        except (ModemTimeout, ModemGone) as exc:
            if session.payload_written:
                raise SubmitUnknown(f"no answer after the PDU was handed over ({exc})") from exc
            if isinstance(exc, ModemTimeout) and self._port is not None:
                session.abort_prompt()
            raise
        reference = response.value("+CMGS").split(",")[0]
        return parse_int(reference, "message reference") & 0xFF

    # -- stored messages -------------------------------------------------------------

    def list_messages(self, storage: str | None = None) -> list[StoredMessage]:
        """Every message in a storage (27.005 ``AT+CMGL=4``), read or not."""
        with self._storage(storage) as used:
            lines = self.command("AT+CMGL=4", self.timeouts.listing)
        return [self._stored(used, item) for item in parse_listing(lines)]

    def read_message(self, index: int, storage: str | None = None) -> StoredMessage:
        with self._storage(storage) as used:
            lines = self.command(f"AT+CMGR={int(index)}")
        listed = parse_listing(lines, "+CMGR")
        if not listed:
            raise ProtocolError(f"no message at index {index}")
        item = listed[0]
        return self._stored(used, ListedMessage(index, item.stat, item.length, item.pdu))

    def delete_message(self, index: int, storage: str | None = None) -> None:
        with self._storage(storage):
            self.command(f"AT+CMGD={int(index)}")

    # -- events ----------------------------------------------------------------------

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` for something to happen; return what did."""
        if not self._events:
            self._require().poll(timeout)
        return self.take_events()

    def take_events(self) -> list[Event]:
        events = list(self._events)
        self._events.clear()
        return events

    def _on_unsolicited(self, urc: Unsolicited) -> None:
        event = event_from_unsolicited(urc)
        if event is not None:
            self._events.append(event)

    # -- internals -------------------------------------------------------------------

    def _require(self) -> AtSession:
        if self._session is None:
            raise ModemGone(f"{self.name} is not open")
        return self._session

    def _optional(self, command: str) -> bool:
        try:
            self.command(command)
        except (CommandError, CmeError, CmsError):
            return False
        return True

    def _attention(self) -> None:
        self._sync()
        self.command("ATE0")
        self._optional("AT+CMEE=1")

    def _sync(self) -> None:
        """Get the modem's attention: leave any prompt, then ``AT`` until it answers."""
        session = self._require()
        session.abort_prompt()
        last: ModemError | None = None
        for _ in range(3):
            try:
                session.command("AT", self.timeouts.sync)
                return
            except (ModemTimeout, CommandError) as exc:
                last = exc
        raise ModemTimeout(f"{self.name} does not answer AT ({last})")

    def _unlock_sim(self) -> None:
        state = self.sim_state()
        if state == "READY":
            return
        if "PUK" in state:
            raise SimError(f"SIM asks for {state}: unlock it in a phone (smsgw never enters a PUK)")
        if state != "SIM PIN":
            raise SimError(f"SIM asks for {state}")
        if self._pin is None:
            raise SimError("SIM PIN required: configure the modem's pin_file")
        if self._pin_rejected:
            raise SimError("SIM PIN required; the configured PIN was rejected once, not retrying")
        try:
            # At most one automatic attempt: three wrong PINs would block the SIM.
            self.command(f'AT+CPIN="{self._pin}"', self.timeouts.sim_ready)
        except (CmeError, CommandError) as exc:
            self._pin_rejected = True
            raise SimError(f"SIM rejected the configured PIN ({exc}); not retrying") from None
        self._wait_sim_ready()

    def _wait_sim_ready(self) -> None:
        deadline = self._clock.monotonic() + self.timeouts.sim_ready
        while True:
            try:
                if self.sim_state() == "READY":
                    return
            except CmeError as exc:
                if exc.code != 14:  # SIM busy: it is still starting up
                    raise
            if self._clock.monotonic() >= deadline:
                raise SimError("SIM did not become ready after the PIN")
            self._require().poll(0.2)

    def _select_storage(self) -> None:
        try:
            allowed = parse_storages(first_prefixed(self.command("AT+CPMS=?"), "+CPMS"))
        except (ModemError, ProtocolError):
            allowed = []
        candidates = [
            mem
            for mem in STORAGE_PREFERENCE
            if not allowed or all(mem in group for group in allowed[:3] if group)
        ]
        for mem in candidates or ["SM"]:
            if self._optional(f'AT+CPMS="{mem}","{mem}","{mem}"') or self._optional(
                f'AT+CPMS="{mem}"'
            ):
                self.storage = mem
                return
        logger.warning("%s: could not select a message storage; using the default", self.name)

    def _enable_indications(self) -> None:
        """``+CNMI``: store new messages and say so (+CMTI); route reports (+CDS or +CDSI)."""
        try:
            ranges = parse_ranges(first_prefixed(self.command("AT+CNMI=?"), "+CNMI"))
        except (ModemError, ProtocolError):
            ranges = []
        tries: list[tuple[int, int, int, int, int]] = []
        if len(ranges) >= 4:
            # mode 2 buffers indications while a command runs instead of dropping them.
            mode = next((m for m in (2, 1, 3) if m in ranges[0]), 2)
            mt = 1 if 1 in ranges[1] else 2 if 2 in ranges[1] else 0
            ds = next((d for d in (1, 2) if d in ranges[3]), 0)
            bfr = 0 if len(ranges) < 5 or 0 in ranges[4] else 1
            tries.append((mode, mt, 0, ds, bfr))
        tries += [(2, 1, 0, 1, 0), (2, 1, 0, 2, 0), (1, 1, 0, 2, 0), (2, 1, 0, 0, 0)]
        for mode, mt, bm, ds, bfr in tries:
            if self._optional(f"AT+CNMI={mode},{mt},{bm},{ds},{bfr}"):
                self.report_mode = {1: "direct", 2: "stored"}.get(ds, "none")
                return
        logger.warning("%s: modem refuses every +CNMI setting; relying on polling", self.name)

    @contextmanager
    def _storage(self, storage: str | None) -> Iterator[str]:
        if storage is None or storage.upper() == self.storage:
            yield self.storage
            return
        if not re.fullmatch(r"[A-Z_]{2,4}", storage.upper()):
            raise ValueError("unknown message storage")
        self.command(f'AT+CPMS="{storage.upper()}"')
        try:
            yield storage.upper()
        finally:
            self._optional(f'AT+CPMS="{self.storage}"')

    def _stored(self, storage: str, item: ListedMessage) -> StoredMessage:
        try:
            decoded = decode(item.pdu, tpdu_length=item.length)
            event = message_event(decoded, storage, item.index)
        except ModemError as exc:
            event = Unreadable(str(exc), storage, item.index)
        return StoredMessage(storage, item.index, item.stat, event)
