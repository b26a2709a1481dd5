"""The panel in-process: a real SQLite file, the Flask app from ``create_app``, and one
signed-in client per persona (admin, manager, agent, auditor), signed in through the forms.

Browser tests (tests/web/panel/browser/) run the same pages in headless Chromium against a
real box; these tests check each page's HTML, forms and role rules quickly.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway import panel_sessions
from gateway.app import Gateway
from gateway.config import Config, ConsentConfig, WebConfig
from gateway.models import User
from gateway.passwords import hash_password
from gateway.signin import set_totp_secret
from gateway.users import add_user
from tests.gateway.conftest import initialise
from web import create_app, gateway_of
from web.panel import SESSION_COOKIE

BASE_URL = "https://box.test"
PASSWORD = "a long panel password"
PERSONAS = {"admin": "admin", "manager": "manager", "agent": "agent", "auditor": "auditor"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class PanelClient:
    """A browser's worth of state: cookies, and the CSRF token of the last page read."""

    client: FlaskClient
    name: str | None = None
    csrf: str | None = None
    history: list[str] = field(default_factory=list)

    def _keep(self, response: TestResponse) -> TestResponse:
        found = _CSRF.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, path: str, **kw: Any) -> TestResponse:
        self.history.append(path)
        return self._keep(self.client.get(path, base_url=BASE_URL, **kw))

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> TestResponse:
        """A form submitted from the panel: the CSRF token is added unless ``data`` has one."""
        form = dict(data or {})
        form.setdefault("csrf_token", self.csrf or "")
        return self._keep(self.client.post(path, data=form, base_url=BASE_URL, **kw))


@dataclass
class Panel:
    app: Flask
    gateway: Gateway
    ids: dict[str, str]
    totp_secrets: dict[str, str]

    def anonymous(self) -> PanelClient:
        return PanelClient(self.app.test_client())

    def sign_in(self, persona: str, *, via_forms: bool = False) -> PanelClient:
        """A client signed in as ``persona``: a session made as the sign-in forms make it
        (argon2 costs a quarter of a second per sign-in, which most tests are not about),
        or, with ``via_forms``, through the forms themselves (TOTP for admins)."""
        if not via_forms:
            return self.session_for(self.ids[persona], persona)
        browser = self.anonymous()
        browser.get("/login")
        done = browser.post("/login", {"name": PERSONAS[persona], "password": PASSWORD})
        assert done.status_code == 302, done.get_data(as_text=True)
        if persona in self.totp_secrets:
            with self.gateway.sessions() as session:
                user = session.get(User, self.ids[persona])
                assert user is not None
                user.totp_last_step = None  # each test signs in afresh within one 30 s step
                session.commit()
            browser.get("/login/code")
            code = pyotp.TOTP(self.totp_secrets[persona]).now()
            done = browser.post("/login/code", {"code": code})
            assert done.status_code == 302, done.get_data(as_text=True)
        assert done.headers["Location"].endswith("/dashboard"), done.headers["Location"]
        browser.name = persona
        browser.get("/dashboard")
        return browser

    def session_for(self, user_id: str, name: str | None = None) -> PanelClient:
        """A client holding a new signed-in session of ``user_id``."""
        with self.gateway.sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            token = panel_sessions.start(session, user, "signed_in")
            session.commit()
        browser = self.anonymous()
        browser.client.set_cookie(
            SESSION_COOKIE, token, domain=BASE_URL.removeprefix("https://"), secure=True
        )
        browser.name = name
        assert browser.get("/dashboard").status_code == 200
        return browser


def panel_config(directory: Path) -> Config:
    return Config(
        data_dir=directory,
        web=WebConfig(workers=1),
        consent=ConsentConfig(transactional="on_send", business_name="Bay Clinic"),
    )


@functools.cache
def password_hash() -> str:
    # argon2id takes a quarter of a second here by design: hash the shared password once.
    return hash_password(PASSWORD)


def add_personas(gateway: Gateway) -> tuple[dict[str, str], dict[str, str]]:
    ids, secrets = {}, {}
    with gateway.sessions() as session:
        for persona, name in PERSONAS.items():
            user = add_user(session, name, persona)
            user.password_hash = password_hash()
            ids[persona] = user.id
            if persona == "admin":
                secrets[persona] = pyotp.random_base32()
                set_totp_secret(session, gateway.vault, user, secrets[persona])
        session.commit()
    return ids, secrets


@pytest.fixture(scope="session")
def _initialised_template() -> Iterator[Path]:
    """A data directory set up once (schema, master key, index key), copied for each test."""
    directory = Path(tempfile.mkdtemp(prefix="smsgw-panel-template-", dir="/tmp"))
    try:
        initialise(panel_config(directory))
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def panel(_initialised_template: Path) -> Iterator[Panel]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-panel-", dir="/tmp"))
    for name in ("smsgw.db", "master.key"):
        shutil.copy2(_initialised_template / name, directory / name)
    config = panel_config(directory)
    app = create_app(config)
    gateway = gateway_of(app)
    try:
        ids, secrets = add_personas(gateway)
        yield Panel(app, gateway, ids, secrets)
    finally:
        gateway.close()
        shutil.rmtree(directory, ignore_errors=True)
