"""Inbound routing benchmarks (printed, never asserted): 10,000 inbound messages from 2,000
customers routed across 20 users in 4 teams on 2 lines. Target: < 2 ms per message.

- route_inbound: the routing step alone for an already-stored inbound message (its
  conversation, the decision, the round-robin turn, the away reply when due), each message
  in its own transaction, commit included;
- take_in: the whole intake of a stored message (the consent keyword rules, then routing),
  each in its own transaction, commit included;
- route: the pure decision over an office snapshot, no database.

Each figure gives wall time per message (mean, p50/p95/p99) and, for the database runs, the
CPU time of this process and the commit's share: on SQLite the commit is an fsync of the
WAL (synchronous=FULL), so a slow or busy disk shows there and not in the CPU.

Lines open mon-fri 08:00-18:00 (messages outside those hours go to nobody and may get the
away reply), then lines open daily. The messages span one week of the box's zone, 85% of
them in business hours; halfway through, two more agents go away with a delegate
(untimed). Set-up and storing the messages (`gateway.inbound.receive`, in batches) are not
timed; each timed run starts from a copy of that stored database. To stay near two minutes
the secondary runs (take_in, and route_inbound with lines open daily) take the messages of
30% of the customers (--share); --full runs everything on every message.

    .venv/bin/python bench/bench_routing.py [--messages 10000] [--customers 2000]
        [--share 0.3 | --full] [--profile]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

With --database-url the benchmark runs on that PostgreSQL server, in scratch databases
(smsgw_bench_<random>) it creates and drops through the server's `postgres` database; the
database the URL names is not touched. Without it: a SQLite file in a temporary directory.
--profile adds a cProfile run of the routing step: the top 10 cumulative entries, what
route_inbound spends its time on, and the SQL statements per message.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import secrets
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import make_url

from gateway.app import Gateway, open_gateway
from gateway.cli.setup import prepare_database
from gateway.compliance import box_zone
from gateway.config import Config, ConsentConfig, DatabaseConfig
from gateway.crypto import create_master_key
from gateway.hours import Schedule
from gateway.inbound import receive
from gateway.inbox_routing import away_policy, route_inbound
from gateway.intake import take_in
from gateway.models import Contact, Conversation, Line, Message, new_id
from gateway.numbers import to_e164
from gateway.office import line_schedule, load_office
from gateway.routing import Inbound, Office, Route, route
from gateway.store import make_engine
from gateway.teams import add_member, add_rule, add_team, set_line_hours, set_user_inbox
from gateway.users import add_user
from modem.pdu.decode import decode
from modem.pdu.encode import encode_deliver

TARGET_MS = 2.0
LINES = ("Front desk", "Service")
HOURS = ("mon-fri 08:00-18:00", "daily")
# Team: its default line (None: reached through keyword rules only) and its five members.
TEAMS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "Reception": ("Front desk", ("manager1", "agent01", "agent02", "agent03", "agent04")),
    "Billing": (None, ("manager2", "agent05", "agent06", "agent07", "agent08")),
    "Support": ("Service", ("agent09", "agent10", "agent11", "agent12", "agent13")),
    "Sales": (None, ("agent14", "agent15", "agent16", "agent17", "agent18")),
}
MANAGERS = ("manager1", "manager2")
RULES = (  # team, keyword, line
    ("Billing", "invoice", None),
    ("Billing", "payment", None),
    ("Sales", "quote", None),
    ("Sales", "price", None),
    ("Support", "broken", "Service"),
)
SHIFTS = {
    "manager1": "mon-fri 09:00-17:00",
    "agent02": "mon-fri 08:00-13:00",
    "agent03": "mon-fri 13:00-18:00",
    "agent06": "mon-fri 08:00-13:00",
    "agent10": "mon-fri 13:00-18:00",
    "agent15": "mon-fri 08:00-13:00",
    "agent16": "mon-fri 12:00-18:00",
}
AWAY = {"agent04": "agent01", "agent11": "agent12", "agent17": "agent18"}  # -> delegate
BACK_ON_DAY = {"agent11": 2}  # back on Wednesday of the week
AWAY_HALFWAY = {"agent07": "agent08", "agent13": "agent11"}  # agent11 is back by then
TEXTS = (  # weight, text
    (20, "Hi, can I move my appointment to Tuesday afternoon?"),
    (15, "Are you open on Saturday morning?"),
    (10, "Thanks, see you then"),
    (10, "Hello, I would like to book a visit next week"),
    (8, "I have a question about my invoice 4411"),
    (7, "Did my payment go through yesterday?"),
    (8, "Could you send me a quote for the yearly plan?"),
    (7, "What is the price for a home visit?"),
    (15, "My device is broken again, can someone call me back?"),
)
AREAS = ("201", "212", "415", "646", "718")


@dataclass(frozen=True)
class Item:
    """One stored inbound message, in arrival order."""

    message_id: str
    sender: str
    text: str
    line_id: str
    at: datetime


@dataclass
class Figure:
    """Per message: wall seconds, CPU seconds of this process, and the commit's share."""

    label: str
    times: list[float]
    cpu: list[float] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)

    def line(self) -> str:
        ms = sorted(t * 1000 for t in self.times)
        mean = statistics.fmean(ms)
        verdict = "meets" if mean < TARGET_MS else "MISSES"
        extra = ""
        if self.cpu:
            extra += f"; CPU {statistics.fmean(self.cpu) * 1000:.3f}"
        if self.commits:
            extra += f", commit {statistics.fmean(self.commits) * 1000:.3f}"
        return (
            f"  {self.label:<31} {len(ms):6d} msgs {sum(self.times):6.1f} s  "
            f"mean {mean:6.3f} ms  p50 {_pct(ms, 0.50):6.3f}  p95 {_pct(ms, 0.95):6.3f}  "
            f"p99 {_pct(ms, 0.99):6.3f}  {verdict} < {TARGET_MS:g} ms"
            + (f"\n  {'':<31} (mean ms per message{extra})" if extra else "")
        )


def _pct(ms: list[float], q: float) -> float:
    return ms[min(len(ms) - 1, int(len(ms) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description="inbound routing benchmarks")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument(
        "--share",
        type=float,
        default=0.3,
        help="share of the customers whose messages the secondary database runs take "
        "(take_in; route_inbound with lines open daily); default 0.3",
    )
    parser.add_argument(
        "--full", action="store_true", help="every run on every message, take_in under both hours"
    )
    parser.add_argument("--database-url", default="", help="a PostgreSQL server (scratch dbs)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile the routing step (one more run)"
    )
    args = parser.parse_args()
    share = 1.0 if args.full else min(1.0, max(0.01, args.share))
    zone = box_zone()
    rng = random.Random(args.seed)
    numbers = customer_numbers(rng, args.customers)
    sampled = set(random.Random(args.seed).sample(numbers, max(1, round(len(numbers) * share))))
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="smsgw-brouting-") as directory,
        backend_for(args.database_url, Path(directory)) as backend,
    ):
        print(
            f"routing {args.messages:,} inbound messages from {len(numbers):,} customers: "
            f"{sum(len(m) for _, m in TEAMS.values())} users in {len(TEAMS)} teams, "
            f"{len(LINES)} lines ({backend.name}, box zone {zone}; {_load()})"
        )
        items = build(backend, rng, numbers, args.messages, zone)
        some = [item for item in items if item.sender in sampled]
        print(f"set-up and storing the messages (untimed): {time.perf_counter() - began:.1f} s")
        if len(some) < len(items):
            print(
                f"secondary runs: the {len(some):,} messages of {len(sampled):,} customers "
                "(--full for all)"
            )
        for n, hours in enumerate(HOURS):
            print(f"\nlines open {hours}")
            mine = items if n == 0 or args.full else some
            by_routing, office, schedules = run_db(backend, mine, hours, "route_inbound")
            pure = run_pure(backend, mine, office, schedules)
            by_intake = None
            if n == 0 or args.full:
                by_intake, _, _ = run_db(backend, some, hours, "take_in")
            for run in (by_routing, by_intake, pure):
                if run is not None:
                    print(run.figure.line())
            print(f"  reasons, route_inbound: {_reasons(by_routing.routes)}")
            print(f"  reasons, route (pure):  {_reasons(pure.routes)}")
            print(
                f"  away replies queued by route_inbound: {by_routing.replies}"
                + (f"; replies queued by take_in: {by_intake.replies}" if by_intake else "")
            )
            print(
                f"  conversations: {by_routing.conversations} opened, "
                f"{len(mine) - by_routing.conversations} messages joined an existing one"
            )
            print("  round robin per team (route_inbound; 'x' = ever away, '~' = on a shift):")
            for line in spread(by_routing.routes, office):
                print(f"    {line}")
        if args.profile:
            profile(backend, items, HOURS[0])
    print(f"\nwall time {time.perf_counter() - began:.0f} s ({_load()})")


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


# -- set-up --------------------------------------------------------------------------------


def customer_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct US numbers +1 AAA 2XX-XXXX, each checked by the gateway's own parser."""
    numbers: set[str] = set()
    while len(numbers) < count:
        number = f"+1{rng.choice(AREAS)}2{rng.randrange(100):02d}{rng.randrange(10_000):04d}"
        if to_e164(number, "US") == number:
            numbers.add(number)
    return sorted(numbers)


def week_start(zone: str) -> datetime:
    """Monday 00:00 (box zone) three weeks ago: a recent, complete week."""
    today = datetime.now(ZoneInfo(zone)).date()
    monday = today - timedelta(days=today.weekday() + 21)
    return datetime(monday.year, monday.month, monday.day, tzinfo=ZoneInfo(zone))


def arrival_times(rng: random.Random, count: int, zone: str) -> list[datetime]:
    """Distinct seconds over one week: 85% in business hours (mon-fri 08:00-18:00)."""
    start = week_start(zone)
    seen: set[int] = set()
    while len(seen) < count:
        if rng.random() < 0.85:
            second = rng.randrange(5) * 86_400 + 8 * 3600 + rng.randrange(10 * 3600)
        else:
            second = rng.randrange(7 * 86_400)
        seen.add(second)
    # Aware arithmetic is wall-clock arithmetic: offsets from local midnight on Monday.
    return [start + timedelta(seconds=s) for s in sorted(seen)]


def initialise(config: Config) -> None:
    """As `smsgw init` does for the store: a master key, the schema, the index key."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    prepare_database(config, create_master_key(config.master_key_path))


def set_up_office(gateway: Gateway, start: datetime) -> dict[str, str]:
    """Lines, users, teams, members, rules; returns line ids by name."""
    with gateway.sessions() as session:
        lines = {}
        for n, name in enumerate(LINES):
            line = Line(id=new_id("ln"), name=name, device=f"/dev/ttyBENCH{n}", state="ready")
            session.add(line)
            lines[name] = line.id
        session.flush()
        for _line, members in TEAMS.values():
            for name in members:
                add_user(session, name, "manager" if name in MANAGERS else "agent")
        for team, (line, members) in TEAMS.items():
            add_team(session, team, line)
            for name in members:
                add_member(session, team, name)
        for team, keyword, line in RULES:
            add_rule(session, team, keyword=keyword, line=line)
        for name, hours in SHIFTS.items():
            set_user_inbox(session, name, working_hours=hours)
        for name, delegate in AWAY.items():
            back = BACK_ON_DAY.get(name)
            until = start.date() + timedelta(days=back) if back is not None else None
            set_user_inbox(session, name, away=True, away_until=until, delegate=delegate)
        session.commit()
    return lines


def build(
    backend: Backend, rng: random.Random, numbers: list[str], count: int, zone: str
) -> list[Item]:
    """The base database: the office, and every inbound message stored (in batches)."""
    config = backend.base_config()
    initialise(config)
    gateway = open_gateway(config)
    try:
        times = arrival_times(rng, count, zone)
        lines = set_up_office(gateway, times[0])
        # Each customer mostly texts one line (70% the front desk), now and then the other.
        home = {n: LINES[0] if rng.random() < 0.7 else LINES[1] for n in numbers}
        weights = [w for w, _ in TEXTS]
        plan = []
        for at in times:
            sender = rng.choice(numbers)
            line = home[sender] if rng.random() < 0.9 else LINES[1 - LINES.index(home[sender])]
            plan.append((sender, rng.choices(TEXTS, weights)[0][1], lines[line], at))
        items = []
        region = config.numbers.default_region
        for first in range(0, len(plan), 500):
            with gateway.sessions() as session:
                for sender, body, line_id, at in plan[first : first + 500]:
                    deliver = decode(encode_deliver(sender, body, timestamp=at)[0])
                    stored = receive(
                        session,
                        gateway.vault,
                        line_id,
                        deliver,
                        region,
                        now=at.astimezone(UTC),
                        mask_cards=config.inbox.mask_inbound_cards,
                    )
                    if stored is None:  # distinct instants: never a repeat
                        raise SystemExit("an inbound message was dropped as a repeat")
                    items.append(Item(stored.id, sender, body, line_id, at.astimezone(UTC)))
                session.commit()
        return items
    finally:
        gateway.close()


# -- the runs ------------------------------------------------------------------------------


@dataclass
class Run:
    figure: Figure
    routes: list[Route | None]
    replies: int = 0
    conversations: int = 0


def prepare(gateway: Gateway, hours: str) -> tuple[Office, dict[str, Schedule]]:
    """Set both lines' hours; the office snapshot and line schedules as routing sees them."""
    with gateway.sessions() as session:
        for name in LINES:
            set_line_hours(session, name, hours=hours)
        session.commit()
        office = load_office(session)
        schedules = {
            line.id: line_schedule(line, office.zone) for line in session.scalars(select(Line))
        }
    gateway.office.invalidate()
    return office, schedules


def go_away(gateway: Gateway) -> None:
    with gateway.sessions() as session:
        for name, delegate in AWAY_HALFWAY.items():
            set_user_inbox(session, name, away=True, delegate=delegate)
        session.commit()
    gateway.office.invalidate()


def run_db(
    backend: Backend,
    items: list[Item],
    hours: str,
    step: str,
    *,
    observe: Callable[[bool], None] | None = None,
) -> tuple[Run, Office, dict[str, Schedule]]:
    """``step`` (route_inbound or take_in) over every stored message, on a fresh copy."""
    gateway = open_gateway(backend.clone())
    try:
        office, schedules = prepare(gateway, hours)
        vault, config = gateway.vault, gateway.config
        figure = Figure(
            f"{step} (own transaction)" if step == "route_inbound" else f"{step} (+keywords)", []
        )
        routes: list[Route | None] = []
        replies = 0
        half = len(items) // 2
        for index, item in enumerate(items):
            if index == half:
                go_away(gateway)
            with gateway.sessions() as session, gateway.writing():
                message = session.get(Message, item.message_id)
                # take_in reads the contact itself; the routing step is handed it.
                contact = session.get(Contact, message.contact_id) if step != "take_in" else None
                if observe:
                    observe(True)
                cpu, start = time.process_time(), time.perf_counter()
                if step == "route_inbound":
                    routed = route_inbound(
                        session,
                        vault,
                        config,
                        gateway.office,
                        message,
                        contact,
                        item.sender,
                        item.text,
                        keyword=None,
                        now=item.at,
                    )
                    routes.append(routed.route)
                    replies += routed.away_reply is not None
                else:
                    replies += take_in(session, vault, config, gateway.office, message)
                before_commit = time.perf_counter()
                session.commit()
                end = time.perf_counter()
                figure.cpu.append(time.process_time() - cpu)
                if observe:
                    observe(False)
                figure.times.append(end - start)
                figure.commits.append(end - before_commit)
        with gateway.sessions() as session:
            conversations = session.scalar(select(func.count()).select_from(Conversation))
        return Run(figure, routes, replies, conversations), office, schedules
    finally:
        gateway.close()
        backend.release()


def run_pure(
    backend: Backend, items: list[Item], office: Office, schedules: dict[str, Schedule]
) -> Run:
    """``route`` alone; the conversations' state is kept in memory (untimed), as the
    database would have it, and round-robin turns are applied as ``OfficeCache`` does."""
    policy = away_policy(backend.base_config())
    state: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    away_replied: dict[str, datetime] = {}
    ids = {person.name: person.id for person in office.people.values()}
    times: list[float] = []
    routes: list[Route] = []
    half = len(items) // 2
    for index, item in enumerate(items):
        if index == half:
            people = dict(office.people)
            for name, delegate in AWAY_HALFWAY.items():
                people[ids[name]] = replace(
                    people[ids[name]], away=True, away_until=None, delegate_id=ids[delegate]
                )
            office = replace(office, people=people)
        key = (item.sender, item.line_id)
        assignee, team = state.get(key, (None, None))
        inbound = Inbound(
            line_id=item.line_id,
            line_hours=schedules[item.line_id],
            text=item.text,
            now=item.at,
            assignee_id=assignee,
            team_id=team,
            away_replied_at=away_replied.get(item.sender),
        )
        start = time.perf_counter()
        decided = route(office, inbound, policy)
        times.append(time.perf_counter() - start)
        routes.append(decided)
        state[key] = (decided.assignee_id, decided.team_id or team)
        if decided.reason == "round_robin" and decided.team_id and decided.assignee_id:
            view = office.teams[decided.team_id]
            order = (*(m for m in view.members if m != decided.assignee_id), decided.assignee_id)
            teams = {**office.teams, view.id: replace(view, members=order)}
            office = replace(office, teams=teams)
        if decided.away_reply:
            away_replied[item.sender] = item.at
    return Run(Figure("route (pure decision)", times), routes)


def _reasons(routes: list[Route | None]) -> str:
    counts = Counter(r.reason if r is not None else "keyword" for r in routes)
    away = sum(1 for r in routes if r is not None and r.away_reply)
    shown = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
    return f"{shown}; away reply due {away}"


def spread(routes: list[Route | None], office: Office) -> list[str]:
    given = Counter(
        (r.team_id, r.assignee_id) for r in routes if r is not None and r.reason == "round_robin"
    )
    ever_away = set(AWAY) | set(AWAY_HALFWAY)
    out = []
    for team in sorted(office.teams.values(), key=lambda t: t.name):
        counts = {m: given[(team.id, m)] for m in team.members}
        names = sorted(counts, key=lambda m: office.people[m].name)
        if not any(counts.values()):
            out.append(f"{team.name:<10} no round-robin turns")
            continue
        always = [
            counts[m]
            for m in names
            if office.people[m].name not in ever_away and office.people[m].hours is None
        ]
        detail = ", ".join(
            f"{office.people[m].name}"
            f"{'x' if office.people[m].name in ever_away else ''}"
            f"{'~' if office.people[m].hours is not None else ''} {counts[m]}"
            for m in names
        )
        evenly = f"min {min(always)} max {max(always)} among always-there" if always else ""
        out.append(
            f"{team.name:<10} {sum(counts.values()):5d} turns: min {min(counts.values())} "
            f"max {max(counts.values())} ({evenly}) [{detail}]"
        )
    return out


# -- profile -------------------------------------------------------------------------------


def profile(backend: Backend, items: list[Item], hours: str) -> None:
    """cProfile of the routing step (timed part only) and the SQL it runs, per statement."""
    profiler = cProfile.Profile()
    statements: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    active = [False]
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, _statement: str, *_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        took = time.perf_counter() - started.pop()
        if active[0]:
            key = " ".join(statement.split())[:110]
            statements[key] += 1
            seconds[key] += took

    def observe(on: bool) -> None:
        active[0] = on
        if on:
            profiler.enable()
        else:
            profiler.disable()

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        run, _, _ = run_db(backend, items, hours, "route_inbound", observe=observe)
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
    print(f"\nprofile of route_inbound, lines open {hours} (profiler on: slower)")
    print(run.figure.line())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(10)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
    print("  inside route_inbound, by cumulative seconds (profiled):")
    for name, calls, cumulative in _callees(stats, "route_inbound"):
        print(f"    {cumulative:7.3f} s  {calls:6d} calls  {name}")
    count = len(items)
    print("  SQL per message (statement: executions per message, ms per message):")
    for key, total in seconds.most_common(12):
        print(f"    {statements[key] / count:5.2f} x {total * 1000 / count:6.3f} ms  {key}")
    print(
        f"    all: {sum(statements.values()) / count:.2f} statements, "
        f"{sum(seconds.values()) * 1000 / count:.3f} ms per message"
    )


def _callees(stats: pstats.Stats, function: str) -> list[tuple[str, int, float]]:
    """What ``function`` calls directly: (where, calls, cumulative seconds), largest first."""
    out = []
    for (path, line, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        for caller, (calls, _primitive, _total, cumulative) in entry[4].items():
            if caller[2] == function:
                out.append((f"{Path(path).name}:{line}({name})", calls, cumulative))
    return sorted(out, key=lambda row: -row[2])[:8]


# -- backends ------------------------------------------------------------------------------


class Backend:
    name = ""

    def base_config(self) -> Config:
        raise NotImplementedError

    def clone(self) -> Config:
        """A fresh copy of the base database (the base engine must be closed)."""
        raise NotImplementedError

    def release(self) -> None:
        """The last clone is no longer needed."""


def _config(data_dir: Path, url: str = "") -> Config:
    # A contact who texts first has given their number; the worker's intake records that
    # before routing. The routing step alone runs without it, so the away reply relies on
    # the first send attesting it, as on a box configured "on_send".
    return Config(
        data_dir=data_dir,
        database=DatabaseConfig(url=url),
        consent=ConsentConfig(transactional="on_send"),
    )


class SqliteBackend(Backend):
    name = "SQLite"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.copies = 0
        self.last: Path | None = None

    def base_config(self) -> Config:
        return _config(self.root / "base")

    def clone(self) -> Config:
        self.copies += 1
        self.last = self.root / f"run{self.copies}"
        shutil.copytree(self.root / "base", self.last)
        return _config(self.last)

    def release(self) -> None:
        if self.last is not None:
            shutil.rmtree(self.last, ignore_errors=True)


class PostgresBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root
        self.prefix = f"smsgw_bench_{secrets.token_hex(4)}"
        self.admin = make_engine(self._url("postgres")).execution_options(
            isolation_level="AUTOCOMMIT"
        )
        self.created: list[str] = []
        try:
            with self.admin.connect() as connection:
                version = str(connection.execute(text("SHOW server_version")).scalar())
            self._execute(f'CREATE DATABASE "{self.prefix}"')
        except Exception:
            self.admin.dispose()
            raise
        self.created.append(self.prefix)
        self.name = f"PostgreSQL {version.split()[0]}"

    def _url(self, database: str) -> str:
        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def base_config(self) -> Config:
        return _config(self.root / "base", self._url(self.prefix))

    def clone(self) -> Config:
        name = f"{self.prefix}_{len(self.created)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.prefix}"')
        self.created.append(name)
        return _config(self.root / "base", self._url(name))

    def release(self) -> None:
        if len(self.created) > 1:
            self._execute(f'DROP DATABASE IF EXISTS "{self.created[-1]}" WITH (FORCE)')

    def close(self) -> None:
        try:
            for name in reversed(self.created):
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            self.admin.dispose()


@contextmanager
def backend_for(url: str, root: Path) -> Iterator[Backend]:
    if not url:
        yield SqliteBackend(root)
        return
    if not url.startswith(("postgresql", "postgres:")):
        raise SystemExit("--database-url: a postgresql:// URL (SQLite is the default)")
    backend = PostgresBackend(url, root)
    try:
        yield backend
    finally:
        backend.close()


if __name__ == "__main__":
    main()
