"""The team inbox over the LAN API (Flask's test client on a real SQLite file): what each
persona may see and do on every route, the supervised flow, the audit log, the
sensitive-content guard, templates and signatures, and hostile input.

One office is built per module and copied (the SQLite file and the master key) for every
test that changes something; tests that only read share one copy.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DatabaseError

from gateway.apikeys import create_key
from gateway.app import Gateway, open_gateway
from gateway.config import Config, ConsentConfig, WebConfig
from gateway.inbox_access import load_viewer
from gateway.models import (
    AuditEvent,
    ConsentEvent,
    Conversation,
    ConversationNote,
    Message,
    Template,
)
from gateway.replies import reply
from gateway.teams import add_member, add_team, set_user_inbox
from gateway.templates import create_template
from gateway.users import add_user
from tests.gateway.conftest import initialise
from tests.gateway.inbox_fixtures import add_lines, inbound, name_contact, place
from web import create_app, gateway_of

BUSINESS = "Dental Care"
PERSONAS = ("admin", "manager", "ana", "ben", "auditor", "sam", "ana_ro")
# persona: (user name, role); "ana_ro" is Ana with a key that may only read.
USERS = {
    "admin": ("ada", "admin"),
    "manager": ("mia", "manager"),
    "ana": ("ana", "agent"),
    "ben": ("ben", "agent"),
    "auditor": ("aud", "auditor"),
    "sam": ("sam", "agent"),
}
EVERY = ["messages:send", "messages:read", "contacts:read", "contacts:write"]
# Well-formed ids that name nothing.
MISSING = {
    "missing": "cv_01M94GVM114KK0ESXC4NBTN2F6",
    "missing_tpl": "tpl_01M94GVM114KK0ESXC4NBTN2F6",
    "missing_msg": "msg_01M94GVM114KK0ESXC4NBTN2F6",
}
# The conversations: (customer, line, team, assignee, status, unread, minutes ago).
# Back and pool share their last activity, so paging must break the tie by id.
OFFICE = {
    "front": ("+12015550101", "ln_front", "front_team", None, "open", True, 0),
    "mine": ("+12015550102", "ln_front", "front_team", "ana", "open", False, 1),
    "back": ("+12015550103", "ln_back", "back_team", "ben", "open", True, 2),
    "pool": ("+12015550104", "ln_front", None, None, "open", True, 2),
    "lent": ("+12015550105", "ln_back", "back_team", "ana", "snoozed", False, 4),
    "closed": ("+12015550106", "ln_front", "front_team", None, "closed", False, 5),
    "backlog": ("+12015550107", "ln_back", "back_team", None, "open", False, 6),
}
EVERYONE = frozenset(OFFICE)
ANA_SEES = frozenset({"front", "mine", "pool", "lent", "closed"})  # Front, hers, the pool
VISIBLE = {
    "admin": EVERYONE,
    "manager": EVERYONE,
    "auditor": EVERYONE,
    "ana": ANA_SEES,
    "ana_ro": ANA_SEES,
    "ben": frozenset({"back", "pool", "lent", "backlog"}),  # Back and the pool
    "sam": frozenset({"front", "mine", "pool", "closed"}),  # Front and the pool
}
CARD = "4111 1111 1111 1111"


@dataclass(frozen=True)
class Seed:
    """The office, built once: a data directory to copy, the keys and the ids."""

    directory: Path
    config: Config
    keys: dict[str, str]
    ids: dict[str, str]
    times: dict[str, datetime]


def build(directory: Path) -> Seed:
    config = Config(
        data_dir=directory,
        web=WebConfig(rate_per_minute=600_000, workers=1),
        consent=ConsentConfig(transactional="on_send", business_name=BUSINESS),
    )
    initialise(config)
    gateway = open_gateway(config)
    ids: dict[str, str] = dict(MISSING)
    keys: dict[str, str] = {}
    try:
        add_lines(gateway, ("ln_front", "Front desk"), ("ln_back", "Back office"))
        with gateway.sessions() as session:
            for persona, (name, role) in USERS.items():
                user = add_user(session, name, role)
                ids[persona] = user.id
                scopes = [*EVERY, "admin"] if role == "admin" else EVERY
                keys[persona] = create_key(session, user, scopes)[1]
                if persona == "ana":
                    keys["ana_ro"] = create_key(session, user, ["messages:read"])[1]
            ids["front_team"] = add_team(session, "Front", "Front desk").id
            ids["back_team"] = add_team(session, "Back", "Back office").id
            for team, member in (("Front", "ana"), ("Front", "sam"), ("Back", "ben")):
                add_member(session, team, member)
            set_user_inbox(session, "ana", display_name="Ana")
            set_user_inbox(session, "sam", display_name="Sam", supervised=True)
            manager = load_viewer(session, ids["manager"])
            ids["shared_tpl"] = create_template(
                session,
                manager,
                "Greeting",
                "Hi {first_name}, thanks for writing to {business}.",
                shared=True,
            ).id
            ana = load_viewer(session, ids["ana"])
            ids["ana_tpl"] = create_template(
                session, ana, "Later", "I will call you back today."
            ).id
            ben = load_viewer(session, ids["ben"])
            ids["ben_tpl"] = create_template(session, ben, "Ben's", "Ben here, {name}.").id
            session.commit()
        gateway.office.invalidate()
        for key, (number, line_id, *_) in OFFICE.items():
            received = inbound(gateway, number, f"Hello from {key}", line_id)
            ids[key] = received.conversation_id
            ids[f"{key}_contact"] = received.contact_id
            ids[f"{key}_in"] = received.message_id
        name_contact(gateway, ids["pool_contact"], "Maria Lopez")
        with gateway.sessions() as session:
            sam = load_viewer(session, ids["sam"])
            held = reply(session, gateway.vault, config, sam, ids["front"], "See you at 9")
            ids["pending"] = held.id
            session.commit()
        base = datetime.now(UTC) - timedelta(hours=1)
        times = {}
        for key, (_, _, team, assignee, status, unread, ago) in OFFICE.items():
            times[key] = base - timedelta(minutes=ago)
            place(
                gateway,
                ids[key],
                team_id=ids[team] if team else None,
                assignee_id=ids[assignee] if assignee else None,
                status=status,
                snoozed_until=base + timedelta(days=2) if status == "snoozed" else None,
                unread=unread,
                last_activity_at=times[key],
            )
        ids["tomorrow"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    finally:
        gateway.close()
    return Seed(directory, config, keys, ids, times)


@dataclass
class Api:
    client: FlaskClient
    gateway: Gateway
    seed: Seed

    @property
    def ids(self) -> dict[str, str]:
        return self.seed.ids

    def fill(self, value: Any) -> Any:
        """``$name`` in a path or a body becomes the seeded id (``{first_name}`` stays)."""
        if isinstance(value, str):
            return re.sub(r"\$(\w+)", lambda m: self.ids[m.group(1)], value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def call(self, persona: str, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.seed.keys[persona]}", **kw.pop("headers", {})}
        if body is not None:
            kw["json"] = self.fill(body)
        return self.client.open("/api/v1" + self.fill(path), method=method, headers=headers, **kw)

    def get(self, persona: str, path: str) -> Any:
        response = self.call(persona, "GET", path)
        assert response.status_code == 200, response.get_json()
        return response.json

    def key_of(self, conversation_id: str) -> str:
        return next(k for k in OFFICE if self.ids[k] == conversation_id)

    def conversation(self, key: str) -> Conversation:
        with self.gateway.sessions() as session:
            found = session.get(Conversation, self.ids[key])
            assert found is not None
            session.expunge(found)
            return found

    def events(self, action: str | None = None) -> list[AuditEvent]:
        with self.gateway.sessions() as session:
            query = select(AuditEvent).order_by(AuditEvent.id)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            return list(session.scalars(query))

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a refused request must leave as it was."""
        with self.gateway.sessions() as session:
            counts = tuple(
                session.scalar(select(func.count()).select_from(table))
                for table in (Message, ConversationNote, Template, AuditEvent, ConsentEvent)
            )
            rows = session.execute(
                select(
                    Conversation.id,
                    Conversation.team_id,
                    Conversation.assignee_id,
                    Conversation.status,
                    Conversation.unread,
                    Conversation.last_activity_at,
                ).order_by(Conversation.id)
            ).all()
            templates = session.execute(
                select(Template.id, Template.name, Template.body).order_by(Template.id)
            ).all()
            statuses = session.execute(
                select(Message.id, Message.status).order_by(Message.id)
            ).all()
        return counts, rows, templates, statuses


def scratch(prefix: str) -> Path:
    """A temporary directory, in memory where the system has one: each copy of the office
    commits with synchronous=FULL, and hundreds of fsyncs on a busy disk add up."""
    memory = Path("/dev/shm")
    where = memory if memory.is_dir() and os.access(memory, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=where))


@pytest.fixture(scope="module")
def seed() -> Iterator[Seed]:
    directory = scratch("smsgw-inbox-seed-")
    try:
        yield build(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def opened(seed: Seed) -> Iterator[Api]:
    """A box of its own: a copy of the seeded office."""
    directory = scratch("smsgw-inbox-")
    shutil.copytree(seed.directory, directory, dirs_exist_ok=True)
    app = create_app(replace(seed.config, data_dir=directory))
    gateway = gateway_of(app)
    try:
        yield Api(app.test_client(), gateway, seed)
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def shared(seed: Seed) -> Iterator[Api]:
    """For tests that only read (a supervisor's look adds audit rows, nothing else)."""
    with opened(seed) as api:
        yield api


@pytest.fixture
def api(seed: Seed) -> Iterator[Api]:
    """For tests that change something."""
    with opened(seed) as fresh:
        yield fresh


def keys_of(api: Api, data: list[dict[str, Any]]) -> list[str]:
    return [api.key_of(item["id"]) for item in data]


def newest_first(api: Api, keys: frozenset[str]) -> list[str]:
    """The list order: last activity, newest first; the larger id first on a tie."""
    by_id = sorted(keys, key=lambda k: api.ids[k], reverse=True)
    return sorted(by_id, key=lambda k: api.seed.times[k], reverse=True)


# Error codes in the tables below, with their statuses.
NF, FB, SC, CF = "not_found", "forbidden", "insufficient_scope", "conflict"


def expect(response: Any, expected: int | str) -> None:
    """An int is a success status; a string is an error code (with its status)."""
    if isinstance(expected, int):
        assert response.status_code == expected, response.get_json()
        return
    status = {NF: 404, FB: 403, SC: 403, CF: 409}[expected]
    assert response.content_type == "application/problem+json"
    assert (response.status_code, response.json["code"]) == (status, expected)


# --- who may do what, on every route -----------------------------------------------------------

NEW = {"to": "(201) 555-0188", "line": "Front desk"}
AGAIN_POOL = {"to": "+12015550104", "line": "Front desk"}  # everyone sees the pool
AGAIN_BACK = {"to": "+12015550103", "line": "Back office"}  # Back's: not Ana's or Sam's
FRONT = "/conversations/$front"
BACK = "/conversations/$back"
GONE = "/conversations/$missing"
NOTE = {"body": "Called back, left a voicemail"}
ANSWER = {"body": "We can see you at 3 today"}
SNOOZE = {"until": "$tomorrow"}
# Expected answers in the order of PERSONAS: admin, manager, ana, ben, auditor, sam, ana_ro.
# Ana and Sam are in Front, Ben in Back; "front" is Front's, "back" is Back's and Ben's.
ROUTES: list[tuple[str, str, Any, tuple[int | str, ...]]] = [
    ("GET", "/conversations", None, (200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/conversations", NEW, (201, 201, 201, 201, FB, 201, SC)),
    ("POST", "/conversations", AGAIN_POOL, (201, 201, 201, 201, FB, 201, SC)),
    ("POST", "/conversations", AGAIN_BACK, (201, 201, CF, 201, FB, CF, SC)),
    ("GET", FRONT, None, (200, 200, 200, NF, 200, 200, 200)),
    ("GET", BACK, None, (200, 200, NF, 200, 200, NF, NF)),
    ("GET", "/conversations/$lent", None, (200, 200, 200, 200, 200, NF, 200)),
    ("GET", "/conversations/$pool", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", GONE, None, (NF, NF, NF, NF, NF, NF, NF)),
    ("POST", f"{FRONT}/assign", {"user": None}, (200, 200, 200, NF, FB, 200, SC)),
    ("POST", f"{BACK}/assign", {"user": None}, (200, 200, NF, 200, FB, NF, SC)),
    ("POST", f"{GONE}/assign", {"user": None}, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", "/conversations/$pool/assign", {"user": "$ben"}, (200, 200, FB, 200, FB, FB, SC)),
    (
        "POST",
        f"{FRONT}/transfer",
        {"team": "$back_team", "note": "Billing question"},
        (200, 200, 200, NF, FB, 200, SC),
    ),
    (
        "POST",
        f"{FRONT}/transfer",
        {"user": "$ben", "note": "Billing"},
        (200, 200, 200, NF, FB, 200, SC),
    ),
    ("POST", f"{BACK}/transfer", {"team": "$front_team"}, (200, 200, NF, 200, FB, NF, SC)),
    ("POST", f"{GONE}/transfer", {"team": "$front_team"}, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/close", None, (200, 200, 200, NF, FB, 200, SC)),
    ("POST", f"{BACK}/close", None, (200, 200, NF, 200, FB, NF, SC)),
    ("POST", f"{GONE}/close", None, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/reopen", None, (200, 200, 200, NF, FB, 200, SC)),
    ("POST", f"{BACK}/reopen", None, (200, 200, NF, 200, FB, NF, SC)),
    ("POST", f"{GONE}/reopen", None, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/read", None, (200, 200, 200, NF, 200, 200, 200)),
    ("POST", f"{BACK}/read", None, (200, 200, NF, 200, 200, NF, NF)),
    ("POST", f"{GONE}/read", None, (NF, NF, NF, NF, NF, NF, NF)),
    ("POST", f"{FRONT}/snooze", SNOOZE, (200, 200, 200, NF, FB, 200, SC)),
    ("POST", f"{BACK}/snooze", SNOOZE, (200, 200, NF, 200, FB, NF, SC)),
    ("POST", f"{GONE}/snooze", SNOOZE, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/notes", NOTE, (201, 201, 201, NF, FB, 201, SC)),
    ("POST", f"{BACK}/notes", NOTE, (201, 201, NF, 201, FB, NF, SC)),
    ("POST", f"{GONE}/notes", NOTE, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/messages", ANSWER, (202, 202, 202, NF, FB, 202, SC)),
    ("POST", f"{BACK}/messages", ANSWER, (202, 202, NF, 202, FB, NF, SC)),
    ("POST", f"{GONE}/messages", ANSWER, (NF, NF, NF, NF, NF, NF, SC)),
    ("POST", f"{FRONT}/preview", ANSWER, (200, 200, 200, NF, FB, 200, 200)),
    ("POST", f"{BACK}/preview", ANSWER, (200, 200, NF, 200, FB, NF, NF)),
    ("POST", f"{GONE}/preview", ANSWER, (NF, NF, NF, NF, NF, NF, NF)),
    ("GET", "/templates", None, (200, 200, 200, 200, 200, 200, 200)),
    (
        "POST",
        "/templates",
        {"name": "Parking", "body": "Parking is free for patients."},
        (201, 201, 201, 201, FB, 201, SC),
    ),
    (
        "POST",
        "/templates",
        {"name": "Hours", "body": "Open 9-5.", "shared": True},
        (201, 201, FB, FB, FB, FB, SC),
    ),
    ("PATCH", "/templates/$shared_tpl", {"body": "Hello!"}, (200, 200, FB, FB, FB, FB, SC)),
    ("PATCH", "/templates/$ana_tpl", {"body": "Soon."}, (NF, NF, 200, NF, NF, NF, SC)),
    ("PATCH", "/templates/$missing_tpl", {"body": "x"}, (NF, NF, NF, NF, NF, NF, SC)),
    ("DELETE", "/templates/$shared_tpl", None, (204, 204, FB, FB, FB, FB, SC)),
    ("DELETE", "/templates/$ana_tpl", None, (NF, NF, 204, NF, NF, NF, SC)),
    ("DELETE", "/templates/$missing_tpl", None, (NF, NF, NF, NF, NF, NF, SC)),
    ("GET", "/users", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/teams", None, (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/approvals", None, (200, 200, FB, FB, FB, FB, FB)),
    ("POST", "/messages/$pending/approve", None, (200, 200, FB, FB, FB, FB, SC)),
    ("POST", "/messages/$pending/reject", None, (200, 200, FB, FB, FB, FB, SC)),
    ("POST", "/messages/$missing_msg/approve", None, (NF, NF, FB, FB, FB, FB, SC)),
    ("POST", "/messages/$front_in/reject", None, (NF, NF, FB, FB, FB, FB, SC)),
    ("GET", "/audit", None, (200, FB, FB, FB, 200, FB, FB)),
]
MATRIX = [
    pytest.param(persona, method, path, body, answer, id=f"{persona} {method} {path}")
    for method, path, body, answers in ROUTES
    for persona, answer in zip(PERSONAS, answers, strict=True)
]


@pytest.mark.parametrize(("persona", "method", "path", "body", "expected"), MATRIX)
def test_it_answers_each_persona_on_every_route_as_the_access_rules_say(
    seed: Seed, shared: Api, persona: str, method: str, path: str, body: Any, expected: Any
) -> None:
    if method == "GET":
        expect(shared.call(persona, method, path, body), expected)
    elif not isinstance(expected, int):
        # Refused: nothing may change, so the shared box serves (and proves it unchanged).
        before = shared.snapshot()
        expect(shared.call(persona, method, path, body), expected)
        assert shared.snapshot() == before
    else:
        with opened(seed) as api:
            before = api.snapshot()
            expect(api.call(persona, method, path, body), expected)
            if path.endswith("/preview"):
                assert api.snapshot() == before  # a preview sends and stores nothing


def test_it_lets_a_read_only_key_mark_read_and_preview_but_nothing_else(shared: Api) -> None:
    # /read and /preview ask for messages:read: marking read and previewing send nothing.
    # Every other POST needs messages:send (the matrix above covers each one).
    assert shared.call("ana_ro", "POST", f"{FRONT}/preview", ANSWER).status_code == 200
    refused = shared.call("ana_ro", "POST", f"{FRONT}/messages", ANSWER)
    assert (refused.status_code, refused.json["code"]) == (403, SC)


# --- what the lists show -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_lists_each_persona_exactly_the_conversations_they_may_see(
    shared: Api, persona: str
) -> None:
    listed = shared.get(persona, "/conversations")
    assert keys_of(shared, listed["data"]) == newest_first(shared, VISIBLE[persona])
    assert listed["next_cursor"] is None


def test_it_shows_a_conversation_as_the_list_does_with_its_number(shared: Api) -> None:
    listed = shared.get("ana", "/conversations?contact=$pool_contact")["data"]
    assert len(listed) == 1
    pool = listed[0]
    assert pool["contact"] == {
        "id": shared.ids["pool_contact"],
        "number": "+12015550104",
        "name": "Maria Lopez",
    }
    assert (pool["line"], pool["team_id"], pool["assignee_id"]) == ("Front desk", None, None)
    assert (pool["status"], pool["unread"]) == ("open", True)


@pytest.mark.parametrize(
    ("persona", "query", "expected"),
    [
        ("ana", "assignee=me", {"mine", "lent"}),
        ("ana", "assignee=none", {"front", "pool", "closed"}),
        ("ben", "assignee=me", {"back"}),
        ("auditor", "assignee=me", set()),
        ("manager", "assignee=$ana", {"mine", "lent"}),
        ("manager", "assignee=none", {"front", "pool", "closed", "backlog"}),
        ("manager", "team=$back_team", {"back", "lent", "backlog"}),
        ("manager", "team=none", {"pool"}),
        ("ben", "team=$front_team", set()),  # a filter never widens what one sees
        ("ana", "team=$back_team", {"lent"}),
        ("manager", "status=closed", {"closed"}),
        ("manager", "status=snoozed", {"lent"}),
        ("manager", "status=open", {"front", "mine", "back", "pool", "backlog"}),
        ("manager", "unread=true", {"front", "back", "pool"}),
        ("manager", "unread=false", {"mine", "lent", "closed", "backlog"}),
        ("manager", "line=Back%20office", {"back", "lent", "backlog"}),
        ("manager", "contact=$back_contact", {"back"}),
        ("ben", "contact=$front_contact", set()),
        ("manager", "status=open&team=$front_team&unread=true", {"front"}),
        ("ana", "assignee=none&status=open", {"front", "pool"}),
    ],
)
def test_it_filters_the_list(shared: Api, persona: str, query: str, expected: set[str]) -> None:
    listed = shared.get(persona, f"/conversations?{query}")["data"]
    assert keys_of(shared, listed) == newest_first(shared, frozenset(expected))


def _naive_cursor() -> str:
    raw = b"2030-01-01T00:00:00|cv_01M94GVM114KK0ESXC4NBTN2F6"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("status=pending", "invalid_status"),
        ("status=OPEN", "invalid_status"),
        ("unread=yes", "invalid_unread"),
        ("unread=1", "invalid_unread"),
        ("limit=0", "invalid_limit"),
        ("limit=201", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("cursor=%E2%98%83", "invalid_cursor"),
        (f"cursor={_naive_cursor()}", "invalid_cursor"),
        ("sort=oldest", "unknown_parameter"),
        ("team=" + "t" * 65, "invalid_parameter"),
        ("assignee=" + "a" * 65, "invalid_parameter"),
        # Regressions: "²" passes str.isdigit() but not int(); a cursor time before year 1
        # in UTC overflowed in the database layer. Both answered 500.
        ("limit=%C2%B2", "invalid_limit"),
        ("cursor=MDAwMS0wMS0wMVQwMDowMDowMCswMTowMHx4", "invalid_cursor"),
    ],
)
def test_it_refuses_bad_list_parameters(shared: Api, query: str, code: str) -> None:
    response = shared.call("manager", "GET", f"/conversations?{query}")
    assert (response.status_code, response.json["code"]) == (422, code)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/audit?limit=%C2%B2", "invalid_limit"),
        ("/audit?cursor=%C2%B2", "invalid_cursor"),
        ("/audit?cursor=1234567890123456789", "invalid_cursor"),
        ("/messages?limit=%C2%B2", "invalid_limit"),
        ("/messages?cursor=MDAwMS0wMS0wMVQwMDowMDowMCswMTowMHx4", "invalid_cursor"),
        ("/conversations/cv_x?limit=%C2%B2", "invalid_limit"),
        ("/conversations/cv_x?sort=oldest", "unknown_parameter"),
    ],
)
def test_it_refuses_unicode_digits_and_out_of_range_cursors(
    shared: Api, path: str, code: str
) -> None:
    response = shared.call("admin", "GET", path)
    assert (response.status_code, response.json["code"]) == (422, code)


@pytest.mark.parametrize(
    ("persona", "limit", "sizes"), [("manager", 3, [3, 3, 1]), ("ana", 2, [2, 2, 1])]
)
def test_it_pages_through_the_list_with_a_cursor(
    shared: Api, persona: str, limit: int, sizes: list[int]
) -> None:
    # "back" and "pool" share their last activity: the cursor must break the tie by id.
    seen: list[str] = []
    got: list[int] = []
    path = f"/conversations?limit={limit}"
    while True:
        page = shared.get(persona, path)
        seen += keys_of(shared, page["data"])
        got.append(len(page["data"]))
        if page["next_cursor"] is None:
            break
        path = f"/conversations?limit={limit}&cursor={page['next_cursor']}"
    assert got == sizes
    assert seen == newest_first(shared, VISIBLE[persona])


def test_it_keeps_the_filters_across_pages(shared: Api) -> None:
    first = shared.get("manager", "/conversations?limit=1&team=$back_team")
    rest = shared.get(
        "manager", f"/conversations?limit=5&team=$back_team&cursor={first['next_cursor']}"
    )
    keys = keys_of(shared, first["data"] + rest["data"])
    assert keys == newest_first(shared, frozenset({"back", "lent", "backlog"}))
    assert rest["next_cursor"] is None


def test_it_shows_a_conversation_whole_with_its_thread_and_notes(shared: Api) -> None:
    shown = shared.get("ana", FRONT)
    assert shown["id"] == shared.ids["front"] and shown["line"] == "Front desk"
    thread = [(m["direction"], m["body"], m["status"]) for m in shown["messages"]]
    assert thread == [
        ("in", "Hello from front", "received"),
        ("out", "See you at 9\n- Sam @ Dental Care", "pending_approval"),
    ]
    assert shown["notes"] == []


# --- the supervised flow -------------------------------------------------------------------------


def test_it_holds_a_supervised_reply_until_a_manager_approves_it(api: Api) -> None:
    sent = api.call("sam", "POST", f"{FRONT}/messages", {"body": "Your crown is ready"})
    assert sent.status_code == 202
    held = sent.json
    assert (held["status"], held["body"]) == (
        "pending_approval",
        "Your crown is ready\n- Sam @ Dental Care",
    )
    assert held["to"] == "+12015550101" and held["created_by"] == api.ids["sam"]
    waiting = api.get("manager", "/approvals")["data"]
    assert {m["id"] for m in waiting} == {api.ids["pending"], held["id"]}
    for persona in ("sam", "ana", "auditor"):
        refused = api.call(persona, "POST", f"/messages/{held['id']}/approve")
        assert (refused.status_code, refused.json["code"]) == (403, FB)
    approved = api.call("manager", "POST", f"/messages/{held['id']}/approve")
    assert approved.status_code == 200
    assert approved.json["status"] == "queued"
    assert approved.json["events"][-1]["actor"] == api.ids["manager"]
    log = api.get("admin", f"/audit?action=message.approved&subject={held['id']}")["data"]
    assert [(e["actor"], e["actor_role"]) for e in log] == [(api.ids["manager"], "manager")]
    again = api.call("manager", "POST", f"/messages/{held['id']}/approve")
    assert (again.status_code, again.json["code"]) == (409, "not_cancelable")
    assert len(api.events("message.approved")) == 1
    assert {m["id"] for m in api.get("manager", "/approvals")["data"]} == {api.ids["pending"]}


def test_it_cancels_a_rejected_reply_and_records_who_rejected_it(api: Api) -> None:
    rejected = api.call("admin", "POST", "/messages/$pending/reject")
    assert rejected.status_code == 200 and rejected.json["status"] == "canceled"
    events = api.events("message.rejected")
    assert [(e.actor, e.actor_role, e.subject) for e in events] == [
        (api.ids["admin"], "admin", api.ids["pending"])
    ]
    for decision in ("reject", "approve"):
        late = api.call("manager", "POST", f"/messages/$pending/{decision}")
        assert (late.status_code, late.json["code"]) == (409, "not_cancelable")
    assert api.get("manager", "/approvals")["data"] == []


def test_it_sends_an_unsupervised_agents_reply_at_once(api: Api) -> None:
    sent = api.call("ana", "POST", f"{FRONT}/messages", {"body": "Your crown is ready"})
    assert sent.status_code == 202 and sent.json["status"] == "queued"
    front = api.conversation("front")
    assert front.assignee_id == api.ids["ana"]  # claimed by replying
    assert (front.unread, front.status) == (False, "open")


# --- the audit log ---------------------------------------------------------------------------


def test_it_audits_a_supervisors_and_an_auditors_look_but_not_an_agents(api: Api) -> None:
    for persona in ("ana", "sam", "manager", "auditor", "admin"):
        api.get(persona, FRONT)
    api.get("auditor", "/conversations")  # a list shows no thread: not a look
    viewed = api.events("conversation.viewed")
    assert [(e.actor, e.actor_role, e.subject) for e in viewed] == [
        (api.ids[p], role, api.ids["front"])
        for p, role in (("manager", "manager"), ("auditor", "auditor"), ("admin", "admin"))
    ]
    log = api.get("auditor", "/audit?action=conversation.viewed")["data"]
    assert [e["actor"] for e in log] == [api.ids[p] for p in ("admin", "auditor", "manager")]


def test_it_audits_a_transfer_without_the_note(api: Api) -> None:
    moved = api.call(
        "manager", "POST", f"{FRONT}/transfer", {"user": "$ben", "note": "Billing question"}
    )
    assert moved.status_code == 200 and moved.json["assignee_id"] == api.ids["ben"]
    assert moved.json["unread"] is True
    (event,) = api.events("conversation.transferred")
    assert (event.actor, event.subject) == (api.ids["manager"], api.ids["front"])
    assert event.detail == f"to user {api.ids['ben']} with a note"
    # Ben now works it (assigned to him), with the note for him.
    shown = api.get("ben", FRONT)
    assert [(n["author_id"], n["body"]) for n in shown["notes"]] == [
        (api.ids["manager"], "Billing question")
    ]


def test_it_lets_an_agent_hand_a_conversation_to_another_team(api: Api) -> None:
    moved = api.call("ana", "POST", f"{FRONT}/transfer", {"team": "$back_team"})
    # Out of Ana's sight now: she learns only that it went.
    assert (moved.status_code, moved.json) == (200, {"id": api.ids["front"]})
    assert api.call("ana", "GET", FRONT).status_code == 404
    assert api.get("ben", FRONT)["team_id"] == api.ids["back_team"]
    (event,) = api.events("conversation.transferred")
    assert event.detail == f"to team {api.ids['back_team']}"


def test_it_lets_an_agent_hand_a_conversation_to_another_team_with_a_note(api: Api) -> None:
    body = {"team": "$back_team", "note": "Billing question"}
    moved = api.call("ana", "POST", f"{FRONT}/transfer", body)
    assert (moved.status_code, moved.json) == (200, {"id": api.ids["front"]})
    notes = api.get("ben", FRONT)["notes"]
    assert [(n["author_id"], n["body"]) for n in notes] == [(api.ids["ana"], "Billing question")]


def test_it_records_an_assignment_to_someone_else_but_not_taking_one(api: Api) -> None:
    assert api.call("ana", "POST", f"{FRONT}/assign", {"user": "$ana"}).status_code == 200
    assert api.events("conversation.assigned") == []
    handed = api.call("manager", "POST", f"{FRONT}/assign", {"user": "$sam"})
    assert handed.status_code == 200 and handed.json["assignee_id"] == api.ids["sam"]
    (event,) = api.events("conversation.assigned")
    assert (event.actor, event.detail) == (api.ids["manager"], f"to {api.ids['sam']}")


def test_it_never_lets_anyone_change_or_remove_an_audit_event(api: Api) -> None:
    api.get("manager", FRONT)
    with api.gateway.sessions() as session:
        with pytest.raises(DatabaseError):
            session.execute(update(AuditEvent).values(actor="someone else"))
        session.rollback()
        with pytest.raises(DatabaseError):
            session.execute(delete(AuditEvent))
        session.rollback()
        event = session.scalars(select(AuditEvent)).one()
        event.detail = "nothing happened"
        with pytest.raises(DatabaseError):
            session.commit()
        session.rollback()
    (kept,) = api.events()
    assert (kept.actor, kept.action, kept.detail) == (
        api.ids["manager"],
        "conversation.viewed",
        None,
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("action=conversation.deleted", "invalid_action"),
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("cursor=abc", "invalid_cursor"),
        ("since=yesterday", "invalid_time"),
        ("until=2030-01-01T00:00:00", "invalid_time"),
        ("actor=" + "a" * 65, "invalid_parameter"),
        ("who=me", "unknown_parameter"),
    ],
)
def test_it_refuses_bad_audit_queries(shared: Api, query: str, code: str) -> None:
    response = shared.call("auditor", "GET", f"/audit?{query}")
    assert (response.status_code, response.json["code"]) == (422, code)


def test_it_pages_the_audit_log_newest_first(api: Api) -> None:
    for persona in ("manager", "auditor", "admin"):
        api.get(persona, FRONT)
    first = api.get("auditor", "/audit?limit=2")
    rest = api.get("auditor", f"/audit?limit=2&cursor={first['next_cursor']}")
    actors = [e["actor"] for e in first["data"] + rest["data"]]
    assert actors == [api.ids[p] for p in ("admin", "auditor", "manager")]
    assert rest["next_cursor"] is None


# --- an auditor reads, changes nothing ----------------------------------------------------------


def test_it_leaves_the_unread_mark_alone_when_an_auditor_reads(api: Api) -> None:
    assert api.call("auditor", "POST", f"{FRONT}/read").status_code == 200
    assert api.conversation("front").unread is True
    assert api.call("ana", "POST", f"{FRONT}/read").json["unread"] is False
    assert api.conversation("front").unread is False


# --- the sensitive-content guard -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        f"Your card {CARD} is on file",
        "We have SSN 123-45-6789 for you",
        "Your password: Tr0ub4dor&3x",
    ],
)
def test_it_refuses_an_agents_reply_holding_sensitive_data_without_repeating_it(
    api: Api, body: str
) -> None:
    before = api.snapshot()
    refused = api.call("ana", "POST", f"{FRONT}/messages", {"body": body})
    assert (refused.status_code, refused.json["code"]) == (422, "sensitive_content")
    assert not re.search(r"\d", refused.json["detail"])
    text = refused.get_data(as_text=True)
    assert "1111" not in text and "6789" not in text and "Tr0ub4dor" not in text
    assert api.snapshot() == before


def test_it_sends_a_managers_override_and_audits_it(api: Api) -> None:
    body = {"body": f"Card on file: {CARD}", "override_sensitive": True}
    sent = api.call("manager", "POST", f"{FRONT}/messages", body)
    assert sent.status_code == 202 and sent.json["status"] == "queued"
    (event,) = api.events("message.sensitive_override")
    assert (event.actor, event.actor_role, event.subject) == (
        api.ids["manager"],
        "manager",
        sent.json["id"],
    )
    assert event.detail == "sent despite a payment card number"


@pytest.mark.parametrize("persona", ["ana", "sam"])
def test_it_refuses_an_agents_override(api: Api, persona: str) -> None:
    before = api.snapshot()
    body = {"body": f"Card on file: {CARD}", "override_sensitive": True}
    refused = api.call(persona, "POST", f"{FRONT}/messages", body)
    assert (refused.status_code, refused.json["code"]) == (403, FB)
    assert "1111" not in refused.get_data(as_text=True)
    assert api.snapshot() == before


def test_it_still_refuses_a_manager_who_does_not_override(api: Api) -> None:
    refused = api.call("manager", "POST", f"{FRONT}/messages", {"body": f"Card {CARD}"})
    assert (refused.status_code, refused.json["code"]) == (422, "sensitive_content")


@pytest.mark.parametrize(
    "text",
    [
        "Order 100234567 has shipped",
        "Call us back on +1 201 555 0123",
        "Your reference is 4111 1111 1111 1112",  # 16 digits, but no Luhn check digit
        "Tracking 1Z999AA10123456784, parcel 9400 1000 0000 0000 0000 00",
    ],
)
def test_it_sends_look_alikes_that_are_not_sensitive(api: Api, text: str) -> None:
    sent = api.call("ana", "POST", f"{FRONT}/messages", {"body": text, "sign": False})
    assert sent.status_code == 202, sent.json
    assert (sent.json["status"], sent.json["body"]) == ("queued", text)


# --- templates and signatures ------------------------------------------------------------------


def preview(api: Api, persona: str, key: str, body: dict[str, Any]) -> str:
    response = api.call(persona, "POST", f"/conversations/${key}/preview", body)
    assert response.status_code == 200, response.json
    text: str = response.json["body"]
    return text


def test_it_fills_a_template_with_the_customers_first_name_and_signs_it(shared: Api) -> None:
    text = preview(shared, "ana", "pool", {"template": "$shared_tpl"})
    assert text == "Hi Maria, thanks for writing to Dental Care.\n- Ana @ Dental Care"


def test_it_drops_a_missing_first_name_cleanly(shared: Api) -> None:
    text = preview(shared, "ana", "front", {"template": "$shared_tpl"})
    assert text == "Hi, thanks for writing to Dental Care.\n- Ana @ Dental Care"


@pytest.mark.parametrize(
    ("persona", "body", "expected"),
    [
        ("ana", "Thanks {name}! {agent}, {line}", "Thanks Maria Lopez! Ana, Front desk"),
        ("sam", "{first_name} {last_name}: {business}", "Maria Lopez: Dental Care"),
        ("ben", "Regards, {agent}", "Regards, ben"),  # no display name: the user's name
        ("manager", "Regards, {agent}", "Regards, mia"),
    ],
)
def test_it_fills_every_variable(shared: Api, persona: str, body: str, expected: str) -> None:
    assert preview(shared, persona, "pool", {"body": body, "sign": False}) == expected


def test_it_signs_with_the_persons_own_signature_or_none(api: Api) -> None:
    with api.gateway.sessions() as session:
        set_user_inbox(session, "ana", signature="-- {agent}, {line}")
        set_user_inbox(session, "ben", signature="")
        session.commit()
    assert preview(api, "ana", "pool", {"body": "See you"}) == "See you\n-- Ana, Front desk"
    assert preview(api, "ben", "pool", {"body": "See you"}) == "See you"


def test_it_sends_what_the_preview_showed(api: Api) -> None:
    shown = preview(api, "ana", "pool", {"template": "$shared_tpl"})
    sent = api.call("ana", "POST", "/conversations/$pool/messages", {"template": "$shared_tpl"})
    assert sent.status_code == 202 and sent.json["body"] == shown
    assert sent.json["to"] == "+12015550104" and sent.json["line"] == "Front desk"


@pytest.mark.parametrize("route", ["preview", "messages"])
def test_it_hides_someone_elses_personal_template(api: Api, route: str) -> None:
    before = api.snapshot()
    used = api.call("ana", "POST", f"/conversations/$pool/{route}", {"template": "$ben_tpl"})
    assert (used.status_code, used.json["code"]) == (404, NF)
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("ana", ["Greeting", "Later"]),
        ("ben", ["Greeting", "Ben's"]),
        ("manager", ["Greeting"]),
        ("auditor", ["Greeting"]),
    ],
)
def test_it_lists_the_shared_templates_and_only_ones_own(
    shared: Api, persona: str, names: list[str]
) -> None:
    listed = shared.get(persona, "/templates")["data"]
    assert [t["name"] for t in listed] == names
    assert listed[0]["shared"] is True and listed[0]["owner_id"] is None


def test_it_gives_a_managers_shared_template_to_everyone(api: Api) -> None:
    made = api.call(
        "manager", "POST", "/templates", {"name": "Hours", "body": "Open 9-5.", "shared": True}
    )
    assert made.status_code == 201 and made.json["shared"] is True
    for persona in ("ana", "ben", "sam", "auditor"):
        assert "Hours" in [t["name"] for t in api.get(persona, "/templates")["data"]]
    clash = api.call("admin", "POST", "/templates", {"name": "Hours", "body": "x", "shared": True})
    assert (clash.status_code, clash.json["code"]) == (409, "conflict")
    # A personal template may share a shared one's name.
    mine = api.call("ana", "POST", "/templates", {"name": "Hours", "body": "Open till 6."})
    assert mine.status_code == 201 and mine.json["owner_id"] == api.ids["ana"]


def test_it_refuses_renaming_a_template_to_a_name_in_use(api: Api) -> None:
    made = api.call("ana", "POST", "/templates", {"name": "Soon", "body": "Back soon."})
    assert made.status_code == 201
    renamed = api.call("ana", "PATCH", "/templates/$ana_tpl", {"name": "Soon"})
    assert (renamed.status_code, renamed.json["code"]) == (409, "conflict")


# --- people and teams --------------------------------------------------------------------------


def test_it_lists_the_people_with_their_teams(shared: Api) -> None:
    people = {u["name"]: u for u in shared.get("ana", "/users")["data"]}
    assert list(people) == ["ada", "ana", "aud", "ben", "mia", "sam"]
    assert people["ana"]["teams"] == [shared.ids["front_team"]]
    assert people["ana"]["display_name"] == "Ana" and people["ana"]["supervised"] is False
    assert (people["sam"]["supervised"], people["aud"]["role"]) == (True, "auditor")
    assert not {"password_hash", "password", "keys"} & set(people["ada"])


def test_it_lists_the_teams_with_their_line_and_members(shared: Api) -> None:
    teams = shared.get("ben", "/teams")["data"]
    assert [(t["name"], t["default_line"], t["members"]) for t in teams] == [
        ("Back", "Back office", [shared.ids["ben"]]),
        ("Front", "Front desk", [shared.ids["ana"], shared.ids["sam"]]),
    ]


def test_it_starts_a_conversation_and_gives_it_to_whoever_started_it(api: Api) -> None:
    started = api.call("ana", "POST", "/conversations", NEW)
    assert started.status_code == 201
    assert started.json["contact"]["number"] == "+12015550188"
    assert (started.json["assignee_id"], started.json["line"]) == (api.ids["ana"], "Front desk")
    again = api.call("manager", "POST", "/conversations", NEW)
    assert again.json["id"] == started.json["id"]
    assert again.json["assignee_id"] == api.ids["ana"]  # still Ana's
    elsewhere = api.call("ana", "POST", "/conversations", AGAIN_BACK)
    assert (elsewhere.status_code, elsewhere.json["code"]) == (409, CF)
    assert api.ids["ben"] not in elsewhere.get_data(as_text=True)


# --- hostile input -----------------------------------------------------------------------------

LONG_NOTE = "Customer called about the invoice. " * 143  # 5,005 characters
HOSTILE = [
    (
        "POST",
        f"{FRONT}/transfer",
        {"team": "$back_team", "note": "ok\x1b[2J"},
        422,
        "invalid_input",
    ),
    ("POST", f"{FRONT}/transfer", {"team": "$back_team", "note": LONG_NOTE}, 422, "invalid_input"),
    ("POST", f"{FRONT}/transfer", {"team": "tm_\x00\r\nX"}, 404, NF),
    ("POST", f"{FRONT}/transfer", {"team": "t" * 5000}, 404, NF),
    ("POST", f"{FRONT}/transfer", {"user": "$ben", "team": "$back_team"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/transfer", {}, 422, "invalid_input"),
    ("POST", f"{FRONT}/transfer", {"team": ["$back_team"]}, 422, "invalid_type"),
    ("POST", f"{FRONT}/transfer", {"team": "$back_team", "priority": 1}, 422, "unknown_field"),
    ("POST", f"{FRONT}/transfer", {"user": "$auditor"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/notes", {"body": "hi\x07there"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/notes", {"body": "\x00"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/notes", {"body": LONG_NOTE}, 422, "invalid_input"),
    ("POST", f"{FRONT}/notes", {"body": "   \n\t"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/notes", {"body": 42}, 422, "invalid_type"),
    ("POST", f"{FRONT}/notes", {"body": None}, 422, "missing_field"),
    ("POST", f"{FRONT}/notes", {}, 422, "missing_field"),
    ("POST", f"{FRONT}/notes", {"body": "ok", "author": "$ben"}, 422, "unknown_field"),
    ("POST", f"{FRONT}/assign", {"user": 7}, 422, "invalid_type"),
    ("POST", f"{FRONT}/assign", {"user": "$auditor"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/assign", {"user": "usr_nobody"}, 404, NF),
    ("POST", f"{FRONT}/close", {"force": True}, 422, "unknown_field"),
    ("POST", f"{FRONT}/snooze", {}, 422, "missing_field"),
    ("POST", f"{FRONT}/snooze", {"until": "tomorrow"}, 422, "invalid_time"),
    ("POST", f"{FRONT}/snooze", {"until": "2030-01-01T09:00:00"}, 422, "invalid_time"),
    ("POST", f"{FRONT}/snooze", {"until": "2001-01-01T09:00:00Z"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/snooze", {"until": "2999-01-01T09:00:00Z"}, 422, "invalid_input"),
    ("POST", f"{FRONT}/snooze", {"until": 1767225600}, 422, "invalid_type"),
    ("POST", f"{FRONT}/messages", {}, 422, "missing_field"),
    ("POST", f"{FRONT}/messages", {"body": "hi\x1aAT+CMGS"}, 422, "invalid_template"),
    ("POST", f"{FRONT}/messages", {"body": "Hi {frist_name}"}, 422, "invalid_template"),
    ("POST", f"{FRONT}/messages", {"body": "Hi {0.__class__}"}, 422, "invalid_template"),
    ("POST", f"{FRONT}/messages", {"body": "x" * 1601}, 422, "invalid_template"),
    ("POST", f"{FRONT}/messages", {"body": "hi", "sign": "no"}, 422, "invalid_type"),
    ("POST", f"{FRONT}/messages", {"body": "hi", "to": "+15550000000"}, 422, "unknown_field"),
    ("POST", f"{FRONT}/messages", {"template": "$missing_tpl"}, 404, NF),
    ("POST", f"{FRONT}/preview", {"body": ["hi"]}, 422, "invalid_type"),
    ("POST", f"{FRONT}/preview", {"body": "hi", "override_sensitive": True}, 422, "unknown_field"),
    ("POST", "/templates", {"name": "Two\nlines", "body": "x"}, 422, "invalid_template"),
    ("POST", "/templates", {"name": "Bell", "body": "ding\x07"}, 422, "invalid_template"),
    ("POST", "/templates", {"name": "Typo", "body": "Hi {frist_name}"}, 422, "invalid_template"),
    ("POST", "/templates", {"name": "n" * 65, "body": "x"}, 422, "invalid_template"),
    ("POST", "/templates", {"name": "Big", "body": "x" * 1601}, 422, "invalid_template"),
    ("POST", "/templates", {"name": "Ok", "body": "x", "owner_id": "$ana"}, 422, "unknown_field"),
    ("POST", "/templates", {"name": 5, "body": "x"}, 422, "invalid_type"),
    ("POST", "/templates", {"name": "Ok", "body": "x", "shared": "yes"}, 422, "invalid_type"),
    ("POST", "/templates", {"body": "x"}, 422, "missing_field"),
    ("POST", "/templates", {"name": "Greeting", "body": "x", "shared": True}, 409, CF),
    ("PATCH", "/templates/$shared_tpl", {"body": "esc\x1b[0m"}, 422, "invalid_template"),
    ("PATCH", "/templates/$shared_tpl", {"name": "  "}, 422, "invalid_template"),
    ("PATCH", "/templates/$shared_tpl", {"shared": False}, 422, "unknown_field"),
    ("POST", "/messages/$pending/approve", {"note": "fine"}, 422, "unknown_field"),
    ("POST", "/messages/$pending/reject", [], 422, "invalid_type"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [pytest.param(*case, id=f"{case[0]} {case[1]} {case[4]}") for case in HOSTILE],
)
def test_it_refuses_hostile_input_clearly_and_stores_nothing(
    shared: Api, method: str, path: str, body: Any, status: int, code: str
) -> None:
    before = shared.snapshot()
    refused = shared.call("manager", method, path, body)
    assert (refused.status_code, refused.json["code"]) == (status, code)
    assert refused.content_type == "application/problem+json"
    assert shared.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        f"{FRONT}/notes",
        f"{FRONT}/transfer",
        f"{FRONT}/close",
        f"{FRONT}/messages",
        f"{FRONT}/preview",
        "/templates",
        "/templates/$shared_tpl",
        "/messages/$pending/approve",
    ],
)
@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ('{"body": "hi"', "application/json", 400, "invalid_json"),
        ('{"body": NaN}', "application/json", 400, "invalid_json"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        ("body=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("hi", "text/plain", 415, "unsupported_media_type"),
        ('["body", "hi"]', "application/json", 422, "invalid_type"),
    ],
)
def test_it_refuses_what_is_not_a_json_object(
    shared: Api, path: str, data: Any, content_type: str, status: int, code: str
) -> None:
    before = shared.snapshot()
    method = "PATCH" if path == "/templates/$shared_tpl" else "POST"
    refused = shared.call("manager", method, path, data=data, content_type=content_type)
    assert (refused.status_code, refused.json["code"]) == (status, code)
    assert shared.snapshot() == before


MARK = "Zebra-Quartz"
ECHOES = [
    ("POST", f"{FRONT}/messages", {"body": f"{MARK} {CARD}"}),
    ("POST", f"{FRONT}/messages", {"body": f"{MARK} {{frist_name}}"}),
    ("POST", f"{FRONT}/messages", {"body": f"{MARK}\x1b +12015550199"}),
    ("POST", f"{FRONT}/preview", {"body": f"{MARK} +12015550199 {{nope}}"}),
    ("POST", f"{FRONT}/notes", {"body": f"{MARK} +12015550199\x07"}),
    ("POST", f"{FRONT}/transfer", {"user": "+12015550199", "note": MARK}),
    ("POST", f"{FRONT}/transfer", {"team": "$back_team", "note": f"{MARK}\x00"}),
    ("POST", f"{FRONT}/assign", {"user": "+12015550199"}),
    ("POST", f"{FRONT}/snooze", {"until": f"{MARK} +12015550199"}),
    ("POST", "/templates", {"name": MARK, "body": "+12015550199 {nope}"}),
    ("POST", "/templates", {"name": f"{MARK}\n", "body": "+12015550199"}),
    ("PATCH", "/templates/$shared_tpl", {"body": f"{MARK} +12015550199\x1b"}),
    ("POST", "/conversations/+12015550199/close", None),
    ("GET", "/conversations/+12015550199", None),
    ("POST", "/messages/+12015550199/approve", None),
    ("POST", "/conversations", {"to": "+1201555019912345", "line": MARK}),
    ("POST", "/conversations", {"to": f"{MARK}", "line": "Front desk"}),
]


@pytest.mark.parametrize("persona", ["ana", "ben"])
@pytest.mark.parametrize(("method", "path", "body"), ECHOES)
def test_it_never_echoes_a_submitted_text_or_number(
    shared: Api, persona: str, method: str, path: str, body: Any
) -> None:
    before = shared.snapshot()
    refused = shared.call(persona, method, path, body)
    assert refused.status_code >= 400
    assert shared.snapshot() == before
    text = refused.get_data(as_text=True)
    assert MARK not in text and "2015550199" not in text and "1111" not in text
    # Nor the numbers of the conversation it was about.
    assert "2015550101" not in text


# --- a conversation one may not see does not exist --------------------------------------------

PROBES = [
    ("GET", "", None),
    ("POST", "/assign", {"user": None}),
    ("POST", "/assign", {"user": "$auditor"}),
    ("POST", "/transfer", {"team": "$front_team", "note": "x"}),
    ("POST", "/close", None),
    ("POST", "/reopen", None),
    ("POST", "/read", None),
    ("POST", "/snooze", SNOOZE),
    ("POST", "/snooze", {"until": "2001-01-01T00:00:00Z"}),
    ("POST", "/notes", NOTE),
    ("POST", "/messages", ANSWER),
    ("POST", "/messages", {"body": "Hi {frist_name}"}),
    ("POST", "/messages", {"template": "$ben_tpl"}),
    ("POST", "/preview", ANSWER),
    ("POST", "/preview", {"body": "x" * 2000}),
    pytest.param("POST", "/transfer", {}, id="transfer-to-nobody"),
    pytest.param(
        "POST",
        "/transfer",
        {"user": "$ana", "team": "$front_team"},
        id="transfer-to-both",
    ),
    pytest.param(
        "POST",
        "/transfer",
        {"team": "$front_team", "note": "\x07"},
        id="transfer-bad-note",
    ),
    pytest.param("POST", "/notes", {"body": " "}, id="notes-blank"),
    pytest.param("POST", "/notes", {"body": LONG_NOTE}, id="notes-too-long"),
]


@pytest.mark.parametrize(("persona", "hidden"), [("ben", "front"), ("ana", "back")])
@pytest.mark.parametrize(("method", "route", "body"), PROBES)
def test_it_answers_for_a_hidden_conversation_exactly_as_for_an_unknown_id(
    shared: Api, persona: str, hidden: str, method: str, route: str, body: Any
) -> None:
    before = shared.snapshot()
    for_hidden = shared.call(persona, method, f"/conversations/${hidden}{route}", body)
    for_unknown = shared.call(persona, method, f"/conversations/$missing{route}", body)
    assert (for_hidden.status_code, for_hidden.json) == (for_unknown.status_code, for_unknown.json)
    assert for_hidden.status_code in (404, 422)  # 422: input refused before any look-up
    assert shared.snapshot() == before
