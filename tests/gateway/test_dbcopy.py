"""Moving a box from SQLite to PostgreSQL (`smsgw db copy`): every row arrives, bodies and
notes still decrypt with the same master key, ids go on after the copied ones, and a
target that already holds data is refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from gateway.app import open_gateway
from gateway.audit import Actor, audit
from gateway.config import load_config
from gateway.consent import ConsentChange
from gateway.conversations import add_note, notes_of, start_conversation
from gateway.inbox_access import load_viewer
from gateway.models import AuditEvent, Base, Contact, Conversation, Line, Message, User
from gateway.outbound import SendRequest, enqueue
from gateway.teams import add_member, add_team, set_user_inbox
from gateway.users import add_user
from tests.gateway.test_cli_gateway import smsgw

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
TO = "+12015550123"


def populated_box(directory: Path) -> Path:
    assert smsgw("init", "--data-dir", str(directory)).returncode == 0
    config_path = directory / "smsgw.toml"
    gateway = open_gateway(load_config(config_path, data_dir=directory))
    with gateway.sessions() as session:
        session.add(Line(id="ln_1", name="Front desk", device="/dev/null"))
        session.flush()
        ana, ben = add_user(session, "ana", "agent"), add_user(session, "ben", "manager")
        # Ana's delegate is inserted after her: the copy must set the link afterwards.
        set_user_inbox(session, "ana", delegate="ben", away=True)
        add_team(session, "Front", "Front desk")
        add_member(session, "Front", "ana")
        for n in range(3):
            enqueue(
                session,
                gateway.vault,
                gateway.config,
                SendRequest(
                    to=TO,
                    body=f"Your order {n} is ready",
                    created_by="cli",
                    role="admin",
                    consent=ConsentChange("transactional", "opted_in", "paper", "intake form"),
                ),
            )
        viewer = load_viewer(session, ben.id)
        conversation = start_conversation(session, gateway.vault, viewer, TO, "Front desk")
        contact = session.get(Contact, conversation.contact_id)
        add_note(session, gateway.vault, viewer, conversation.id, "Prefers mornings",
                 key_id=contact.key_id)  # fmt: skip
        audit(session, Actor(ben.id, "manager"), "conversation.viewed", conversation.id)
        assert ana.id != ben.id
        session.commit()
    gateway.close()
    return config_path


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in Base.metadata.sorted_tables
        }


def test_it_copies_a_box_to_postgresql_and_keeps_it_readable(
    data_dir: Path, database_url: str
) -> None:
    box = data_dir / "box"
    config_path = populated_box(box)
    env = {**os.environ, "SMSGW_CONFIG": str(config_path)}
    done = smsgw("db", "copy", "--to", database_url, env=env)
    assert done.returncode == 0, done.stderr
    assert "copied" in done.stdout and "next: set url" in done.stdout
    source = open_gateway(load_config(config_path, environ={}, data_dir=box))
    moved = open_gateway(
        load_config(config_path, environ={"SMSGW_DATABASE_URL": database_url}, data_dir=box)
    )
    try:
        assert moved.engine.dialect.name == "postgresql"
        assert counts(moved.engine) == counts(source.engine)
        with moved.sessions() as session:
            bodies = sorted(
                moved.vault.decrypt(m.body_enc, "messages", "body", m.id)
                for m in session.scalars(select(Message))
            )
            assert bodies == [f"Your order {n} is ready" for n in range(3)]
            users = {u.name: u for u in session.scalars(select(User))}
            assert users["ana"].delegate_id == users["ben"].id  # the later row's link
            conversation = session.scalar(select(Conversation))
            notes = notes_of(session, moved.vault, conversation)
            assert [n.body for n in notes] == ["Prefers mornings"]
            # New rows continue after the copied ids (the sequences were moved on).
            audit(session, Actor(users["ben"].id, "manager"), "audit.exported")
            session.commit()
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2
        again = smsgw("db", "copy", "--to", database_url, env=env)
        assert again.returncode != 0 and "already holds data" in again.stderr
    finally:
        source.close()
        moved.close()
