"""Idle memory of the whole stack, as systemd runs it: `smsgw worker` with two modems plus
`smsgw web` (gunicorn: its arbiter and 2 workers). Target: under 150 MB RSS in total.

The emulated modems run in a process of their own (`smsgw sim`), not counted: on the box
they are hardware.

    .venv/bin/python bench/bench_memory.py [--idle 10]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMSGW = [sys.executable, "-m", "gateway.cli"]


def rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split among the processes sharing them, so the
    sum over processes is what the stack really takes (RSS counts them in each)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
    return int(match.group(1)) if match else 0


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=float, default=10.0, help="seconds to idle first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsgw-mem-") as directory:
        root = Path(directory)
        sim = subprocess.Popen(
            [*SMSGW, "sim", "--modems", "2", "--dir", str(root / "sim")],
            stdout=subprocess.PIPE,
            text=True,
        )
        devices = [re.search(r"device=(\S+)", sim.stdout.readline()).group(1) for _ in range(2)]
        config = root / "smsgw.toml"
        config.write_text(
            f'data_dir = "{root}"\n\n'
            + "".join(
                f'[[modems]]\ndevice = "{d}"\nline = "Line {i}"\n\n' for i, d in enumerate(devices)
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "SMSGW_CONFIG": str(config)}
        subprocess.run([*SMSGW, "init"], env=env, check=True, capture_output=True)
        worker = subprocess.Popen([*SMSGW, "worker"], env=env, stderr=subprocess.DEVNULL)
        bind = f"127.0.0.1:{free_port()}"
        web = subprocess.Popen(
            [*SMSGW, "web", "--bind", bind, "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while len(tree(web.pid)) < 3 and time.monotonic() < deadline:
                time.sleep(0.2)  # a benchmark, not a test: waiting for gunicorn's fork
            time.sleep(args.idle)  # idle, as the box is most of the day
            web_pids = tree(web.pid)
            print("idle memory, whole stack (target < 150 MB in total)")
            print("                                   RSS       PSS")
            totals = [0, 0]
            for name, pids in (
                ("smsgw worker, 2 modems", [worker.pid]),
                (f"smsgw web, {len(web_pids)} processes", web_pids),
            ):
                rss, pss = sum(map(rss_kb, pids)), sum(map(pss_kb, pids))
                totals = [totals[0] + rss, totals[1] + pss]
                print(f"  {name:28} {rss / 1024:6.1f} MB {pss / 1024:6.1f} MB")
            print(f"  {'total':28} {totals[0] / 1024:6.1f} MB {totals[1] / 1024:6.1f} MB")
        finally:
            for process in (web, worker, sim):
                process.terminate()
            for process in (web, worker, sim):
                process.wait(30)


if __name__ == "__main__":
    main()
