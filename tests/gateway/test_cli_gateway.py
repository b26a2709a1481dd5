"""`smsgw init / run / send / messages` as a new user runs them, as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import wait_until
from tests.gateway.test_cli_modem import Running

SMSGW = [sys.executable, "-m", "gateway.cli"]


def smsgw(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMSGW, *args], capture_output=True, text=True, encoding="utf-8", timeout=60, env=env
    )


def test_it_initialises_once_and_keeps_the_key(data_dir: Path) -> None:
    target = data_dir / "box"
    first = smsgw("init", "--data-dir", str(target))
    assert first.returncode == 0, first.stderr
    key = target / "master.key"
    assert "created" in first.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    second = smsgw("init", "--data-dir", str(target))
    assert second.returncode == 0, second.stderr
    assert "exists, kept" in second.stdout
    assert key.read_bytes() == before
    assert (target / "smsgw.toml").exists()
    assert (target / "smsgw.db").exists()


def test_it_names_the_file_and_key_of_a_bad_config(data_dir: Path) -> None:
    config = data_dir / "smsgw.toml"
    config.write_text("[queue]\nmax_atempts = 3\n", encoding="utf-8")
    result = smsgw("--config", str(config), "send", "--to", "+12015550123", "--text", "x")
    assert result.returncode != 0
    assert str(config) in result.stderr and "max_atempts" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_to_send_before_init(data_dir: Path) -> None:
    result = smsgw("--data-dir", str(data_dir / "nothing"), "send", "--to", "+1201", "--text", "x")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_it_runs_with_simulated_modems_end_to_end(data_dir: Path) -> None:
    box = data_dir / "box"
    env = {**os.environ, "SMSGW_CONFIG": str(box / "smsgw.toml")}
    running = Running(
        "run", "--simulate", "2", "--send-delay", "0.05", "--no-web", "--data-dir", str(box)
    )
    try:
        lines = [running.next_line()]
        while "worker running" not in lines[-1]:
            lines.append(running.next_line())
        assert "worker running with 2 modem(s)" in lines[-1]
        control = re.search(r"control=(\S+)", "\n".join(lines)).group(1)

        sent = smsgw(
            "send",
            "--to",
            "+12015550123",
            "--text",
            "Hello from the CLI",
            "--consent",
            "verbal",
            "--json",
            env=env,
        )
        assert sent.returncode == 0, sent.stderr
        message_id = json.loads(sent.stdout)["id"]

        def status() -> str:
            shown = smsgw("messages", "show", message_id, "--json", env=env)
            return json.loads(shown.stdout)["status"]

        wait_until(lambda: status() == "delivered", 30)

        injected = smsgw(
            "sim",
            "inject",
            "--control",
            control,
            "--from",
            "+12015550199",
            "--text",
            "\x1b[31mhostile\u202e reply",
        )
        assert injected.returncode == 0, injected.stderr

        def inbound() -> list[dict]:
            listed = smsgw("messages", "--json", "--direction", "in", env=env)
            return [json.loads(line) for line in listed.stdout.splitlines()]

        (message,) = wait_until(inbound, 30)
        assert message["body"] == "\x1b[31mhostile\u202e reply"
        table = smsgw("messages", env=env).stdout
        assert "\x1b" not in table and "\u202e" not in table
        assert "Hello from the CLI" in table
    finally:
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(30) == 0
        running.stop()


def test_it_refuses_bad_input_without_a_traceback(data_dir: Path) -> None:
    box = data_dir / "box"
    assert smsgw("init", "--data-dir", str(box)).returncode == 0
    for args in (
        ["--to", "not-a-number", "--text", "x"],
        ["--to", "+12015550123", "--text", ""],
        ["--to", "+12015550123", "--text", "a\x1bb"],
        ["--to", "+12015550123", "--text", "x", "--line", "Nope"],
    ):
        result = smsgw("--data-dir", str(box), "send", *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr
        assert re.search(r"invalid_number|invalid_body|unknown_line", result.stderr), result.stderr
    listed = smsgw("--data-dir", str(box), "messages", "--json")
    assert listed.stdout == ""
