"""One thread per modem: it alone touches that modem's port.

The loop sends when there is work and the modem's rate allows, and otherwise listens for
what the modem reports. Each unit of work is its own transaction: ``send_one``,
``receive_stored``, ``sweep``, ``check_health``. Errors are caught here, by family, and
turned into the line's state; a message's fate is decided in ``gateway.outbound``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from gateway.app import Gateway
from gateway.compliance import before_send
from gateway.config import ModemConfig
from gateway.errors import InvalidTransition
from gateway.inbound import receive
from gateway.intake import take_in
from gateway.models import Line, Message
from gateway.reports import apply_report
from gateway.sending import (
    Claimed,
    claim_next,
    contact_number_enc,
    finish_sent,
    part_sent,
    send_failed,
    sent_sequences,
    start_sending,
    transition,
)
from gateway.wake import WorkSignal
from gateway.webhooks import announce_committed
from modem.device import Modem, StoredMessage, Timeouts
from modem.errors import ModemError, ModemGone, ModemTimeout, PduError, SimError, SubmitUnknown
from modem.events import (
    Event,
    MessageReceived,
    MessageWaiting,
    RegistrationChanged,
    ReportReceived,
    Unreadable,
)
from modem.locate import DEFAULT_PATTERNS, candidate_devices
from modem.pdu import EncodedPdu, encode_submit

logger = logging.getLogger(__name__)

IDLE_CLAIM_EVERY = 1.0  # look at the queue this often even without a nudge (retries, send_at)
REOPEN_AFTER = 5.0  # seconds between attempts to find a modem that is gone
FAULT_PAUSE = 30.0
# The database refused a write (disk full, locked past the busy timeout): try again this often.
DATABASE_PAUSE = 5.0
NUMBER_CACHE = 10_000  # a modem-level fault takes the modem out of rotation this long


class Superseded(Exception):
    """The message being sent was changed by someone else meanwhile (see ``_record``)."""


class ModemRunner:
    def __init__(
        self,
        gateway: Gateway,
        modem_config: ModemConfig,
        line_id: str,
        work: WorkSignal,
        stopping: threading.Event,
        *,
        worker_name: str = "worker",
        timeouts: Timeouts | None = None,
    ) -> None:
        self.gateway = gateway
        self.modem_config = modem_config
        self.line_id = line_id
        self.work = work
        self.stopping = stopping
        self.name = f"{worker_name}/{modem_config.line}"
        self.modem = Modem(
            modem_config.device,
            pin=modem_config.read_pin(),
            name=modem_config.line,
            timeouts=timeouts or Timeouts(),
        )
        self.interval = 60.0 / modem_config.rate_per_minute
        self.state = ""
        self._next_send = 0.0
        self._seen_work = -1
        self._last_claim = 0.0
        self._next_sweep = 0.0
        self._next_health = 0.0
        self._paused_until = 0.0
        self._numbers: dict[str, str] = {}
        # When the thread last came round its loop (or finished a part): the worker's
        # watchdog tells a thread stuck in the kernel from one that is merely waiting.
        self.turned_at = time.monotonic()
        self._thread = threading.Thread(target=self.run, name=f"modem-{modem_config.line}")
        work.subscribe(self.modem.wake)

    # -- thread ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                except OperationalError as exc:  # also from recording a modem error's state
                    self._database_unavailable(exc)
                except DBAPIError as exc:
                    # Any other refusal by the database (a value it will not store): the
                    # thread must outlive it, or the modem goes silent. Logged by type only:
                    # the statement's parameters may hold personal data.
                    logger.error(
                        "%s: the database refused a statement (%s); trying again in %.0f s",
                        self.name,
                        type(exc.orig).__name__,
                        DATABASE_PAUSE,
                    )
                    self.stopping.wait(DATABASE_PAUSE)
        finally:
            self.modem.release()
            self._set_state("offline")

    def step(self) -> None:
        """One turn of the loop; every modem error ends here and becomes a line state."""
        self.turned_at = time.monotonic()
        try:
            if not self.modem.is_open:
                self._open()
                return
            # What the modem reported during the last command comes first: a STOP that
            # arrived while a message was being sent blocks the next one.
            pending = self.modem.take_events()
            if pending:
                self.handle(pending)
            now = time.monotonic()
            if now >= self._next_sweep:
                self.sweep()
            if now >= self._next_health:
                self.check_health()
            may_send = now >= self._paused_until and now >= self._next_send
            if may_send and self._work_maybe() and self.send_one():
                # The rate counts from the start of a send: a slow network does not add to it.
                self._next_send = now + self.interval
                return
            self.handle(self.modem.poll(self._quiet_for(now)))
        except ModemTimeout:
            self._set_state("faulted", "modem stopped answering; reopening")
            self._recover(self.modem.recover)
        except ModemGone:
            self._set_state("gone", "device went away; looking for it by IMEI")
            self._recover(self._reconnect)
        except SimError as exc:
            self._set_state("faulted", str(exc))
            self.modem.close()
            self.stopping.wait(FAULT_PAUSE)
        except ModemError as exc:
            logger.warning("%s: %s", self.name, exc)
            self._set_state("backing_off", str(exc))
            self.stopping.wait(1.0)

    def _open(self) -> None:
        try:
            if self.modem.identity is not None:
                self._reconnect()  # known by IMEI: it may be back under another name
            else:
                self.modem.open()
        except SimError as exc:
            self._set_state("faulted", str(exc))
            self.stopping.wait(FAULT_PAUSE)
            return
        except ModemError as exc:
            self._set_state("gone", f"cannot use the modem: {exc}")
            self.stopping.wait(REOPEN_AFTER)
            return
        self._record_identity()
        self._set_state("ready")
        self._next_sweep = 0.0  # messages that arrived while we were away come first
        self._next_health = 0.0

    def _recover(self, action: Callable[[], object]) -> None:
        try:
            action()
        except ModemError as exc:
            logger.warning("%s: recovery failed: %s", self.name, exc)
            self.modem.close()
            self.stopping.wait(REOPEN_AFTER)
            return
        self._record_identity()
        self._set_state("ready")

    def _reconnect(self) -> str:
        device = self.modem_config.device
        patterns = DEFAULT_PATTERNS
        if not device.startswith("/dev/"):
            patterns = (*patterns, str(Path(device).parent / "*"))
        return self.modem.reconnect(candidate_devices(patterns))

    def _quiet_for(self, now: float) -> float:
        """How long to listen before the next thing falls due (a nudge cuts it short)."""
        due = [self._last_claim + IDLE_CLAIM_EVERY, self._next_sweep, self._next_health]
        if self._next_send > now:
            due.append(self._next_send)
        if self._paused_until > now:
            due.append(self._paused_until)
        return max(0.001, min(due) - now)

    def _work_maybe(self) -> bool:
        return (
            self.work.generation != self._seen_work
            or time.monotonic() - self._last_claim >= IDLE_CLAIM_EVERY
        )

    # -- units of work ------------------------------------------------------------------

    def send_one(self) -> bool:
        """Claim one message and send it; False when there was nothing to send."""
        generation = self.work.generation
        self._last_claim = time.monotonic()
        with self.gateway.engine.connect() as connection:
            with self.gateway.writing():
                claimed = claim_next(connection, self.name, self.line_id)
                if claimed is None:
                    connection.rollback()
                    self._seen_work = generation
                    return False
                prepared = self._prepare(connection, claimed)
            if prepared is None:
                return True
            try:
                self._set_state("busy")  # only now: the claim held the database's write lock
                self._transmit(connection, claimed, *prepared)
            except Superseded:
                pass
            finally:
                if self.state == "busy":
                    self._set_state("ready")
        return True

    def _prepare(
        self, connection: Connection, claimed: Claimed
    ) -> tuple[list[EncodedPdu], set[int]] | None:
        """Inside the claim's transaction: encode, then commit ``sending`` (None: not sent)."""
        vault = self.gateway.vault
        try:
            number = self._number_of(connection, claimed.contact_id)
            if not self._consent_allows(connection, claimed, number):
                self._commit(connection)
                return None
            body = vault.decrypt(claimed.body_enc, "messages", "body", claimed.id)
            pdus = encode_submit(
                number,
                body,
                request_status_report=claimed.request_report,
                concat_reference=claimed.concat_reference or 0,
            )
            # A retry sends only the parts still missing (the phone joins them by reference).
            done = sent_sequences(connection, claimed) if claimed.attempts else set()
            start_sending(connection, claimed, self.line_id, self.name)
        except (PduError, LookupError) as exc:
            detail = f"cannot encode: {type(exc).__name__}"
            transition(connection, claimed, "failed", self.name, detail, claimed_by=None)
            self._commit(connection)
            return None
        except InvalidTransition:
            connection.rollback()  # changed by someone else meanwhile: not sent
            return None
        except BaseException:
            connection.rollback()  # the claim goes with it: the message stays queued
            raise
        self._commit(connection)
        return pdus, done

    def _consent_allows(self, connection: Connection, claimed: Claimed, number: str) -> bool:
        """The ledger and quiet hours read again in the claim's transaction: a STOP that
        came while the message waited blocks it; quiet hours put marketing off."""
        now = datetime.now(UTC)
        verdict = before_send(
            connection, self.gateway.config, claimed.contact_id, number, claimed.purpose, now
        )
        if verdict.block is not None:
            code, text = verdict.block
            transition(
                connection, claimed, "blocked", self.name, text, claimed_by=None, error_code=code
            )
            return False
        if verdict.wait_until is not None:
            later = verdict.wait_until
            detail = "quiet hours: put off until the recipient's allowed hours"
            transition(
                connection,
                claimed,
                "scheduled",
                self.name,
                detail,
                claimed_by=None,
                send_at=later,
                next_attempt_at=later,
            )
            return False
        return True

    def _transmit(
        self, connection: Connection, claimed: Claimed, pdus: list[EncodedPdu], done: set[int]
    ) -> None:
        """AT+CMGS for each part, each reference committed right after its +CMGS."""
        config = self.gateway.config
        finished = False
        try:
            for sequence, pdu in enumerate(pdus, start=1):
                if sequence in done:
                    continue
                reference = self.modem.send_pdu(pdu)
                self.turned_at = time.monotonic()  # a long message is many steps' worth
                last = sequence == len(pdus)  # the message is sent with its last reference
                sent = partial(self._part_sent, connection, claimed, sequence, reference, last)
                self._record(connection, claimed, sent)
                finished = finished or last
            if not finished:  # a retry whose last part had gone out before
                self._record(
                    connection, claimed, partial(finish_sent, connection, claimed, self.name)
                )
        except SubmitUnknown:
            detail = "no answer after AT+CMGS"
            unknown = partial(
                transition, connection, claimed, "unknown", self.name, detail, claimed_by=None
            )
            self._record(connection, claimed, unknown)
            raise
        except ModemError as exc:
            failed = partial(send_failed, connection, claimed, exc, config, self.name)
            self._record(connection, claimed, failed)
            if exc.fault and not isinstance(exc, ModemGone):
                self._paused_until = time.monotonic() + FAULT_PAUSE
                self._set_state("backing_off", f"modem fault: {exc}")
                return
            if isinstance(exc, ModemTimeout | ModemGone):
                raise

    def _part_sent(
        self, connection: Connection, claimed: Claimed, sequence: int, reference: int, last: bool
    ) -> None:
        part_sent(connection, claimed, sequence, reference, self.line_id)
        if last:
            finish_sent(connection, claimed, self.name)

    def _record(self, connection: Connection, claimed: Claimed, write: Callable[[], None]) -> None:
        """Commit what the modem just did, waiting for the database as long as it takes.

        The modem has already acted, so its outcome (a message reference above all) is
        not dropped because the disk is full or the database locked for a while. Until
        it commits, the message stays ``sending``; a worker stopped meanwhile leaves it
        so, and start-up marks it ``unknown`` rather than sending it twice.
        """
        status, attempts = claimed.status, claimed.attempts
        while True:
            try:
                with self.gateway.writing():
                    write()
                    self._commit(connection)
                return
            except OperationalError as exc:
                connection.rollback()
                # The transition did not happen after all: the next try starts from the same.
                claimed.status, claimed.attempts = status, attempts
                self._database_unavailable(exc)
                if self.stopping.is_set():
                    raise
            except InvalidTransition:
                # Someone changed the message meanwhile: another box took this one over
                # while the database was out of reach and marked it unknown. Its verdict
                # stands (nothing is resent behind anyone's back); this box sends no more
                # of it and goes on with its modem.
                connection.rollback()
                logger.warning(
                    "%s: message %s changed while its send was being recorded; left as it is",
                    self.name,
                    claimed.id,
                )
                raise Superseded from None

    def _database_unavailable(self, exc: OperationalError) -> None:
        """Pause, then try again: the unit of work was rolled back whole (a claim with it,
        so its message is still queued), and nothing is lost by waiting."""
        reason = getattr(exc.orig, "sqlite_errorname", None) or type(exc.orig).__name__
        logger.warning(
            "%s: the database refused a write (%s); trying again in %.0f s",
            self.name,
            reason,
            DATABASE_PAUSE,
        )
        self.stopping.wait(DATABASE_PAUSE)

    @staticmethod
    def _commit(connection: Connection) -> None:
        connection.commit()
        announce_committed()  # webhook deliveries written here leave at once

    def _number_of(self, connection: Connection, contact_id: str) -> str:
        """A contact's number, decrypted once per worker run (bounded cache)."""
        number = self._numbers.get(contact_id)
        if number is None:
            number_enc = contact_number_enc(connection, contact_id)
            if number_enc is None:
                raise LookupError("message without contact")
            number = self.gateway.vault.decrypt(number_enc, "contacts", "number", contact_id)
            if len(self._numbers) >= NUMBER_CACHE:
                self._numbers.clear()
            self._numbers[contact_id] = number
        return number

    def handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, MessageWaiting):
                self.receive_stored(self.modem.read_message(event.index, event.storage))
            elif isinstance(event, MessageReceived | ReportReceived):
                self._store_event(event)
            elif isinstance(event, RegistrationChanged):
                self._next_health = 0.0
            elif isinstance(event, Unreadable):
                logger.warning(
                    "%s: unreadable message at %s: %s", self.name, event.index, event.reason
                )

    def receive_stored(self, stored: StoredMessage) -> None:
        """Commit a stored message or report, then delete it from the modem."""
        if isinstance(stored.event, Unreadable):
            # Kept on the SIM for a person to look at; never deleted unread.
            logger.warning("%s: unreadable stored message %d", self.name, stored.index)
            return
        self._store_event(stored.event)
        self.modem.delete_message(stored.index, stored.storage)

    def _store_event(self, event: MessageReceived | ReportReceived) -> None:
        config = self.gateway.config
        replied = False
        with self.gateway.sessions() as session, self.gateway.writing():
            if isinstance(event, MessageReceived):
                message = receive(
                    session,
                    self.gateway.vault,
                    self.line_id,
                    event.message,
                    config.numbers.default_region,
                    mask_cards=config.inbox.mask_inbound_cards,
                )
                if message is not None:
                    replied = self._take_in(session, message)
            else:
                apply_report(
                    session,
                    self.gateway.vault,
                    self.line_id,
                    event.report,
                    default_region=config.numbers.default_region,
                    window_hours=config.inbound.report_window_hours,
                )
            session.commit()
        if replied:
            self.work.notify()  # the confirmation leaves at once

    def _take_in(self, session: Session, message: Message) -> bool:
        gateway = self.gateway
        return take_in(session, gateway.vault, gateway.config, gateway.office, message)

    def sweep(self) -> None:
        """List the modem's storage: messages whose notification was lost, or that came
        while the worker was down, are received here."""
        self._next_sweep = time.monotonic() + self.gateway.config.inbound.poll_seconds
        for stored in self.modem.list_messages():
            self.receive_stored(stored)
        if self.modem.report_mode == "stored":
            for stored in self.modem.list_messages("SR"):
                self.receive_stored(stored)

    def check_health(self) -> None:
        self._next_health = time.monotonic() + self.gateway.config.worker.health_seconds
        signal = self.modem.signal()
        registration = self.modem.registration()
        operator = self.modem.operator() if registration.registered else None
        with self.gateway.sessions() as session:
            line = session.get(Line, self.line_id)
            if line is not None:
                line.signal_dbm = signal.dbm
                line.registration = registration.status
                line.operator = operator
                line.updated_at = datetime.now(UTC)
                session.commit()

    # -- line state -------------------------------------------------------------------

    def _set_state(self, state: str, detail: str | None = None) -> None:
        # ready <-> busy flips with every message: kept in memory, not worth a commit each.
        quiet = state in ("ready", "busy") and self.state in ("ready", "busy")
        self.state = state
        if quiet:
            return
        if detail:
            logger.info("%s: %s (%s)", self.name, state, detail)
        with self.gateway.sessions() as session:
            line = session.get(Line, self.line_id)
            if line is not None:
                line.state = state
                line.state_detail = detail
                line.updated_at = datetime.now(UTC)
                session.commit()

    def _record_identity(self) -> None:
        identity = self.modem.identity
        with self.gateway.sessions() as session:
            line = session.get(Line, self.line_id)
            if line is not None and identity is not None:
                line.device = self.modem.device
                line.imei = identity.imei
                line.imsi = identity.imsi
                line.number = line.number or identity.number
                session.commit()
