"""``smsgw sim``: the emulator as a person runs it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli.sim import sim
from modem.sim import SimBank

RUN_TIMEOUT = 30


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(sim, list(args))
    return result.exit_code, result.output


def test_it_injects_and_lists_the_outbox(make_sim_bank: Callable[..., SimBank]) -> None:
    handle = make_sim_bank(1)[0]
    code, output = run(
        "inject", "--control", handle.control_path, "--from", "+447700900123", "--text", "x" * 200
    )
    assert (code, output) == (0, "delivered in 2 part(s)\n")
    assert len(handle.engine.storage()["SM"]) == 2
    code, output = run("outbox", "--control", handle.control_path)
    assert code == 0 and json.loads(output) == []


def test_it_sets_and_clears_faults(make_sim_bank: Callable[..., SimBank]) -> None:
    handle = make_sim_bank(1)[0]
    code, output = run("fault", "--control", handle.control_path, "cms_error", "--code", "38")
    assert code == 0
    assert json.loads(output) == {"faults": {"cms_error": {"code": 38, "count": 1}}}
    code, output = run("fault", "--control", handle.control_path, "cms_error", "--off")
    assert code == 0 and json.loads(output) == {"faults": {}}


def test_it_unplugs_and_replugs(make_sim_bank: Callable[..., SimBank]) -> None:
    handle = make_sim_bank(1)[0]
    assert run("unplug", "--control", handle.control_path) == (0, "unplugged\n")
    assert not Path(handle.device_path).exists()
    code, output = run("replug", "--control", handle.control_path, "--new-name")
    assert (code, output) == (0, f"device={handle.device_path}\n")
    assert handle.device_path.endswith("-r1")


def test_it_reports_on_a_sent_part(make_sim_bank: Callable[..., SimBank]) -> None:
    handle = make_sim_bank(1)[0]
    code, output = run(
        "report", "--control", handle.control_path, "--reference", "3", "--status", "delivered"
    )
    assert code == 1 and "no sent part has TP-MR 3" in output


def test_it_explains_a_missing_socket_without_a_traceback(tmp_path: Path) -> None:
    code, output = run("outbox", "--control", str(tmp_path / "nope.ctl"))
    assert code == 1
    assert "no control socket" in output and "Traceback" not in output


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_it_runs_modems_until_terminated(tmp_path: Path, stop_signal: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sim", "--modems", "2", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        for index, line in enumerate(lines):
            fields = dict(re.findall(r"(\w+)=(\S+)", line))
            assert line.startswith(f"modem{index}  ")
            assert fields["device"] == str(tmp_path / f"modem{index}")
            assert fields["control"] == str(tmp_path / f"modem{index}.ctl")
            assert re.fullmatch(r"\d{15}", fields["imei"]) and fields["number"].startswith("+1")
            assert Path(fields["device"]).is_symlink()
        process.send_signal(stop_signal)
        _, errors = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    assert list(tmp_path.iterdir()) == []
