"""``smsgw doctor``: what is wrong with this box, and how to fix it.

Each check returns findings: (check, ok | warn | fail, what was found, how to fix it).
Checks read; none repairs anything or writes to the database. The modems are in
``gateway.doctor_modems``. A finding never holds a phone number, a message or a key.
"""

from __future__ import annotations

import shutil
import stat
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Config
from gateway.crypto import CryptoError, load_master_key
from gateway.models import Message, WebhookDelivery
from gateway.store import MIGRATIONS

Status = Literal["ok", "warn", "fail"]
EXIT_CODES: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}
# A Raspberry Pi without a real-time clock starts in 1970 until NTP answers.
EARLIEST_YEAR = 2024
CLOCK_SLACK = timedelta(minutes=1)
CERT_WARN = timedelta(days=30)
WEBHOOK_BACKLOG_WARN = 100
WEBHOOK_AGE_WARN = timedelta(hours=1)


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Limits:
    """Thresholds a site (or a test) may change from the command line."""

    warn_free_mb: float = 500.0
    min_free_mb: float = 100.0


def worst(findings: list[Finding]) -> Status:
    statuses = {finding.status for finding in findings}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"


def exit_code(findings: list[Finding]) -> int:
    """0 when all is well, 1 when something needs a look soon, 2 when something is broken."""
    return EXIT_CODES[worst(findings)]


# -- files ---------------------------------------------------------------------------------


def check_data_dir(config: Config) -> Finding:
    path = config.data_dir
    try:
        info = path.stat()
    except FileNotFoundError:
        return Finding("data dir", "fail", f"{path} does not exist", "run `smsgw init`")
    except OSError as exc:
        return Finding("data dir", "fail", f"{path}: {exc.strerror}", "check its permissions")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return Finding(
            "data dir",
            "warn",
            f"{path} has mode {mode:04o}: other users can look into it",
            f"chmod 700 {path}",
        )
    return Finding("data dir", "ok", f"{path} (mode {mode:04o})")


def check_master_key(config: Config) -> Finding:
    path = config.master_key_path
    try:
        info = path.lstat()
    except FileNotFoundError:
        return Finding(
            "master key",
            "fail",
            f"no master key at {path}: no message can be read or written",
            "restore it from where you keep its copy; `smsgw init` makes a new one only "
            "for a new, empty database",
        )
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        return Finding("master key", "fail", f"{path} is not a regular file", "restore the key")
    if mode & 0o077:
        return Finding(
            "master key",
            "fail",
            f"{path} has mode {mode:04o}: group or others can read it, and the box refuses "
            "to use it",
            f"chmod 600 {path}",
        )
    owner = _owner_of(config.data_dir)
    if owner is not None and info.st_uid != owner:
        return Finding(
            "master key",
            "fail",
            f"{path} belongs to uid {info.st_uid}, the data directory to uid {owner}: the "
            "service user may not be able to read it",
            f"chown --reference={config.data_dir} {path}",
        )
    try:
        master = load_master_key(path)
    except CryptoError as exc:
        return Finding("master key", "fail", str(exc), "restore the key from its copy")
    # The fingerprint (never the key) lets an admin see that every box of a cluster
    # holds the same one.
    return Finding("master key", "ok", f"{path} (mode {mode:04o}, {master.fingerprint})")


def _owner_of(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def check_disk(config: Config, limits: Limits) -> Finding:
    try:
        usage = shutil.disk_usage(config.data_dir)
    except OSError as exc:
        return Finding("disk", "fail", f"cannot measure {config.data_dir}: {exc.strerror}")
    free_mb = usage.free / 2**20
    shown = f"{free_mb:,.0f} MB free of {usage.total / 2**20:,.0f} MB on {config.data_dir}"
    fix = "free space (old backups, logs) or move data_dir to a larger disk"
    if free_mb < limits.min_free_mb:
        return Finding(
            "disk",
            "fail",
            f"{shown}: below {limits.min_free_mb:g} MB, new messages are refused (503)",
            fix,
        )
    if free_mb < limits.warn_free_mb:
        return Finding("disk", "warn", f"{shown}: below {limits.warn_free_mb:g} MB", fix)
    return Finding("disk", "ok", shown)


def check_certificates(config: Config, now: datetime) -> list[Finding]:
    findings = []
    for name, what, fix in (
        ("server.pem", "server certificate", "run `smsgw init` (or restart `smsgw web`)"),
        ("ca.pem", "local CA", "make a new CA (README: TLS) and install it on staff machines"),
    ):
        path = config.tls_dir / name
        check = f"certificate {name}"
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except FileNotFoundError:
            findings.append(Finding(check, "fail", f"{path} is missing", "run `smsgw init`"))
            continue
        except (OSError, ValueError):
            findings.append(Finding(check, "fail", f"{path} cannot be read", "run `smsgw init`"))
            continue
        ends = cert.not_valid_after_utc
        if ends <= now:
            findings.append(Finding(check, "fail", f"the {what} expired on {ends:%Y-%m-%d}", fix))
        elif ends - now < CERT_WARN:
            days = (ends - now).days
            detail = f"the {what} expires on {ends:%Y-%m-%d} (in {days} days)"
            findings.append(Finding(check, "warn", detail, fix))
        else:
            findings.append(Finding(check, "ok", f"the {what} is valid until {ends:%Y-%m-%d}"))
    return findings


# -- the database ------------------------------------------------------------------------------


def sqlite_path(config: Config) -> Path | None:
    url = config.database_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def check_database(config: Config, engine: Engine) -> list[Finding]:
    """Integrity (SQLite) or reachability (PostgreSQL), then the schema's revision."""
    findings = []
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = [row[0] for row in connection.execute(text("PRAGMA integrity_check"))]
                if rows != ["ok"]:
                    return [
                        Finding(
                            "database",
                            "fail",
                            f"integrity check found {len(rows)} problem(s), first: {rows[0]}",
                            "stop smsgw and restore the newest backup",
                        )
                    ]
                findings.append(Finding("database", "ok", "SQLite integrity check passed"))
            else:
                connection.execute(text("SELECT 1"))
                findings.append(Finding("database", "ok", f"{engine.dialect.name} reachable"))
            current = _revision(connection)
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", exc)).__name__
        return [Finding("database", "fail", f"cannot use the database ({reason})", _db_fix())]
    head = _head()
    if current != head:
        detail = f"schema at revision {current or 'none'}, this version of smsgw needs {head}"
        findings.append(Finding("schema", "fail", detail, "run `smsgw init` to migrate"))
    else:
        findings.append(Finding("schema", "ok", f"revision {head}"))
    return findings


def _db_fix() -> str:
    return "check database.url and that the database server runs; `smsgw init` makes SQLite"


def _revision(connection: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext  # only the doctor needs Alembic

    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    return revision


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    return head


def check_clock(engine: Engine | None, now: datetime) -> Finding:
    if now.year < EARLIEST_YEAR:
        return Finding(
            "clock",
            "fail",
            f"the clock says {now:%Y-%m-%d}: it has not been set",
            "enable NTP (timedatectl set-ntp true) or set the time",
        )
    if engine is not None:
        try:
            with engine.connect() as connection:
                newest = connection.execute(select(func.max(Message.created_at))).scalar()
        except SQLAlchemyError:
            newest = None  # the database check reports that
        if newest is not None and newest - now > CLOCK_SLACK:
            behind = newest - now
            return Finding(
                "clock",
                "fail",
                f"the clock is {behind.total_seconds():.0f} s behind the newest message in the "
                "database: it was set back",
                "enable NTP (timedatectl set-ntp true); new messages would sort before old ones",
            )
    return Finding("clock", "ok", f"{now:%Y-%m-%d %H:%M:%S} UTC")


def check_webhooks(engine: Engine, now: datetime) -> Finding:
    try:
        with engine.connect() as connection:
            count, oldest = connection.execute(
                select(func.count(), func.min(WebhookDelivery.created_at)).where(
                    WebhookDelivery.status == "pending"
                )
            ).one()
    except SQLAlchemyError:
        return Finding("webhooks", "fail", "cannot read the webhook queue", _db_fix())
    fix = "check that the receivers answer: `smsgw webhook deliveries`; is the worker running?"
    if oldest is not None and now - oldest > WEBHOOK_AGE_WARN:
        age = (now - oldest).total_seconds() / 60
        detail = f"{count} deliveries pending, the oldest for {age:.0f} minutes"
        return Finding("webhooks", "warn", detail, fix)
    if count > WEBHOOK_BACKLOG_WARN:
        return Finding("webhooks", "warn", f"{count} deliveries pending", fix)
    return Finding("webhooks", "ok", f"{count} deliveries pending")
