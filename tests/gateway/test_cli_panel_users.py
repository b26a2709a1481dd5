"""No default password: the first administrator and every new user get a one-time
password from the command line, shown once and stored only as an argon2id hash."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

from gateway.passwords import verify_password
from tests.gateway.test_cli_gateway import smsgw


def _hash_of(target: Path, name: str) -> tuple[str, int]:
    with sqlite3.connect(target / "smsgw.db") as db:
        row = db.execute(
            "SELECT password_hash, must_change_password FROM users WHERE name = ?", (name,)
        ).fetchone()
    return row[0], row[1]


def test_it_creates_the_first_admin_once_with_a_one_time_password(data_dir: Path) -> None:
    target = data_dir / "box"
    first = smsgw("init", "--data-dir", str(target))
    assert first.returncode == 0, first.stderr
    found = re.search(r"first admin\s+admin, one-time password (\S+)", first.stdout)
    assert found, first.stdout
    stored, must_change = _hash_of(target, "admin")
    assert stored.startswith("$argon2id$")
    assert found.group(1) not in stored
    assert verify_password(stored, found.group(1))
    assert must_change == 1
    again = smsgw("init", "--data-dir", str(target))
    assert again.returncode == 0, again.stderr
    assert "first admin" not in again.stdout
    assert _hash_of(target, "admin")[0] == stored


def test_it_gives_each_added_user_a_one_time_password_and_a_new_one_on_reset(
    data_dir: Path,
) -> None:
    target = data_dir / "box"
    assert smsgw("init", "--data-dir", str(target)).returncode == 0
    env = {**os.environ, "SMSGW_CONFIG": str(target / "smsgw.toml")}
    added = smsgw("user", "add", "ana", "--role", "agent", "--json", env=env)
    assert added.returncode == 0, added.stderr
    password = json.loads(added.stdout)["one_time_password"]
    stored, must_change = _hash_of(target, "ana")
    assert verify_password(stored, password) and must_change == 1
    reset = smsgw("user", "reset", "ana", "--totp", env=env)
    assert reset.returncode == 0, reset.stderr
    fresh = reset.stdout.strip().rsplit(" ", 1)[1]
    stored = _hash_of(target, "ana")[0]
    assert verify_password(stored, fresh) and not verify_password(stored, password)
    missing = smsgw("user", "reset", "nobody", env=env)
    assert missing.returncode != 0
    assert "no user with that name" in missing.stderr
