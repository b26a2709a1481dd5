"""Which database the tests run on: SQLite always, PostgreSQL too for modules that opt in.

A module marked ``pytestmark = pytest.mark.both_databases`` has each test that uses the
``database_url`` fixture (the gateway's ``config`` does) run twice, ``[sqlite]`` and
``[postgresql]``. Each PostgreSQL test gets a database of its own, created on the server
named by ``$TEST_SMSGW_POSTGRES_URL`` (an admin connection to its ``postgres`` database) and
dropped afterwards. Where no server answers, the PostgreSQL variants are skipped with the
reason — unless ``$TEST_SMSGW_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), where that fails,
so CI cannot pass without having run them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from gateway.store import make_engine

POSTGRES_URL_VARIABLE = "TEST_SMSGW_POSTGRES_URL"
REQUIRE_VARIABLE = "TEST_SMSGW_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return  # about SQLite itself (its file, its pragmas): the default backend only
    if metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless the test was parametrized over both databases."""
    return str(getattr(request, "param", "sqlite"))


@dataclass
class PostgresServer:
    """An admin connection (autocommit: CREATE DATABASE cannot run in a transaction)."""

    url: str
    admin: Engine

    def create_database(self) -> str:
        name = f"smsgw_test_{secrets.token_hex(6)}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open (an engine it never disposed).
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def url_of(self, name: str) -> str:
        # As a user writes it (postgresql://…): make_engine must map it to psycopg itself.
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)


def _unreachable(url: str, error: Exception) -> str:
    shown = make_url(url).render_as_string(hide_password=True)
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    password = make_url(url).password
    if password:
        detail = detail.replace(str(password), "***")
    return f"PostgreSQL not reachable at {shown}: {detail}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    """The server, or why there is none (each PostgreSQL test then skips or fails with it)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL
    # A firewalled host would otherwise hold the whole run: libpq waits forever by default.
    probe = make_url(url)
    if "connect_timeout" not in probe.query:
        probe = probe.update_query_dict({"connect_timeout": "5"})
    engine = make_engine(probe.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect is a reason, whatever the driver says
        engine.dispose()
        yield _unreachable(url, error)
        return
    try:
        yield PostgresServer(url, engine.execution_options(isolation_level="AUTOCOMMIT"))
    finally:
        engine.dispose()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL for ``DatabaseConfig``: empty (SQLite in the data directory) or a fresh
    PostgreSQL database."""
    if backend == "sqlite":
        yield ""
        return
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, str):
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{server} ({REQUIRE_VARIABLE}=1)", pytrace=False)
        pytest.skip(server)
    name = server.create_database()
    try:
        yield server.url_of(name)
    finally:
        server.drop_database(name)
