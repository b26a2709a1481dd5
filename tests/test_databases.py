"""The PostgreSQL variants when no server answers: skipped with the reason on a laptop,
a failure where ``TEST_SMSGW_REQUIRE_POSTGRES=1`` (CI), and never a password in either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "hunter2-not-shown"
# Port 1 on the loopback: nothing listens there, so the connection is refused at once.
NOBODY = f"postgresql://smsgw:{PASSWORD}@127.0.0.1:1/postgres"
ONE_TEST = "tests/gateway/test_retention.py::test_it_purges_old_bodies_but_keeps_the_record"


def run_pytest(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_TEST, "-rs", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "TEST_SMSGW_POSTGRES_URL": NOBODY, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_it_skips_the_postgresql_variant_with_the_reason_when_no_server_answers() -> None:
    result = run_pytest(TEST_SMSGW_REQUIRE_POSTGRES="")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 passed, 1 skipped" in output
    assert "PostgreSQL not reachable at postgresql://smsgw:***@127.0.0.1:1/postgres" in output
    assert PASSWORD not in output


@pytest.mark.slow
def test_it_fails_instead_of_skipping_where_postgresql_is_required() -> None:
    result = run_pytest(TEST_SMSGW_REQUIRE_POSTGRES="1")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 passed, 1 error" in output  # the fixture fails: the [postgresql] test errors
    assert "TEST_SMSGW_REQUIRE_POSTGRES=1" in output
    assert PASSWORD not in output
