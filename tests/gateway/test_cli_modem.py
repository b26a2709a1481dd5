"""The README's walk-through, as a new user runs it: `smsgw sim` in one terminal, the
`smsgw modem` commands in another, all real processes over real pseudo-terminals."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SMSGW = [sys.executable, "-m", "gateway.cli"]
TIMEOUT = 60


class Running:
    """A background process whose output lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*SMSGW, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.lines)),
            threading.Thread(target=self._collect),
        ]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _pump(stream, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    def _collect(self) -> None:
        for line in self.process.stderr:
            self.errors.append(line)

    def next_line(self, timeout: float = TIMEOUT) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no output in {timeout}s; stderr: {''.join(self.errors)}"
            ) from None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        code = self.process.wait(15)
        self._pumps_done()
        return code

    def _pumps_done(self) -> None:
        for thread in self.threads:
            thread.join(15)
        self.process.stdout.close()
        self.process.stderr.close()


def smsgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMSGW, *args], capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT
    )


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[dict[str, str]]:
    running = Running("sim", "--modems", "1", "--dir", str(tmp_path))
    try:
        line = running.next_line()
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        assert {"device", "control", "imei"} <= set(fields), line
        yield fields
    finally:
        running.stop()


def test_it_probes_the_emulated_modem(sim: dict[str, str]) -> None:
    result = smsgw("modem", "probe", sim["device"], "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["identity"]["imei"] == sim["imei"]
    assert report["sim"] == "READY"
    assert report["registration"]["status"] in ("home", "roaming")
    assert isinstance(report["signal"]["dbm"], int)


def test_it_probes_in_text_too(sim: dict[str, str]) -> None:
    result = smsgw("modem", "probe", sim["device"])
    assert result.returncode == 0, result.stderr
    assert sim["imei"] in result.stdout


def test_it_sends_and_waits_for_the_delivery_report(sim: dict[str, str]) -> None:
    result = smsgw(
        "modem", "send", sim["device"], "--to", "+15550123", "--text", "Hello there", "--report"
    )
    assert result.returncode == 0, result.stderr
    reference = re.search(r"part 1/1: reference (\d+)", result.stdout).group(1)
    assert f"reference {reference}: delivered" in result.stdout
    outbox = json.loads(smsgw("sim", "outbox", "--control", sim["control"]).stdout)
    sent = outbox["outbox"] if isinstance(outbox, dict) else outbox
    assert [m["text"] for m in sent] == ["Hello there"]


def test_it_sends_a_long_unicode_message_in_parts(sim: dict[str, str]) -> None:
    text = "Grüße aus der Praxis 👋 " * 6
    result = smsgw("modem", "send", sim["device"], "--to", "+15550123", "--text", text)
    assert result.returncode == 0, result.stderr
    assert "part 3/3" in result.stdout


def test_it_refuses_a_bad_number_with_a_clear_error(sim: dict[str, str]) -> None:
    result = smsgw("modem", "send", sim["device"], "--to", "+1555;ATD112", "--text", "x")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    outbox = json.loads(smsgw("sim", "outbox", "--control", sim["control"]).stdout)
    assert not (outbox["outbox"] if isinstance(outbox, dict) else outbox)


def test_it_reports_a_missing_device_clearly(tmp_path: Path) -> None:
    result = smsgw("modem", "probe", str(tmp_path / "ttyUSB7"))
    assert result.returncode != 0
    assert "cannot open" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_listens_and_prints_reassembled_messages(sim: dict[str, str]) -> None:
    listener = Running("modem", "listen", sim["device"])
    try:
        text = "Bonjour, rendez-vous confirmé ✅ " * 6  # UCS-2: 192 units, three parts
        injected = smsgw(
            "sim",
            "inject",
            "--control",
            sim["control"],
            "--from",
            "+15550199",
            "--text",
            text,
            "--order",
            "reverse",
        )
        assert injected.returncode == 0, injected.stderr
        record = json.loads(listener.next_line())
        assert record["from"] == "+15550199"
        assert record["text"] == text
        assert record["parts"] == 3
        storage = json.loads(smsgw("sim", "outbox", "--control", sim["control"]).stdout)
        assert storage is not None
    finally:
        listener.stop()


def test_it_prints_hostile_text_inert(sim: dict[str, str]) -> None:
    listener = Running("modem", "listen", sim["device"])
    try:
        text = "\x1b]0;pwned\x07\x1b[2J<script>alert(1)</script>\u202eevil"
        smsgw("sim", "inject", "--control", sim["control"], "--from", "+15550199", "--text", text)
        line = listener.next_line()
        assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
        assert json.loads(line)["text"] == text
    finally:
        listener.stop()


def test_it_picks_up_messages_stored_while_nobody_listened(sim: dict[str, str]) -> None:
    smsgw("sim", "inject", "--control", sim["control"], "--from", "+15550177", "--text", "early")
    listener = Running("modem", "listen", sim["device"])
    try:
        assert json.loads(listener.next_line())["text"] == "early"
    finally:
        listener.stop()
