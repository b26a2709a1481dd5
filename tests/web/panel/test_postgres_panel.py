"""The panel on PostgreSQL (several boxes share one database): signing in with TOTP and
its throttling, sessions, the dashboard, the inbox and a reply — the same pages on the
other store, where row locks and types differ from SQLite's."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import DatabaseConfig
from gateway.models import LoginThrottle, Message, PanelSession
from tests.gateway.conftest import initialise
from tests.gateway.inbox_fixtures import add_lines, inbound
from tests.web.panel.conftest import PASSWORD, Panel, add_personas, panel_config
from web import create_app, gateway_of

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def pg_panel(database_url: str) -> Iterator[Panel]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-panel-pg-", dir="/tmp"))
    config = replace(panel_config(directory), database=DatabaseConfig(url=database_url))
    initialise(config)
    app = create_app(config)
    gateway = gateway_of(app)
    try:
        ids, secrets = add_personas(gateway)
        yield Panel(app, gateway, ids, secrets)
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_it_signs_in_throttles_and_signs_out_on_postgresql(pg_panel: Panel) -> None:
    admin = pg_panel.sign_in("admin", via_forms=True)
    assert admin.get("/dashboard").status_code == 200
    for _ in range(5):
        browser = pg_panel.anonymous()
        browser.get("/login")
        assert browser.post("/login", {"name": "agent", "password": "wrong!"}).status_code == 401
    browser = pg_panel.anonymous()
    browser.get("/login")
    assert browser.post("/login", {"name": "agent", "password": PASSWORD}).status_code == 401
    with pg_panel.gateway.sessions() as session:
        assert session.query(LoginThrottle).filter(LoginThrottle.locked_until.is_not(None)).count()
    admin.post("/logout")
    with pg_panel.gateway.sessions() as session:
        assert session.query(PanelSession).count() == 0


def test_it_shows_the_inbox_and_sends_a_reply_on_postgresql(pg_panel: Panel) -> None:
    gateway = pg_panel.gateway
    add_lines(gateway, ("ln_front", "Front desk"))
    received = inbound(gateway, "+12015550123", "Can I move my visit?", "ln_front")
    agent = pg_panel.sign_in("agent")
    listing = agent.get("/inbox").get_data(as_text=True)
    assert "Can I move my visit?" in listing
    assert agent.get(f"/inbox/{received.conversation_id}").status_code == 200
    done = agent.post(
        f"/inbox/{received.conversation_id}/reply", {"body": "Yes: Tuesday?", "action": "send"}
    )
    assert done.status_code in (302, 303), done.get_data(as_text=True)
    with gateway.sessions() as session:
        out = session.query(Message).filter(Message.direction == "out").one()
        assert out.line_id == "ln_front" and out.status == "queued"
    page = pg_panel.sign_in("manager").get("/dashboard").get_data(as_text=True)
    assert "Front desk" in page
