"""When the database cannot take a write, the API answers 503 and stores nothing.

Real SQLite conditions, not mocks: another connection holding the write lock (``BEGIN
IMMEDIATE``) past a short busy timeout, and a database file capped by ``PRAGMA
max_page_count`` so that growing it fails with SQLITE_FULL as on a full disk.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from gateway.apikeys import create_key
from gateway.app import Gateway
from gateway.config import Config, WebConfig
from gateway.config_schema import ConsentConfig
from gateway.models import IdempotencyRecord, Message
from gateway.users import add_user
from tests.gateway.conftest import initialise
from web import create_app, gateway_of

TO = "+12015550123"
BUSY_MS = 200  # the test's busy timeout: the box's own is 30 s


@dataclass
class Box:
    client: FlaskClient
    gateway: Gateway
    key: str
    database: Path
    page_cap: int | None = None

    def post(self, path: str, body: dict[str, Any], **headers: str) -> Any:
        headers["Authorization"] = f"Bearer {self.key}"
        return self.client.post(path, json=body, headers=headers)

    def stored(self) -> tuple[int, int]:
        with self.gateway.sessions() as session:
            messages = session.scalar(select(func.count()).select_from(Message))
            records = session.scalar(select(func.count()).select_from(IdempotencyRecord))
            return messages, records


@pytest.fixture
def box() -> Iterator[Box]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-full-"))
    config = Config(
        data_dir=directory,
        web=WebConfig(rate_per_minute=600_000, workers=1),
        consent=ConsentConfig(transactional="on_send"),  # the sender attests it: no set-up
    )
    initialise(config)
    app = create_app(config)
    gateway = gateway_of(app)
    box = Box(app.test_client(), gateway, "", directory / "smsgw.db")

    @event.listens_for(gateway.engine, "connect")
    def _test_limits(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        if box.page_cap is not None:
            cursor.execute(f"PRAGMA max_page_count={box.page_cap}")
        cursor.close()

    with gateway.sessions() as session:
        crm = add_user(session, "crm", "agent")
        _, box.key = create_key(session, crm, ["messages:send", "messages:read"])
        session.commit()
    try:
        yield box
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def fill_disk(box: Box) -> None:
    """Cap the database file at the pages it has now: it cannot grow any more."""
    with sqlite3.connect(box.database) as probe:
        probe.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        box.page_cap = probe.execute("PRAGMA page_count").fetchone()[0]
    box.gateway.engine.dispose()  # new connections get the cap


def free_disk(box: Box) -> None:
    box.page_cap = None
    box.gateway.engine.dispose()


def batch(count: int) -> dict[str, Any]:
    # Long bodies: the batch needs many new pages, more than any free ones left in the file.
    return {"messages": [{"to": TO, "body": "x" * 900} for _ in range(count)]}


def assert_unavailable(answer: Any, code: str) -> None:
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == code
    assert int(answer.headers["Retry-After"]) > 0
    assert TO not in answer.get_data(as_text=True)


def test_it_answers_503_while_another_writer_holds_the_lock(box: Box) -> None:
    blocker = sqlite3.connect(box.database, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        answer = box.post("/api/v1/messages", {"to": TO, "body": "Hi"}, **{"Idempotency-Key": "k1"})
        assert_unavailable(answer, "storage_unavailable")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert box.stored() == (0, 0)
    # The same request again, now that the lock is free: the key was not half-used.
    again = box.post("/api/v1/messages", {"to": TO, "body": "Hi"}, **{"Idempotency-Key": "k1"})
    assert again.status_code == 202, again.get_data(as_text=True)
    assert box.stored() == (1, 1)


def test_it_answers_503_when_the_database_is_full_and_stores_nothing(box: Box) -> None:
    fill_disk(box)
    answer = box.post("/api/v1/messages/batch", batch(200), **{"Idempotency-Key": "b1"})
    assert_unavailable(answer, "storage_full")
    assert box.stored() == (0, 0)
    free_disk(box)
    again = box.post("/api/v1/messages/batch", batch(200), **{"Idempotency-Key": "b1"})
    assert again.status_code == 202, again.get_data(as_text=True)
    assert len(again.json["accepted"]) == 200
    assert box.stored() == (200, 1)


def test_it_keeps_reading_while_the_database_is_full(box: Box) -> None:
    assert box.post("/api/v1/messages", {"to": TO, "body": "Hi"}).status_code == 202
    fill_disk(box)
    answer = box.client.get("/api/v1/messages", headers={"Authorization": f"Bearer {box.key}"})
    assert answer.status_code == 200
    assert len(answer.json["data"]) == 1
