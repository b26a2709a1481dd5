"""Several boxes, one PostgreSQL queue: each box a worker with modems of its own.

A box here is a data directory (its own wake socket), a ``Gateway`` on the shared database
with the shared master key, a bank of emulated modems and a ``Worker`` with its own name
and line names. Most boxes run in this process, each worker in its own threads; the box
that is killed runs ``smsgw worker`` in a process of its own, so that it dies like a crash:
no clean stop, its database connections cut, its lease left to run out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway import cluster as leases
from gateway import runner
from gateway import worker as worker_module
from gateway.app import Gateway, open_gateway
from gateway.config import Config, ModemConfig
from gateway.models import Line, Message, MessageEvent, WorkerLease, utcnow
from gateway.outbound import SendRequest, enqueue
from gateway.wake import PostgresListener, WorkSignal, notify_workers
from gateway.worker import Worker, WorkerConflict
from modem.sim import SimBank
from tests.gateway.conftest import FAST, wait_until

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

LEASE = 15.0  # the shortest the config allows; boxes renew every SLOW_CHORES_EVERY (10 s)
RATE = 600  # messages per minute and modem: the most the config allows
MESSAGES = 2000
DRAIN_DEADLINE = 60.0
TAKEOVER_DEADLINE = 45.0  # from the kill: the lease runs out, a survivor's chores notice
RECIPIENTS = tuple(f"+1201555{n:04d}" for n in range(120, 126))
CUSTOMER = "+12015550199"
OTHER = "+12015550142"
DONE = ("sent", "delivered")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(config: Config) -> Config:
    # Every box: a lease as short as allowed, still longer than the 10 s between renewals.
    return replace(config, worker=replace(config.worker, lease_seconds=LEASE))


class Box:
    """One appliance: its own gateway (data directory), emulated modems and worker."""

    def __init__(
        self, name: str, gateway: Gateway, bank: SimBank, lines: list[str], rate: int
    ) -> None:
        self.name = name
        self.bank = bank
        self.lines = lines
        modems = [
            ModemConfig(device=handle.device_path, line=line, rate_per_minute=rate)
            for handle, line in zip(bank, lines, strict=True)
        ]
        self.gateway = replace(gateway, config=gateway.config.with_modems(modems))
        self.worker = Worker(self.gateway, name=name, timeouts=FAST)
        self._housekeeping: threading.Thread | None = None

    def start(self) -> Box:
        self.worker.start()  # raises WorkerConflict before anything runs
        self._housekeeping = threading.Thread(
            target=self.worker.run_until_stopped, name=f"housekeeping-{self.name}"
        )
        self._housekeeping.start()
        return self

    def stop(self) -> None:
        if self._housekeeping is None:
            return  # never started (or refused to)
        self.worker.stop()
        self._housekeeping.join(10)
        self._housekeeping = None

    def texts(self, to: str | None = None) -> list[str]:
        """What this box's modems handed to the network, in order, per modem."""
        return [
            part.text
            for handle in self.bank
            for part in handle.outbox()
            if to is None or part.recipient == to
        ]


@dataclass
class ProcessBox:
    process: subprocess.Popen[bytes]
    bank: SimBank
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            output = self.log.read_text(errors="replace")
            raise AssertionError(f"smsgw worker exited ({self.process.returncode}):\n{output}")


class Cluster:
    """Makes boxes sharing the test's database and master key; undoes it all in close()."""

    def __init__(self, config: Config, gateway: Gateway) -> None:
        self.config = config
        self.first = gateway  # the fixture's: the first box's, closed by its fixture
        self._first_taken = False
        # Each thing made registers its undoing: run last made first, every one of them
        # even when another fails.
        self._undo = ExitStack()

    def directory(self) -> Path:
        """A box's data directory: short (sockets live in it), the shared master key in it."""
        directory = Path(tempfile.mkdtemp(prefix="smsgw-"))
        self._undo.callback(shutil.rmtree, directory, ignore_errors=True)
        key = directory / "master.key"
        shutil.copyfile(self.config.master_key_path, key)
        key.chmod(0o600)
        return directory

    def gateway(self) -> Gateway:
        if not self._first_taken:
            self._first_taken = True
            return self.first
        opened = open_gateway(replace(self.config, data_dir=self.directory()))
        self._undo.callback(opened.close)
        return opened

    def bank(self, directory: Path, modems: int, **sim: Any) -> SimBank:
        options = {"auto_report_delay": 0.05, **sim}
        bank = SimBank(directory / "sim", modems, **options).start()
        self._undo.callback(bank.stop)
        return bank

    def box(
        self,
        name: str,
        modems: int = 2,
        *,
        lines: list[str] | None = None,
        rate: int = RATE,
        **sim: Any,
    ) -> Box:
        gateway = self.gateway()
        bank = self.bank(gateway.config.data_dir, modems, **sim)
        lines = lines or [f"{name} line {n + 1}" for n in range(modems)]
        box = Box(name, gateway, bank, lines, rate)
        self._undo.callback(box.stop)
        return box

    def process_box(self, name: str, line: str, **sim: Any) -> ProcessBox:
        """``smsgw worker`` in a process of its own, driving one emulated modem (ours)."""
        directory = self.directory()
        bank = self.bank(directory, 1, **sim)
        config_file = directory / "smsgw.toml"
        config_file.write_text(
            _toml(
                {
                    "data_dir": str(directory),
                    "database": {"url": self.config.database.url},
                    "worker": {"name": name, "lease_seconds": LEASE, "health_seconds": 5},
                    "consent": {"transactional": self.config.consent.transactional},
                    "inbound": {"poll_seconds": 1},
                },
                {"device": bank[0].device_path, "line": line, "rate_per_minute": RATE},
            ),
            encoding="utf-8",
        )
        log = directory / "worker.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SMSGW_")}
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "--config", str(config_file), "worker"],
                cwd=REPO,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._undo.callback(_end, process)
        return ProcessBox(process, bank, log)

    def close(self) -> None:
        self._undo.close()


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(10)


def _toml(top: dict[str, Any], modem: dict[str, Any]) -> str:
    # JSON strings and numbers are TOML's too (the paths and the URL are plain ASCII).
    def pairs(table: dict[str, Any]) -> list[str]:
        return [f"{key} = {json.dumps(value)}" for key, value in table.items()]

    lines = pairs({k: v for k, v in top.items() if not isinstance(v, dict)})
    for section, table in top.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]", *pairs(table)]
    lines += ["", "[[modems]]", *pairs(modem)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def cluster(config: Config, gateway: Gateway) -> Iterator[Cluster]:
    made = Cluster(config, gateway)
    try:
        yield made
    finally:
        made.close()


# -- reading the shared database ---------------------------------------------------------


def queue(gateway: Gateway, *requests: SendRequest) -> list[str]:
    """Enqueue in one transaction that wakes every box's worker (NOTIFY) at its commit."""
    with gateway.sessions() as session:
        ids = [enqueue(session, gateway.vault, gateway.config, r).id for r in requests]
        notify_workers(session)
        session.commit()
    return ids


def statuses(gateway: Gateway, ids: list[str] | None = None) -> dict[str, str]:
    query = select(Message.id, Message.status).where(Message.direction == "out")
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    with gateway.sessions() as session:
        return {id_: status for id_, status in session.execute(query)}


def unfinished(gateway: Gateway, ids: list[str]) -> list[str]:
    return [m for m, status in statuses(gateway, ids).items() if status not in DONE]


def waiting(gateway: Gateway, *, unbound_only: bool = False) -> int:
    """Outbound messages not yet ``sent`` (nor ``unknown``): one cheap count to poll."""
    query = (
        select(func.count())
        .select_from(Message)
        .where(Message.direction == "out", Message.status.not_in((*DONE, "unknown")))
    )
    if unbound_only:
        query = query.where(Message.line_id.is_(None))
    with gateway.sessions() as session:
        return session.scalar(query)


def lease(gateway: Gateway, name: str) -> WorkerLease | None:
    with gateway.sessions() as session:
        return session.get(WorkerLease, name)


def line(gateway: Gateway, name: str) -> Line | None:
    with gateway.sessions() as session:
        return session.scalar(select(Line).where(Line.name == name))


def sent_through(gateway: Gateway, box: Box) -> Counter[str]:
    """The bodies the database says went out through the box's lines."""
    with gateway.sessions() as session:
        line_ids = session.scalars(select(Line.id).where(Line.name.in_(box.lines))).all()
        rows = session.execute(
            select(Message.id, Message.body_enc).where(
                Message.via_line_id.in_(line_ids), Message.status.in_(DONE)
            )
        ).all()
    return Counter(gateway.vault.decrypt(body, "messages", "body", id_) for id_, body in rows)


# -- many boxes drain one queue ------------------------------------------------------------


@pytest.mark.parametrize(("boxes", "modems"), [(2, 6), (3, 4)], ids=["two-boxes", "three-boxes"])
def test_it_sends_each_message_exactly_once_across_boxes(
    cluster: Cluster,
    gateway: Gateway,
    boxes: int,
    modems: int,
) -> None:
    running = [cluster.box(f"box-{chr(ord('a') + n)}", modems).start() for n in range(boxes)]
    for box in running:
        for name in box.lines:
            wait_until(lambda n=name: line(gateway, n).state == "ready", what=f"{name} ready")
    bodies = [f"n{i}" for i in range(MESSAGES)]
    requests = [
        SendRequest(to=RECIPIENTS[i % len(RECIPIENTS)], body=b) for i, b in enumerate(bodies)
    ]
    ids = queue(gateway, *requests)
    began = time.monotonic()
    wait_until(lambda: waiting(gateway) == 0, DRAIN_DEADLINE, "the queue drained")
    drained = time.monotonic() - began

    sent = Counter(text for box in running for text in box.texts())
    assert sent == Counter(bodies)  # each body once, across every modem of every box
    shares = [len(box.texts()) for box in running]
    print(f"{boxes} boxes x {modems} modems: {MESSAGES} sent in {drained:.1f} s, {shares}")
    assert min(shares) >= MESSAGES // (2 * boxes), shares  # each took a fair part
    for box in running:  # and the database agrees about which box sent what
        assert sent_through(gateway, box) == Counter(box.texts())
        # Renewing every 10 s, no box was ever taken for dead by the others.
        assert leases.is_live(lease(gateway, box.name), gateway.config)
    final = statuses(gateway)
    assert sorted(final) == sorted(ids) and set(final.values()) <= set(DONE)


# -- a box dies --------------------------------------------------------------------------


def stuck_in_at_cmgs(gateway: Gateway, box: str) -> list[str]:
    """Its messages in ``sending`` for over a second (the modem holds the answer back)."""
    with gateway.sessions() as session:
        return list(
            session.scalars(
                select(Message.id).where(
                    Message.status == "sending",
                    Message.claimed_by.startswith(f"{box}/"),
                    Message.updated_at < utcnow() - timedelta(seconds=1),
                )
            )
        )


def test_it_takes_over_a_box_that_was_killed_mid_drain(cluster: Cluster, gateway: Gateway) -> None:
    survivor = cluster.box("box-a", 2).start()
    doomed = cluster.process_box("box-b", "B1", send_delay=0.2)
    dead_bank = doomed.bank

    def b_ready() -> bool:
        doomed.check_alive()
        found = line(gateway, "B1")
        return found is not None and found.state == "ready"

    wait_until(b_ready, 60, "box-b's line ready")
    unbound = [SendRequest(to=RECIPIENTS[i % len(RECIPIENTS)], body=f"u{i}") for i in range(400)]
    # Bound to box-b's line, after every unbound one: only box-b may send them.
    bound = [SendRequest(to=OTHER, body=f"b{i}", line="B1", priority=9) for i in range(5)]
    unbound_ids = queue(gateway, *unbound)
    bound_ids = queue(gateway, *bound)

    wait_until(lambda: len(dead_bank[0].outbox()) >= 5, 30, "box-b sending")
    dead_bank[0].fault("send_delay", seconds=30)  # its next AT+CMGS is answered too late
    in_flight = wait_until(lambda: stuck_in_at_cmgs(gateway, "box-b"), 30, "box-b in AT+CMGS")
    doomed.check_alive()
    doomed.process.send_signal(signal.SIGKILL)
    doomed.process.wait(10)
    killed = time.monotonic()
    assert len(in_flight) == 1  # one modem: one message in AT+CMGS at the kill

    expected = [m for m in unbound_ids if m not in in_flight]

    def taken_over() -> bool:
        held = lease(gateway, "box-b")
        return held.taken_over_by is not None and waiting(gateway, unbound_only=True) == 0

    wait_until(taken_over, TAKEOVER_DEADLINE, "box-b taken over and its work done")
    took = time.monotonic() - killed
    print(f"box-b taken over and the queue drained {took:.1f} s after the kill")

    dead = lease(gateway, "box-b")
    assert (dead.taken_over_by, dead.stopped_at) == ("box-a", None), took
    assert leases.is_live(lease(gateway, "box-a"), gateway.config)
    b1 = line(gateway, "B1")
    assert b1.state == "offline" and "box-b" in (b1.state_detail or "")
    everything = statuses(gateway)
    assert [everything[m] for m in in_flight] == ["unknown"]  # never resent by itself
    assert {everything[m] for m in expected} <= set(DONE)
    assert {everything[m] for m in bound_ids} == {"queued"}  # waits for box-b's modem
    with gateway.sessions() as session:
        still_claimed = session.scalars(
            select(Message.id).where(Message.claimed_by.startswith("box-b/"))
        ).all()
        (unknown,) = session.scalars(
            select(MessageEvent).where(
                MessageEvent.message_id == in_flight[0], MessageEvent.status == "unknown"
            )
        ).all()
    assert still_claimed == []
    assert unknown.actor == "worker" and "box-b" in (unknown.detail or "")

    sent = Counter(survivor.texts()) + Counter(p.text for p in dead_bank[0].outbox())
    by_id = dict(zip(unbound_ids, (r.body for r in unbound), strict=True))
    assert {by_id[m]: sent[by_id[m]] for m in expected} == {by_id[m]: 1 for m in expected}
    assert sent[by_id[in_flight[0]]] <= 1
    assert not any(text.startswith("b") for text in sent)
    assert len(dead_bank[0].outbox()) >= 5 and len(survivor.texts()) > 200


# -- consent is one ledger ---------------------------------------------------------------


def test_it_blocks_another_boxs_queued_messages_when_a_stop_arrives(
    cluster: Cluster, gateway: Gateway, config: Config
) -> None:
    front = cluster.box("box-a", 1).start()
    # One message a minute: once it has sent one, box-b holds what it has queued a minute.
    back = cluster.box("box-b", 1, rate=1).start()
    queue(gateway, SendRequest(to=OTHER, body="first", line=back.lines[0]))
    wait_until(lambda: back.texts() == ["first"], what="box-b's first message")
    waiting = queue(
        gateway, *(SendRequest(to=CUSTOMER, body=f"r{n}", line=back.lines[0]) for n in range(3))
    )
    assert set(statuses(gateway, waiting).values()) == {"queued"}

    front.bank[0].inject(CUSTOMER, "STOP")
    confirmation = config.consent.opt_out_reply.replace("{business}", config.consent.business_name)
    wait_until(lambda: front.texts(CUSTOMER) == [confirmation], what="the confirmation")
    wait_until(
        lambda: set(statuses(gateway, waiting).values()) == {"blocked"}, what="blocked everywhere"
    )
    with gateway.sessions() as session:
        codes = session.scalars(select(Message.error_code).where(Message.id.in_(waiting))).all()
    assert codes == ["recipient_opted_out"] * 3
    assert back.texts() == ["first"]
    assert front.texts(CUSTOMER) == [confirmation]  # exactly one, from the line it came to


# -- leases and line names -----------------------------------------------------------------


def test_it_refuses_a_line_of_a_running_box_until_that_box_stops(
    cluster: Cluster, gateway: Gateway
) -> None:
    first = cluster.box("box-a", 1, lines=["Front desk"]).start()
    wait_until(lambda: line(gateway, "Front desk").state == "ready", what="the line ready")
    second = cluster.box("box-b", 1, lines=["Front desk"])
    with pytest.raises(WorkerConflict, match="box-a"):
        second.start()
    assert lease(gateway, "box-b") is None  # nothing of the refused start was kept
    assert line(gateway, "Front desk").worker == "box-a"

    first.stop()
    stopped = line(gateway, "Front desk")  # at once: no lease has to run out first
    assert (stopped.state, stopped.state_detail) == ("offline", "its box stopped")

    second.start()
    wait_until(lambda: line(gateway, "Front desk").state == "ready", what="the line back")
    assert line(gateway, "Front desk").worker == "box-b"
    queue(gateway, SendRequest(to=OTHER, body="hello", line="Front desk"))
    wait_until(lambda: second.texts() == ["hello"], what="sent through the second box")
    assert first.texts() == []


def test_it_takes_over_nobody_that_stopped_cleanly(cluster: Cluster, gateway: Gateway) -> None:
    box = cluster.box("box-a", 1).start()
    box.stop()
    stopped = lease(gateway, "box-a")
    assert stopped.stopped_at is not None and stopped.taken_over_at is None
    later = utcnow() + timedelta(hours=1)  # every lease has long run out by then
    with gateway.sessions() as session:
        # A box that crashed long ago, for comparison: that one is taken over.
        leases.register(session, "box-c", now=utcnow() - timedelta(hours=1))
        session.commit()
        taken = leases.take_over_dead(session, "box-b", LEASE, now=later)
        session.commit()
    assert [t.name for t in taken] == ["box-c"]
    after = lease(gateway, "box-a")
    assert (after.taken_over_at, after.taken_over_by) == (None, None)
    assert line(gateway, box.lines[0]).state_detail == "its box stopped"


# -- wake-ups cross boxes ------------------------------------------------------------------


def idle(worker: Worker) -> bool:
    """Every modem thread has looked at the queue since the last wake-up and found it empty."""
    return all(r._seen_work == worker.work.generation for r in worker.runners)


def test_it_wakes_another_boxs_worker_through_postgres(
    cluster: Cluster, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Box B would otherwise look at the queue every second by itself: here only a wake-up
    # makes it look, so a prompt send can only be box A's NOTIFY.
    monkeypatch.setattr(runner, "IDLE_CLAIM_EVERY", 3600.0)
    writer = cluster.gateway()  # box A: writes, runs no worker
    box = cluster.box("box-b", 1).start()
    woken = threading.Event()
    box.worker.work.subscribe(woken.set)
    wait_until(lambda: box.worker._pg_listener.listening.is_set(), what="box-b listening")
    wait_until(lambda: idle(box.worker), what="box-b idle")

    for n in range(2):
        woken.clear()
        body = f"wake {n}"
        started = time.monotonic()
        (message_id,) = queue(writer, SendRequest(to=OTHER, body=body))
        assert woken.wait(2.0), "no NOTIFY reached box-b"
        wait_until(lambda m=message_id: not unfinished(writer, [m]), 2.0, "sent by box-b")
        assert time.monotonic() - started < 2.0
        wait_until(lambda: idle(box.worker), what="box-b idle again")
    assert box.texts() == ["wake 0", "wake 1"]


def test_it_turns_a_notify_into_a_work_signal(gateway: Gateway) -> None:
    signal_ = WorkSignal()
    woken = threading.Event()
    signal_.subscribe(woken.set)
    listener = PostgresListener(gateway.config.database_url, signal_)
    listener.start()
    try:
        assert listener.listening.wait(10)
        with gateway.sessions() as session:
            notify_workers(session)
            session.commit()
        assert woken.wait(5)
        assert signal_.generation >= 1
    finally:
        listener.stop()


# -- known bugs --------------------------------------------------------------------------


def sent_or_thread_ended(gateway: Gateway, box: Box, message_id: str) -> bool:
    ended = not all(r.is_alive() for r in box.worker.runners)
    return ended or not unfinished(gateway, [message_id])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_it_sends_through_a_box_and_a_line_with_long_names(
    cluster: Cluster, gateway: Gateway
) -> None:
    # The box's name defaults to the host name; both names are well within their limits.
    name, line_name = "front-office-appliance-rack-2-basement", "Reception desk main number"
    box = cluster.box(name, 1, lines=[line_name]).start()
    (message_id,) = queue(gateway, SendRequest(to=OTHER, body="hello"))
    wait_until(lambda: sent_or_thread_ended(gateway, box, message_id), what="an outcome")
    assert all(r.is_alive() for r in box.worker.runners), "the modem thread ended"
    assert box.texts() == ["hello"]
    assert statuses(gateway, [message_id])[message_id] in DONE


def take_over_behind_its_back(gateway: Gateway, box: str) -> None:
    """What a survivor does once ``box``'s heartbeat is older than the lease (the box was
    cut off from the database, or its chores were held up, for longer than that)."""
    with gateway.sessions() as session:
        taken = leases.take_over_dead(session, "box-z", LEASE, now=utcnow() + timedelta(hours=1))
        session.commit()
    assert [t.name for t in taken] == [box]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_it_keeps_its_modem_running_when_taken_over_during_a_send(
    cluster: Cluster, gateway: Gateway
) -> None:
    box = cluster.box("box-a", 1).start()
    wait_until(lambda: line(gateway, box.lines[0]).state == "ready", what="the line ready")
    box.bank[0].fault("send_delay", seconds=2)
    (first,) = queue(gateway, SendRequest(to=OTHER, body="first"))
    wait_until(lambda: stuck_in_at_cmgs(gateway, "box-a"), what="in AT+CMGS")
    take_over_behind_its_back(gateway, "box-a")
    wait_until(lambda: box.texts() == ["first"], what="the late answer")
    box.bank[0].clear()
    (second,) = queue(gateway, SendRequest(to=OTHER, body="second"))
    wait_until(lambda: sent_or_thread_ended(gateway, box, second), what="an outcome")
    assert all(r.is_alive() for r in box.worker.runners), "the modem thread ended"
    assert statuses(gateway, [first])[first] == "unknown"  # the survivor's verdict stands
    assert box.texts() == ["first", "second"]


def test_it_shows_its_lines_again_after_registering_anew(
    cluster: Cluster, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "SLOW_CHORES_EVERY", 1.0)  # beat every second
    box = cluster.box("box-a", 1).start()
    name = box.lines[0]
    wait_until(lambda: line(gateway, name).state == "ready", what="the line ready")
    take_over_behind_its_back(gateway, "box-a")
    assert line(gateway, name).state == "offline"
    wait_until(lambda: leases.is_live(lease(gateway, "box-a"), gateway.config), what="back")
    (message_id,) = queue(gateway, SendRequest(to=OTHER, body="still here"))
    wait_until(lambda: not unfinished(gateway, [message_id]), what="sent by the box")
    assert line(gateway, name).state in ("ready", "busy")
