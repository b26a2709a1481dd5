"""/metrics on a real box (`smsgw run --simulate 2` over HTTPS), parsed with
prometheus_client's own parser: figures move when messages are sent, and only the box
itself or a scraper with the token may read them."""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import Config, WebConfig
from gateway.config_schema import ConsentConfig
from gateway.tls import identities
from modem.sim.control import control_request
from tests.gateway.conftest import initialise
from tests.web.conftest import (
    SMSGW,
    START_SECONDS,
    Box,
    Output,
    _healthy,
    free_port,
    initialise_box,
    short_temp_dir,
    wait_until,
)
from web import create_app

TO = "+12015550123"
BODY = "Your table for four is ready"
LINES = ("Simulated 1", "Simulated 2")
FAMILIES = {
    "smsgw_recent_messages",
    "smsgw_queue_depth",
    "smsgw_send_latency_seconds",
    "smsgw_recent_message_errors",
    "smsgw_line_signal_dbm",
    "smsgw_line_registered",
    "smsgw_line_registration",
    "smsgw_line_state",
    "smsgw_line_enabled",
    "smsgw_webhook_deliveries",
    "smsgw_webhook_oldest_pending_age_seconds",
}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def lan_address() -> str | None:
    """One of the host's own addresses that is not loopback, if it has one."""
    found = [
        a
        for a in identities(Config()).addresses
        if isinstance(a, ipaddress.IPv4Address) and not a.is_loopback
    ]
    return str(sorted(found)[0]) if found else None


class MetricsBox:
    """A box on 0.0.0.0 (so another address of this host reaches it) with a metrics token."""

    def __init__(self, box: Box, port: int, token: str) -> None:
        self.box = box
        self.port = port
        self.token = token

    def url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}/metrics"

    def get(self, host: str = "127.0.0.1", **headers: str) -> requests.Response:
        return requests.get(self.url(host), headers=headers, verify=self.box.ca_path, timeout=10)

    def scrape(self) -> Samples:
        answer = self.get()
        assert answer.status_code == 200, answer.text
        return parse(answer.text)


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


@pytest.fixture(scope="module")
def metrics_box() -> Iterator[MetricsBox]:
    directory = short_temp_dir()
    token = secrets.token_urlsafe(32)
    token_file = directory / "metrics.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    try:
        config_path, env = initialise_box(directory)
        env = {
            **env,
            "SMSGW_WEB_METRICS_TOKEN_FILE": str(token_file),
            "SMSGW_CONSENT_TRANSACTIONAL": "on_send",  # no consent records to set up
        }
        port = free_port()
        command = ["run", "--simulate", "2", "--send-delay", "0.05", "--bind", f"0.0.0.0:{port}"]
        process = subprocess.Popen(
            [*SMSGW, *command, "--data-dir", str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        box = Box(
            base_url=f"https://127.0.0.1:{port}",
            ca_path=directory / "tls" / "ca.pem",
            data_dir=directory,
            config_path=config_path,
            env=env,
            control="",
            process=process,
            output=Output(process),
        )
        try:
            box.output.wait_for(r"worker running", START_SECONDS, box.process)
            wait_until(partial(_healthy, box), START_SECONDS, "the box answering")
            yield MetricsBox(box, port, token)
        finally:
            code = box.stop()
        assert code == 0, f"smsgw run exited with {code}:\n{box.output.text()}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def controls(box: Box) -> list[Path]:
    return sorted((box.data_dir / "sim").glob("modem*.ctl"))


def test_it_serves_every_metric_to_the_box_itself(metrics_box: MetricsBox) -> None:
    answer = metrics_box.get()
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(answer.text)}
    assert names >= FAMILIES


def test_it_shows_each_line_ready_and_registered(metrics_box: MetricsBox) -> None:
    def lines_up() -> Samples | None:
        samples = metrics_box.scrape()
        ready = all(
            value(samples, "smsgw_line_state", line=line, state="ready") == 1
            and value(samples, "smsgw_line_registered", line=line) == 1
            and ("smsgw_line_signal_dbm", (("line", line),)) in samples
            for line in LINES
        )
        return samples if ready else None

    samples = wait_until(lines_up, 30, "both lines ready with a signal")
    for line in LINES:
        assert -113 <= value(samples, "smsgw_line_signal_dbm", line=line) <= -51
        assert value(samples, "smsgw_line_registration", line=line, registration="home") == 1
        assert value(samples, "smsgw_line_state", line=line, state="gone") == 0
        assert value(samples, "smsgw_line_enabled", line=line) == 1


def test_it_counts_a_sent_message_and_its_latency(metrics_box: MetricsBox) -> None:
    before = metrics_box.scrape()
    done = metrics_box.box.smsgw("send", "--to", TO, "--text", BODY)
    assert done.returncode == 0, done.stderr

    def counted() -> Samples | None:
        samples = metrics_box.scrape()
        handed = sum(
            total(samples, "smsgw_recent_messages", direction="out", status=status)
            for status in ("sent", "delivered")
        )
        was = sum(
            total(before, "smsgw_recent_messages", direction="out", status=status)
            for status in ("sent", "delivered")
        )
        return samples if handed == was + 1 else None

    samples = wait_until(counted, 30, "the message counted as sent")
    bucket = "smsgw_send_latency_seconds_bucket"
    assert value(samples, bucket, le="+Inf") == value(before, bucket, le="+Inf") + 1
    assert value(samples, "smsgw_send_latency_seconds_gcount") == value(samples, bucket, le="+Inf")
    # Cumulative buckets; sent within seconds by an idle emulated modem.
    bounds = ["0.5", "1", "2", "5", "10", "30", "60", "300", "1800", "+Inf"]
    counts = [value(samples, bucket, le=b) for b in bounds]
    assert counts == sorted(counts)
    assert value(samples, bucket, le="60") == value(samples, bucket, le="+Inf")
    assert total(samples, "smsgw_queue_depth") == 0
    text = metrics_box.get().text
    assert BODY not in text and TO[1:] not in text and TO[-7:] not in text


def test_it_counts_failures_by_error_code(metrics_box: MetricsBox) -> None:
    box = metrics_box.box
    for control in controls(box):  # whichever modem takes it refuses it
        control_request(control, {"op": "fault", "name": "cms_error", "code": 21, "count": 1})
    try:
        done = box.smsgw("send", "--to", TO, "--text", "Refused by the network")
        assert done.returncode == 0, done.stderr

        def failed() -> bool:
            samples = metrics_box.scrape()
            return value(samples, "smsgw_recent_message_errors", code="cms:21") == 1

        wait_until(failed, 30, "the failure counted under cms:21")
        samples = metrics_box.scrape()
        assert total(samples, "smsgw_recent_messages", direction="out", status="failed") == 1
    finally:
        for control in controls(box):
            control_request(control, {"op": "clear"})


def test_it_refuses_another_machine_without_the_token(metrics_box: MetricsBox) -> None:
    host = lan_address()
    if host is None:
        pytest.skip("this host has no address besides loopback")
    missing = metrics_box.get(host)
    assert missing.status_code == 401
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["code"] == "metrics_token_required"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    # A header anyone can write does not make a request local.
    forged = metrics_box.get(host, **{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    assert forged.status_code == 401
    wrong = metrics_box.get(host, Authorization="Bearer " + "x" * 43)
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_metrics_token"
    basic = metrics_box.get(host, Authorization=f"Basic {metrics_box.token}")
    assert basic.status_code == 401
    right = metrics_box.get(host, Authorization=f"Bearer {metrics_box.token}")
    assert right.status_code == 200
    assert {f.name for f in text_string_to_metric_families(right.text)} >= FAMILIES


# -- in-process: the settings a running box was not started with -------------------------


@pytest.fixture
def app_for(tmp_path: Path) -> Iterator[Any]:
    apps: list[Any] = []

    def make(token_file: str = "") -> Any:
        data_dir = Path(short_temp_dir())
        config = Config(
            data_dir=data_dir,
            web=WebConfig(metrics_token_file=token_file),
            consent=ConsentConfig(transactional="on_send"),
        )
        initialise(config)
        app = create_app(config)
        apps.append((app, data_dir))
        return app.test_client()

    yield make
    for app, data_dir in apps:
        app.extensions["smsgw"].close()
        shutil.rmtree(data_dir, ignore_errors=True)


REMOTE = {"REMOTE_ADDR": "192.0.2.77"}


def test_it_is_local_only_when_no_token_file_is_set(app_for: Any) -> None:
    client = app_for()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    mapped = client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"})
    assert mapped.status_code == 200
    answer = client.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 403
    assert answer.json["code"] == "metrics_local_only"


def test_it_refuses_every_token_when_the_token_file_is_unusable(
    app_for: Any, tmp_path: Path
) -> None:
    short = tmp_path / "short.token"
    short.write_text("tooshort\n", encoding="utf-8")
    client = app_for(str(short))
    answer = client.get(
        "/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer tooshort"}
    )
    assert answer.status_code == 401
    missing = app_for(str(tmp_path / "absent.token"))
    answer = missing.get("/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer x"})
    assert answer.status_code == 401
