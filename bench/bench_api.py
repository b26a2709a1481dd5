"""LAN API benchmarks (printed, never asserted), against a real `smsgw run` over HTTPS.

- POST /messages at 1, 16 and 64 concurrent clients on 2 gunicorn workers: accepted per
  second and p50/p99 latency (targets: >= 500/s, p99 < 50 ms at 16 clients).
- POST /messages/batch of 1,000: messages accepted per second (target >= 5,000/s).
- An inbound SMS at the emulated modem to the webhook receiver: p50/p99 (target < 250 ms).

The clients are Python threads on the same machine, so they take CPU from the server: the
figures are a floor for what the box itself can do.

    .venv/bin/python bench/bench_api.py [--seconds 10] [--inbound 100]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from modem.sim.control import control_request

SMSGW = [sys.executable, "-m", "gateway.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description="LAN API benchmarks")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--inbound", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smsgw-bapi-") as directory:
        box = Box(Path(directory))
        try:
            key = box.key("messages:send", "messages:read", "admin")
            print("POST /messages (2 gunicorn workers; target >= 500/s, p99 < 50 ms at 16)")
            for clients in (1, 16, 64):
                post_messages(box, key, clients, args.seconds)
            batches(box, key)
            inbound_to_webhook(box, key, args.inbound)
        finally:
            box.stop()


class Box:
    def __init__(self, root: Path) -> None:
        self.root = root / "box"
        self.env = {**os.environ, "SMSGW_CONFIG": str(self.root / "smsgw.toml")}
        subprocess.run(
            [*SMSGW, "init", "--data-dir", str(self.root)],
            check=True,
            capture_output=True,
            env=self.env,
        )
        # A generous limit: the benchmark measures throughput, not the limiter.
        self.env["SMSGW_WEB_RATE_PER_MINUTE"] = "1000000"
        self.env["SMSGW_CONSENT_TRANSACTIONAL"] = "on_send"  # a ledger row per new contact
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                *SMSGW,
                "run",
                "--simulate",
                "1",
                "--send-delay",
                "0",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--data-dir",
                str(self.root),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        text = ""
        while "web listening" not in text:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit("smsgw run did not start")
            text += line
        # Keep reading what it prints (access log lines): a full pipe would stall the server.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.control = re.search(r"control=(\S+)", text).group(1)
        self.tls = ssl.create_default_context(cafile=str(self.root / "tls" / "ca.pem"))

    def key(self, *scopes: str) -> str:
        subprocess.run(
            [*SMSGW, "user", "add", "bench", "--role", "admin"],
            env=self.env,
            check=True,
            capture_output=True,
        )
        command = [*SMSGW, "key", "create", "--user", "bench", "--json"]
        for scope in scopes:
            command += ["--scope", scope]
        made = subprocess.run(command, env=self.env, check=True, capture_output=True, text=True)
        return json.loads(made.stdout)["key"]

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=30)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def _post(conn: http.client.HTTPSConnection, key: str, path: str, body: Any) -> tuple[int, Any]:
    conn.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def post_messages(box: Box, key: str, clients: int, seconds: float) -> None:
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = box.connection()
        mine: list[float] = []
        count = 0
        while time.monotonic() < deadline:
            count += 1
            body = {"to": f"+1201555{(n * 1000 + count) % 10000:04d}", "body": f"Ticket {count}"}
            start = time.perf_counter()
            status, _ = _post(conn, key, "/api/v1/messages", body)
            mine.append(time.perf_counter() - start)
            if status != 202:
                failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    ok = len(latencies) - failures[0]
    print(
        f"  {clients:3d} client(s): {ok / wall:7.0f} accepted/s, p50 {p50:6.1f} ms, "
        f"p99 {p99:6.1f} ms, failures {failures[0]}"
    )


def batches(box: Box, key: str, count: int = 5) -> None:
    conn = box.connection()
    accepted, elapsed = 0, 0.0
    for b in range(count):
        batch = {
            "messages": [
                {"to": f"+1202555{(b * 1000 + n) % 10000:04d}", "body": f"Reminder {n}"}
                for n in range(1000)
            ]
        }
        start = time.perf_counter()
        status, answer = _post(conn, key, "/api/v1/messages/batch", batch)
        elapsed += time.perf_counter() - start
        accepted += len(answer["accepted"]) if status == 202 else 0
    conn.close()
    print(
        f"POST /messages/batch (1,000 each; target >= 5,000/s): {accepted / elapsed:7.0f} "
        f"messages/s over {count} batches"
    )


class _Receiver(http.server.BaseHTTPRequestHandler):
    arrivals: ClassVar[dict[str, float]] = {}
    arrived = threading.Condition()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["data"]["message"].get("body") or ""
        with self.arrived:
            self.arrivals[text] = time.perf_counter()
            self.arrived.notify_all()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def inbound_to_webhook(box: Box, key: str, count: int) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = box.connection()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    status, _ = _post(conn, key, "/api/v1/webhooks", {"url": url, "events": ["message.received"]})
    assert status == 201
    # The worker re-reads subscriptions every 2 s: probe until the first one comes through.
    deadline = time.monotonic() + 15
    while "probe" not in _Receiver.arrivals and time.monotonic() < deadline:
        control_request(box.control, {"op": "inject", "from": "+12015550198", "text": "probe"})
        with _Receiver.arrived:
            _Receiver.arrived.wait_for(lambda: "probe" in _Receiver.arrivals, timeout=1)
    latencies = []
    for n in range(count):
        text = f"inbound {n}"
        start = time.perf_counter()
        control_request(box.control, {"op": "inject", "from": "+12015550199", "text": text})
        with _Receiver.arrived:
            _Receiver.arrived.wait_for(lambda t=text: t in _Receiver.arrivals, timeout=10)
        if text in _Receiver.arrivals:
            latencies.append(_Receiver.arrivals[text] - start)
    server.shutdown()
    latencies.sort()
    if not latencies:
        print("inbound -> webhook: nothing arrived")
        return
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(
        f"inbound SMS -> webhook receiver (target p99 < 250 ms): p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms, {len(latencies)}/{count} arrived"
    )


if __name__ == "__main__":
    main()
