"""A whole box for the web tests: `smsgw init`, then `smsgw run --simulate 2 --bind …` as a
real process — gunicorn over TLS with the box's own CA, the worker, two emulated modems."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

SMSGW = [sys.executable, "-m", "gateway.cli"]
START_SECONDS = 60.0
STOP_SECONDS = 30.0


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll with a deadline: the box answers within milliseconds, CI may be slow."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMSGW, *args], capture_output=True, text=True, encoding="utf-8", timeout=60, env=env
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def short_temp_dir() -> Path:
    # Short: the wake socket and the emulator's control sockets live under it (108 bytes).
    return Path(tempfile.mkdtemp(prefix="smsgw-", dir="/tmp"))


def add_hostnames(config_path: Path, hostnames: str) -> None:
    """Set web.hostnames in the commented file `smsgw init` wrote (under its [web] table)."""
    text = config_path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^#?hostnames = .*$", f'hostnames = "{hostnames}"', text, count=1)
    config_path.write_text(text, encoding="utf-8")


class Output:
    """A process's stdout and stderr lines, collected by threads, waited on by tests."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.threads = [
            threading.Thread(target=self._pump, args=(stream,), daemon=True)
            for stream in (process.stdout, process.stderr)
        ]
        for thread in self.threads:
            thread.start()

    def _pump(self, stream: Any) -> None:
        with stream:
            for line in stream:
                with self.changed:
                    self.lines.append(line.rstrip("\n"))
                    self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def text(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def wait_for(
        self, pattern: str, timeout: float, process: subprocess.Popen[str]
    ) -> re.Match[str]:
        """The first match of `pattern` in the output; fails at the deadline or when the
        process has ended without printing it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = re.search(pattern, "\n".join(self.lines))
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or process.poll() is not None:
                    shown = "\n".join(self.lines)
                    raise AssertionError(f"{pattern!r} never printed; output:\n{shown}")
                self.changed.wait(min(left, 0.5))

    def join(self) -> None:
        for thread in self.threads:
            thread.join(STOP_SECONDS)


@dataclass
class Box:
    base_url: str
    ca_path: Path
    data_dir: Path
    config_path: Path
    env: dict[str, str]
    control: str  # modem 0's emulator control socket, for `smsgw sim inject --control`
    process: subprocess.Popen[str]
    output: Output
    exit_code: int | None = field(default=None)

    def smsgw(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The command line against this box (SMSGW_CONFIG names its config)."""
        return cli(*args, env=self.env)

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code (the web server stops with it)."""
        if self.exit_code is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"no exit within {STOP_SECONDS}s of SIGTERM") from None
            finally:
                self.output.join()
        return self.exit_code


def initialise_box(
    directory: Path, hostnames: str = "", consent: str = "on_send"
) -> tuple[Path, dict[str, str]]:
    """`smsgw init --data-dir` as a user runs it; the config path and an env naming it."""
    done = cli("init", "--data-dir", str(directory))
    assert done.returncode == 0, done.stderr
    config_path = directory / "smsgw.toml"
    if hostnames:
        add_hostnames(config_path, hostnames)
        again = cli("init", "--data-dir", str(directory))
        assert again.returncode == 0, again.stderr
    # Consent has its own tests: these boxes let each first send attest the customer's number.
    env = {**os.environ, "SMSGW_CONFIG": str(config_path)}
    if consent:
        env["SMSGW_CONSENT_TRANSACTIONAL"] = consent
    return config_path, env


@contextmanager
def start_box(hostnames: str = "", consent: str = "on_send") -> Iterator[Box]:
    directory = short_temp_dir()
    try:
        config_path, env = initialise_box(directory, hostnames, consent)
        box = _start(directory, config_path, env)
        try:
            yield box
        finally:
            code = box.stop()
        assert code == 0, f"smsgw run exited with {code}:\n{box.output.text()}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(directory: Path, config_path: Path, env: dict[str, str]) -> Box:
    # A port picked free can be taken by someone else before gunicorn binds it: try again.
    for attempt in range(3):
        box = _launch(directory, config_path, env, free_port())
        try:
            box.output.wait_for(r"worker running", START_SECONDS, box.process)
        except AssertionError:
            box.stop()
            if attempt < 2 and "did not start" in box.output.text():
                continue
            raise
        box.control = re.search(r"modem0 .*control=(\S+)", box.output.text()).group(1)
        wait_until(partial(_healthy, box), START_SECONDS, "GET /api/v1/health answering 200")
        return box
    raise AssertionError("unreachable")


def _launch(directory: Path, config_path: Path, env: dict[str, str], port: int) -> Box:
    bind = f"127.0.0.1:{port}"
    command = ["run", "--simulate", "2", "--send-delay", "0.05", "--bind", bind]
    process = subprocess.Popen(
        [*SMSGW, *command, "--data-dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    return Box(
        base_url=f"https://{bind}",
        ca_path=directory / "tls" / "ca.pem",
        data_dir=directory,
        config_path=config_path,
        env=env,
        control="",
        process=process,
        output=Output(process),
    )


def _healthy(box: Box) -> bool:
    try:
        answer = requests.get(box.url("/api/v1/health"), verify=box.ca_path, timeout=5)
    except requests.RequestException:
        return False
    return answer.status_code == 200


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over a Session's own `verify`
    # (psf/requests#3829): a client trusting the box's CA would be checked against the
    # system's public CAs instead, and fail.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def box() -> Iterator[Box]:
    """A box of its own, for tests that change or stop it."""
    with start_box() as started:
        yield started


@pytest.fixture(scope="module")
def shared_box() -> Iterator[Box]:
    """One box for a module's tests that only read from it or add to it."""
    with start_box() as started:
        yield started
