"""Several boxes sharing one PostgreSQL queue: benchmarks (printed, never asserted).

- drain: N unbound messages drained (a) by one box driving 4 emulated modems, (b) by two
  boxes ("box-a", "box-b": each its own `Gateway`, data directory and wake socket, the same
  master key and database) driving 2 modems each, (c) by one box with 4 modems on SQLite,
  for reference. Wall time from the workers' start until every message is sent, messages/s,
  per-box and per-modem counts, and the efficiency of (b) against (a). The workers are the
  real `gateway.worker.Worker`, in this process (threads, as in the tests' rig); the
  emulated modems run here too, all four in one `SimBank` with the same settings.
- claims: M queued unbound messages claimed by 4 workers at once, then by 1. Each worker is
  a process of its own with its own engine and connection: processes, not threads, so the
  workers do not share one GIL, which is closer to 4 boxes. Each claim is
  `gateway.sending.claim_next`, then the runner's own writes with no modem in between:
  `start_sending` (committed with the claim, as `ModemRunner._prepare` does), then
  `part_sent` + `finish_sent` (committed, as `ModemRunner._record` does). Claims/s, p50/p99
  latency of the claim statement, and a check that no message was claimed twice and none
  was left.

Every database is a scratch one on the server (`smsgw_bench_<random>_*`), dropped at the end.
Each queue is filled once, ANALYZEd (as autovacuum would have; `--no-analyze` leaves the
planner without statistics, as right after a bulk load) and copied with CREATE DATABASE …
TEMPLATE, so the runs compared drain the same rows. The claim statement's plan is printed
with and without statistics.

    .venv/bin/python bench/bench_cluster.py [--messages 1000] [--claims 5000] [--delay 0.1]
        [--deadline 120] [--no-analyze] [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from gateway.app import Gateway, open_gateway
from gateway.cli.setup import prepare_database
from gateway.config import (
    Config,
    ConsentConfig,
    DatabaseConfig,
    ModemConfig,
    QueueConfig,
)
from gateway.crypto import create_master_key, load_master_key
from gateway.models import Contact, Line, Message, MessageEvent, new_id, utcnow
from gateway.outbound import SendRequest, enqueue
from gateway.sending import _CLAIM, claim_next, finish_sent, part_sent, start_sending
from gateway.store import make_engine
from gateway.worker import Worker
from modem.sim import SimBank

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RATE_PER_MINUTE = 600  # the most a line allows: the emulator's send delay is the limit


def main() -> None:
    parser = argparse.ArgumentParser(description="several boxes, one queue: benchmarks")
    parser.add_argument("--messages", type=int, default=1000, help="messages to drain")
    parser.add_argument("--claims", type=int, default=5000, help="messages to claim")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per AT+CMGS")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per drain")
    parser.add_argument("--url", default=DEFAULT_URL, help="admin URL of the server")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="claim without planner statistics on the queue (as right after a bulk load)",
    )
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()} (usable by this process: {len(os.sched_getaffinity(0))})")
    with Scratch(args.url) as scratch, tempfile.TemporaryDirectory(prefix="smsgw-bcl-") as tmp:
        print(f"PostgreSQL: {scratch.server_version()}")
        root = Path(tmp)
        key_path = root / "master.key"
        create_master_key(key_path)
        key = key_path.read_bytes()
        bench_drain(scratch, root, key, args.messages, args.delay, args.deadline, args.analyze)
        bench_claims(scratch, root, key, args.claims, args.analyze)


# -- databases ---------------------------------------------------------------------------


class Scratch:
    """Databases of this run on the server, created and dropped through an admin connection
    (AUTOCOMMIT: CREATE/DROP DATABASE cannot run in a transaction)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"smsgw_bench_{secrets.token_hex(4)}"
        self.admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        with self.admin.connect() as connection:
            for name in reversed(self.names):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()

    def server_version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.scalar(text("SELECT version()")))

    def create(self, suffix: str, template: str | None = None) -> str:
        """A new database (a copy of ``template``'s rows when given); its URL."""
        name = f"{self.prefix}_{suffix}"
        copy = f' TEMPLATE "{self.prefix}_{template}"' if template else ""
        self.names.append(name)
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


def place_key(data_dir: Path, key: bytes) -> None:
    """The same master key in another box's data directory (0600, as `smsgw init` makes it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "master.key", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)


def initialise(config: Config, key: bytes) -> None:
    """As tests/gateway/conftest.py does, with the run's one master key."""
    place_key(config.data_dir, key)
    prepare_database(config, load_master_key(config.master_key_path))


def box_config(data_dir: Path, url: str, modems: list[ModemConfig] | None = None) -> Config:
    return Config(
        data_dir=data_dir,
        database=DatabaseConfig(url=url),
        queue=QueueConfig(request_reports=False),
        # Each first send attests the customer's number (one ledger row per new contact).
        consent=ConsentConfig(transactional="on_send"),
        modems=tuple(modems or ()),
    )


def fill(config: Config, count: int, *, batch: int = 200) -> float:
    """``count`` unbound messages to as many numbers; seconds taken."""
    start = time.monotonic()
    gateway = open_gateway(config)
    try:
        with gateway.sessions() as session:
            for n in range(count):
                to = f"+1{201 + n // 10000}555{n % 10000:04d}"
                request = SendRequest(to=to, body=f"Reminder {n}: 10:30")
                enqueue(session, gateway.vault, gateway.config, request)
                if (n + 1) % batch == 0:
                    session.commit()
            session.commit()
    finally:
        gateway.close()
    return time.monotonic() - start


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.status, func.count()).group_by(Message.status)
        ).all()
    return Counter({status: n for status, n in rows})


# -- drain -------------------------------------------------------------------------------


@dataclass
class Drained:
    label: str
    count: int
    modems: int
    wall: float | None  # None: not every message was sent before the deadline
    per_line: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    left: Counter[str] = field(default_factory=Counter)
    attempts_twice: int = 0
    on_air: int = 0  # parts the emulators accepted

    @property
    def rate(self) -> float:
        return self.count / self.wall if self.wall else 0.0


def bench_drain(
    scratch: Scratch,
    root: Path,
    key: bytes,
    count: int,
    delay: float,
    deadline: float,
    analyze: bool,
) -> None:
    print(
        f"\ndrain {count} unbound messages, 4 emulated modems, {delay}s per AT+CMGS, "
        f"{RATE_PER_MINUTE}/min per line; ideal {count * delay / 4:.1f} s"
    )
    # One queue, filled once and copied, so both layouts drain exactly the same rows.
    template = box_config(root / "fill", scratch.create("drain"))
    initialise(template, key)
    seconds = fill(template, count)
    print(f"  (queue filled on PostgreSQL in {seconds:.1f} s through enqueue, new contacts)")
    if analyze:
        analyse(template.database_url)
    one_url = scratch.create("one_box", template="drain")
    two_url = scratch.create("two_boxes", template="drain")

    timing = (count, delay, deadline)
    one = [("box-solo", 4)]
    solo = drain(root / "a", "(a) PostgreSQL, 1 box x 4 modems", one, one_url, key, *timing)
    two = [("box-a", 2), ("box-b", 2)]
    pair = drain(root / "b", "(b) PostgreSQL, 2 boxes x 2 modems", two, two_url, key, *timing)
    sqlite_root = root / "c"
    sqlite_config = box_config(sqlite_root / "box-sqlite", "")
    initialise(sqlite_config, key)
    seconds = fill(sqlite_config, count)
    print(f"  (queue filled on SQLite in {seconds:.1f} s)")
    lite = drain(
        sqlite_root,
        "(c) SQLite, 1 box x 4 modems",
        [("box-sqlite", 4)],
        "",
        key,
        *timing,
        initialised=True,
    )
    for result in (solo, pair, lite):
        report_drain(result, delay)
    if solo.wall and pair.wall:
        print(
            f"  efficiency (b)/(a): {pair.rate / solo.rate:.3f} "
            f"(messages/s of 2 boxes x 2 modems over 1 box x 4 modems)"
        )


def drain(
    root: Path,
    label: str,
    boxes: list[tuple[str, int]],
    url: str,
    key: bytes,
    count: int,
    delay: float,
    deadline: float,
    *,
    initialised: bool = False,
) -> Drained:
    total = sum(modems for _, modems in boxes)
    bank = SimBank(root / "sim", total, send_delay=delay, auto_report=None).start()
    gateways: list[Gateway] = []
    workers: list[Worker] = []
    threads: list[threading.Thread] = []
    result = Drained(label, count, total, None)
    try:
        handles = iter(bank)
        for name, modems in boxes:
            lines = [
                ModemConfig(
                    device=next(handles).device_path,
                    line=f"{name} L{i + 1}",
                    rate_per_minute=RATE_PER_MINUTE,
                )
                for i in range(modems)
            ]
            config = box_config(root / name, url, lines)
            if not initialised:
                place_key(config.data_dir, key)  # the database is already initialised
            gateway = open_gateway(config)
            gateways.append(gateway)
            workers.append(Worker(gateway, name=name))
        monitor = gateways[0].engine
        started = time.monotonic()
        started_at = datetime.now(UTC)
        for worker in workers:
            worker.start()
            thread = threading.Thread(target=worker.run_until_stopped, name=f"{worker.name}-hk")
            thread.start()
            threads.append(thread)
        give_up = started + deadline
        while time.monotonic() < give_up:
            seen = statuses(monitor)
            if seen["sent"] >= count:
                result.wall = time.monotonic() - started
                break
            if sum(seen.values()) - seen["queued"] - seen["sending"] - seen["sent"] > 0:
                break  # failed, blocked, unknown: it will never all be sent
            time.sleep(0.05)  # a benchmark's sampling interval, not synchronisation
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(10)
        result.on_air = sum(len(handle.outbox()) for handle in bank)
        bank.stop()
    try:
        engine = gateways[0].engine
        result.left = statuses(engine)
        del result.left["sent"]
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    Line.worker,
                    Line.name,
                    func.count(),
                    func.min(Message.sent_at),
                    func.max(Message.sent_at),
                )
                .join(Line, Line.id == Message.via_line_id)
                .where(Message.status == "sent")
                .group_by(Line.worker, Line.name)
                .order_by(Line.name)
            ).all()
            twice = (
                select(MessageEvent.message_id)
                .where(MessageEvent.status == "sending")
                .group_by(MessageEvent.message_id)
                .having(func.count() > 1)
                .subquery()
            )
            result.attempts_twice = connection.scalar(select(func.count()).select_from(twice))
        result.per_line = [
            (
                box,
                line,
                n,
                (first - started_at).total_seconds(),
                (last - started_at).total_seconds(),
            )
            for box, line, n, first, last in rows
        ]
    finally:
        for gateway in gateways:
            gateway.close()
    return result


def report_drain(result: Drained, delay: float) -> None:
    print(f"\n  {result.label}")
    if result.wall is None:
        print(f"    NOT DRAINED before the deadline; left: {dict(result.left)}")
    else:
        ideal = result.count * delay / result.modems
        print(
            f"    {result.count} messages in {result.wall:6.2f} s = {result.rate:6.1f} messages/s"
            f" (ideal {ideal:.1f} s: {ideal / result.wall:.3f} of ideal)"
        )
    per_box: dict[str, list[tuple[str, str, int, float, float]]] = {}
    for row in result.per_line:
        per_box.setdefault(row[0], []).append(row)
    for box, rows in per_box.items():
        sent = sum(row[2] for row in rows)
        first = min(row[3] for row in rows)
        last = max(row[4] for row in rows)
        print(
            f"    {box:<10} {sent:5d} sent ({sent / result.count:6.1%}), "
            f"first at {first:5.2f} s, last at {last:6.2f} s"
        )
        for _, line, n, first, last in rows:
            print(f"      {line:<16} {n:5d}  first at {first:5.2f} s, last at {last:6.2f} s")
    print(
        f"    parts the emulators accepted: {result.on_air}; messages attempted twice: "
        f"{result.attempts_twice}; not sent: {sum(result.left.values())}"
    )


# -- claims ------------------------------------------------------------------------------


@dataclass
class ClaimRun:
    name: str
    started: float
    ended: float
    ids: list[str]
    latencies: list[float]  # seconds per claim statement
    cycles: list[float]  # seconds per claim + sending + sent (two commits)
    error: str | None = None


def claim_worker(url: str, name: str, line_id: str, ready: Any, go: Any, results: Any) -> None:
    """One box's modem thread without the modem: claim, sending (commit), sent (commit)."""
    engine = make_engine(url)
    actor = f"{name}/L1"
    run = ClaimRun(name, 0.0, 0.0, [], [], [])
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))  # connected and warm before the start
            connection.rollback()
            ready.put(name)
            go.wait()
            run.started = time.perf_counter()
            while True:
                start = time.perf_counter()
                claimed = claim_next(connection, actor, line_id)
                claimed_in = time.perf_counter() - start
                if claimed is None:
                    connection.rollback()
                    break
                start_sending(connection, claimed, line_id, actor)
                connection.commit()
                part_sent(connection, claimed, 1, len(run.ids) % 256, line_id)
                finish_sent(connection, claimed, actor)
                connection.commit()
                run.cycles.append(time.perf_counter() - start)
                run.latencies.append(claimed_in)
                run.ids.append(claimed.id)
            run.ended = time.perf_counter()
    except Exception as error:  # reported by the parent with the figures
        run.error = repr(error)
        ready.put(name)
    finally:
        engine.dispose()
        results.put(run)


def bench_claims(scratch: Scratch, root: Path, key: bytes, count: int, analyze: bool) -> None:
    print(
        f"\nclaim {count} queued unbound messages on PostgreSQL, no modems: one process per "
        "worker (no shared GIL: closer to separate boxes), each with its own connection; "
        "claim_next + start_sending (commit), then part_sent + finish_sent (commit)"
    )
    template = box_config(root / "claims", scratch.create("claims"))
    initialise(template, key)
    seeded, seconds = fill_claims(template, count)
    print(
        f"  (queue filled in {seconds:.1f} s: {seeded} through enqueue, the rest copies of "
        "them inserted in bulk, bodies encrypted under their contacts' keys)"
    )
    plans = [("no statistics yet (a freshly grown queue)", explain_claim(template.database_url))]
    if analyze:
        analyse(template.database_url)
        plans.append(
            ("after ANALYZE (the claim runs use these)", explain_claim(template.database_url))
        )
    for title, plan in plans:
        print(f"  claim statement on the full queue, {title}; EXPLAIN ANALYZE, rolled back:")
        for line in plan:
            print(f"    {line}")
    for workers in (4, 1):
        url = scratch.create(f"claims{workers}", template="claims")
        add_lines(url, workers)
        run_claims(url, workers, count)


def fill_claims(config: Config, count: int, *, seed: int = 100) -> tuple[int, float]:
    """``seed`` messages through ``enqueue`` (contacts, consent, events as the API makes
    them), then copies of them up to ``count``: enqueueing thousands on PostgreSQL takes
    longer than the benchmark itself, and a claim reads no more than these columns."""
    start = time.monotonic()
    seed = min(seed, count)
    fill(config, seed)
    gateway = open_gateway(config)
    try:
        with gateway.engine.begin() as connection:
            rows = connection.execute(
                select(Message.__table__, Contact.key_id).join(
                    Contact, Contact.id == Message.contact_id
                )
            ).all()
            copies, events = [], []
            for n in range(seed, count):
                row = dict(rows[n % seed]._mapping)
                key_id = row.pop("key_id")
                now = utcnow()
                message_id = new_id("msg")
                body = f"Reminder {n}: 10:30"
                row.update(
                    id=message_id,
                    body_enc=gateway.vault.encrypt(key_id, body, "messages", "body", message_id),
                    created_at=now,
                    updated_at=now,
                    next_attempt_at=now,
                )
                copies.append(row)
                events.append(
                    {"message_id": message_id, "at": now, "status": "queued", "actor": "api"}
                )
                if len(copies) == 1000 or n == count - 1:
                    connection.execute(Message.__table__.insert(), copies)
                    connection.execute(MessageEvent.__table__.insert(), events)
                    copies, events = [], []
    finally:
        gateway.close()
    return seed, time.monotonic() - start


def analyse(url: str) -> None:
    """Statistics, as autovacuum gathers them on a table that has been around a while
    (CREATE DATABASE … TEMPLATE copies them to each run's database)."""
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def add_lines(url: str, workers: int) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for n in range(1, workers + 1):
                connection.execute(
                    Line.__table__.insert().values(
                        id=f"ln_w{n}", name=f"w{n} L1", device=f"/dev/w{n}", worker=f"w{n}"
                    )
                )
    finally:
        engine.dispose()


def explain_claim(url: str) -> list[str]:
    """The plan of ``gateway.sending._CLAIM`` as the next claim would run it (rolled back)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            compiled = _CLAIM.compile(dialect=engine.dialect)
            now = datetime.now(UTC).replace(tzinfo=None)  # as UtcDateTime binds it
            params = compiled.construct_params(
                {"now": now, "for_line": "ln_w1", "worker": "explain/L1"}
            )
            sql = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled)
            rows = connection.exec_driver_sql(sql, params).scalars().all()
            connection.rollback()
    finally:
        engine.dispose()
    return [str(row) for row in rows]


def run_claims(url: str, workers: int, count: int) -> None:
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    processes = [
        context.Process(
            target=claim_worker,
            args=(url, f"w{n}", f"ln_w{n}", ready, go, results),
            daemon=True,
        )
        for n in range(1, workers + 1)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)  # every worker imported, connected and waiting
    go.set()
    runs: list[ClaimRun] = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(30)
    runs.sort(key=lambda r: r.name)
    for r in runs:
        if r.error:
            print(f"  {r.name} FAILED: {r.error}")
    runs = [r for r in runs if r.ids]
    wall = max(r.ended for r in runs) - min(r.started for r in runs)
    claimed = sum(len(r.ids) for r in runs)
    latencies = sorted(x for r in runs for x in r.latencies)
    cycles = sorted(x for r in runs for x in r.cycles)
    rate = claimed / wall
    print(f"\n  {workers} worker(s): {claimed} claims in {wall:.2f} s = {rate:7.0f} claims/s")
    print(
        f"    claim statement p50 {percentile(latencies, 50) * 1000:6.2f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:6.2f} ms, max {latencies[-1] * 1000:6.2f} ms; "
        f"claim + sending + sent p50 {percentile(cycles, 50) * 1000:6.2f} ms, "
        f"p99 {percentile(cycles, 99) * 1000:6.2f} ms"
    )
    for r in runs:
        seconds = r.ended - r.started
        print(
            f"    {r.name}: {len(r.ids):5d} claims in {seconds:6.2f} s = "
            f"{len(r.ids) / seconds:6.0f}/s, claim p50 "
            f"{statistics.median(r.latencies) * 1000:5.2f} ms"
        )
    counts = Counter(x for r in runs for x in r.ids)
    twice = [message for message, n in counts.items() if n > 1]
    engine = make_engine(url)
    try:
        left = statuses(engine)
        with engine.connect() as connection:
            sending_events = connection.scalar(
                select(func.count()).where(MessageEvent.status == "sending")
            )
            still_claimed = connection.scalar(
                select(func.count()).where(Message.claimed_by.is_not(None))
            )
    finally:
        engine.dispose()
    print(
        f"    claimed twice: {len(twice)}; distinct claimed {len(counts)} of {count}; "
        f"in the database: {dict(left)}, 'sending' events {sending_events}, "
        f"still claimed {still_claimed}"
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


if __name__ == "__main__":
    main()
