"""Admin panel render benchmarks (printed, never asserted): server-side page renders on a
box holding 100,000 messages and 5,000 conversations. Target: p95 < 150 ms per page.

The store is a SQLite file seeded as the box would hold it: 5,000 contacts, each with its
own data key, number and (for most) name encrypted through the vault; one conversation
each, on one of four lines, spread over three teams and their members; 100,000 messages
over the last 30 days (mixed directions and statuses, a few unknown and awaiting approval),
every body encrypted under its contact's key as ``gateway.outbound`` does. Rows go in
with Core ``executemany`` in batches; seeding is not timed.

Pages are rendered through Flask's test client (no HTTP, no TLS: the server's own work),
signed in as an admin and as an agent with a panel session made directly (signing in
through the forms costs an argon2 hash per client, which is not what is measured):
``GET /dashboard``, ``GET /inbox``, ``GET /inbox?view=mine`` and one conversation page
(``/inbox/<id>``, skipped if the panel has no such page). Each page is rendered a few times
to warm up, then ``--repeat`` times; figures are wall milliseconds per render.

    .venv/bin/python bench/bench_panel.py [--repeat 50] [--messages 100000]
        [--conversations 5000] [--keep DIR]

--keep DIR seeds into DIR and leaves it there; a later run with the same DIR finds the
seeded store and skips seeding (delete DIR to seed afresh).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from gateway.app import Gateway
from gateway.cli.setup import prepare_database
from gateway.config import Config, ConsentConfig, WebConfig
from gateway.crypto import create_master_key
from gateway.models import (
    Contact,
    Conversation,
    Line,
    Message,
    User,
    new_id,
    utcnow,
)
from gateway.panel_sessions import start
from gateway.teams import add_member, add_team
from gateway.users import add_user
from web import create_app, gateway_of
from web.panel import SESSION_COOKIE

TARGET_MS = 150.0
BASE_URL = "https://box.test"
LINES = ("Front desk", "Service", "Billing line", "Sales line")
TEAMS = {  # team: its default line and members
    "Reception": ("Front desk", ("agent", "agent2", "manager")),
    "Support": ("Service", ("agent3", "agent4")),
    "Billing": ("Billing line", ("agent5",)),
}
# (direction, status, weight): what a box's archive looks like after a month.
MIX = (
    ("out", "delivered", 52),
    ("out", "sent", 6),
    ("out", "failed", 2),
    ("out", "undelivered", 1),
    ("out", "queued", 0.3),
    ("out", "unknown", 0.02),
    ("out", "pending_approval", 0.05),
    ("out", "canceled", 0.3),
    ("out", "blocked", 0.3),
    ("in", "received", 38),
)
TEXTS = (
    "Hi, your appointment is confirmed for Tuesday at 10:30. Reply C to cancel.",
    "Thanks, see you then",
    "Can I move my appointment to Thursday afternoon?",
    "Your order is ready for pickup at the front desk.",
    "Did my payment go through yesterday?",
)
BATCH = 5000


def config_for(directory: Path) -> Config:
    return Config(
        data_dir=directory,
        web=WebConfig(workers=1),
        consent=ConsentConfig(transactional="on_send", business_name="Bay Clinic"),
    )


@dataclass(frozen=True)
class Seeded:
    admin_id: str
    agent_id: str
    conversation_id: str  # one of the agent's own conversations

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    @classmethod
    def load(cls, path: Path) -> Seeded:
        return cls(**json.loads(path.read_text()))


def seed(gateway: Gateway, messages: int, conversations: int) -> Seeded:
    rng = random.Random(7)
    vault = gateway.vault
    now = utcnow()
    began = time.perf_counter()
    with gateway.sessions() as session:
        lines = []
        for index, name in enumerate(LINES):
            line = Line(
                id=new_id("ln"),
                name=name,
                number=f"+1201555{index:04d}",
                device=f"/dev/serial/by-id/usb-modem-{index}-if00",
                imei=f"35693803564{index:04d}",
                imsi=f"31015012345{index:04d}",
                state="ready" if index else "gone",
                signal_dbm=-70 - 10 * index,
                operator="Carrier",
                registration="home",
                worker="box-1",
            )
            session.add(line)
            lines.append(line)
        users = {
            name: add_user(session, name, role)
            for name, role in (
                ("admin", "admin"),
                ("manager", "manager"),
                ("agent", "agent"),
                ("agent2", "agent"),
                ("agent3", "agent"),
                ("agent4", "agent"),
                ("agent5", "agent"),
            )
        }
        session.flush()
        teams = {}
        for team, (line_name, members) in TEAMS.items():
            teams[team] = add_team(session, team, line_name)
            for member in members:
                add_member(session, team, member)
        session.commit()
        line_ids = [line.id for line in lines]
        team_ids = [team.id for team in teams.values()]
        user_ids = {name: user.id for name, user in users.items()}

    # Contacts: a data key each (made through the vault, as for a new number).
    contact_rows: list[dict[str, object]] = []
    with gateway.sessions() as session:
        for index in range(conversations):
            contact_id = new_id("ct")
            number = f"+1{rng.choice(('201', '212', '415', '646'))}555{index:04d}"
            key_id = vault.new_key(session)
            contact_rows.append(
                {
                    "id": contact_id,
                    "key_id": key_id,
                    "number_index": vault.index(number),
                    "number_enc": vault.encrypt(key_id, number, "contacts", "number", contact_id),
                    "name_enc": (
                        vault.encrypt(key_id, f"Customer {index}", "contacts", "name", contact_id)
                        if index % 4
                        else None
                    ),
                    "created_at": now - timedelta(days=31),
                }
            )
        session.execute(insert(Contact), contact_rows)
        session.commit()
    print(f"  {conversations:,} contacts with their keys in {time.perf_counter() - began:.1f} s")

    # One conversation per contact; who works it: a third the agent's team, some the agent's.
    conversation_rows = []
    for index, contact in enumerate(contact_rows):
        team_id = team_ids[index % len(team_ids)]
        assignee = None
        if index % 3 == 0:
            assignee = user_ids["agent"] if index % 2 == 0 else user_ids["agent2"]
        elif index % 3 == 1:
            assignee = user_ids["agent3"]
        status = rng.choices(("open", "snoozed", "closed"), (5, 1, 4))[0]
        conversation_rows.append(
            {
                "id": new_id("cv"),
                "contact_id": contact["id"],
                "line_id": line_ids[index % len(line_ids)],
                "status": status,
                "snoozed_until": now + timedelta(days=1) if status == "snoozed" else None,
                "team_id": team_id if index % 3 != 1 else team_ids[1],
                "assignee_id": assignee,
                "unread": rng.random() < 0.2,
                "created_at": now - timedelta(days=30),
                "updated_at": now,
            }
        )

    # Messages: spread over 30 days, each in its contact's conversation (contact, line).
    kinds = [(d, s) for d, s, _ in MIX]
    weights = [w for _, _, w in MIX]
    last_activity: dict[str, datetime] = {}
    last_inbound: dict[str, datetime] = {}
    written = 0
    started = time.perf_counter()
    while written < messages:
        rows = []
        for _ in range(min(BATCH, messages - written)):
            index = rng.randrange(conversations)
            contact, conversation = contact_rows[index], conversation_rows[index]
            direction, status = rng.choices(kinds, weights)[0]
            at = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            message_id = new_id("msg")
            rows.append(
                {
                    "id": message_id,
                    "direction": direction,
                    "contact_id": contact["id"],
                    "line_id": conversation["line_id"],
                    "via_line_id": conversation["line_id"] if status != "queued" else None,
                    "status": status,
                    "body_enc": vault.encrypt(
                        contact["key_id"], rng.choice(TEXTS), "messages", "body", message_id
                    ),
                    "encoding": "gsm7",
                    "segments": 1,
                    "priority": 0,
                    "next_attempt_at": at,
                    "attempts": 0 if direction == "in" else 1,
                    "request_report": True,
                    "purpose": "transactional",
                    "incomplete": False,
                    "created_at": at,
                    "updated_at": at,
                    "sent_at": at if status in ("sent", "delivered", "undelivered") else None,
                    "received_at": at if direction == "in" else None,
                }
            )
            key = str(conversation["id"])
            last_activity[key] = max(at, last_activity.get(key, at))
            if direction == "in":
                last_inbound[key] = max(at, last_inbound.get(key, at))
        with gateway.sessions() as session:
            session.execute(insert(Message), rows)
            session.commit()
        written += len(rows)
    print(f"  {written:,} messages in {time.perf_counter() - started:.1f} s")
    for conversation in conversation_rows:
        conversation["last_activity_at"] = last_activity.get(conversation["id"], now)
        conversation["last_inbound_at"] = last_inbound.get(conversation["id"])
    with gateway.sessions() as session:
        session.execute(insert(Conversation), conversation_rows)
        session.commit()
    print(f"  {len(conversation_rows):,} conversations")
    mine = next(
        c["id"]
        for c in conversation_rows
        if c["assignee_id"] == user_ids["agent"] and c["status"] == "open"
    )
    return Seeded(user_ids["admin"], user_ids["agent"], str(mine))


def signed_in(app: Flask, gateway: Gateway, user_id: str) -> FlaskClient:
    with gateway.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        token = start(session, user, "signed_in")
        session.commit()
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, token, domain="box.test", secure=True, path="/")
    return client


def render_times(client: FlaskClient, path: str, repeat: int) -> list[float] | int:
    """Milliseconds per render, or the status code when the page does not answer 200."""
    for _ in range(3):
        status = client.get(path, base_url=BASE_URL).status_code
        if status != 200:
            return status
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(path, base_url=BASE_URL)
        response.get_data()
        times.append((time.perf_counter() - began) * 1000)
    return times


def report(label: str, result: list[float] | int) -> None:
    if isinstance(result, int):
        print(f"  {label:<34} skipped (HTTP {result})")
        return
    ordered = sorted(result)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    verdict = "ok" if p95 < TARGET_MS else "OVER TARGET"
    print(
        f"  {label:<34} n={len(ordered):<4} mean {statistics.fmean(ordered):6.1f}  "
        f"p50 {statistics.median(ordered):6.1f}  p95 {p95:6.1f}  max {ordered[-1]:6.1f} ms  "
        f"{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="admin panel render benchmarks")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=5_000)
    parser.add_argument("--keep", type=Path, help="seed into DIR and keep it; reuse it if seeded")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="smsgw-bpanel-"))
    marker = directory / "bench_panel.json"
    config = config_for(directory)
    try:
        fresh = not marker.exists()
        if fresh:
            directory.mkdir(parents=True, exist_ok=True)
            prepare_database(config, create_master_key(config.master_key_path))
        app = create_app(config)
        gateway = gateway_of(app)
        if fresh:
            print(f"seeding {directory} (not timed)")
            seeded = seed(gateway, args.messages, args.conversations)
            with gateway.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
            seeded.save(marker)
        else:
            seeded = Seeded.load(marker)
            print(f"reusing the store seeded in {directory}")
        pages = ("/dashboard", "/inbox", "/inbox?view=mine", f"/inbox/{seeded.conversation_id}")
        print(f"server-side renders, {args.repeat} each (target: p95 < {TARGET_MS:.0f} ms)")
        for persona, user_id in (("admin", seeded.admin_id), ("agent", seeded.agent_id)):
            client = signed_in(app, gateway, user_id)
            for path in pages:
                label = f"{persona} GET {path if 'inbox/' not in path else '/inbox/<conversation>'}"
                report(label, render_times(client, path, args.repeat))
        gateway.close()
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
