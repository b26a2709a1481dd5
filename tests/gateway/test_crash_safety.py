"""kill -9 the worker again and again while it drains the queue and messages arrive.

The emulated modems run in their own process, so what the "network" received survives
every kill; the worker is the real `smsgw worker` command.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.app import open_gateway
from gateway.archive import list_messages
from gateway.config import load_config
from gateway.models import Message
from gateway.outbound import SendRequest, enqueue
from modem.sim.control import control_request
from tests.gateway.conftest import wait_until

SMSGW = [sys.executable, "-m", "gateway.cli"]
MESSAGES = 500
FINAL = {"sent", "delivered", "undelivered", "unknown", "failed"}


def smsgw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SMSGW, *args], capture_output=True, text=True, env=env, timeout=60)


def control(address: str, payload: dict) -> dict:
    return control_request(address, payload, timeout=10)


@pytest.fixture
def send_delay() -> float:
    return 0.02


@pytest.fixture
def sims(data_dir: Path, send_delay: float):
    process = subprocess.Popen(
        [
            *SMSGW,
            "sim",
            "--modems",
            "2",
            "--dir",
            str(data_dir / "sim"),
            "--send-delay",
            str(send_delay),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        found = [dict(re.findall(r"(\w+)=(\S+)", process.stdout.readline())) for _ in range(2)]
        yield found
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)
        process.stdout.close()


def write_config(data_dir: Path, sims: list[dict[str, str]]) -> dict[str, str]:
    config_file = data_dir / "smsgw.toml"
    modems = "".join(
        f'[[modems]]\ndevice = "{s["device"]}"\nline = "Line {i}"\nrate_per_minute = 600\n\n'
        for i, s in enumerate(sims)
    )
    config_file.write_text(
        f'data_dir = "{data_dir}"\n\n[queue]\nbackoff_base = 0.2\nbackoff_max = 1.0\n\n'
        f"[inbound]\npoll_seconds = 1.0\n\n"
        # Consent has its own tests: each first send attests the customer's number.
        f'[consent]\ntransactional = "on_send"\n\n{modems}',
        encoding="utf-8",
    )
    env = {**os.environ, "SMSGW_CONFIG": str(config_file)}
    assert smsgw("init", env=env).returncode == 0
    return env


@pytest.mark.parametrize("send_delay", [1.5])
def test_it_finishes_and_records_the_send_in_flight_on_sigterm(
    data_dir: Path, sims: list[dict[str, str]]
) -> None:
    env = write_config(data_dir, sims)
    config_file = Path(env["SMSGW_CONFIG"])
    gateway = open_gateway(load_config(config_file))
    try:
        with gateway.sessions() as session:
            message = enqueue(
                session,
                gateway.vault,
                gateway.config,
                SendRequest(to="+12015550123", body="in flight"),
            )
            session.commit()
        worker = subprocess.Popen([*SMSGW, "worker"], env=env, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: _status(gateway, message.id) == "sending", 30, "sending")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
        finally:
            worker.stderr.close()
        assert _status(gateway, message.id) == "sent"
    finally:
        gateway.close()


@pytest.mark.slow
def test_it_loses_nothing_and_sends_nothing_twice_when_killed(
    data_dir: Path, sims: list[dict[str, str]]
) -> None:
    env = write_config(data_dir, sims)
    config_file = Path(env["SMSGW_CONFIG"])

    config = load_config(config_file)
    gateway = open_gateway(config)
    try:
        with gateway.sessions() as session:
            for n in range(MESSAGES):
                request = SendRequest(to=f"+1201555{n:04d}", body=f"crash-test {n:03d}")
                enqueue(session, gateway.vault, config, request)
            session.commit()

        rng = random.Random(7)
        inbound: list[str] = []
        for cycle in range(6):
            worker = subprocess.Popen(
                [*SMSGW, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            # Pull the plug after a random amount of progress, mid-drain.
            target = min(MESSAGES, _done(gateway) + rng.randint(3, 60))
            wait_until(lambda target=target: _done(gateway) >= target, 60, "progress")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            worker.stderr.close()
            # While the worker is down, customers keep texting.
            text = f"while down {cycle}"
            request = {"op": "inject", "from": "+12015550777", "text": text}
            control(sims[cycle % 2]["control"], request)
            inbound.append(text)

        worker = subprocess.Popen(
            [*SMSGW, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_until(lambda: _done(gateway) == MESSAGES, 120, "every message settled")
            wait_until(lambda: len(_received(gateway)) >= len(inbound), 60, "inbound received")
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
            worker.stderr.close()

        sent = Counter()
        for sim in sims:
            for part in control(sim["control"], {"op": "outbox"})["outbox"]:
                sent[part["text"]] += 1
        with gateway.sessions() as session:
            outbound = session.scalars(select(Message).where(Message.direction == "out"))
            statuses = {m.id: m.status for m in outbound}
            views = list_messages(session, gateway.vault, direction="out", limit=1000)
            bodies = {v.id: v.body for v in views}
        assert len(statuses) == MESSAGES
        for message_id, status in statuses.items():
            times = sent[bodies[message_id]]
            if status == "unknown":
                assert times <= 1, bodies[message_id]
            else:
                assert status in ("sent", "delivered"), status
                assert times == 1, (bodies[message_id], status)
        assert sorted(m.body for m in _received(gateway)) == sorted(inbound)
    finally:
        gateway.close()


def _status(gateway, message_id: str) -> str:
    with gateway.sessions() as session:
        return session.get(Message, message_id).status


def _done(gateway) -> int:
    with gateway.sessions() as session:
        rows = session.scalars(select(Message.status).where(Message.direction == "out")).all()
    return sum(1 for status in rows if status in FINAL)


def _received(gateway) -> list:
    with gateway.sessions() as session:
        return list_messages(session, gateway.vault, direction="in", limit=1000)
