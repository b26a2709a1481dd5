"""systemd/install.sh, run for real into a throwaway root directory.

The root gets copies of this machine's user files, so ``useradd --root`` adds the service
user there; ``systemctl --root`` enables the units there without a running systemd. The
virtual environment step is skipped (``--skip-venv``, with the venv running these tests
linked in its place): installing the project's dependencies needs the package index.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config
from tests.ops.units import SYSTEMD_DIR

INSTALL = SYSTEMD_DIR / "install.sh"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("systemctl") is None,
    reason="install.sh needs root, useradd and systemctl (it creates a user and owns files)",
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "root"
    (target / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), target / "etc" / name)
    (target / "opt" / "smsgw").mkdir(parents=True)
    (target / "opt" / "smsgw" / "venv").symlink_to(Path(sys.prefix))
    return target


def install(root: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSGW_", "NOTIFY_"))}
    return subprocess.run(
        ["sh", str(INSTALL), "--root", str(root), "--skip-venv", *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def account(root: Path, name: str, table: str = "passwd") -> list[str]:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} not in {table}")


def owner_and_mode(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def test_it_installs_into_a_root_directory(root: Path) -> None:
    result = install(root)
    assert result.returncode == 0, result.stderr
    _, _, uid, gid, _, home, shell = account(root, "smsgw")
    uid_, gid_ = int(uid), int(gid)
    assert (home, shell) == ("/var/lib/smsgw", "/usr/sbin/nologin")
    assert uid_ < 1000  # a system user
    assert "smsgw" in account(root, "dialout", "group")[3].split(",")

    assert owner_and_mode(root / "etc/smsgw") == (0, gid_, 0o750)
    assert owner_and_mode(root / "etc/smsgw/smsgw.toml") == (0, gid_, 0o640)
    data = root / "var/lib/smsgw"
    assert owner_and_mode(data) == (uid_, gid_, 0o700)
    assert owner_and_mode(data / "master.key") == (uid_, gid_, 0o600)
    for path in data.rglob("*"):
        owner, group, mode = owner_and_mode(path)
        assert (owner, group) == (uid_, gid_), path
        if path.suffix != ".pem":  # certificates are public; keys and the database are not
            assert mode & 0o077 == 0, f"{path} is open to others: {mode:o}"
    assert (data / "smsgw.db").exists() and (data / "tls" / "server.pem").exists()

    # The config names the data directory as the booted system sees it, not the root's path.
    config = load_config(root / "etc/smsgw/smsgw.toml")
    assert config.data_dir == Path("/var/lib/smsgw")

    units = root / "etc/systemd/system"
    for name in ("smsgw-worker.service", "smsgw-web.service", "smsgw.target"):
        assert (units / name).read_bytes() == (SYSTEMD_DIR / name).read_bytes()
        assert owner_and_mode(units / name)[2] == 0o644
    for name in ("smsgw-worker.service", "smsgw-web.service"):
        assert (units / "smsgw.target.wants" / name).is_symlink()
    assert (units / "multi-user.target.wants/smsgw.target").is_symlink()
    rule = root / "etc/udev/rules.d/99-smsgw-modems.rules"
    assert rule.read_bytes() == (SYSTEMD_DIR / "99-smsgw-modems.rules").read_bytes()
    assert (root / "etc/modules-load.d/smsgw.conf").exists()

    # Nothing is reloaded or started in a root that is not running.
    assert "skipped (--root): systemctl daemon-reload" in result.stdout
    assert "skipped (--root): udevadm control --reload" in result.stdout
    assert "not started" in result.stdout


def test_it_is_safe_to_run_twice(root: Path) -> None:
    assert install(root, "--no-start").returncode == 0
    data = root / "var/lib/smsgw"
    first = {p: p.read_bytes() for p in (data / "master.key", data / "tls/ca.pem")}
    config = (root / "etc/smsgw/smsgw.toml").read_text()
    again = install(root, "--no-start")
    assert again.returncode == 0, again.stderr
    assert "user       smsgw (exists)" in again.stdout
    assert "(exists, kept)" in again.stdout
    assert {p: p.read_bytes() for p in first} == first  # a new key would lose every message
    assert (root / "etc/smsgw/smsgw.toml").read_text() == config
    passwd = (root / "etc/passwd").read_text().splitlines()
    assert sum(line.startswith("smsgw:") for line in passwd) == 1
    assert account(root, "dialout", "group")[3].split(",").count("smsgw") == 1


def test_it_puts_an_existing_user_in_dialout(root: Path) -> None:
    subprocess.run(
        ["useradd", "--root", str(root), "--system", "--user-group", "smsgw"],
        check=True,
        capture_output=True,
    )
    assert "smsgw" not in account(root, "dialout", "group")[3].split(",")
    result = install(root, "--no-start")
    assert result.returncode == 0, result.stderr
    assert "added to dialout" in result.stdout
    assert "smsgw" in account(root, "dialout", "group")[3].split(",")


def test_it_refuses_a_root_without_users(root: Path) -> None:
    (root / "etc/passwd").unlink()
    result = install(root)
    assert result.returncode != 0
    assert "etc/passwd is missing" in result.stderr


def test_it_refuses_to_skip_a_venv_that_is_not_there(root: Path) -> None:
    (root / "opt/smsgw/venv").unlink()
    result = install(root)
    assert result.returncode != 0
    assert "--skip-venv: no /" in result.stderr
    assert not (root / "etc/systemd/system/smsgw-worker.service").exists()


def test_it_refuses_an_unknown_option(root: Path) -> None:
    result = install(root, "--frobnicate")
    assert result.returncode != 0
    assert "unknown option --frobnicate" in result.stderr
