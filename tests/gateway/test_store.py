"""The store on a real SQLite file: schema from migrations, no plaintext anywhere on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from gateway.app import Gateway, open_gateway
from gateway.archive import message_detail
from gateway.config import Config
from gateway.crypto import CryptoError
from gateway.models import Base, Contact, Message
from gateway.outbound import SendRequest, enqueue
from gateway.store import MIGRATIONS, engine_url, make_engine, migrate
from tests.gateway.conftest import Rig, wait_until

pytestmark = pytest.mark.both_databases

SECRET_TEXTS = [
    "Biopsy results: benign, call Dr Okafor",
    "Ihre Kontonummer endet auf 4711 — Grüße",
    "Пароль от портала: зелёный-слон",
    "予約は火曜日の午後三時です",
]
SECRET_NUMBERS = ["+12015550187", "+447700900461", "+4915112345678"]


def test_it_runs_on_the_database_it_was_given(gateway: Gateway, backend: str) -> None:
    # Guards the parametrization itself: a [postgresql] test that quietly ran on SQLite
    # would prove nothing.
    assert gateway.engine.dialect.name == backend
    if backend == "postgresql":
        assert gateway.engine.dialect.driver == "psycopg"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://smsgw@db.lan/smsgw", "postgresql+psycopg://smsgw@db.lan/smsgw"),
        ("postgres://smsgw@db.lan:6432/smsgw", "postgresql+psycopg://smsgw@db.lan:6432/smsgw"),
        ("postgresql+psycopg://smsgw@db.lan/smsgw", "postgresql+psycopg://smsgw@db.lan/smsgw"),
        ("sqlite:////var/lib/smsgw/smsgw.db", "sqlite:////var/lib/smsgw/smsgw.db"),
    ],
)
def test_it_reaches_postgresql_through_psycopg_whatever_the_url_says(given: str, used: str) -> None:
    assert engine_url(given).render_as_string() == used


def test_it_builds_the_schema_the_models_describe(gateway: Gateway) -> None:
    with gateway.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


@pytest.mark.sqlite_only
def test_it_runs_sqlite_in_wal_mode_with_full_sync(gateway: Gateway) -> None:
    with gateway.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.sqlite_only  # reads the SQLite files; a PostgreSQL server's disk is not ours
def test_it_keeps_no_plaintext_on_disk(
    gateway: Gateway, make_rig: Callable[..., Rig], config: Config, data_dir: Path
) -> None:
    rig = make_rig(1)
    ids = []
    with gateway.sessions() as session:
        for number, body in zip(SECRET_NUMBERS * 2, SECRET_TEXTS, strict=False):
            request = SendRequest(to=number, body=body)
            ids.append(enqueue(session, gateway.vault, config, request).id)
        session.commit()
    rig.bank[0].inject(SECRET_NUMBERS[2], SECRET_TEXTS[0] + " (reply)")
    rig.bank[0].inject("+12015550399", "Long reply: " + SECRET_TEXTS[3] * 8, order="reverse")

    def settled() -> bool:
        with gateway.sessions() as session:
            rows = session.scalars(select(Message)).all()
        done = [m for m in rows if m.status in ("delivered", "received")]
        return len(done) == len(ids) + 2

    wait_until(settled)
    rig.stop()
    gateway.close()

    files = [p for p in data_dir.iterdir() if p.name.startswith("smsgw.db")]
    assert any(p.name.endswith("-wal") for p in files) or files
    blob = b"".join(p.read_bytes() for p in files)
    for secret in [*SECRET_TEXTS, *SECRET_NUMBERS, "+12015550399", "Long reply"]:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert secret.encode(encoding) not in blob, secret
        digits = secret.lstrip("+")
        if digits.isdigit():
            assert digits[-7:].encode() not in blob, secret


def test_it_binds_each_ciphertext_to_its_row(gateway: Gateway, config: Config) -> None:
    with gateway.sessions() as session:
        first = enqueue(
            session, gateway.vault, config, SendRequest(to=SECRET_NUMBERS[0], body="first")
        )
        second = enqueue(
            session, gateway.vault, config, SendRequest(to=SECRET_NUMBERS[0], body="second")
        )
        second.body_enc = first.body_enc  # an attacker with write access swaps bodies
        session.commit()
        with pytest.raises(CryptoError):
            gateway.vault.decrypt(second.body_enc, "messages", "body", second.id)


def test_it_shreds_a_contact_by_destroying_its_key(gateway: Gateway, config: Config) -> None:
    with gateway.sessions() as session:
        message = enqueue(
            session, gateway.vault, config, SendRequest(to=SECRET_NUMBERS[1], body="erase me")
        )
        contact = session.get(Contact, message.contact_id)
        gateway.vault.destroy(session, contact.key_id)
        session.commit()
    # A fresh process (no cached keys) can read nothing of that contact any more.
    fresh = open_gateway(config)
    try:
        with fresh.sessions() as session:
            view = message_detail(session, fresh.vault, message.id)
        assert (view.number, view.body) == ("(erased)", "(erased)")
    finally:
        fresh.close()


@pytest.mark.sqlite_only
def test_it_upgrades_a_box_with_data_through_table_copies(data_dir: Path) -> None:
    # 0006 widens messages.claimed_by, which SQLite does by copying the table: with foreign
    # keys on, dropping the old one (others point at it) failed on a box holding messages.
    engine = make_engine(f"sqlite:///{data_dir / 'old.db'}")
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        for statement in (
            "INSERT INTO lines (id, name, device, enabled, state, updated_at)"
            " VALUES ('ln1', 'L', '/dev/x', 1, 'offline', '2026-01-01')",
            "INSERT INTO data_keys (id, purpose, wrapped, master_fingerprint, created_at)"
            " VALUES (1, 'contact', x'00', 'f', '2026-01-01')",
            "INSERT INTO contacts (id, key_id, number_index, number_enc, created_at)"
            " VALUES ('ct1', 1, x'01', x'02', '2026-01-01')",
            "INSERT INTO messages (id, direction, contact_id, line_id, status, body_enc,"
            " encoding, segments, priority, attempts, request_report, purpose, incomplete,"
            " created_at, updated_at) VALUES ('m1', 'out', 'ct1', 'ln1', 'queued', x'00',"
            " 'gsm7', 1, 0, 0, 1, 'transactional', 0, '2026-01-01', '2026-01-01')",
            "INSERT INTO message_events (message_id, at, status, actor)"
            " VALUES ('m1', '2026-01-01', 'queued', 'api')",
        ):
            connection.execute(text(statement))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM message_events")).scalar() == 1
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA foreign_key_check")).first() is None
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
