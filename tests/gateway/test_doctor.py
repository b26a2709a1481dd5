"""`smsgw doctor` as an admin runs it, on a box set up by `smsgw init` with emulated modems:
each problem seeded here (a key others can read, a modem that is gone, a full SIM, an
expired certificate, a full disk, a bad setting) is reported with its fix."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import update

from gateway.config import load_config
from gateway.doctor import check_clock, check_webhooks, exit_code
from gateway.models import WebhookDelivery, new_id, utcnow
from gateway.store import make_engine
from modem.sim import SimBank
from modem.usage import parse_cpms_read
from tests.gateway.conftest import wait_until

SMSGW = [sys.executable, "-m", "gateway.cli"]
LINES = ("Front desk", "Back office")


@dataclass
class Site:
    data_dir: Path
    config: Path
    bank: SimBank
    env: dict[str, str]

    def doctor(self, *args: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [*SMSGW, "doctor", "--json", "--warn-free-mb", "0", "--min-free-mb", "0", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            env=self.env,
        )
        assert done.stdout, done.stderr
        return done.returncode, json.loads(done.stdout)

    def add_modem(self, device: str, line: str) -> None:
        with self.config.open("a", encoding="utf-8") as handle:
            handle.write(f'\n[[modems]]\ndevice = "{device}"\nline = "{line}"\n')


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    for item in report["findings"]:
        if item["check"] == check:
            return item
    raise AssertionError(f"no {check!r} finding in {report}")


def failed(report: dict[str, Any]) -> list[str]:
    return [item["check"] for item in report["findings"] if item["status"] == "fail"]


@pytest.fixture
def site() -> Iterator[Site]:
    directory = Path(tempfile.mkdtemp(prefix="smsgw-doc-", dir="/tmp"))
    bank = SimBank(directory / "sim", 2).start()
    try:
        env = {**os.environ, "SMSGW_CONFIG": str(directory / "smsgw.toml")}
        done = subprocess.run(
            [*SMSGW, "init", "--data-dir", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in env.items() if k != "SMSGW_CONFIG"},
        )
        assert done.returncode == 0, done.stderr
        site = Site(directory, directory / "smsgw.toml", bank, env)
        for handle, line in zip(bank, LINES, strict=True):
            site.add_modem(handle.device_path, line)
        yield site
    finally:
        bank.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_it_passes_a_healthy_box(site: Site) -> None:
    code, report = site.doctor()
    assert report["status"] == "ok", report
    assert code == 0
    checks = {item["check"] for item in report["findings"]}
    assert {"config", "master key", "data dir", "database", "schema", "disk", "clock"} <= checks
    assert {"modem Front desk", "modem Back office", "webhooks"} <= checks
    assert "registered: home" in finding(report, "modem Front desk")["detail"]


def test_it_fails_a_master_key_others_can_read(site: Site) -> None:
    key = site.data_dir / "master.key"
    key.chmod(0o644)
    code, report = site.doctor()
    assert code == 2
    item = finding(report, "master key")
    assert item["status"] == "fail"
    assert "0644" in item["detail"]
    assert item["fix"] == f"chmod 600 {key}"


def test_it_fails_a_modem_that_is_not_there(site: Site) -> None:
    site.add_modem(str(site.data_dir / "sim" / "unplugged"), "Side door")
    code, report = site.doctor()
    assert code == 2
    assert failed(report) == ["modem Side door"]
    item = finding(report, "modem Side door")
    assert "does not exist" in item["detail"]
    assert "plug the modem in" in item["fix"]


def test_it_fails_a_modem_whose_storage_is_full(site: Site) -> None:
    front = site.bank[0]
    for text in ("one", "two", "three"):
        front.inject("+12015550199", text)  # nobody reads them: no worker runs
    front.fault("storage_full")  # the SIM takes no more than it holds now
    code, report = site.doctor()
    assert code == 2
    item = finding(report, "modem Front desk")
    assert item["status"] == "fail"
    assert "storage is full" in item["detail"] and "3/3" in item["detail"]
    assert finding(report, "modem Back office")["status"] == "ok"


def test_it_fails_an_expired_server_certificate(site: Site) -> None:
    expired_on = utcnow() - dt.timedelta(days=2)
    (site.data_dir / "tls" / "server.pem").write_bytes(certificate(expired_on))
    code, report = site.doctor()
    assert code == 2
    item = finding(report, "certificate server.pem")
    assert item["status"] == "fail"
    assert f"expired on {expired_on:%Y-%m-%d}" in item["detail"]
    assert "smsgw init" in item["fix"]


def test_it_warns_of_a_certificate_near_its_end(site: Site) -> None:
    (site.data_dir / "tls" / "server.pem").write_bytes(certificate(utcnow() + dt.timedelta(days=9)))
    code, report = site.doctor()
    assert code == 1
    assert finding(report, "certificate server.pem")["status"] == "warn"


def test_it_fails_when_the_disk_is_nearly_full(site: Site) -> None:
    free_mb = shutil.disk_usage(site.data_dir).free / 2**20
    code, report = site.doctor("--min-free-mb", str(int(free_mb) + 10_000))
    assert code == 2
    item = finding(report, "disk")
    assert item["status"] == "fail" and "refused" in item["detail"]
    code, report = site.doctor("--warn-free-mb", str(int(free_mb) + 10_000))
    assert code == 1 and finding(report, "disk")["status"] == "warn"


def test_it_names_the_setting_that_stops_the_config_loading(site: Site) -> None:
    text = site.config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^#max_attempts = .*$", "max_attempts = 0", text, count=1)
    site.config.write_text(text, encoding="utf-8")
    code, report = site.doctor()
    assert code == 2
    assert [item["check"] for item in report["findings"]] == ["config"]
    assert "queue.max_attempts" in report["findings"][0]["detail"]


def test_it_fails_a_missing_database_without_creating_one(site: Site) -> None:
    (site.data_dir / "smsgw.db").unlink()
    code, report = site.doctor()
    assert code == 2
    assert finding(report, "database")["fix"] == "run `smsgw init`"
    assert not (site.data_dir / "smsgw.db").exists()


def test_it_reads_the_modems_from_the_running_worker_instead_of_their_ports(site: Site) -> None:
    worker = subprocess.Popen(
        [*SMSGW, "worker"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=site.env,
    )
    try:

        def recorded() -> dict[str, Any] | None:
            code, report = site.doctor()
            front = finding(report, "modem Front desk")
            ok = code == 0 and "running worker" in front["detail"]
            return report if ok else None

        report = wait_until(recorded, 60, "the doctor reading the worker's records")
        assert "registered: home" in finding(report, "modem Back office")["detail"]
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    # With the worker gone it asks the modems itself again.
    _, report = site.doctor()
    assert "running worker" not in finding(report, "modem Front desk")["detail"]


def test_it_fails_a_clock_set_back_behind_the_database(site: Site) -> None:
    env = {**site.env, "SMSGW_CONSENT_TRANSACTIONAL": "on_send"}
    done = subprocess.run(
        [*SMSGW, "send", "--to", "+12015550123", "--text", "Hello"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    engine = make_engine(load_config(site.config).database_url)
    try:
        assert check_clock(engine, utcnow()).status == "ok"
        set_back = check_clock(engine, utcnow() - dt.timedelta(hours=1))
        assert set_back.status == "fail" and "behind" in set_back.detail
        assert check_clock(engine, dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).status == "fail"
    finally:
        engine.dispose()


def test_it_warns_of_webhooks_waiting_for_over_an_hour(site: Site) -> None:
    engine = make_engine(load_config(site.config).database_url)
    try:
        now = utcnow()
        assert check_webhooks(engine, now).status == "ok"
        with engine.begin() as connection:
            connection.execute(
                WebhookDelivery.__table__.insert(),
                [
                    {
                        "id": new_id("whd"),
                        "url": "http://crm.lan/hook",
                        "style": "standard",
                        "event": "message.status",
                        "payload_enc": b"\x00",
                        "status": "pending",
                        "attempts": 3,
                        "next_attempt_at": now,
                        "created_at": now - dt.timedelta(minutes=90),
                    }
                ],
            )
        late = check_webhooks(engine, now)
        assert late.status == "warn" and "90 minutes" in late.detail
        with engine.begin() as connection:
            connection.execute(update(WebhookDelivery).values(status="delivered"))
        assert check_webhooks(engine, now).status == "ok"
    finally:
        engine.dispose()


def test_it_reads_memory_use_in_each_form_modems_answer() -> None:
    three = parse_cpms_read('"SM",3,30,"SM",3,30,"SR",0,10')
    assert [(m.memory, m.used, m.total) for m in three] == [
        ("SM", 3, 30),
        ("SM", 3, 30),
        ("SR", 0, 10),
    ]
    assert parse_cpms_read(' "ME", 30, 30')[0].full
    with pytest.raises(Exception, match="CPMS"):
        parse_cpms_read("garbage")


def test_it_exits_by_the_worst_finding() -> None:
    from gateway.doctor import Finding

    assert exit_code([Finding("a", "ok", "")]) == 0
    assert exit_code([Finding("a", "ok", ""), Finding("b", "warn", "")]) == 1
    assert exit_code([Finding("a", "fail", ""), Finding("b", "warn", "")]) == 2


def certificate(not_after: dt.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smsgw test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
