"""The systemd units: checked by systemd's own tools, and for the hardening the issue asks."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import COMMANDS
from tests.ops.units import SYSTEMD_DIR, read_unit

UNITS = ("smsgw-worker.service", "smsgw-web.service", "smsgw.target")
SERVICES = ("smsgw-worker.service", "smsgw-web.service")
INSTALLED_SMSGW = "/opt/smsgw/venv/bin/smsgw"
SMSGW = Path(sys.executable).with_name("smsgw")
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def service(name: str) -> dict[str, list[str]]:
    return read_unit(SYSTEMD_DIR / name)["Service"]


def unit(name: str) -> dict[str, list[str]]:
    return read_unit(SYSTEMD_DIR / name)["Unit"]


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this checkout's smsgw: verify wants the binary."""
    assert SMSGW.exists(), f"{SMSGW} missing: install the project into this venv"
    for name in UNITS:
        text = (SYSTEMD_DIR / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED_SMSGW, str(SMSGW)), encoding="utf-8")
    return tmp_path


def verify(directory: Path, *names: str) -> str:
    """systemd-analyze verify; its warnings (an unknown key, a key in the wrong section) do
    not change its exit status, so any output at all counts as a failure."""
    assert ANALYZE is not None
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", *(str(directory / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}".strip()


@needs_analyze
def test_it_passes_systemd_analyze_verify(rendered: Path) -> None:
    assert verify(rendered, *UNITS) == "exit 0"


@needs_analyze
def test_it_would_notice_a_key_in_the_wrong_section(rendered: Path) -> None:
    # The mistake made while writing these units: StartLimitIntervalSec= under [Service].
    worker = rendered / "smsgw-worker.service"
    text = worker.read_text(encoding="utf-8")
    worker.write_text(text.replace("[Service]\n", "[Service]\nStartLimitIntervalSec=1min\n"))
    assert "Unknown key" in verify(rendered, "smsgw-worker.service")


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_it_scores_ok_in_systemd_analyze_security(rendered: Path, name: str) -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(rendered / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    # 0 is locked down, 10 is unprotected; below 2 is systemd's "OK".
    assert float(found.group(1)) < 2.0, found.group(0)


@pytest.mark.parametrize("name", SERVICES)
def test_it_hardens_each_service(name: str) -> None:
    settings = service(name)
    expected = {
        "User": ["smsgw"],
        "Group": ["smsgw"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/var/lib/smsgw"],
        "PrivateTmp": ["yes"],
        "ProtectHome": ["yes"],
        "DevicePolicy": ["closed"],
        "CapabilityBoundingSet": [""],
        "UMask": ["0077"],
        "Restart": ["on-failure"],
    }
    for key, value in expected.items():
        assert settings.get(key) == value, key
    assert settings["RestartSec"] and settings["TimeoutStopSec"]
    assert unit(name)["StartLimitBurst"] and unit(name)["StartLimitIntervalSec"]


def test_it_lets_the_worker_open_usb_serial_ports_only() -> None:
    settings = service("smsgw-worker.service")
    assert settings["SupplementaryGroups"] == ["dialout"]
    assert sorted(settings["DeviceAllow"]) == ["char-ttyACM rw", "char-ttyUSB rw"]
    assert "PrivateDevices" not in settings  # it would hide /dev/ttyUSB* altogether
    # The device groups must exist in /proc/devices when the unit starts.
    modules = (SYSTEMD_DIR / "smsgw-modules.conf").read_text(encoding="utf-8").split("\n")
    assert {"usbserial", "option", "cdc_acm"} <= {line.strip() for line in modules}


def test_it_gives_the_web_server_no_devices() -> None:
    settings = service("smsgw-web.service")
    assert settings["PrivateDevices"] == ["yes"]
    assert "DeviceAllow" not in settings
    assert "SupplementaryGroups" not in settings


def test_it_watches_the_worker_and_only_the_worker() -> None:
    worker = service("smsgw-worker.service")
    assert worker["Type"] == ["notify"]
    assert worker["NotifyAccess"] == ["main"]
    assert worker["WatchdogSec"] == ["60s"]
    # gunicorn says READY=1 but never pings: a watchdog would kill a healthy web server.
    web = service("smsgw-web.service")
    assert web["Type"] == ["notify"]
    assert "WatchdogSec" not in web


def test_it_starts_each_service_with_an_smsgw_command() -> None:
    for name, command in (("smsgw-worker.service", "worker"), ("smsgw-web.service", "web")):
        binary, *args = service(name)["ExecStart"][0].split()
        assert binary == INSTALLED_SMSGW
        assert args == [command] and command in COMMANDS


def test_it_starts_the_web_server_without_the_worker_or_modems() -> None:
    web = unit("smsgw-web.service")
    for key in ("Requires", "BindsTo", "Requisite"):
        assert key not in web
    assert not any(
        "worker" in value or ".device" in value for values in web.values() for value in values
    )


def test_it_groups_the_services_under_one_target() -> None:
    for name in SERVICES:
        assert read_unit(SYSTEMD_DIR / name)["Install"]["WantedBy"] == ["smsgw.target"]
        assert unit(name)["PartOf"] == ["smsgw.target"]
        assert any("network" in value for value in unit(name)["After"])
    assert read_unit(SYSTEMD_DIR / "smsgw.target")["Install"]["WantedBy"] == ["multi-user.target"]


def test_it_keeps_the_backoff_for_newer_systemd_in_a_drop_in() -> None:
    backoff = read_unit(SYSTEMD_DIR / "restart-backoff.conf")
    assert backoff["Service"]["RestartSteps"] and backoff["Service"]["RestartMaxDelaySec"]
    assert backoff["Unit"]["StartLimitIntervalSec"] == ["0"]
    for name in SERVICES:  # systemd 252 would warn about these keys in the units themselves
        assert "RestartSteps" not in service(name)


# -- the web unit is Type=notify: gunicorn must really say READY=1 --------------------------


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # A Unix socket path must fit in 108 bytes.
    directory = Path(tempfile.mkdtemp(prefix="smsgw-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_hears_ready_from_the_web_server(short_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSGW_", "WATCHDOG_"))}
    smsgw = [sys.executable, "-m", "gateway.cli", "--data-dir", str(short_dir / "data")]
    init = subprocess.run([*smsgw, "init"], env=env, capture_output=True, timeout=120)
    assert init.returncode == 0, init.stderr
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(short_dir / "notify"))
        notify.settimeout(60)
        env["NOTIFY_SOCKET"] = str(short_dir / "notify")
        bind = f"127.0.0.1:{_free_port()}"
        web = subprocess.Popen(
            [*smsgw, "web", "--bind", bind, "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            message = notify.recv(4096).decode()
            assert "READY=1" in message.split("\n")
            # Ready means listening: systemd starts what comes after at this moment.
            socket.create_connection(("127.0.0.1", int(bind.rpartition(":")[2])), 5).close()
        finally:
            web.send_signal(signal.SIGTERM)
            assert web.wait(30) == 0
