"""``smsgw worker``: the only process that touches serial ports.

Threads: one ``modem-<line>`` per modem (``gateway.runner``), ``wake-listener`` for nudges
from other processes, ``webhooks`` for webhook deliveries (``gateway.delivery``), and the
main thread for housekeeping (scheduled sends, expiry, incomplete inbound messages).
SIGTERM stops it gracefully: the AT command in flight completes and is recorded before the
port closes.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from types import FrameType

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.app import Gateway
from gateway.delivery import Sender, deliver_one, seconds_until_due
from gateway.housekeeping import (
    any_scheduled_due,
    expire_queued,
    promote_scheduled,
    recover_after_crash,
)
from gateway.inbound import flush_stale_parts
from gateway.models import Line, new_id
from gateway.runner import ModemRunner
from gateway.wake import WakeListener, WorkSignal
from gateway.webhooks import DELIVERIES_DUE, attach_vault
from modem.device import Timeouts

logger = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = 1.0
SLOW_CHORES_EVERY = 10.0
# New deliveries wake the webhooks thread (a commit in this process, or a nudge from another);
# otherwise it sleeps until the next retry falls due, looking at least this often.
WEBHOOKS_EVERY = 60.0


class Worker:
    def __init__(
        self, gateway: Gateway, *, name: str | None = None, timeouts: Timeouts | None = None
    ) -> None:
        self.gateway = gateway
        self.timeouts = timeouts
        self.name = name or socket.gethostname()
        self.work = WorkSignal()
        self.stopping = threading.Event()
        self.runners: list[ModemRunner] = []
        self._next_slow_chores = 0.0
        self._listener = WakeListener(gateway.config.wake_socket_path, self.work)
        attach_vault(gateway.engine, gateway.vault)
        self._webhooks_due = DELIVERIES_DUE
        self.work.subscribe(self._webhooks_due.set)
        # A daemon: a receiver that never answers must not keep the process alive.
        self._webhooks = threading.Thread(
            target=self.deliver_webhooks, name="webhooks", daemon=True
        )

    def start(self) -> None:
        with self.gateway.sessions() as session:
            recovered = recover_after_crash(
                session, resend_unknown=self.gateway.config.queue.resend_unknown
            )
            line_ids = self._sync_lines(session)
            session.commit()
        if recovered.unknown or recovered.requeued:
            logger.warning(
                "after an unclean stop: %d message(s) now unknown, %d returned to the queue",
                recovered.unknown,
                recovered.requeued,
            )
        self._listener.start()
        self._webhooks.start()
        for modem_config, line_id in zip(self.gateway.config.modems, line_ids, strict=True):
            runner = ModemRunner(
                self.gateway,
                modem_config,
                line_id,
                self.work,
                self.stopping,
                worker_name=self.name,
                timeouts=self.timeouts,
            )
            self.runners.append(runner)
            runner.start()
        logger.info("worker started with %d modem(s)", len(self.runners))

    def _sync_lines(self, session: Session) -> list[str]:
        """Each configured modem is a line, found by name and kept across restarts."""
        ids = []
        for modem_config in self.gateway.config.modems:
            line = session.scalar(select(Line).where(Line.name == modem_config.line))
            if line is None:
                line = Line(id=new_id("ln"), name=modem_config.line, device=modem_config.device)
                session.add(line)
            line.device = modem_config.device
            line.number = modem_config.number or line.number
            ids.append(line.id)
        return ids

    def housekeeping(self) -> None:
        """Scheduled sends every second; expiry and stale parts every ``SLOW_CHORES_EVERY``."""
        config = self.gateway.config
        now = time.monotonic()
        slow = now >= self._next_slow_chores
        if not slow:
            with self.gateway.engine.connect() as connection:
                if not any_scheduled_due(connection):
                    return  # the usual second: nothing to do, and it cost one small query
        with self.gateway.sessions() as session:
            promoted = promote_scheduled(session)
            if slow:
                self._next_slow_chores = now + SLOW_CHORES_EVERY
                expire_queued(session)
                flush_stale_parts(session, self.gateway.vault, config.inbound.part_timeout_seconds)
            session.commit()
        if promoted:
            self.work.notify()

    def deliver_webhooks(self) -> None:
        """The ``webhooks`` thread: one delivery at a time, so a stop is seen between them."""
        sender = Sender(self.gateway.config)
        while not self.stopping.is_set():
            self._webhooks_due.clear()
            try:
                while not self.stopping.is_set() and deliver_one(self.gateway, sender):
                    pass
            except Exception:  # the thread must outlive a failed delivery; it is logged
                logger.exception("webhook delivery failed")
            try:
                pause = seconds_until_due(self.gateway, WEBHOOKS_EVERY)
            except Exception:  # the database is away for a moment: look again soon
                logger.exception("cannot read the webhook queue")
                pause = 1.0
            self._webhooks_due.wait(pause)

    def run_until_stopped(self) -> None:
        while not self.stopping.wait(HOUSEKEEPING_EVERY):
            try:
                self.housekeeping()
            except Exception:  # the loop must outlive a failed chore; it is logged
                logger.exception("housekeeping failed")

    def stop(self) -> None:
        self.stopping.set()
        self.work.notify()  # wake the modem threads so they see the stop at once
        for runner in self.runners:
            runner.join()
        if self._webhooks.is_alive():
            # A request in flight may finish. One that hangs is left behind: its attempt is
            # already committed, and the delivery is tried again once its lease runs out.
            self._webhooks.join(self.gateway.config.webhooks.timeout_seconds + 5)
        self._listener.stop()
        logger.info("worker stopped")

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("signal %d: stopping after the command in flight", signum)
            self.stopping.set()
            self.work.notify()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
