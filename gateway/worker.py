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
import threading
import time
from datetime import timedelta
from types import FrameType

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import cluster, panel_sessions, retention, signin
from gateway.app import Gateway
from gateway.backup_schedule import DailyBackups
from gateway.cluster import worker_name
from gateway.conversations import wake_snoozed
from gateway.delivery import Sender, deliver_one, seconds_until_due
from gateway.housekeeping import (
    any_scheduled_due,
    expire_queued,
    promote_scheduled,
    recover_after_crash,
)
from gateway.inbound import flush_stale_parts
from gateway.intake import take_in
from gateway.models import Line, WorkerLease, new_id
from gateway.runner import ModemRunner
from gateway.sdnotify import Notifier
from gateway.wake import PostgresListener, WakeListener, WorkSignal
from gateway.webhooks import DELIVERIES_DUE, attach_vault
from modem.device import Timeouts

logger = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = 1.0
SLOW_CHORES_EVERY = 10.0
# New deliveries wake the webhooks thread (a commit in this process, or a nudge from another);
# otherwise it sleeps until the next retry falls due, looking at least this often.
WEBHOOKS_EVERY = 60.0
# A modem thread that has not come round its loop for this long is stuck (in the kernel: a
# wedged USB serial driver), not busy: the driver's own timeouts end every AT command within
# a minute, a fault pause lasts 30 s, and finding a re-plugged modem among every candidate
# port takes a couple of minutes at worst. Then the watchdog is starved and systemd
# restarts the worker.
MODEM_STALL_SECONDS = 300.0


class WorkerConflict(RuntimeError):
    """The configuration clashes with another box sharing the database."""


class Worker:
    def __init__(
        self,
        gateway: Gateway,
        *,
        name: str | None = None,
        timeouts: Timeouts | None = None,
        notifier: Notifier | None = None,
        stall_seconds: float = MODEM_STALL_SECONDS,
    ) -> None:
        self.gateway = gateway
        self.timeouts = timeouts
        self.notifier = notifier or Notifier()  # does nothing unless systemd asked for it
        self.stall_seconds = stall_seconds
        self._chores_ok = True
        self._health_status: str | None = None
        self.name = name or worker_name(gateway.config.worker.name)
        self.shared = gateway.engine.dialect.name == "postgresql"  # boxes share the queue
        self.work = WorkSignal()
        self.stopping = threading.Event()
        self.runners: list[ModemRunner] = []
        self._next_slow_chores = 0.0
        self._takeover_freed = False
        self.backups = DailyBackups(gateway)  # [backup]: in a thread of its own when due
        self._listener = WakeListener(gateway.config.wake_socket_path, self.work)
        self._pg_listener = (
            PostgresListener(gateway.config.database_url, self.work) if self.shared else None
        )
        attach_vault(gateway.engine, gateway.vault)
        self._webhooks_due = DELIVERIES_DUE
        self.work.subscribe(self._webhooks_due.set)
        # A daemon: a receiver that never answers must not keep the process alive.
        self._webhooks = threading.Thread(
            target=self.deliver_webhooks, name="webhooks", daemon=True
        )

    def start(self) -> None:
        resend = self.gateway.config.queue.resend_unknown
        with self.gateway.sessions() as session, self.gateway.writing():
            if self.shared:
                # Only this box's own claims: the others' are theirs while their leases
                # hold, and taken over by housekeeping when they lapse.
                recovered = cluster.release_claims(
                    session, self.name, resend_unknown=resend, detail="worker stopped"
                )
            else:
                recovered = recover_after_crash(session, resend_unknown=resend)
            cluster.register(session, self.name)
            line_ids = self._sync_lines(session)
            session.commit()
        if recovered.unknown or recovered.requeued:
            logger.warning(
                "after an unclean stop: %d message(s) now unknown, %d returned to the queue",
                recovered.unknown,
                recovered.requeued,
            )
        self._listener.start()
        if self._pg_listener is not None:
            self._pg_listener.start()
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
        self._health_status = f"running with {len(self.runners)} modem(s)"
        self.notifier.ready(self._health_status)

    def _sync_lines(self, session: Session) -> list[str]:
        """Each configured modem is a line, found by name and kept across restarts."""
        ids = []
        for modem_config in self.gateway.config.modems:
            line = session.scalar(select(Line).where(Line.name == modem_config.line))
            if line is not None and line.worker not in (None, self.name):
                holder = session.get(WorkerLease, line.worker)
                if holder is not None and cluster.is_live(holder, self.gateway.config):
                    raise WorkerConflict(
                        f"line {modem_config.line!r} is the modem of box {line.worker!r}, "
                        "which is running: give this box's modem another line name"
                    )
            if line is None:
                line = Line(id=new_id("ln"), name=modem_config.line, device=modem_config.device)
                session.add(line)
            line.device = modem_config.device
            line.worker = self.name
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
                self._hold_lease(session)
                expire_queued(session)
                vault = self.gateway.vault
                for message in flush_stale_parts(
                    session,
                    vault,
                    config.inbound.part_timeout_seconds,
                    mask_cards=config.inbox.mask_inbound_cards,
                ):
                    replied = take_in(session, vault, config, self.gateway.office, message)
                    promoted = promoted or replied
                wake_snoozed(session)
                # Ended panel sessions and old sign-in failures: nothing to keep them for.
                panel_sessions.sweep(session, timedelta(minutes=config.web.session_idle_minutes))
                signin.forget_old_failures(session)
                if retention.due(session):
                    run = retention.purge(session, config)
                    logger.info(
                        "retention: %d message bodies and %d consent events purged",
                        run.bodies_purged,
                        run.consent_events_purged,
                    )
            session.commit()
        if slow:
            self.backups.tick()
        if promoted or self._takeover_freed:
            self._takeover_freed = False
            self.work.notify()

    def _hold_lease(self, session: Session) -> None:
        """Renew this box's lease; take over any box whose lease ran out."""
        config = self.gateway.config
        if not cluster.beat(session, self.name):
            logger.error("another box took this one over (the database was out of reach)")
            cluster.register(session, self.name)
            # The take-over showed this box's lines offline: they are this box's again,
            # in the state each modem thread is in now.
            for runner in self.runners:
                line = session.get(Line, runner.line_id)
                if line is not None:
                    line.worker = self.name
                    line.state = runner.state or "offline"
                    line.state_detail = None
        taken = cluster.take_over_dead(
            session,
            self.name,
            config.worker.lease_seconds,
            resend_unknown=config.queue.resend_unknown,
        )
        if any(t.released.requeued for t in taken):
            self._takeover_freed = True

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
        """Housekeeping every second; the systemd watchdog is fed from here, while healthy."""
        interval = self.notifier.watchdog_interval or HOUSEKEEPING_EVERY
        tick = min(HOUSEKEEPING_EVERY, interval)
        next_chores = time.monotonic() + HOUSEKEEPING_EVERY
        while not self.stopping.wait(tick):
            if time.monotonic() >= next_chores:
                next_chores = time.monotonic() + HOUSEKEEPING_EVERY
                try:
                    self.housekeeping()
                    self._chores_ok = True
                except Exception:  # the loop must outlive a failed chore; it is logged
                    logger.exception("housekeeping failed")
                    self._chores_ok = False
            self._feed_watchdog()

    def health_problem(self) -> str | None:
        """Why a restart would help, or None. A modem that is unplugged, hung or without
        network is not a reason: its thread handles that and keeps turning, and a restart
        would interrupt the other modems. A thread that died or is stuck past every
        timeout, or housekeeping that fails (the database), is."""
        if not self._chores_ok:
            return "housekeeping failed (see the log)"
        now = time.monotonic()
        for runner in self.runners:
            line = runner.modem_config.line
            if not runner.is_alive():
                return f"the thread of line {line!r} has ended"
            if now - runner.turned_at > self.stall_seconds:
                # The same text while it lasts: the status and the log change once.
                return f"the thread of line {line!r} is stuck (over {self.stall_seconds:g} s)"
        return None

    def _feed_watchdog(self) -> None:
        problem = self.health_problem()
        status = f"running with {len(self.runners)} modem(s)" if problem is None else problem
        if status != self._health_status:  # on a change only: systemctl status shows it
            if problem is not None:
                logger.error("unhealthy, no longer feeding the watchdog: %s", problem)
            self.notifier.status(status)
            self._health_status = status
        if problem is None:
            self.notifier.watchdog()

    def stop(self) -> None:
        self.notifier.stopping("stopping after the commands in flight")
        self.stopping.set()
        self.work.notify()  # wake the modem threads so they see the stop at once
        for runner in self.runners:
            runner.join()
        if self._webhooks.is_alive():
            # A request in flight may finish. One that hangs is left behind: its attempt is
            # already committed, and the delivery is tried again once its lease runs out.
            self._webhooks.join(self.gateway.config.webhooks.timeout_seconds + 5)
        self._listener.stop()
        if self._pg_listener is not None:
            self._pg_listener.stop()
        try:
            with self.gateway.sessions() as session, self.gateway.writing():
                cluster.stopped(session, self.name)
                session.commit()
        except Exception:  # the database is away: the lease simply runs out
            logger.exception("could not record the stop")
        logger.info("worker stopped")

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("signal %d: stopping after the command in flight", signum)
            self.stopping.set()
            self.work.notify()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
