"""``smsgw rotate-key``: a real subprocess, killed at every step of its file dance, rerun.

After each rerun every contact's number, every message body, the blind index and the
box's own secrets still decrypt, every data key is under the new key, and the old key file
is gone.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.app import Gateway, open_gateway
from gateway.archive import ERASED, list_messages
from gateway.config import Config
from gateway.config_schema import ConsentConfig
from gateway.contacts import contact_number, find_contact
from gateway.crypto import MasterKey, load_master_key
from gateway.models import Contact, DataKeyRow, Message
from gateway.outbound import SendRequest, enqueue
from gateway.rotation import KILL_AT_VARIABLE, PAUSE_AT_VARIABLE
from gateway.vault import Vault
from tests.gateway.conftest import initialise

SMSGW = [sys.executable, "-m", "gateway.cli"]
CONTACTS = 120
BATCH = 10
SYSTEM_SECRET = "whsec_not-a-real-secret"


def number(n: int) -> str:
    return f"+1201555{n:04d}"


@pytest.fixture
def config(data_dir: Path) -> Config:
    return Config(data_dir=data_dir, consent=ConsentConfig(transactional="on_send"))


@pytest.fixture
def env(config: Config) -> dict[str, str]:
    """A box with contacts, messages, an erased contact and a system secret."""
    initialise(config)
    config_file = config.data_dir / "smsgw.toml"
    config_file.write_text(
        f'data_dir = "{config.data_dir}"\n\n[consent]\ntransactional = "on_send"\n',
        encoding="utf-8",
    )
    with opened(config) as gateway, gateway.sessions() as session:
        for n in range(CONTACTS):
            send(session, gateway, n)
        erased = find_contact(session, gateway.vault, number(CONTACTS - 1))
        gateway.vault.destroy(session, erased.key_id)
        system = gateway.vault.system_key(session)
        secret = gateway.vault.encrypt(system, SYSTEM_SECRET, "test", "secret", "1")
        session.commit()
    (config.data_dir / "system-secret").write_bytes(secret)
    return {**os.environ, "SMSGW_CONFIG": str(config_file)}


def send(session, gateway: Gateway, n: int) -> Message:
    request = SendRequest(to=number(n), body=f"rotation body {n:03d}")
    return enqueue(session, gateway.vault, gateway.config, request)


class opened:
    """A fresh process's view: a new gateway, nothing cached."""

    def __init__(self, config: Config) -> None:
        self.gateway = open_gateway(config)

    def __enter__(self) -> Gateway:
        return self.gateway

    def __exit__(self, *exc: object) -> None:
        self.gateway.close()


def rotate(
    env: dict[str, str], *args: str, kill_at: str | None = None
) -> subprocess.CompletedProcess:
    run_env = dict(env)
    if kill_at is not None:
        run_env[KILL_AT_VARIABLE] = kill_at
    command = [*SMSGW, "rotate-key", "--batch-size", str(BATCH), *args]
    return subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=120)


def fingerprints(gateway: Gateway) -> set[str]:
    with gateway.sessions() as session:
        rows = session.scalars(
            select(DataKeyRow.master_fingerprint).where(DataKeyRow.wrapped.is_not(None))
        )
        return set(rows)


def assert_everything_readable(config: Config, extra_numbers: tuple[str, ...] = ()) -> None:
    with opened(config) as gateway, gateway.sessions() as session:
        shredded = set(session.scalars(select(DataKeyRow.id).where(DataKeyRow.wrapped.is_(None))))
        contacts = session.scalars(select(Contact)).all()
        readable = {contact_number(gateway.vault, c) for c in contacts if c.key_id not in shredded}
        assert len(readable) == len(contacts) - 1
        erased = number(CONTACTS - 1)
        expected = {number(n) for n in range(CONTACTS - 1)} | set(extra_numbers)
        assert expected <= readable
        assert erased not in readable
        # The blind index still finds numbers (the index key is a data key too).
        for n in (0, CONTACTS // 2, CONTACTS - 2):
            assert find_contact(session, gateway.vault, number(n)) is not None
        views = list_messages(session, gateway.vault, direction="out", limit=1000)
        bodies = {v.number: v.body for v in views}
        for n in range(CONTACTS - 1):
            assert bodies[number(n)] == f"rotation body {n:03d}"
        assert bodies[ERASED] == ERASED
        secret = (config.data_dir / "system-secret").read_bytes()
        assert gateway.vault.decrypt(secret, "test", "secret", "1") == SYSTEM_SECRET


def assert_finished(config: Config) -> str:
    key = config.master_key_path
    assert not key.with_name("master.key.new").exists()
    assert not key.with_name("master.key.old").exists()
    assert not list(config.data_dir.glob(".master.key*"))
    master = load_master_key(key)
    assert os.stat(key).st_mode & 0o777 == 0o600
    with opened(config) as gateway:
        assert fingerprints(gateway) == {master.fingerprint}
        with gateway.sessions() as session:
            erased = session.scalars(select(DataKeyRow).where(DataKeyRow.wrapped.is_(None))).all()
        assert len(erased) == 1  # crypto-shredding is never undone by a rotation
    return master.fingerprint


def test_it_rewraps_every_data_key_without_reencrypting_anything(
    config: Config, env: dict[str, str]
) -> None:
    before = load_master_key(config.master_key_path).fingerprint
    with opened(config) as gateway, gateway.sessions() as session:
        bodies_before = {m.id: m.body_enc for m in session.scalars(select(Message))}
        live = session.query(DataKeyRow).filter(DataKeyRow.wrapped.is_not(None)).count()

    result = rotate(env)

    assert result.returncode == 0, result.stderr
    assert f"data keys re-wrapped ({live} so far)" in result.stdout
    after = assert_finished(config)
    assert after != before
    assert_everything_readable(config)
    with opened(config) as gateway, gateway.sessions() as session:
        assert {m.id: m.body_enc for m in session.scalars(select(Message))} == bodies_before
    # Nothing secret is printed: fingerprints and counts only.
    for n in range(CONTACTS):
        assert number(n)[-7:] not in result.stdout + result.stderr


@pytest.mark.parametrize("step", ["created", "batch:1", "batch:5", "linked", "renamed", "swept"])
def test_it_finishes_after_being_killed_at_any_step(
    config: Config, env: dict[str, str], step: str
) -> None:
    old = load_master_key(config.master_key_path).fingerprint

    killed = rotate(env, kill_at=step)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    new_file = config.master_key_path.with_name("master.key.new")
    target = (load_master_key(new_file) if new_file.exists() else None) or load_master_key(
        config.master_key_path
    )
    assert target.fingerprint != old
    # Killed midway: a fresh process reads everything and adds a contact meanwhile.
    assert_everything_readable(config)
    with opened(config) as gateway, gateway.sessions() as session:
        send(session, gateway, 9000)
        session.commit()

    rerun = rotate(env)

    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stdout or "finishing" in rerun.stdout
    assert assert_finished(config) == target.fingerprint  # resumed, not started over
    assert_everything_readable(config, (number(9000),))


def test_it_finishes_after_a_sigkill_from_outside_once_a_batch_committed(
    config: Config, env: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [*SMSGW, "rotate-key", "--batch-size", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("batch 2 committed"):
                process.send_signal(signal.SIGKILL)
                break
        assert process.wait(30) == -signal.SIGKILL
    finally:
        process.stdout.close()
    with opened(config) as gateway:
        assert len(fingerprints(gateway)) == 2  # really midway: keys under both masters
    assert_everything_readable(config)

    assert rotate(env).returncode == 0
    assert_finished(config)
    assert_everything_readable(config)


def test_it_lets_a_process_started_before_keep_reading_and_writing(
    config: Config, env: dict[str, str]
) -> None:
    with opened(config) as running:
        assert rotate(env, kill_at="batch:3").returncode == -signal.SIGKILL
        new = load_master_key(config.master_key_path.with_name("master.key.new"))
        with running.sessions() as session:
            # Mid-rotation, a new data key is made under the new key: no straggler.
            during = send(session, running, 9001)
            session.commit()
            key_id = session.get(Contact, during.contact_id).key_id
            assert session.get(DataKeyRow, key_id).master_fingerprint == new.fingerprint

        assert rotate(env).returncode == 0

        with running.sessions() as session:
            # Keys it never cached are now under a key it did not load: found by fingerprint.
            views = list_messages(session, running.vault, direction="out", limit=1000)
            assert {v.body for v in views} >= {f"rotation body {n:03d}" for n in range(10)}
            after = send(session, running, 9002)
            session.commit()
            key_id = session.get(Contact, after.contact_id).key_id
            assert session.get(DataKeyRow, key_id).master_fingerprint == new.fingerprint
    assert_finished(config)
    assert_everything_readable(config, (number(9001), number(9002)))


def test_it_refuses_clearly_when_a_key_file_was_lost(config: Config, env: dict[str, str]) -> None:
    assert rotate(env, kill_at="batch:2").returncode == -signal.SIGKILL
    lost = config.master_key_path.with_name("master.key.new")
    lost.rename(config.data_dir / "elsewhere.key")

    refused = rotate(env)

    assert refused.returncode == 1
    assert "none of master.key, master.key.new, master.key.old" in refused.stderr
    assert not lost.exists()  # no new key was made over the problem
    lost_back = config.data_dir / "elsewhere.key"
    lost_back.rename(lost)
    assert rotate(env).returncode == 0
    assert_everything_readable(config)


def test_it_refuses_to_run_twice_at_once(config: Config, env: dict[str, str]) -> None:
    fd = os.open(config.data_dir / "rotate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        refused = rotate(env)
    finally:
        os.close(fd)
    assert refused.returncode == 1
    assert "another rotate-key is running" in refused.stderr
    assert not config.master_key_path.with_name("master.key.new").exists()


def test_it_rewraps_a_straggler_committed_while_it_renames(
    config: Config, env: dict[str, str]
) -> None:
    old = load_master_key(config.master_key_path)
    with opened(config) as gateway:
        # A process that loaded the old key before the rotation and knows no key files
        # (the slowest possible one) commits a new contact just after the rename.
        slow = Vault(MasterKey(old.key), gateway.sessions)
        slow.index(number(0))  # its blind-index key was loaded before, as in a worker
        process = subprocess.Popen(
            [*SMSGW, "rotate-key"],
            env={**env, PAUSE_AT_VARIABLE: "renamed"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for line in process.stdout:
                if line.startswith("paused at renamed"):
                    break
            with gateway.sessions() as session:
                send(session, replace(gateway, vault=slow), 9003)
                session.commit()
            assert old.fingerprint in fingerprints(gateway)
            process.stdin.write("\n")
            process.stdin.flush()
            assert process.wait(60) == 0, process.stderr.read()
        finally:
            process.stdin.close()
            process.stdout.close()
            process.stderr.close()

    assert_finished(config)
    assert_everything_readable(config, (number(9003),))
