"""`smsgw init` for a box joining others on one PostgreSQL database: it never makes a
second master key, says how to bring the existing one over, and refuses a wrong one."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.gateway.test_cli_gateway import smsgw

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def init(directory: Path, database_url: str) -> tuple[int, str]:
    env = {**os.environ, "SMSGW_DATABASE_URL": database_url}
    done = smsgw("init", "--data-dir", str(directory), env=env)
    return done.returncode, done.stdout + done.stderr


def test_it_explains_how_a_second_box_gets_the_clusters_master_key(
    data_dir: Path, database_url: str
) -> None:
    first, second = data_dir / "box-a", data_dir / "box-b"
    code, shown = init(first, database_url)
    assert code == 0, shown
    code, shown = init(second, database_url)
    assert code != 0
    assert "already holds data keys" in shown and "master.key" in shown and "scp" in shown
    assert not (second / "master.key").exists()  # no second key was made
    shutil.copyfile(first / "master.key", second / "master.key")
    os.chmod(second / "master.key", 0o600)
    code, shown = init(second, database_url)
    assert code == 0, shown
    assert stat.S_IMODE((second / "master.key").stat().st_mode) == 0o600


def test_it_refuses_a_master_key_that_is_not_the_databases(
    data_dir: Path, database_url: str
) -> None:
    assert init(data_dir / "box-a", database_url)[0] == 0
    # A box set up on its own (its own key), then pointed at the cluster's database:
    own = data_dir / "own"
    assert smsgw("init", "--data-dir", str(own)).returncode == 0
    before = (own / "smsgw.db").stat().st_size
    code, shown = init(own, database_url)
    assert code != 0 and "is not the one the database" in shown
    assert (own / "smsgw.db").stat().st_size == before
