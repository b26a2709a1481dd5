"""`smsgw web` and `smsgw run` as real processes: gunicorn over TLS with the box's own CA."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.web.conftest import (
    SMSGW,
    STOP_SECONDS,
    Box,
    Output,
    add_hostnames,
    cli,
    free_port,
    initialise_box,
    short_temp_dir,
    wait_until,
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    directory = short_temp_dir()
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def port_of(box: Box) -> int:
    return int(box.base_url.rsplit(":", 1)[1])


def get_over_tls(port: int, server_name: str, ca_path: Path) -> bytes:
    """GET /api/v1/health through Python's ssl, checking the name as a client would."""
    context = ssl.create_default_context(cafile=str(ca_path))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # the default from Python 3.13 on
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        tls.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    return answer


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_it_serves_the_api_over_https_trusted_through_the_local_ca(shared_box: Box) -> None:
    answer = requests.get(shared_box.url("/api/v1/health"), verify=shared_box.ca_path, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}
    # Not trusted through the public CAs: the trust really comes from the box's own CA.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(shared_box.url("/api/v1/health"), timeout=10)


def test_it_passes_pythons_host_name_check_for_each_name_of_the_box(shared_box: Box) -> None:
    port = port_of(shared_box)
    for name in ("localhost", "127.0.0.1", "::1", socket.gethostname()):
        answer = get_over_tls(port, name, shared_box.ca_path)
        assert answer.startswith(b"HTTP/1.1 200 "), name
    with pytest.raises(ssl.SSLCertVerificationError, match=r"intruder\.example"):
        get_over_tls(port, "intruder.example", shared_box.ca_path)


def test_it_refuses_plain_http(shared_box: Box) -> None:
    plain = shared_box.base_url.replace("https://", "http://")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(plain + "/api/v1/health", timeout=10)


def test_it_answers_an_upload_it_refuses_instead_of_resetting_the_connection(
    shared_box: Box,
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(4096):
            yield b"x" * 1024

    # The app answers without reading the 4 MiB body; the client is still sending it.
    for body in (chunks(), b"x" * (4 << 20)):
        answer = requests.post(
            shared_box.url("/api/v1/no-such-thing"),
            data=body,
            verify=shared_box.ca_path,
            timeout=30,
        )
        assert answer.status_code == 404


def test_it_logs_requests_without_their_query_strings(shared_box: Box) -> None:
    requests.get(
        shared_box.url("/api/v1/health?to=%2B12015550123&api_key=sk_live_secret"),
        verify=shared_box.ca_path,
        timeout=10,
    )
    shared_box.output.wait_for(r"GET /api/v1/health 200 \d+ms", 10, shared_box.process)
    # A request line gunicorn cannot parse is logged as it came: the query must go.
    context = ssl.create_default_context(cafile=str(shared_box.ca_path))
    with (
        socket.create_connection(("127.0.0.1", port_of(shared_box)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /api/v1/health?to=+12015550124 and then some HTTP/1.1\r\n\r\n")
        while tls.recv(4096):
            pass
    shared_box.output.wait_for(r"Invalid request from ip=", 10, shared_box.process)
    logged = shared_box.output.text()
    for secret in ("12015550123", "12015550124", "sk_live_secret"):
        assert secret not in logged


def test_it_gives_tests_modem_0s_control_socket(shared_box: Box) -> None:
    injected = shared_box.smsgw(
        "sim", "inject", "--control", shared_box.control, "--from", "+12015550199", "--text", "Hi"
    )
    assert injected.returncode == 0, injected.stderr

    def received() -> list[dict[str, object]]:
        listed = shared_box.smsgw("messages", "--json", "--direction", "in")
        return [json.loads(line) for line in listed.stdout.splitlines()]

    (message,) = wait_until(received, 30, "the injected message stored")
    assert message["body"] == "Hi"


def test_it_stops_the_web_server_and_the_worker_on_sigterm(box: Box) -> None:
    port = port_of(box)
    assert box.stop() == 0
    assert refused(port)
    printed = box.output.text()
    assert "Shutting down: Master" in printed
    assert "Traceback" not in printed


def test_it_refuses_to_serve_without_a_certificate(data_dir: Path) -> None:
    initialise_box(data_dir)
    shutil.rmtree(data_dir / "tls")

    started = cli("--data-dir", str(data_dir), "web", "--bind", f"127.0.0.1:{free_port()}")

    assert started.returncode != 0
    assert f"no TLS certificate in {data_dir / 'tls'}: run `smsgw init` first" in started.stderr
    assert "Traceback" not in started.stderr


def test_it_rejects_a_bind_address_that_is_not_host_and_port(data_dir: Path) -> None:
    started = cli("--data-dir", str(data_dir), "web", "--bind", "8443")
    assert started.returncode == 2
    assert "'8443' is not HOST:PORT" in started.stderr


def test_web_reissues_for_a_new_hostname_serves_it_and_stops_on_sigterm(data_dir: Path) -> None:
    config_path, env = initialise_box(data_dir)
    add_hostnames(config_path, "sms.office.lan")
    port = free_port()
    process = subprocess.Popen(
        [*SMSGW, "web", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    output = Output(process)
    try:
        output.wait_for(r"re-issued: it does not cover sms\.office\.lan", 30, process)
        output.wait_for(r"Booting worker", 30, process)
        ca_path = data_dir / "tls" / "ca.pem"
        answer = wait_until(lambda: _try_get(port, ca_path), 30, "the web server answering")
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_SECONDS)
        output.join()
    assert code == 0
    assert refused(port)
    assert "Traceback" not in output.text()


def _try_get(port: int, ca_path: Path) -> bytes | None:
    try:
        return get_over_tls(port, "sms.office.lan", ca_path)
    except OSError:
        return None


def test_run_goes_on_without_web_when_the_configured_port_is_taken(data_dir: Path) -> None:
    _, env = initialise_box(data_dir)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["SMSGW_WEB_BIND"] = f"127.0.0.1:{taken.getsockname()[1]}"
        process = subprocess.Popen(
            [*SMSGW, "run", "--simulate", "1", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        output = Output(process)
        try:
            output.wait_for(r"worker running with 1 modem", 60, process)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(STOP_SECONDS)
            output.join()
    assert code == 0
    warning = r"warning: cannot listen on 127\.0\.0\.1:\d+: Address already in use; the worker runs"
    assert re.search(warning, output.text())


def test_run_sets_up_and_serves_https_on_a_first_start(data_dir: Path) -> None:
    box = data_dir / "fresh"
    port = free_port()
    process = subprocess.Popen(
        [*SMSGW, "run", "--simulate", "1", "--bind", f"127.0.0.1:{port}", "--data-dir", str(box)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    output = Output(process)
    try:
        output.wait_for(r"worker running with 1 modem", 60, process)
        ca_path = box / "tls" / "ca.pem"
        printed = output.text()
        assert "first start: setting up" in printed
        assert f"tls ca       {ca_path} (created;" in printed
        assert f"web listening on https://127.0.0.1:{port} (CA: {ca_path})" in printed
        answer = requests.get(f"https://localhost:{port}/api/v1/health", verify=ca_path, timeout=10)
        assert answer.json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_SECONDS)
        output.join()
    assert code == 0
    assert refused(port)


def test_run_stops_when_the_address_given_with_bind_is_taken(data_dir: Path) -> None:
    _, env = initialise_box(data_dir)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        started = cli(
            "run", "--simulate", "1", "--bind", bind, "--data-dir", str(data_dir), env=env
        )
    assert started.returncode == 1
    assert f"Error: cannot listen on {bind}: Address already in use" in started.stderr
    assert "Traceback" not in started.stderr
