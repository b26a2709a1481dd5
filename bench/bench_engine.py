"""Gateway engine benchmarks (printed, never asserted).

- drain: N messages through K emulated modems, each taking D seconds per message; wall
  time as a fraction of the ideal N*D/K (target >= 0.97), worker CPU per message (target
  <= 3 ms) and worker peak RSS (target <= 60 MB). The worker is the real `smsgw worker`
  process; the emulated modems run in another process.
- enqueue: messages accepted per second through the store with encryption, one core
  (target >= 2,000/s), committing every message and committing in batches.

    .venv/bin/python bench/bench_engine.py [--messages 1000] [--modems 1,2,4] [--delay 0.5]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from gateway.app import Gateway, open_gateway
from gateway.config import load_config
from gateway.models import Message
from gateway.outbound import SendRequest, enqueue

SMSGW = [sys.executable, "-m", "gateway.cli"]
TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description="gateway engine benchmarks")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--modems", default="1,2,4")
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsgw-bench-") as directory:
        bench_enqueue(Path(directory) / "enqueue", args.messages)
        if args.skip_drain:
            return
        print(f"\ndrain {args.messages} messages, {args.delay}s per message per modem")
        for count in [int(k) for k in args.modems.split(",")]:
            drain(Path(directory) / f"drain{count}", args.messages, count, args.delay)
        print(f"\ndrain {args.messages} messages with no send delay (CPU per message)")
        drain(Path(directory) / "cpu", args.messages, 2, 0.0)


def setup(root: Path, modems: int, delay: float) -> tuple[subprocess.Popen[str], Path]:
    root.mkdir(parents=True)
    sim = subprocess.Popen(
        [
            *SMSGW,
            "sim",
            "--modems",
            str(modems),
            "--dir",
            str(root / "sim"),
            "--send-delay",
            str(delay),
            "--no-auto-report",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    devices = [re.search(r"device=(\S+)", sim.stdout.readline()).group(1) for _ in range(modems)]
    config = root / "smsgw.toml"
    config.write_text(
        f'data_dir = "{root}"\n\n[queue]\nrequest_reports = false\n\n'
        # Each first send attests the customer's number (one ledger row per new contact).
        '[consent]\ntransactional = "on_send"\n\n'
        + "".join(
            f'[[modems]]\ndevice = "{d}"\nline = "Line {i}"\nrate_per_minute = 600\n\n'
            for i, d in enumerate(devices)
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "SMSGW_CONFIG": str(config)}
    subprocess.run([*SMSGW, "init"], env=env, check=True, capture_output=True)
    return sim, config


def fill(gateway: Gateway, count: int, *, batch: int, area: int = 201) -> float:
    start = time.process_time()
    with gateway.sessions() as session:
        for n in range(count):
            request = SendRequest(to=f"+1{area}555{n % 10000:04d}", body=f"Reminder {n}: 10:30")
            enqueue(session, gateway.vault, gateway.config, request)
            if (n + 1) % batch == 0:
                session.commit()
        session.commit()
    return time.process_time() - start


def bench_enqueue(root: Path, count: int) -> None:
    sim, config_path = setup(root, 1, 0.0)
    sim.send_signal(signal.SIGINT)
    sim.wait()
    gateway = open_gateway(load_config(config_path))
    try:
        new_single = fill(gateway, count, batch=1, area=201)
        known_single = fill(gateway, count, batch=1, area=201)
        new_batched = fill(gateway, count, batch=100, area=202)
        known_batched = fill(gateway, count, batch=100, area=202)
    finally:
        gateway.close()
    print("enqueue (CPU of one core; target >= 2,000 messages/s)")
    for label, seconds in (
        ("new contacts, commit per message", new_single),
        ("known contacts, commit per message", known_single),
        ("new contacts, commit per 100", new_batched),
        ("known contacts, commit per 100", known_batched),
    ):
        print(f"  {label:<36} {count / seconds:8.0f} messages/s")


def drain(root: Path, count: int, modems: int, delay: float) -> None:
    sim, config_path = setup(root, modems, delay)
    config = load_config(config_path)
    gateway = open_gateway(config)
    env = {**os.environ, "SMSGW_CONFIG": str(config_path)}
    try:
        fill(gateway, count, batch=100)
        worker = subprocess.Popen(
            [*SMSGW, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started = time.monotonic()
        while _sent(gateway) == 0:
            time.sleep(0.01)  # a benchmark's sampling interval, not synchronisation
        # CPU from the first message on: start-up (imports, opening modems) is not per message.
        cpu_start, first = _usage(worker.pid)[0], _sent(gateway)
        while _sent(gateway) < count:
            time.sleep(0.05)
        wall = time.monotonic() - started
        cpu, peak_rss = _usage(worker.pid)
        cpu -= cpu_start
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    finally:
        gateway.close()
        sim.send_signal(signal.SIGINT)
        sim.wait(30)
        sim.stdout.close()
    line = f"  {modems} modem(s): wall {wall:7.1f} s"
    first = max(0, min(first, count - 1))
    if delay:
        ideal = count * delay / modems
        line += f", ideal {ideal:6.1f} s, efficiency {ideal / wall:.3f} (target >= 0.97)"
    line += f", worker CPU {cpu / (count - first) * 1000:.2f} ms/message (target <= 3)"
    line += f", worker peak RSS {peak_rss / 1024:.1f} MB (target <= 60)"
    print(line, flush=True)


def _sent(gateway: Gateway) -> int:
    with gateway.sessions() as session:
        return session.scalar(select(func.count()).where(Message.status == "sent"))


def _usage(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return cpu, peak_kb


if __name__ == "__main__":
    main()
