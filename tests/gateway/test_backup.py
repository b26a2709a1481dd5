"""Backups taken while the worker sends, restored onto a fresh box; the file format refuses
a wrong key, a cut or altered file; the worker's daily backups and their rotation."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.app import Gateway, open_gateway
from gateway.archive import list_messages
from gateway.backup import BackupError, take_backup
from gateway.backup_format import CHUNK_SIZE, HEADER_SIZE, decrypt_stream, encrypt_stream
from gateway.backup_schedule import DailyBackups, daily_backups
from gateway.config import Config, InboundConfig, QueueConfig, WorkerConfig
from gateway.config_schema import BackupConfig, ConsentConfig
from gateway.crypto import MasterKey, create_master_key, load_master_key, new_data_key
from gateway.models import Message
from gateway.outbound import SendRequest, enqueue
from gateway.restore import restore_backup
from gateway.worker import Worker
from tests.gateway.conftest import Rig, wait_until

SMSGW = [sys.executable, "-m", "gateway.cli"]
BURST = 1000
SETTLED = ("sent", "delivered", "undelivered", "failed", "unknown")


@pytest.fixture
def config(data_dir: Path) -> Config:
    return Config(
        data_dir=data_dir,
        queue=QueueConfig(backoff_base=0.1, backoff_max=0.5),
        inbound=InboundConfig(poll_seconds=1.0, part_timeout_seconds=10.0),
        worker=WorkerConfig(health_seconds=5.0),
        consent=ConsentConfig(transactional="on_send"),
    )


def write_config(config: Config) -> Path:
    config_file = config.data_dir / "smsgw.toml"
    if not config_file.exists():
        config_file.write_text(f'data_dir = "{config.data_dir}"\n', encoding="utf-8")
    return config_file


def smsgw(*args: str, config: Config | None) -> subprocess.CompletedProcess[str]:
    """The real command; with no config, as on a fresh box (no SMSGW_CONFIG either)."""
    env = {k: v for k, v in os.environ.items() if k != "SMSGW_CONFIG"}
    if config is not None:
        env["SMSGW_CONFIG"] = str(write_config(config))
    return subprocess.run([*SMSGW, *args], env=env, capture_output=True, text=True, timeout=120)


def enqueue_some(gateway: Gateway, first: int, count: int) -> None:
    with gateway.sessions() as session:
        for n in range(first, first + count):
            request = SendRequest(to=f"+1201555{n:04d}", body=f"burst body {n:04d}")
            enqueue(session, gateway.vault, gateway.config, request)
        session.commit()


def count(gateway: Gateway, *statuses: str) -> int:
    with gateway.sessions() as session:
        query = select(func.count()).select_from(Message)
        if statuses:
            query = query.where(Message.status.in_(statuses))
        return session.scalar(query)


def test_it_backs_up_during_a_burst_and_restores_it_on_a_fresh_box(
    gateway: Gateway, make_rig: Callable[..., Rig], config: Config, tmp_path: Path
) -> None:
    make_rig(4)
    half_queued, backup_launched = threading.Event(), threading.Event()

    def burst() -> None:
        enqueue_some(gateway, 0, BURST // 2)
        half_queued.set()
        backup_launched.wait(30)
        for first in range(BURST // 2, BURST, 10):  # small transactions, during the backup
            enqueue_some(gateway, first, 10)

    writer = threading.Thread(target=burst)
    writer.start()
    try:
        half_queued.wait(30)
        wait_until(lambda: count(gateway, *SETTLED) >= 50, 60, "sending under way")
        backup_file = tmp_path / "box.backup"
        process = subprocess.Popen(
            [*SMSGW, "backup", str(backup_file)],
            env={**os.environ, "SMSGW_CONFIG": str(write_config(config))},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        backup_launched.set()
        stdout, stderr = process.communicate(timeout=120)
        settled_after = count(gateway, *SETTLED)
    finally:
        backup_launched.set()
        writer.join(60)
    made = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert made.returncode == 0, made.stderr
    # It ran while the worker was still draining the burst.
    assert settled_after < BURST
    assert os.stat(backup_file).st_mode & 0o777 == 0o600
    assert not list(config.data_dir.glob(".smsgw-backup-*"))  # the plain copy is gone
    data = backup_file.read_bytes()
    assert b"SQLite format 3" not in data and b"burst body" not in data
    assert config.master_key_path.read_bytes().strip() not in data

    fresh = tmp_path / "fresh"
    key_copy = tmp_path / "key-from-the-safe"
    key_copy.write_bytes(config.master_key_path.read_bytes())
    key_copy.chmod(0o600)
    restored = smsgw(
        "restore", str(backup_file), "--master-key", str(key_copy), "--data-dir", str(fresh),
        config=None,
    )  # fmt: skip

    assert restored.returncode == 0, restored.stderr
    assert "integrity and foreign keys checked" in restored.stdout
    assert "burst body" not in restored.stdout and "+1201555" not in restored.stdout
    assert os.stat(fresh / "master.key").st_mode & 0o777 == 0o600
    with sqlite3.connect(fresh / "smsgw.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()
    reopened = open_gateway(replace(config, data_dir=fresh))
    try:
        in_backup = count(reopened)
        assert BURST // 2 <= in_backup <= BURST
        assert f"{in_backup:,} messages" in restored.stdout
        with reopened.sessions() as session:
            views = list_messages(session, reopened.vault, direction="out", limit=1000)
        assert len(views) == in_backup
        for view in views:
            n = int(view.number[-4:])
            assert view.body == f"burst body {n:04d}"
            assert view.status in ("queued", "sending", "unknown", *SETTLED)
    finally:
        reopened.close()


@pytest.fixture
def backup_file(gateway: Gateway, tmp_path: Path) -> Path:
    enqueue_some(gateway, 0, 30)
    path = tmp_path / "box.backup"
    take_backup(gateway, path)
    return path


def restore_into(tmp_path: Path, backup: Path, key: Path) -> Path:
    target = tmp_path / "restored"
    restore_backup(backup, key, Config(data_dir=target))
    return target


def test_it_restores_in_process_and_reads_everything(
    gateway: Gateway, backup_file: Path, config: Config, tmp_path: Path
) -> None:
    target = restore_into(tmp_path, backup_file, config.master_key_path)
    restored = open_gateway(replace(config, data_dir=target))
    try:
        with restored.sessions() as session:
            views = list_messages(session, restored.vault, direction="out")
        assert sorted(v.body for v in views) == [f"burst body {n:04d}" for n in range(30)]
    finally:
        restored.close()


def test_it_refuses_a_wrong_key_and_writes_nothing(backup_file: Path, tmp_path: Path) -> None:
    other = create_master_key(tmp_path / "other.key")
    with pytest.raises(BackupError, match=f"key given is {other.fingerprint}"):
        restore_into(tmp_path, backup_file, tmp_path / "other.key")
    assert not (tmp_path / "restored").exists()


CHUNK = CHUNK_SIZE + 16


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d[: HEADER_SIZE + CHUNK], "cut short"),  # at a chunk boundary
        (lambda d: d[: HEADER_SIZE + CHUNK + 100], "cut short"),
        (lambda d: d[:-1], "cut short"),
        (lambda d: d[:HEADER_SIZE], "cut short"),
        (lambda d: d + b"\0", "altered"),
        (lambda d: d[:-20] + bytes([d[-20] ^ 1]) + d[-19:], "altered"),
        (lambda d: d[:HEADER_SIZE] + d[HEADER_SIZE + CHUNK : HEADER_SIZE + 2 * CHUNK]
         + d[HEADER_SIZE : HEADER_SIZE + CHUNK] + d[HEADER_SIZE + 2 * CHUNK :], "altered"),
        (lambda d: d[: HEADER_SIZE - 1] + bytes([d[HEADER_SIZE - 1] ^ 1]) + d[HEADER_SIZE:],
         "altered"),  # the nonce prefix in the header
        (lambda d: b"NOTABACKUP" + d[10:], "not an smsgw backup"),
    ],
)  # fmt: skip
def test_it_refuses_a_cut_or_altered_backup_and_writes_nothing(
    backup_file: Path, config: Config, tmp_path: Path, change: Callable, reason: str
) -> None:
    assert backup_file.stat().st_size > HEADER_SIZE + 3 * CHUNK  # several chunks to play with
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(change(backup_file.read_bytes()))
    with pytest.raises(BackupError, match=reason):
        restore_into(tmp_path, damaged, config.master_key_path)
    assert not (tmp_path / "restored").exists()


def test_it_round_trips_every_size_around_a_chunk() -> None:
    master = MasterKey(new_data_key())
    for size in (0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE):
        plain = os.urandom(size)
        sealed, opened = io.BytesIO(), io.BytesIO()
        encrypt_stream(master, io.BytesIO(plain), sealed)
        decrypt_stream(master, io.BytesIO(sealed.getvalue()), opened)
        assert opened.getvalue() == plain


def doctored(backup: Path, master_key: Path, tmp_path: Path, statement: str) -> Path:
    """The same backup with one SQL change inside, sealed again under the same key."""
    master = load_master_key(master_key)
    plain = tmp_path / "plain.db"
    with backup.open("rb") as source, plain.open("wb") as out:
        decrypt_stream(master, source, out)
    with sqlite3.connect(plain) as db:
        db.execute(statement)
    db.close()
    changed = tmp_path / "doctored.backup"
    with plain.open("rb") as source, changed.open("wb") as out:
        encrypt_stream(master, source, out)
    return changed


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE alembic_version SET version_num = '9999_from_the_future'", "not known to"),
        ("UPDATE messages SET contact_id = 'ct_gone' WHERE rowid = 1", "foreign key check"),
        (
            # Another key's wrapping moved onto this id: bound to its own id, it fails.
            "UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE id = 1) "
            "WHERE id = (SELECT max(id) FROM data_keys)",
            "cannot unwrap data key",
        ),
        ("UPDATE data_keys SET master_fingerprint = 'ffffffffffffffff'", "not this one"),
    ],
)
def test_it_refuses_a_database_that_fails_a_check(
    backup_file: Path, config: Config, tmp_path: Path, statement: str, reason: str
) -> None:
    changed = doctored(backup_file, config.master_key_path, tmp_path, statement)
    with pytest.raises(BackupError, match=reason):
        restore_into(tmp_path, changed, config.master_key_path)
    assert not (tmp_path / "restored").exists()


def test_it_refuses_to_restore_over_a_database(
    backup_file: Path, config: Config, tmp_path: Path
) -> None:
    with pytest.raises(BackupError, match="restore onto a data directory with no database"):
        restore_backup(backup_file, config.master_key_path, config)


def test_it_refuses_to_overwrite_a_file_or_run_mid_rotation(
    gateway: Gateway, backup_file: Path, config: Config
) -> None:
    with pytest.raises(BackupError, match="exists"):
        take_backup(gateway, backup_file)
    create_master_key(config.data_dir / "master.key.new")
    with pytest.raises(BackupError, match="rotate-key is unfinished"):
        take_backup(gateway, backup_file.with_name("other.backup"))


def test_it_points_postgresql_boxes_to_pg_dump(config: Config) -> None:
    (config.data_dir / "smsgw.toml").write_text(
        f'data_dir = "{config.data_dir}"\n[database]\nurl = "postgresql://smsgw@db/smsgw"\n',
        encoding="utf-8",
    )
    refused = smsgw("backup", str(config.data_dir / "pg.backup"), config=config)
    assert refused.returncode == 1
    assert "pg_dump" in refused.stderr
    assert not (config.data_dir / "pg.backup").exists()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_it_takes_one_backup_a_day_after_the_hour_and_keeps_the_newest(
    gateway: Gateway, config: Config, tmp_path: Path
) -> None:
    directory = tmp_path / "daily"
    settings = BackupConfig(enabled=True, directory=str(directory), keep=2, hour=3)
    box = replace(gateway, config=replace(config, backup=settings))
    worker = Worker(box)
    clock = Clock(datetime(2026, 3, 1, 2, 59).astimezone())
    worker.backups = DailyBackups(box, now=clock)
    directory.mkdir()
    (directory / "notes.txt").write_text("not a backup")
    unfinished = directory / ".smsgw-20260228-030000.backup.0123abcd.part"
    unfinished.write_bytes(b"left by a worker stopped mid-backup")

    worker.housekeeping()  # before the hour: nothing
    assert daily_backups(directory) == []
    for day in range(4):
        clock.now = datetime(2026, 3, 1 + day, 3, 0, 5).astimezone()
        worker._next_slow_chores = 0.0  # the slow chores are due
        worker.housekeeping()
        worker.backups.join(30)
        assert not worker.backups.tick()  # once a day only
    names = [p.name for p in daily_backups(directory)]
    assert names == ["smsgw-20260303-030005.backup", "smsgw-20260304-030005.backup"]
    assert (directory / "notes.txt").exists()
    assert not unfinished.exists()
    restore_into(tmp_path, directory / names[-1], config.master_key_path)


def test_it_retries_a_failed_daily_backup_an_hour_later(
    gateway: Gateway, config: Config, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings = BackupConfig(enabled=True, directory=str(blocked), keep=2, hour=0)
    box = replace(gateway, config=replace(config, backup=settings))
    clock = Clock(datetime(2026, 3, 1, 10, 0).astimezone())
    backups = DailyBackups(box, now=clock)
    assert backups.run_once() is None
    assert not backups.due()
    clock.now += timedelta(minutes=61)
    assert backups.due()
