"""The database: engine, sessions and schema migrations. Only this module builds engines.

SQLite by default, in WAL mode with ``synchronous=FULL`` so that a committed message
survives a power cut; ``database.url`` selects PostgreSQL for several boxes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Each thread (one per modem) has its own connection; writers wait for the lock.
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(engine_url(url), **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def engine_url(url: str) -> URL:
    """The URL as SQLAlchemy should see it, with PostgreSQL through psycopg 3.

    People write ``postgresql://…`` (or ``postgres://…``, as libpq and many hosting panels
    do); SQLAlchemy would read the first as psycopg2, which smsgw does not ship, and
    refuses the second. An explicit driver (``postgresql+psycopg://``) is kept as given.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 1 MiB of page cache per connection (SQLite's default is 2 MiB): the worker holds one
    # connection per modem thread, and a Pi has little memory to spare.
    cursor.execute("PRAGMA cache_size=-1024")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic() -> tuple[Any, Any]:
    # Imported only when migrating: Alembic costs ~10 MB of memory that the long-running
    # worker and web processes, which never migrate, should not carry on a Pi.
    from alembic import command
    from alembic.config import Config as AlembicConfig

    return command, AlembicConfig


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to run again)."""
    command, AlembicConfig = _alembic()
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite changes a column by copying its table and dropping the old one; with
            # foreign keys on, dropping a table others point at fails. They are switched
            # off around the migration (outside a transaction, where the pragma takes
            # effect) and checked whole before the commit.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun (empty) transaction
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"migration broke a reference from {broken[0]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def revision(engine: Engine, message: str) -> None:
    """For developers: write a new migration from the models (``--autogenerate``)."""
    command, AlembicConfig = _alembic()
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, rev_id=None)
